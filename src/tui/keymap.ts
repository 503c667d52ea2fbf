import type { Key } from 'ink';
import type { Action, TuiState } from './state/state.js';
import type { Store } from './store.js';
import type { ChangeMark } from './view-model/file-rows.js';

export type Command = Action | { type: 'quit' };

/** The keys, as the footer and the help screen list them. */
export const KEY_HELP: readonly (readonly [keys: string, what: string])[] = [
  ['Tab / S-Tab', 'switch pane (Layers, Files, Details)'],
  ['↑ ↓  j k', 'move (in Layers: select the layer the Files pane shows)'],
  ['PgUp PgDn', 'move a page'],
  ['Home End  g G', 'first / last row'],
  ['Space  Enter', 'fold or unfold the directory'],
  ['Ctrl+Space', 'fold or unfold every directory'],
  ['/  Ctrl+F', 'filter paths (Enter keeps it, Esc clears it)'],
  ['a r m u', 'show or hide added / removed / modified / unmodified'],
  ['v', 'files: this layer’s changes or the whole image up to this layer'],
  ['w', 'waste view: files that several layers wrote or deleted'],
  ['?', 'this help'],
  ['q  Ctrl+C', 'quit'],
];

const CHANGE_KEYS: Record<string, ChangeMark> = { a: 'added', r: 'removed', m: 'modified', u: 'unmodified' };

function isCtrlSpace(input: string, key: Key): boolean {
  // Terminals send NUL for Ctrl+Space, which Ink reports as ctrl + '`'; kitty-style ones report ' '.
  return key.ctrl && (input === '`' || input === ' ' || input === '@' || input === '\0');
}

function filterPromptKey(input: string, key: Key): Command | undefined {
  if (key.escape) return { type: 'filter-closed', keep: false };
  if (key.return || key.tab) return { type: 'filter-closed', keep: true };
  if (key.backspace || key.delete) return { type: 'filter-erased' };
  if (key.upArrow) return { type: 'cursor-moved', delta: -1 };
  if (key.downArrow) return { type: 'cursor-moved', delta: 1 };
  if (key.pageUp) return { type: 'cursor-paged', pages: -1 };
  if (key.pageDown) return { type: 'cursor-paged', pages: 1 };
  if (key.ctrl || key.meta || input === '') return undefined;
  // A paste arrives as one string; keep only what can be part of a path.
  const text = input.replace(/[\r\n\t]/g, '');
  return text ? { type: 'filter-typed', text } : undefined;
}

/** What a key press means in the current state; undefined when it means nothing. */
export function commandFor(input: string, key: Key, state: TuiState): Command | undefined {
  if (key.ctrl && input === 'c') return { type: 'quit' };
  if (state.help) {
    if (input === 'q') return { type: 'quit' };
    return input === '?' || key.escape || key.return ? { type: 'help-toggled' } : undefined;
  }
  if (state.files.editingFilter) return filterPromptKey(input, key);

  if (isCtrlSpace(input, key))
    return state.focus === 'files' ? { type: 'all-directories-toggled' } : undefined;
  if (key.ctrl && input === 'f') return { type: 'filter-opened' };
  if (key.tab) return { type: 'focus-cycled', step: key.shift ? -1 : 1 };
  if (key.upArrow || input === 'k') return { type: 'cursor-moved', delta: -1 };
  if (key.downArrow || input === 'j') return { type: 'cursor-moved', delta: 1 };
  if (key.pageUp) return { type: 'cursor-paged', pages: -1 };
  if (key.pageDown) return { type: 'cursor-paged', pages: 1 };
  if (key.home || input === 'g') return { type: 'cursor-jumped', to: 'start' };
  if (key.end || input === 'G') return { type: 'cursor-jumped', to: 'end' };
  if (input === ' ' || key.return) return state.focus === 'files' ? { type: 'directory-toggled' } : undefined;
  if (key.escape) return state.files.filterText ? { type: 'filter-closed', keep: false } : undefined;
  if (key.ctrl || key.meta) return undefined;

  const change = CHANGE_KEYS[input];
  if (change) return { type: 'change-toggled', change };
  switch (input) {
    case '/':
      return { type: 'filter-opened' };
    case 'v':
      return { type: 'tree-mode-toggled' };
    case 'w':
      return { type: 'waste-view-toggled' };
    case '?':
      return { type: 'help-toggled' };
    case 'q':
      return { type: 'quit' };
    default:
      return undefined;
  }
}

/**
 * Handles one input event. Ink delivers a run of plain characters (key repeat on a busy process, a paste)
 * as one string; outside the filter prompt each character is a key of its own, and once a character opens
 * the prompt the rest of the run is its text.
 */
export function handleInput(input: string, key: Key, store: Store<TuiState, Action>, quit: () => void): void {
  const isRun = input.length > 1 && !key.ctrl && !key.meta && !store.getState().files.editingFilter;
  const keys = isRun ? [...input] : [input];
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && store.getState().files.editingFilter) {
      store.dispatch({ type: 'filter-typed', text: keys.slice(i).join('') });
      return;
    }
    const command = commandFor(keys[i]!, key, store.getState());
    if (command?.type === 'quit') {
      quit();
      return;
    }
    if (command) store.dispatch(command);
  }
}
