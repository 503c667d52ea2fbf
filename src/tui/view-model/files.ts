import type { InefficientFile, TreeNode } from '../../analysis/types.js';
import { formatSize } from '../../policy/sizes.js';
import { truncateEnd, truncateMiddle } from '../../report/fit-table.js';
import { counted, layerNumber, printable } from '../../report/format.js';
import { fitRight, formatMode } from '../format.js';
import type { FilesState, TuiState } from '../state/state.js';
import type { ChangeMark, FileRow } from './file-rows.js';
import { columnsOf, type Line, line, listRow, type Role, type Segment, seg } from './lines.js';
import { windowOf } from './list-cursor.js';

/** The change is shown by a symbol as well as a colour, so the tree reads without colour. */
export const CHANGE_SYMBOL: Record<ChangeMark, string> = {
  added: '+',
  modified: '~',
  removed: '-',
  unmodified: ' ',
};
const CHANGE_ROLE: Record<ChangeMark, Role> = {
  added: 'added',
  modified: 'modified',
  removed: 'removed',
  unmodified: 'plain',
};

const SIZE_WIDTH = 9;
const OWNER_WIDTH = 11;
/** Below this many columns for names, the uid:gid column gives way; below the next, the mode. */
const NAME_ROOM = 18;

export interface FileColumns {
  mode: boolean;
  owner: boolean;
}

export function fileColumns(width: number): FileColumns {
  const fixed = 3 + SIZE_WIDTH + 1;
  if (width - fixed - 11 - (OWNER_WIDTH + 1) >= NAME_ROOM) return { mode: true, owner: true };
  if (width - fixed - 11 >= NAME_ROOM) return { mode: true, owner: false };
  return { mode: false, owner: false };
}

export function fileHeading(width: number): Line {
  const columns = fileColumns(width);
  return line(
    seg(
      `   ${columns.mode ? 'Permission ' : ''}${columns.owner ? `${fitRight('UID:GID', OWNER_WIDTH)} ` : ''}` +
        `${fitRight('Size', SIZE_WIDTH)} Name`,
      'dim',
    ),
  );
}

/** The row's own name: `▸ ` on a folded directory, `/` after any directory. */
function ownName(node: TreeNode, row: FileRow): string {
  if (node.entry.type !== 'dir') return printable(node.name);
  return `${row.collapsed ? '▸ ' : ''}${printable(node.name)}/`;
}

function linkArrow(node: TreeNode): string {
  const { entry } = node;
  if (!entry.linkTarget) return '';
  if (entry.type === 'symlink') return ` → ${printable(entry.linkTarget)}`;
  return entry.type === 'hardlink' ? ` ⇒ ${printable(entry.linkTarget)}` : '';
}

/**
 * The name in `room` columns. A link whose own name fits keeps it and cuts its target at the end; any other
 * name that does not fit is cut in the middle, keeping its end: cut at the end, `bundle.js` and
 * `bundle.js.map`, or two git packs, showed as the same row. A link always keeps its arrow.
 */
function fittedName(node: TreeNode, row: FileRow, room: number): string {
  const own = ownName(node, row);
  const arrow = linkArrow(node);
  const whole = own + arrow;
  if (columnsOf(whole) <= room) return whole;
  if (!arrow) return truncateMiddle(own, Math.max(1, room));
  if (columnsOf(own) + 3 < room) return truncateEnd(whole, room);
  // No room for any of the target: the arrow stays, or a link showed as a plain file (`localtime`).
  return `${truncateMiddle(own, Math.max(1, room - 2))}${arrow.slice(0, 2)}`;
}

/** Columns a name keeps before the tree guides in front of it give way (half the room, if less). */
const MIN_NAME = 16;
/** One level of the tree guides: `│  `, `├─ `. */
const GUIDE_LEVEL = 3;

/**
 * The guides in `room` columns: deep in a tree they took the whole row, and a row showed `…` alone in
 * place of its name. Past a depth that leaves the name MIN_NAME columns, what does not fit gives way from
 * the left, after a `…`; the last level, the row's own branch, always stays. The room depends on the pane
 * alone, not on the name, so that rows nested deeper are never drawn less indented.
 */
