/** A cursor over a list shown through a window of `height` rows: which row is selected, which is on top. */
export interface ListCursor {
  readonly index: number;
  readonly offset: number;
}

export const TOP: ListCursor = { index: 0, offset: 0 };

/** Keeps the cursor inside the list and the window around the cursor. */
export function clampCursor(cursor: ListCursor, count: number, height: number): ListCursor {
  const rows = Math.max(1, height);
  const index = count === 0 ? 0 : Math.min(Math.max(cursor.index, 0), count - 1);
  let offset = Math.min(cursor.offset, Math.max(0, count - rows));
  if (index < offset) offset = index;
  if (index >= offset + rows) offset = index - rows + 1;
  offset = Math.max(0, offset);
  return index === cursor.index && offset === cursor.offset ? cursor : { index, offset };
}

/** `next`, or `current` itself when nothing moved (callers compare by identity to skip work). */
function settle(current: ListCursor, next: ListCursor): ListCursor {
  return next.index === current.index && next.offset === current.offset ? current : next;
}

export function moveCursor(cursor: ListCursor, delta: number, count: number, height: number): ListCursor {
  return settle(cursor, clampCursor({ index: cursor.index + delta, offset: cursor.offset }, count, height));
}

/** Moves a page: the window moves with the cursor so the same row stays at the same place on screen. */
export function pageCursor(cursor: ListCursor, pages: number, count: number, height: number): ListCursor {
  const delta = pages * Math.max(1, height - 1);
  return settle(
    cursor,
    clampCursor({ index: cursor.index + delta, offset: cursor.offset + delta }, count, height),
  );
}

export function cursorTo(
  index: number,
  count: number,
  height: number,
  current: ListCursor = TOP,
): ListCursor {
  return settle(current, clampCursor({ index, offset: current.offset }, count, height));
}

/** The rows a window shows. */
export function windowOf<T>(items: readonly T[], cursor: ListCursor, height: number): readonly T[] {
  return items.slice(cursor.offset, cursor.offset + Math.max(0, height));
}
