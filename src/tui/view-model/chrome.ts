import { registryOfHost } from '../../registry/reference.js';
import { truncateEnd } from '../../report/fit-table.js';
import { printable } from '../../report/format.js';
import { keepEnd, wrapText } from '../format.js';
import { KEY_HELP } from '../keymap.js';
import type { TuiState } from '../state/state.js';
import { CHANGE_MARKS, type ChangeMark } from './file-rows.js';
import { CHANGE_SYMBOL } from './files.js';
import { columnsOf, type Line, line, type Role, type Segment, seg } from './lines.js';

/** Room the header keeps for the image's reference before a registry's wait gives way. */
const REFERENCE_ROOM = 30;

function verdictSegments(state: TuiState, width: number): Segment[] {
  if (state.failure) return [seg('analysis failed', 'error')];
  const verdict = state.report?.verdict;
  const done = state.layers.filter((layer) => layer.status === 'done').length;
  const reading = `reading layers ${done}/${state.layers.length}`;
  const label = verdict && (state.reportFinal ? verdict.toUpperCase() : `${verdict.toUpperCase()} so far`);
  const verdictSegs = verdict && label ? [seg('verdict ', 'dim'), seg(label, verdict)] : [];
  const rest = verdictSegs.reduce((sum, s) => sum + s.text.length, 0) + REFERENCE_ROOM;
  // Layers held back by the registry's Retry-After would look stalled: the wait is said, as the notice on
  // stderr says it, unless the reference would be cut short for it.
  const wait = state.registryWait;
  const waiting = wait ? ` · ${waiterOf(state, wait.host)} ${wait.status}: waiting ${wait.seconds} s` : '';
  const progress = reading.length + waiting.length + 2 + rest <= width ? reading + waiting : reading;
  const streaming = !state.analysis ? [seg(`${progress}  `, 'progress')] : [];
  return [...streaming, ...verdictSegs];
}

/**
 * Who asked to wait: "registry" when it is the image's (its host begins the reference, on the same line;
 * Docker Hub's API host, registry-1.docker.io, is docker.io there), else the host, such as the blob
 * storage a layer's download was redirected to.
 */
function waiterOf(state: TuiState, host: string): string {
  return state.image.reference.startsWith(`${registryOfHost(host)}/`) ? 'registry' : printable(host);
}

/** Top line: what image this is and how it stands. */
export function headerLine(state: TuiState, width: number): Line {
  const right = verdictSegments(state, width);
  const rightWidth = right.reduce((sum, s) => sum + s.text.length, 0);
  const left = printable(` imgscope  ${state.image.reference}  ${state.image.platform}`);
  const room = Math.max(0, width - rightWidth - 1);
  // Cut, the reference keeps a space before the verdict. Measured in columns: a path may hold CJK.
  const cut = columnsOf(left) > room ? `${truncateEnd(left, Math.max(0, room - 1))} ` : left;
  const leftText = cut + ' '.repeat(Math.max(0, room - columnsOf(cut)));
  return line(seg(leftText, 'heading'), ...right, ' ');
}

function toggle(key: string, label: string, on: boolean, role: Role): Segment[] {
  return [seg(key, 'key'), seg(on ? '[x]' : '[ ]', on ? role : 'dim'), seg(`${label} `, on ? role : 'dim')];
}

const KEYS: readonly (readonly [key: string, what: string])[] = [
  ['Tab', 'pane'],
  ['↑↓', 'move'],
  ['Space', 'fold'],
  ['^Space', 'all'],
  ['/', 'filter'],
  ['?', 'help'],
  ['q', 'quit'],
];

const FILTER_LABEL = 'filter: ';
const FILTER_HINT = '   Enter keep · Esc clear';

/**
 * The filter prompt. A text longer than the line shows its end, where keys go, after a `…`, so the
 * cursor stays in sight; the hint gives way first.
 */