function fittedGuide(guide: string, room: number): string {
  const guideRoom = room - Math.min(MIN_NAME, Math.floor(room / 2));
  // Levels kept after the `…`; a guide of no more levels is drawn whole, and so less indented.
  const levels = Math.max(1, Math.floor((guideRoom - 1) / GUIDE_LEVEL));
  if (guide.length <= levels * GUIDE_LEVEL) return guide;
  return `…${guide.slice(-levels * GUIDE_LEVEL)}`;
}

export function fileLine(row: FileRow, columns: FileColumns, width = Number.POSITIVE_INFINITY): Line {
  const { node } = row;
  const { entry } = node;
  const role = CHANGE_ROLE[node.change];
  const mode = columns.mode ? `${formatMode(entry.type, entry.mode)} ` : '';
  const owner = columns.owner ? `${fitRight(`${entry.uid}:${entry.gid}`, OWNER_WIDTH)} ` : '';
  const size = entry.type === 'dir' ? node.totalSize : entry.size;
  const head = `${CHANGE_SYMBOL[node.change]} ${mode}${owner}${fitRight(formatSize(size), SIZE_WIDTH)} `;
  const room = width - head.length;
  const guide = fittedGuide(row.guide, room);
  return line(seg(head, role), seg(guide, 'dim'), seg(fittedName(node, row, room - guide.length), role));
}

export function fileLines(files: FilesState, width: number, height: number): Line[] {
  const rows = files.rows;
  if (!rows) return [];
  const columns = fileColumns(width);
  return windowOf(rows.rows, files.cursor, height).map((row, i) => {
    // One column less: the cursor's gutter.
    return listRow(fileLine(row, columns, width - 1), files.cursor.offset + i === files.cursor.index);
  });
}

/** Under this many columns left for the path, a waste figure gives way: Reclaim first, then Copies. */
const MIN_WASTE_PATH = 20;

interface WasteColumns {
  readonly copies: boolean;
  readonly reclaim: boolean;
  /** Columns left for the path. */
  readonly room: number;
}

/** Which waste figures fit beside a readable path in `width` columns (Wasted always stays). */
function wasteColumns(width: number): WasteColumns {
  const copies = 6 + 1;
  const figure = SIZE_WIDTH + 1;
  const gutter = 1;
  const all = width - gutter - copies - 2 * figure;
  if (all >= MIN_WASTE_PATH) return { copies: true, reclaim: true, room: all };
  const withCopies = all + figure;
  if (withCopies >= MIN_WASTE_PATH) return { copies: true, reclaim: false, room: withCopies };
  return { copies: false, reclaim: false, room: withCopies + copies };
}

export function wasteHeading(width = Number.POSITIVE_INFINITY): Line {
  const columns = wasteColumns(width);
  const copies = columns.copies ? `${fitRight('Copies', 6)} ` : '';
  const reclaim = columns.reclaim ? `${fitRight('Reclaim', SIZE_WIDTH)} ` : '';
  return line(seg(` ${copies}${fitRight('Wasted', SIZE_WIDTH)} ${reclaim}Path`, 'dim'));
}

function lastChange(file: InefficientFile): string {
  const last = file.overwrittenBy.at(-1);
  return last ? `  (${last.change} by layer ${layerNumber(last.layer)})` : '';
}

/**
 * A waste row's path and its last change, in `room` columns. The note gives way first; a path that does
 * not fit is cut in the middle, keeping its end, where the file name is (apt lists share a long start).
 */
function wastePath(file: InefficientFile, room: number): Segment[] {
  const path = printable(file.path);
  if (columnsOf(path) <= room) return [seg(path, 'plain'), seg(lastChange(file), 'dim')];
  return [seg(truncateMiddle(path, Math.max(1, room)), 'plain')];
}

