/**
 * Where each pane goes for a terminal size. The reducer uses the heights for paging and scrolling, the
 * view uses all of it to draw, so both agree on what a page is.
 *
 *   header                                  (1 row)
 *   Layers  (title + list) │ Files (title + column heads + tree)
 *   Details (title + text) │
 *   footer: keys, toggles, filter prompt     (2 rows)
 */
export interface Viewport {
  readonly columns: number;
  readonly rows: number;
}

export interface Layout {
  readonly columns: number;
  /** Rows the app draws: one less than the terminal, so the frame never scrolls it. */
  readonly rows: number;
  readonly bodyHeight: number;
  readonly leftWidth: number;
  /** Files pane width (a one-column separator sits between the two). */
  readonly rightWidth: number;
  /** List rows of each pane, titles excluded. */
  readonly layersHeight: number;
  readonly detailsHeight: number;
  readonly filesHeight: number;
  /** Too small to draw panes; the app shows a one-line notice instead. */
  readonly tooSmall: boolean;
}

export const HEADER_ROWS = 1;
export const FOOTER_ROWS = 2;
export const MIN_COLUMNS = 60;
export const MIN_ROWS = 12;

export function layoutFor(viewport: Viewport, layerCount: number): Layout {
  const columns = Math.max(1, viewport.columns);
  const rows = Math.max(1, viewport.rows - 1);
  const tooSmall = columns < MIN_COLUMNS || rows < MIN_ROWS - 1;
  const bodyHeight = Math.max(0, rows - HEADER_ROWS - FOOTER_ROWS);
  // A share of the width, as dive splits its columns, not a fixed cap: on a wide terminal the layers'
  // commands get the room too, and the Files pane keeps the larger part.
  const leftWidth = Math.max(30, Math.round(columns * 0.4));
  const rightWidth = Math.max(0, columns - leftWidth - 1);
  // Layers get what they need up to about half the left column; Details the rest.
  const layersHeight = Math.max(1, Math.min(layerCount, Math.floor((bodyHeight - 2) / 2)));
  const detailsHeight = Math.max(0, bodyHeight - 2 - layersHeight);
  const filesHeight = Math.max(1, bodyHeight - 2);
  return {
    columns,
    rows,
    bodyHeight,
    leftWidth,
    rightWidth,
    layersHeight,
    detailsHeight,
    filesHeight,
    tooSmall,
  };
}
