import { describe, expect, it } from 'vitest';
import { clampCursor, moveCursor, pageCursor, TOP, windowOf } from '../../src/tui/view-model/list-cursor.js';

describe('a cursor over a scrolling window', () => {
  it('scrolls the window only when the cursor leaves it', () => {
    let cursor = TOP;
    for (let i = 0; i < 4; i++) cursor = moveCursor(cursor, 1, 100, 5);
    expect(cursor).toEqual({ index: 4, offset: 0 });
    cursor = moveCursor(cursor, 1, 100, 5);
    expect(cursor).toEqual({ index: 5, offset: 1 });
    cursor = moveCursor(cursor, -3, 100, 5);
    expect(cursor).toEqual({ index: 2, offset: 1 });
    cursor = moveCursor(cursor, -2, 100, 5);
    expect(cursor).toEqual({ index: 0, offset: 0 });
  });

  it('stops at both ends', () => {
    expect(moveCursor(TOP, -1, 10, 5)).toBe(TOP);
    expect(moveCursor({ index: 9, offset: 5 }, 1, 10, 5)).toEqual({ index: 9, offset: 5 });
  });

  it('pages by a window less one row, moving the window with the cursor', () => {
    const paged = pageCursor({ index: 2, offset: 0 }, 1, 100, 10);
    expect(paged).toEqual({ index: 11, offset: 9 });
    expect(pageCursor(paged, -1, 100, 10)).toEqual({ index: 2, offset: 0 });
    expect(pageCursor({ index: 95, offset: 90 }, 1, 100, 10)).toEqual({ index: 99, offset: 90 });
  });

  it('clamps when the list shrinks or the window grows', () => {
    expect(clampCursor({ index: 50, offset: 45 }, 10, 5)).toEqual({ index: 9, offset: 5 });
    expect(clampCursor({ index: 9, offset: 5 }, 10, 20)).toEqual({ index: 9, offset: 0 });
    expect(clampCursor({ index: 3, offset: 2 }, 0, 5)).toEqual({ index: 0, offset: 0 });
  });

  it('shows only the window', () => {
    const items = Array.from({ length: 200_000 }, (_, i) => i);
    expect(windowOf(items, { index: 150_002, offset: 150_000 }, 3)).toEqual([150_000, 150_001, 150_002]);
  });
});
