import stringWidth from 'string-width';
import type { EntryType } from '../analysis/types.js';
import { charactersOf, truncateEnd, wrapToWidth } from '../report/fit-table.js';
import { printable } from '../report/format.js';

const TYPE_CHAR: Record<EntryType, string> = {
  file: '-',
  hardlink: '-',
  dir: 'd',
  symlink: 'l',
  char: 'c',
  block: 'b',
  fifo: 'p',
};

/** `ls -l` style mode: `drwxr-xr-x`, with setuid/setgid/sticky as s/S and t/T. */
export function formatMode(type: EntryType, mode: number): string {
  const bit = (mask: number, char: string) => (mode & mask ? char : '-');
  const special = (exec: number, flag: number, set: string, unset: string, plain: string) =>
    mode & flag ? (mode & exec ? set : unset) : mode & exec ? plain : '-';
  return (
    TYPE_CHAR[type] +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special(0o100, 0o4000, 's', 'S', 'x') +
    bit(0o040, 'r') +
    bit(0o020, 'w') +
    special(0o010, 0o2000, 's', 'S', 'x') +
    bit(0o004, 'r') +
    bit(0o002, 'w') +
    special(0o001, 0o1000, 't', 'T', 'x')
  );
}

/**
 * Cuts `text` to `width` display columns (ending in `…` when cut) or pads it with spaces to exactly
 * `width`: a wide or emoji character counts its columns, not its UTF-16 units.
 */
export function fitLeft(text: string, width: number): string {
  if (width <= 0) return '';
  const columns = /^[\x20-\x7e]*$/.test(text) ? text.length : stringWidth(text);
  if (columns > width) return truncateEnd(text, width);
  return text + ' '.repeat(width - columns);
}

/** Like `fitLeft`, but right-aligned. */
export function fitRight(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length > width) return fitLeft(text, width);
  return text.padStart(width);
}

/** The end of `text` that fits in `width` display columns (wide characters count two). */
export function keepEnd(text: string, width: number): string {
  if (width <= 0) return '';
  if (/^[\x20-\x7e]*$/.test(text)) return text.slice(Math.max(0, text.length - width));
  const chars = charactersOf(text);
  let used = 0;
  let start = chars.length;
  while (start > 0 && used + stringWidth(chars[start - 1]!) <= width) used += stringWidth(chars[--start]!);
  return chars.slice(start).join('');
}

/**
 * Splits text into lines of at most `width` columns, breaking at spaces where it can. Text with wide or
 * combining characters (CJK, emoji) is measured in display columns, so no line is clipped.
 */
export function wrapText(text: string, width: number): string[] {
  if (width <= 0) return [];
  const lines: string[] = [];
  let rest = printable(text.replace(/\s+/g, ' ').trim());
  if (!/^[\x20-\x7e]*$/.test(rest)) return wrapToWidth(rest, width);
  while (rest.length > width) {
    const space = rest.lastIndexOf(' ', width);
    const cut = space > width / 3 ? space : width;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(cut).trimStart();
  }
  if (rest || lines.length === 0) lines.push(rest);
  return lines;
}

/** A bar of `width` cells for `done / total`: `█████░░░░░`. */
export function progressBar(done: number, total: number, width: number): string {
  if (width <= 0) return '';
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(ratio * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}
