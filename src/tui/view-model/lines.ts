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

export function seg(text: string, role: Role): Segment {
  return { text, role };
}

export function lineText(l: Line): string {
  return l.segments.map((s) => s.text).join('');
}

/** Cuts or pads a line to exactly `width` columns, keeping the styles of what remains. */
export function fitLine(l: Line, width: number): Line {
  const out: Segment[] = [];
  let used = 0;
  for (const segment of l.segments) {
    if (used >= width) break;
    const room = width - used;
    if (segment.text.length > room) {
      out.push({ ...segment, text: room > 1 ? `${segment.text.slice(0, room - 1)}…` : '…' });
      used = width;
    } else {
      out.push(segment);
      used += segment.text.length;
    }
  }
  if (used < width) out.push({ text: ' '.repeat(width - used) });
  return { ...l, segments: out };
}
