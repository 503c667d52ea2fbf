import Table from 'cli-table3';
import stringWidth from 'string-width';
import { printable } from './format.js';

export interface TableColumn {
  head: string;
  /** A narrower heading, used when the table does not fit with `head`. */
  shortHead?: string;
  align: 'left' | 'right';
  /** Free text (a path, a command) that may be shortened to `width` columns; other cells never are. */
  shorten?: (text: string, width: number) => string;
}

/** A shortened free-text column keeps at least this many columns. */
const MIN_FREE_TEXT = 10;
/** Below this many columns for free text, the short headings are worth their terseness. */
const COMFORTABLE_FREE_TEXT = 16;
/** cli-table3 pads each cell by one column on either side and draws a border after each column, and one before. */
const CELL_OVERHEAD = 3;

/**
 * Renders a compact cli-table3 table at most `width` columns wide: free-text columns give way, the
 * widest first, down to a minimum (their headings shortened with them); when that is not enough, or
 * leaves free text cramped, the other headings switch to their short forms too. Numbers, sizes and
 * digests are never cut, so a table that cannot fit them stays wider than `width`.
 */
export function fittedTable(
  columns: readonly TableColumn[],
  cells: readonly (readonly string[])[],
  width: number,
  color: boolean,
): string {
  const rows = cells.map((row) => row.map(printable));
  let heads = columns.map((column) => column.head);
  const natural = contentWidths(columns, heads, rows, Number.POSITIVE_INFINITY);
  let widths = contentWidths(columns, heads, rows, width);
  const squeezed = widths.some((w, i) => w < natural[i]! && w < COMFORTABLE_FREE_TEXT);
  if (tableWidth(widths) > width || squeezed) {
    heads = columns.map((column) => (column.shorten ? column.head : (column.shortHead ?? column.head)));
    widths = contentWidths(columns, heads, rows, width);
  }
  const table = new Table({
    head: heads.map((head, i) => (columns[i]?.shorten ? freeTextHead(columns[i]!, widths[i]!) : head)),
    colAligns: columns.map((column) => column.align),
    style: { head: color ? ['bold'] : [], border: color ? ['grey'] : [], compact: true, 'padding-left': 1 },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of rows) {
    table.push(
      row.map((cell, i) => {
        const shorten = columns[i]?.shorten;
        const limit = widths[i] ?? 0;
        return shorten && stringWidth(cell) > limit ? shorten(cell, limit) : cell;
      }),
    );
  }
  return table.toString();
}

function freeTextHead(column: TableColumn, width: number): string {
  if (stringWidth(column.head) <= width) return column.head;
  return truncateEnd(column.shortHead ?? column.head, width);
}

/** Each column's content width, free-text columns shrunk (widest first) until the table fits or cannot. */
function contentWidths(
  columns: readonly TableColumn[],
  heads: readonly string[],
  rows: readonly (readonly string[])[],
  width: number,
): number[] {
  const widths = columns.map((_, i) =>
    Math.max(stringWidth(heads[i] ?? ''), ...rows.map((row) => stringWidth(row[i] ?? ''))),
  );
  const floors = columns.map((column, i) =>
    column.shorten ? Math.min(widths[i]!, MIN_FREE_TEXT) : widths[i]!,
  );
  for (let excess = tableWidth(widths) - width; excess > 0; excess--) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i]! > floors[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    widths[widest]!--;
  }
  return widths;
}

function tableWidth(contentWidths: readonly number[]): number {
  return contentWidths.reduce((sum, w) => sum + w + CELL_OVERHEAD, 1);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** Text up to this many UTF-16 units is segmented in one call; longer text a piece of this size at a time. */
const SEGMENTED_AT_ONCE = 1024;

/**
 * `text`'s characters as a reader sees them: a flag, an emoji ZWJ sequence or a letter with its combining
 * marks is one, so a cut never splits it into its parts. Called only for text that is cut or wrapped.
 */
export function charactersOf(text: string): string[] {
  if (/^[\x20-\x7e]*$/.test(text)) return text.split('');
  if (text.length <= SEGMENTED_AT_ONCE) return Array.from(graphemes.segment(text), (part) => part.segment);
  // Node 20's segmenter slows down far more than linearly on long text (128,000 CJK characters took
  // 19 s), and a command or a name from a hostile image can be a megabyte: it is segmented a piece at a
  // time. A piece's last character may go on in the next piece, so the next piece starts with it.
  const characters: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = start + SEGMENTED_AT_ONCE;
    const parts = Array.from(graphemes.segment(text.slice(start, end)), (part) => part.segment);
    const carried = end < text.length && parts.length > 1 ? parts.pop()! : '';
    for (const part of parts) characters.push(part);
    start = end - carried.length;
  }
  return characters;
}

/** Cuts `text` to `width` display columns, ending in `…` when cut. */
export function truncateEnd(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  return `${takeWidth(charactersOf(text), width - 1).join('')}…`;
}

/**
 * Cuts a path to `width` display columns with `…` in the middle, keeping more of the end, where the file
 * name is: `/var/lib/apt/l…binary-amd64_Packages.lz4`.
 */
export function truncateMiddle(text: string, width: number): string {
  if (stringWidth(text) <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  const room = width - 1;
  const headRoom = Math.floor(room * 0.4);
  const chars = charactersOf(text);
  const head = takeWidth(chars, headRoom);
  const tail = takeWidth([...chars].reverse(), room - stringWidth(head.join(''))).reverse();
  return `${head.join('')}…${tail.join('')}`;
}

/**
 * `text` in lines of at most `width` display columns, broken at spaces where a word fits, else inside the
 * word (a long path). One pass over the text: a path of a megabyte from a hostile image wraps at once. A
 * character wider than the line takes a line of its own rather than none.
 */
export function wrapToWidth(text: string, width: number): string[] {
  const chars = charactersOf(text.trim());
  const widths = chars.map((char) => stringWidth(char));
  const room = Math.max(1, width);
  const lines: string[] = [];
  let rest = widths.reduce((sum, w) => sum + w, 0);
  let start = 0;
  while (rest > width) {
    let end = start;
    let used = 0;
    while (end < chars.length && used + widths[end]! <= room) used += widths[end++]!;
    if (end === start) end++;
    let space = end - 1;
    while (space > start && chars[space] !== ' ') space--;
    const cut = space > start ? space : end;
    lines.push(chars.slice(start, cut).join('').trimEnd());
    for (; start < cut || chars[start] === ' '; start++) rest -= widths[start]!;
  }
  lines.push(chars.slice(start).join(''));
  return lines;
}

/** The leading characters of `chars` that fit in `width` display columns. */
function takeWidth(chars: readonly string[], width: number): string[] {
  const taken: string[] = [];
  let used = 0;
  for (const char of chars) {
    const w = stringWidth(char);
    if (used + w > width) break;
    taken.push(char);
    used += w;
  }
  return taken;
}
