import stringWidth from 'string-width';
import { truncateEnd } from '../../report/fit-table.js';
import { printable } from '../../report/format.js';

/**
 * What the panes draw, as data: lines of styled segments. Roles name what a piece of text means; the theme
 * decides how that looks (and with NO_COLOR, a role never adds colour — the text alone must carry it).
 */
export type Role =
  | 'plain'
  | 'dim'
  | 'heading'
  | 'key'
  | 'added'
  | 'modified'
  | 'removed'
  | 'pass'
  | 'warn'
  | 'fail'
  | 'skip'
  | 'error'
  | 'progress';

export interface Segment {
  readonly text: string;
  readonly role?: Role;
}

export interface Line {
  readonly segments: readonly Segment[];
  /** The cursor row: drawn inverted, which reads with or without colour. */
  readonly selected?: boolean;
}

export function line(...segments: (Segment | string)[]): Line {
  return { segments: segments.map((s) => (typeof s === 'string' ? { text: s } : s)) };
}

/** Marks the cursor row with a character too: terminals without styles (TERM=dumb) show no inversion. */
export const CURSOR_MARK = '›';

/** A list row: a one-column gutter holding the cursor mark, then the row. */
export function listRow(l: Line, selected: boolean): Line {
  const gutter: Segment = { text: selected ? CURSOR_MARK : ' ', role: 'key' };
  return selected ? { segments: [gutter, ...l.segments], selected } : { segments: [gutter, ...l.segments] };
}

export function seg(text: string, role: Role): Segment {
  return { text, role };
}

export function lineText(l: Line): string {
  return l.segments.map((s) => s.text).join('');
}

/** Terminal columns of `text`: CJK and emoji take two, combining marks none. */
export function columnsOf(text: string): number {
  return /^[\x20-\x7e]*$/.test(text) ? text.length : stringWidth(text);
}

/**
 * Cuts a line to `width` columns, keeping the styles of what remains. Only the selected line is padded
 * (its inversion spans the pane): every column drawn costs Ink time on each frame. Widths are display
columns, so a cut wide name still ends in `…` rather than being clipped by Ink. Control characters
 * (file names and commands come from the image) are shown as `\x1b`: written raw, they would retitle
 * the terminal, colour it or break the layout.
 */
export function fitLine(l: Line, width: number): Line {
  const out: Segment[] = [];
  let used = 0;
  for (const [i, segment] of l.segments.entries()) {
    if (used >= width) {
      // The text so far filled the width exactly: what is left (a count after its label) would vanish
      // without a sign, so the last column says the line goes on.
      if (l.segments.slice(i).some((rest) => rest.text.trim() !== '')) markCut(out);
      break;
    }
    const room = width - used;
    const text = printable(segment.text);
    const columns = columnsOf(text);
    if (columns > room) {
      out.push({ ...segment, text: truncateEnd(text, room) });
      used = width;
      break;
    }
    out.push(text === segment.text ? segment : { ...segment, text });
    used += columns;
  }
  if (l.selected && used < width) out.push({ text: ' '.repeat(width - used) });
  return { ...l, segments: out };
}

/** Ends the last non-empty segment in `…`, in place of its last column. */
function markCut(segments: Segment[]): void {
  for (let i = segments.length - 1; i >= 0; i--) {
    const { text } = segments[i]!;
    if (text === '') continue;
    segments[i] = { ...segments[i]!, text: truncateEnd(`${text}…`, columnsOf(text)) };
    return;
  }
}
