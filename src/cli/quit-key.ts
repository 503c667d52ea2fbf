/**
 * Whether keys typed before the explorer shows hold a q it would take as quit: not one typed in the
 * filter prompt (opened by / or Ctrl+F, closed by Enter, Tab or Esc), where it is text. Each read is a
 * key or a run of keys, as Ink cuts them: an escape sequence (an arrow) is one key, and Esc followed by
 * a key in the same read is Alt+key, which neither closes the prompt nor quits.
 */
const ESC = 0x1b;
const CTRL_F = 0x06;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SLASH = 0x2f;
const QUESTION_MARK = 0x3f;
const Q = 0x71;
const CSI = 0x5b; // [
const SS3 = 0x4f; // O

type Mode = 'keys' | 'filter' | 'help';

export function quitKeyTyped(reads: readonly Uint8Array[]): boolean {
  let mode: Mode = 'keys';
  for (const read of reads) {
    for (let at = 0; at < read.length; at++) {
      const byte = read[at]!;
      if (byte === ESC) {
        // Esc alone closes the prompt or the help.
        if (at === read.length - 1) mode = 'keys';
        else at = endOfEscape(read, at);
        continue;
      }
      if (mode === 'filter') {
        if (byte === CR || byte === LF || byte === TAB) mode = 'keys';
      } else if (byte === Q) {
        return true;
      } else if (mode === 'help') {
        if (byte === QUESTION_MARK || byte === CR || byte === LF) mode = 'keys';
      } else if (byte === SLASH || byte === CTRL_F) {
        mode = 'filter';
      } else if (byte === QUESTION_MARK) {
        mode = 'help';
      }
    }
  }
  return false;
}

/** The index of the last byte of the escape sequence (or Alt+key) starting at `at`. */
function endOfEscape(read: Uint8Array, at: number): number {
  const kind = read[at + 1];
  if (kind === SS3) return Math.min(at + 2, read.length - 1);
  if (kind !== CSI) return at + 1;
  let end = at + 2;
  // Parameter and intermediate bytes, up to the final one (@ to ~).
  while (end < read.length && (read[end]! < 0x40 || read[end]! > 0x7e)) end++;
  return Math.min(end, read.length - 1);
}
