import type { FileModel, FileTree } from '../../analysis/types.js';
import { charactersOf } from '../../report/fit-table.js';
import { helpLines } from '../view-model/chrome.js';
import { detailLineCount } from '../view-model/details.js';
import {
  ALL_EXPANDED,
  type FileRows,
  filterTree,
  flattenTree,
  indexOfPath,
  toggleCollapseAll,
  toggleCollapseAt,
} from '../view-model/file-rows.js';
import { type Layout, layoutFor } from '../view-model/layout.js';
import {
  clampCursor,
  cursorTo,
  type ListCursor,
  moveCursor,
  pageCursor,
  TOP,
} from '../view-model/list-cursor.js';
import {
  type Action,
  type FilesState,
  type LayerState,
  PANES,
  type TreeMode,
  type TuiState,
} from './state.js';

export function layoutOf(state: TuiState): Layout {
  return layoutFor(state.viewport, state.layers.length);
}

export function selectedLayer(state: TuiState): number {
  return state.layerCursor.index;
}

// Trees are immutable once the analysis is done; keep the last few so stepping back and forth between
// layers does not ask the model to build them again.
const treeCache = new WeakMap<FileModel, Map<string, FileTree>>();
const TREES_KEPT = 2;

function treeFor(model: FileModel, mode: TreeMode, layer: number): FileTree {
  const trees = treeCache.get(model) ?? new Map<string, FileTree>();
  treeCache.set(model, trees);
  const key = `${mode}:${layer}`;
  let tree = trees.get(key);
  if (tree) {
    trees.delete(key);
  } else {
    tree = mode === 'layer' ? model.layerTree(layer) : model.treeAt(layer);
    if (trees.size >= TREES_KEPT) trees.delete(trees.keys().next().value!);
  }
  trees.set(key, tree);
  return tree;
}

function matchesText(path: string, text: string): boolean {
  if (text === '') return true;
  return text === text.toLowerCase() ? path.toLowerCase().includes(text) : path.includes(text);
}

/**
 * Rebuilds the Files rows (and the waste list) after the tree or the filter changed. With `keepPath` the
 * cursor stays on the same path when it is still shown; otherwise it goes to the top.
 */
function rebuildFiles(state: TuiState, keepPath: boolean): TuiState {
  const { analysis, files } = state;
  if (!analysis || analysis.layers.length === 0) return state;
  const layer = Math.min(selectedLayer(state), analysis.layers.length - 1);
  const tree = treeFor(analysis.model, files.mode, layer);
  const filter = { text: files.filterText, changes: files.changes };
  const rows = flattenTree(filterTree(tree, filter, files.rows?.filtered), files.collapse);
  const layout = layoutOf(state);
  const previousPath = keepPath ? files.rows?.rows[files.cursor.index]?.node.path : undefined;
  const found = previousPath === undefined ? -1 : indexOfPath(rows.rows, previousPath);
  const cursor = found >= 0 ? cursorTo(found, rows.rows.length, layout.filesHeight, files.cursor) : TOP;
  const waste = analysis.waste.inefficientFiles.filter((file) => matchesText(file.path, files.filterText));
  const wasteCursor = clampCursor(keepPath ? files.wasteCursor : TOP, waste.length, layout.filesHeight);
  const appliedFilterText = files.filterText;
  return { ...state, files: { ...files, rows, cursor, waste, wasteCursor, appliedFilterText } };
}

function withFiles(state: TuiState, files: Partial<FilesState>): TuiState {
  return { ...state, files: { ...state.files, ...files } };
}

function updateLayer(state: TuiState, index: number, update: (layer: LayerState) => LayerState): TuiState {
  const layer = state.layers[index];
  if (!layer) return state;
  const layers = state.layers.slice();
  layers[index] = update(layer);
  return { ...state, layers };
}

function fileCount(files: FilesState): number {
  return files.wasteView ? files.waste.length : (files.rows?.rows.length ?? 0);
}

/** How a key moves the focused pane's cursor. */
type Motion = { by: number } | { pages: number } | { to: 'start' | 'end' };

