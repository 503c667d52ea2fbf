import type { Key } from 'ink';
import type { Action, TuiState } from './state/state.js';
import type { Store } from './store.js';
import type { ChangeMark } from './view-model/file-rows.js';
import { layoutFor } from './view-model/layout.js';

export type Command = Action | { type: 'quit' } | { type: 'suspend' };

/** What a key can do beyond the store: end the session, or stop it for the shell (Ctrl+Z). */
export interface Session {
  quit(): void;
  suspend(): void;
}

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
  ['q  Ctrl+C', 'quit; Ctrl+\\ too (Ctrl+Z suspends to the shell; fg comes back)'],
];

/**
 * Ctrl+\, which a cooked terminal makes SIGQUIT. Raw mode turns it into this byte, which Ink reports as
 * it is (no ctrl flag: it is past Ctrl+Z, the last of the ctrl+letter codes).
 */
const CTRL_BACKSLASH = '\x1c';

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

/** ↑ ↓ j k, PgUp PgDn, Home End g G: the keys that move the focused pane (or scroll the help). */
function motionFor(input: string, key: Key): Command | undefined {
  if (key.upArrow || input === 'k') return { type: 'cursor-moved', delta: -1 };
  if (key.downArrow || input === 'j') return { type: 'cursor-moved', delta: 1 };
  if (key.pageUp) return { type: 'cursor-paged', pages: -1 };
  if (key.pageDown) return { type: 'cursor-paged', pages: 1 };
  if (key.home || input === 'g') return { type: 'cursor-jumped', to: 'start' };
  if (key.end || input === 'G') return { type: 'cursor-jumped', to: 'end' };
  return undefined;
}

/** What a key press means in the current state; undefined when it means nothing. */
export function commandFor(input: string, key: Key, state: TuiState): Command | undefined {
  // Ctrl+\ quits as top and htop take SIGQUIT: the terminal restored, exit 0, as for q and Ctrl+C.
  if ((key.ctrl && input === 'c') || input === CTRL_BACKSLASH) return { type: 'quit' };
  if (key.ctrl && input === 'z') return { type: 'suspend' };
  // The notice says only that q quits: other keys would change a screen nobody can see.
  if (layoutFor(state.viewport, state.layers.length).tooSmall)
    return input === 'q' ? { type: 'quit' } : undefined;
  if (state.help) {
    if (input === 'q') return { type: 'quit' };
    if (input === '?' || key.escape || key.return) return { type: 'help-toggled' };
    return motionFor(input, key);
  }
  if (state.files.editingFilter) return filterPromptKey(input, key);

  if (isCtrlSpace(input, key))
    return state.focus === 'files' ? { type: 'all-directories-toggled' } : undefined;
  if (key.ctrl && input === 'f') return { type: 'filter-opened' };
  if (key.tab) return { type: 'focus-cycled', step: key.shift ? -1 : 1 };
  const motion = motionFor(input, key);
  if (motion) return motion;
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

/** A key event with no modifier or special key: the base for synthesised events. */
export const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** One character of a run as Ink would have reported it alone (control characters included). */
export function keyOfChar(char: string): [input: string, key: Key] {
  const code = char.charCodeAt(0);
  if (char === '\t') return ['', { ...NO_KEY, tab: true }];
  if (char === '\r' || char === '\n') return ['', { ...NO_KEY, return: true }];
  if (char === '\x7f' || char === '\b') return ['', { ...NO_KEY, backspace: true }];
  if (code <= 0x1a) return [String.fromCharCode(code + 0x60), { ...NO_KEY, ctrl: true }];
  return [char, { ...NO_KEY, shift: char !== char.toLowerCase() }];
}

/** Below this many rows, narrowing them costs less than a second frame: the key is applied at once. */
const EAGER_ROWS = 20_000;

function narrowsFewRows(command: Command, state: TuiState): boolean {
  const { files } = state;
  return (
    command.type === 'filter-typed' &&
    files.appliedFilterText === files.filterText &&
    (files.rows?.rows.length ?? 0) <= EAGER_ROWS
  );
}

/** A run cut into control characters (each a key) and the stretches of text between them. */
const RUN_PARTS = /[\x00-\x1f\x7f]|[^\x00-\x1f\x7f]+/g;

/**
 * Handles one input event. Ink delivers a run of plain characters (key repeat on a busy process, keys
 * typed faster than a frame, a paste) as one string; outside the filter prompt each character is a key
 * of its own (so `/bash⏎` opens the prompt, types, and applies). Inside the prompt a stretch of text is
 * typed at once (one filter walk for a paste), but a control character in the run is still its key: a
 * held Backspace erases, and Enter or Tab typed right after the text closes the prompt, so the keys
 * after it are not typed into the filter.
 */
export function handleInput(input: string, key: Key, store: Store<TuiState, Action>, session: Session): void {
  const isRun = input.length > 1 && !key.ctrl && !key.meta;
  const parts = isRun ? (input.match(RUN_PARTS) ?? []) : [input];
  for (const part of parts) {
    const keys: [string, Key][] = !isRun
      ? [[input, key]]
      : store.getState().files.editingFilter && part.length > 1
        ? [[part, NO_KEY]]
        : [...part].map(keyOfChar);
    for (const [char, charKey] of keys) {
      const command = commandFor(char, charKey, store.getState());
      if (command?.type === 'filter-typed' || command?.type === 'filter-erased') {
        store.dispatch({ ...command, deferred: !narrowsFewRows(command, store.getState()) });
        continue;
      }
      if (command?.type === 'quit' || command?.type === 'suspend') {
        session[command.type]();
        return;
      }
      if (!command) continue;
      // Whatever comes next in the run (Enter then j, Ctrl+Space) acts on the rows of the text typed.
      store.dispatch({ type: 'filter-applied' });
      store.dispatch(command);
    }
  }
  // After this key's frame, which shows the text: keys typed meanwhile arrive as one run, one walk.
  if (store.getState().files.appliedFilterText !== store.getState().files.filterText) {
    setImmediate(() => store.dispatch({ type: 'filter-applied' }));
  }
}