function filterPrompt(text: string, width: number): Line {
  const shown = printable(text);
  const room = width - FILTER_LABEL.length - 1;
  const columns = columnsOf(shown);
  const hint = columns + FILTER_HINT.length <= room ? FILTER_HINT : '';
  const visible = columns <= room ? shown : `…${keepEnd(shown, room - 1)}`;
  return line(seg(FILTER_LABEL, 'key'), `${visible}█`, seg(hint, 'dim'));
}

/** Words of the change toggles, full and (for terminals under 70 columns) short. */
const TOGGLE_WORDS: Record<ChangeMark, readonly [full: string, short: string]> = {
  added: ['added', 'add'],
  modified: ['modified', 'mod'],
  removed: ['removed', 'rm'],
  unmodified: ['unmodified', 'unmod'],
};

/**
 * Two lines: the keys, then the toggles and views (or the filter prompt while it is open). Under 70
 * columns both are written shorter, so how to quit and which views are on stay in sight down to 60.
 */
export function footerLines(state: TuiState, width = Number.POSITIVE_INFINITY): Line[] {
  const narrow = width < 70;
  const gap = narrow ? ' ' : '  ';
  // Narrow, ^Space gives way (the help lists it): the rest, quitting included, then fits in 60 columns.
  const shown = narrow ? KEYS.filter(([key]) => key !== '^Space') : KEYS;
  const keys = line(...shown.flatMap(([key, what]) => [seg(key, 'key'), seg(` ${what}${gap}`, 'dim')]));
  const { files } = state;
  if (files.editingFilter) return [keys, filterPrompt(files.filterText, width)];
  const toggles = CHANGE_MARKS.flatMap((mark) => {
    const key = mark === 'unmodified' ? 'u' : mark[0]!;
    const word = TOGGLE_WORDS[mark][narrow ? 1 : 0];
    const label = mark === 'unmodified' ? word : `${CHANGE_SYMBOL[mark]}${word}`;
    return toggle(key, label, files.changes[mark], mark === 'unmodified' ? 'plain' : mark);
  });
  return [
    keys,
    line(
      ...toggles,
      seg(' v', 'key'),
      seg(`:${files.mode}`, 'plain'),
      seg(`${gap}w`, 'key'),
      seg(`:${files.wasteView ? 'waste' : 'tree'}`, 'plain'),
    ),
  ];
}

/** The help pane's title: how to scroll and close it stays in sight however short the terminal. */
export function helpTitle(scrollable: boolean): string {
  return scrollable ? 'Help — ↑↓ PgUp PgDn scroll · ? or Esc closes' : 'Help — ? or Esc closes';
}

/**
 * The help, wrapped to `width` columns (a description continues under itself), so a terminal narrower
 * than its longest line still shows all of it.
 */
export function helpLines(width = Number.POSITIVE_INFINITY): Line[] {
  const keyWidth = Math.max(...KEY_HELP.map(([keys]) => keys.length)) + 2;
  const room = Math.max(10, width - 2 - keyWidth);
  const text = (value: string) => wrapText(value, Math.max(10, width - 2)).map((part) => line(`  ${part}`));
  return [
    line(seg('Keys', 'heading')),
    ...KEY_HELP.flatMap(([keys, what]) =>
      wrapText(what, room).map((part, i) =>
        line(seg(`  ${(i === 0 ? keys : '').padEnd(keyWidth)}`, 'key'), part),
      ),
    ),
    line(''),
    line(seg('Files', 'heading')),
    line(
      '  ',
      seg('+ added', 'added'),
      '  ',
      seg('~ modified', 'modified'),
      '  ',
      seg('- removed', 'removed'),
      '  (by the selected layer)',
    ),
    ...text('Directory sizes include everything below them; ▸ marks a folded directory.'),
    ...text('Waste: every copy of a path that two or more layers wrote (dive’s figure);'),
    ...text('reclaim: all copies but the one kept; Details’ squash drops is the total.'),
  ];
}