function applyMotion(cursor: ListCursor, motion: Motion, count: number, height: number): ListCursor {
  if ('by' in motion) return moveCursor(cursor, motion.by, count, height);
  if ('pages' in motion) return pageCursor(cursor, motion.pages, count, height);
  return cursorTo(motion.to === 'start' ? 0 : count - 1, count, height, cursor);
}

/** The Details pane's last top line: the one that shows its end at the bottom of the pane. */
function maxDetailsScroll(state: TuiState, layout: Layout): number {
  return Math.max(0, detailLineCount(state, layout.leftWidth) - Math.max(1, layout.detailsHeight));
}

/** The help's last top line: the one that shows its end at the bottom of the screen. */
function maxHelpScroll(layout: Layout): number {
  return Math.max(0, helpLines(layout.columns).length - helpHeight(layout));
}

/** Rows the help pane shows below its title. */
export function helpHeight(layout: Layout): number {
  return Math.max(1, layout.bodyHeight - 1);
}

/** Scrolls a pane that moves as a whole: its "cursor" is the top line, `last` the last top line. */
function scrollBy(top: number, motion: Motion, last: number, height: number): number {
  const stepped = 'pages' in motion ? { by: motion.pages * Math.max(1, height - 1) } : motion;
  return applyMotion({ index: top, offset: top }, stepped, last + 1, 1).index;
}

function moveFocused(state: TuiState, motion: Motion): TuiState {
  const layout = layoutOf(state);
  if (state.help) {
    const helpScroll = scrollBy(state.helpScroll, motion, maxHelpScroll(layout), helpHeight(layout));
    return helpScroll === state.helpScroll ? state : { ...state, helpScroll };
  }
  switch (state.focus) {
    case 'layers': {
      const layerCursor = applyMotion(state.layerCursor, motion, state.layers.length, layout.layersHeight);
      if (layerCursor === state.layerCursor) return state;
      const moved = { ...state, layerCursor, detailsScroll: 0 };
      return layerCursor.index === state.layerCursor.index ? moved : rebuildFiles(moved, true);
    }
    case 'details': {
      const height = Math.max(1, layout.detailsHeight);
      const detailsScroll = scrollBy(state.detailsScroll, motion, maxDetailsScroll(state, layout), height);
      return detailsScroll === state.detailsScroll ? state : { ...state, detailsScroll };
    }
    case 'files': {
      const { files } = state;
      const key = files.wasteView ? 'wasteCursor' : 'cursor';
      const cursor = applyMotion(files[key], motion, fileCount(files), layout.filesHeight);
      return cursor === files[key] ? state : withFiles(state, { [key]: cursor });
    }
  }
}

function clampAll(state: TuiState): TuiState {
  const layout = layoutOf(state);
  const { files } = state;
  return {
    ...state,
    layerCursor: clampCursor(state.layerCursor, state.layers.length, layout.layersHeight),
    // A wider pane wraps into fewer lines: the old top line can be past the new end.
    detailsScroll: Math.min(state.detailsScroll, maxDetailsScroll(state, layout)),
    helpScroll: Math.min(state.helpScroll, maxHelpScroll(layout)),
    files: {
      ...files,
      cursor: clampCursor(files.cursor, files.rows?.rows.length ?? 0, layout.filesHeight),
      wasteCursor: clampCursor(files.wasteCursor, files.waste.length, layout.filesHeight),
    },
  };
}

function setRows(state: TuiState, rows: FileRows): TuiState {
  const cursor = clampCursor(state.files.cursor, rows.rows.length, layoutOf(state).filesHeight);
  return withFiles(state, { rows, collapse: rows.collapse, cursor });
}