export function wasteLines(files: FilesState, width: number, height: number): Line[] {
  const columns = wasteColumns(width);
  return windowOf(files.waste, files.wasteCursor, height).map((file, i) => {
    const l = line(
      columns.copies ? `${fitRight(`${file.count}×`, 6)} ` : '',
      `${fitRight(formatSize(file.wastedBytes), SIZE_WIDTH)} `,
      columns.reclaim ? `${fitRight(formatSize(file.reclaimableBytes), SIZE_WIDTH)} ` : '',
      ...wastePath(file, columns.room),
    );
    return listRow(l, files.wasteCursor.offset + i === files.wasteCursor.index);
  });
}

/** Below this many columns, a filter cut in the middle says too little: a shorter title is tried first. */
const MIN_FILTER_COLUMNS = 12;

/**
 * A title in `width` columns from `heads`, longest first, then the filter (when one is applied) and the
 * count, `tails` longest first: the first that shows the whole filter, else the first that leaves the filter
 * (cut in the middle) MIN_FILTER_COLUMNS, else the shortest. Cut at the pane's edge instead, an 80-column
 * terminal showed a kept filter as `"…e"`, and a 60-column one not at all: nothing else on the screen says
 * a filter is on.
 */
function fitTitle(
  heads: readonly string[],
  filterText: string,
  tails: readonly string[],
  width: number,
): string {
  const last = heads.at(-1)!;
  if (!filterText) {
    const forms = [...heads.map((head) => head + tails[0]), ...tails.slice(1).map((tail) => last + tail)];
    return forms.find((form) => columnsOf(form) <= width) ?? forms.at(-1)!;
  }
  const filter = printable(filterText);
  const forms: [string, string][] = [
    ...heads.map((head): [string, string] => [`${head} matching "`, `"${tails[0]}`]),
    ...tails.map((tail): [string, string] => [`${last} "`, `"${tail}`]),
  ];
  const room = ([head, tail]: [string, string]) => width - columnsOf(head + tail);
  const whole = forms.find((form) => columnsOf(filter) <= room(form));
  if (whole) return whole[0] + filter + whole[1];
  const form = forms.find((f) => room(f) >= MIN_FILTER_COLUMNS) ?? forms.at(-1)!;
  return form[0] + truncateMiddle(filter, Math.max(1, room(form))) + form[1];
}

/**
 * The Files pane's title in `width` columns: which tree, which layer, what is filtered, how many rows. The
 * words give way before the filter and the count do: `Files: Layer 3 changes`, `Layer 3 changes`, `Layer 3`.
 */
export function filesTitle(state: TuiState, width = Number.POSITIVE_INFINITY): string {
  const { files } = state;
  const layer = layerNumber(state.layerCursor.index);
  const filter = files.appliedFilterText;
  if (files.wasteView) {
    if (!state.analysis) return 'Waste: counted once every layer is read';
    const count = counted(files.waste.length, 'inefficient file', 'inefficient files');
    return fitTitle([`Waste: ${count}`, `Waste: ${files.waste.length}`], filter, [''], width);
  }
  if (state.layers.length === 0) return 'Files: the image has no layers';
  const heads =
    files.mode === 'layer'
      ? [`Files: Layer ${layer} changes`, `Layer ${layer} changes`, `Layer ${layer}`]
      : [`Files: Image up to layer ${layer}`, `Image up to layer ${layer}`, `Image up to ${layer}`];
  const rows = files.rows?.rows.length;
  const tails = rows === undefined ? [''] : [` (${counted(rows, 'row', 'rows')})`, ` (${rows})`];
  return fitTitle(heads, filter, tails, width);
}

/** What the Files pane says while it has nothing to show. */
export function filesPlaceholder(state: TuiState): string {
  if (state.failure) return 'No file tree: the analysis failed (see Details).';
  if (!state.analysis) {
    const done = state.layers.filter((layer) => layer.status === 'done').length;
    return `Reading layers… ${done} of ${state.layers.length} done. The tree appears when all are read.`;
  }
  if (state.files.wasteView) return 'No file was written or deleted by more than one layer.';
  if (state.layers.length === 0) return 'The image has no layers, so no files.';
  if (state.files.appliedFilterText || Object.values(state.files.changes).includes(false))
    return 'Nothing matches the filter.';
  return state.files.mode === 'image'
    ? 'The image has no files up to this layer.'
    : 'This layer changes no files.';
}