export function reduce(state: TuiState, action: Action): TuiState {
  switch (action.type) {
    case 'layer-started':
      return updateLayer(state, action.layer, (layer) => ({ ...layer, status: 'streaming' }));
    case 'layers-progressed':
      return action.progress.reduce(
        (next, { layer, bytesRead }) =>
          updateLayer(next, layer, (current) =>
            current.status === 'done' ? current : { ...current, status: 'streaming', bytesRead },
          ),
        state,
      );
    case 'layer-finished':
      return updateLayer(state, action.summary.index, (layer) => ({
        ...layer,
        status: 'done',
        bytesRead: layer.compressedSize,
        summary: action.summary,
      }));
    case 'analysis-finished': {
      const summaries = action.analysis.layers;
      const layers = state.layers.map((layer) => {
        const summary = summaries[layer.index] ?? layer.summary;
        return { ...layer, status: 'done' as const, bytesRead: layer.compressedSize, summary };
      });
      return rebuildFiles({ ...state, layers, analysis: action.analysis }, false);
    }
    case 'analysis-failed':
      return { ...state, failure: { message: action.message, hint: action.hint, layer: action.layer } };
    case 'report-updated':
      return { ...state, report: action.report, reportFinal: action.final };
    case 'registry-waiting':
      return action.wait.until > (state.registryWait?.until ?? 0)
        ? { ...state, registryWait: action.wait }
        : state;
    case 'registry-wait-ticked':
      return state.registryWait?.until === action.until && state.registryWait.seconds !== action.seconds
        ? { ...state, registryWait: { ...state.registryWait, seconds: action.seconds } }
        : state;
    case 'registry-wait-over':
      return state.registryWait?.until === action.until ? { ...state, registryWait: undefined } : state;
    case 'resized':
      return clampAll({ ...state, viewport: action.viewport });
    case 'focus-cycled': {
      const at = PANES.indexOf(state.focus);
      return { ...state, focus: PANES[(at + action.step + PANES.length) % PANES.length]! };
    }
    case 'cursor-moved':
      return moveFocused(state, { by: action.delta });
    case 'cursor-paged':
      return moveFocused(state, { pages: action.pages });
    case 'cursor-jumped':
      return moveFocused(state, { to: action.to });
    case 'directory-toggled': {
      const { rows, cursor, wasteView } = state.files;
      if (!rows || wasteView) return state;
      const next = toggleCollapseAt(rows, cursor.index);
      return next === rows ? state : setRows(state, next);
    }
    case 'all-directories-toggled': {
      const { rows, wasteView } = state.files;
      if (!rows || wasteView) return state;
      const path = rows.rows[state.files.cursor.index]?.node.path;
      const next = toggleCollapseAll(rows);
      // Stay on the same directory if it is still shown, else on its nearest shown ancestor.
      let index = -1;
      for (let p = path; p && index < 0; p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) {
        index = indexOfPath(next.rows, p);
      }
      const layout = layoutOf(state);
      return withFiles(state, {
        rows: next,
        collapse: next.collapse,
        cursor: cursorTo(Math.max(0, index), next.rows.length, layout.filesHeight, state.files.cursor),
      });
    }
    case 'change-toggled': {
      const changes = { ...state.files.changes, [action.change]: !state.files.changes[action.change] };
      return rebuildFiles(withFiles(state, { changes }), true);
    }
    case 'tree-mode-toggled':
      return rebuildFiles(withFiles(state, { mode: state.files.mode === 'layer' ? 'image' : 'layer' }), true);
    case 'waste-view-toggled':
      return withFiles(state, { wasteView: !state.files.wasteView });
    case 'filter-opened':
      return { ...state, focus: 'files', files: { ...state.files, editingFilter: true } };
    case 'filter-typed': {
      // Unfolded: a match inside a folded directory would otherwise be counted but not shown.
      const typed = withFiles(state, {
        filterText: state.files.filterText + action.text,
        collapse: ALL_EXPANDED,
      });
      return action.deferred ? typed : rebuildFiles(typed, false);
    }
    case 'filter-erased': {
      if (state.files.filterText === '') return state;
      // A character as the screen shows it: one UTF-16 unit off an emoji left half of it (shown as �).
      const filterText = charactersOf(state.files.filterText).slice(0, -1).join('');
      const erased = withFiles(state, { filterText });
      return action.deferred ? erased : rebuildFiles(erased, false);
    }
    case 'filter-applied':
      return state.files.appliedFilterText === state.files.filterText ? state : rebuildFiles(state, false);
    case 'filter-closed': {
      const closed = withFiles(state, { editingFilter: false });
      if (action.keep || state.files.filterText === '') return closed;
      return rebuildFiles(withFiles(closed, { filterText: '' }), true);
    }
    case 'help-toggled':
      return { ...state, help: !state.help, helpScroll: 0 };
  }
}
