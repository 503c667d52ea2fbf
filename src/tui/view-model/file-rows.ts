/**
 * The Files pane's view model: a tree, a filter and a collapse state in, the flat list of rows a person
 * can scroll through out. Pure functions over immutable values, tested without Ink.
 *
 * Cost model, for trees of 200,000+ nodes: filtering walks the tree once per filter change; flattening
 * walks only what is visible and expanded; collapsing or expanding one directory splices its subtree
 * into or out of the previous row list instead of flattening again; scrolling never touches the tree.
 */
import type { ChangeKind, FileTree, TreeNode } from '../../analysis/types.js';

export type ChangeMark = ChangeKind | 'unmodified';
export const CHANGE_MARKS: readonly ChangeMark[] = ['added', 'modified', 'removed', 'unmodified'];

export type ChangeToggles = Readonly<Record<ChangeMark, boolean>>;
export const ALL_CHANGES: ChangeToggles = { added: true, modified: true, removed: true, unmodified: true };

export interface RowFilter {
  /** Substring of the path; case-insensitive unless it contains a capital letter (smart case). */
  readonly text: string;
  readonly changes: ChangeToggles;
}

export const NO_FILTER: RowFilter = { text: '', changes: ALL_CHANGES };

/** The tree as a filter leaves it: nodes that match, and the directories leading to them. */
export interface FilteredTree {
  readonly tree: FileTree;
  readonly filter: RowFilter;
  children(node: TreeNode): readonly TreeNode[];
  hasChildren(node: TreeNode): boolean;
}

const NO_NODES: readonly TreeNode[] = [];

export function isPassAll(filter: RowFilter): boolean {
  return filter.text === '' && CHANGE_MARKS.every((mark) => filter.changes[mark]);
}

function pathMatcher(text: string): (path: string) => boolean {
  if (text === '') return () => true;
  if (text !== text.toLowerCase()) return (path) => path.includes(text);
  return (path) => path.toLowerCase().includes(text);
}

/** Every node `narrower` keeps, `wider` keeps too: a longer text containing the old, fewer change kinds. */
function narrows(narrower: RowFilter, wider: RowFilter): boolean {
  return (
    narrower.text.includes(wider.text) &&
    CHANGE_MARKS.every((mark) => !narrower.changes[mark] || wider.changes[mark])
  );
}

function sameFilter(a: RowFilter, b: RowFilter): boolean {
  return a.text === b.text && CHANGE_MARKS.every((mark) => a.changes[mark] === b.changes[mark]);
}

/**
 * A filtered tree, the one it was narrowed from (Backspace goes back along that chain), and the
 * self-contained result whose subtrees it shares without walking them.
 */
interface Narrowed extends FilteredTree {
  base: Narrowed | undefined;
  readonly anchor: Narrowed;
}

/** Results kept behind the newest, each with its rows: a long filter erased does not hold every step. */
const NARROWED_KEPT = 8;

const unfilteredCache = new WeakMap<FileTree, Narrowed>();

/**
 * The whole tree, with each directory's children built once: TreeNodes are made on demand, and the
 * first character of a filter would otherwise build all of them again.
 */
function unfiltered(tree: FileTree): Narrowed {
  const cached = unfilteredCache.get(tree);
  if (cached) return cached;
  const built = new Map<number, readonly TreeNode[]>();
  const children = (node: TreeNode): readonly TreeNode[] => {
    if (node.childCount === 0) return NO_NODES;
    let nodes = built.get(node.id);
    if (!nodes) {
      nodes = tree.children(node);
      built.set(node.id, nodes);
    }
    return nodes;
  };
  const filtered: Narrowed = {
    tree,
    filter: NO_FILTER,
    children,
    hasChildren: (node) => node.childCount > 0,
    base: undefined,
    get anchor() {
      return filtered;
    },
  };
  unfilteredCache.set(tree, filtered);
  return filtered;
}

/** The result in `previous`'s chain to start from: the same filter, or the newest that `filter` narrows. */
function startingPoint(tree: FileTree, filter: RowFilter, previous: FilteredTree | undefined): Narrowed {
  let at = previous?.tree === tree ? (previous as Narrowed) : undefined;
  for (; at; at = at.base) if (narrows(filter, at.filter)) return at;
  return unfiltered(tree);
}

/**
 * The walk's result, built apart from the walk so that its closures hold `kept` and the anchor, not the
 * chain. `whole(node)`: the node's subtree is the anchor's, unwalked; without an anchor it is its own.
 */
function narrowed(
  tree: FileTree,
  filter: RowFilter,
  kept: ReadonlyMap<number, readonly TreeNode[]>,
  whole: (node: TreeNode) => boolean,
  base: Narrowed,
  anchor: Narrowed | undefined,
): Narrowed {
  const result: Narrowed = {
    tree,
    filter,
    children: (node) => kept.get(node.id) ?? (whole(node) ? result.anchor.children(node) : NO_NODES),
    hasChildren: (node) => kept.has(node.id) || (whole(node) && result.anchor.hasChildren(node)),
    base,
    get anchor() {
      return anchor ?? result;
    },
  };
  return result;
}

/** Below a directory whose own path matches, every path matches too: it contains the directory's. */
function wholeSubtrees(tree: FileTree, matchesPath: (path: string) => boolean): (node: TreeNode) => boolean {
  const rootId = tree.root.id;
  // childCount first: flattening asks about every file, and a path match costs a lower-cased copy.
  return (node) => node.childCount > 0 && node.id !== rootId && matchesPath(node.path);
}

/**
 * One walk over the tree; the result answers `children` for visible directories only. Given the
 * previous result for the same tree, the walk covers just what the nearest result the new filter narrows
 * left (the user typed one more character), and erasing back to an earlier filter walks nothing.
 */
export function filterTree(tree: FileTree, filter: RowFilter, previous?: FilteredTree): FilteredTree {
  if (isPassAll(filter)) return unfiltered(tree);
  const base = startingPoint(tree, filter, previous);
  if (sameFilter(filter, base.filter)) return base;
  const matchesPath = pathMatcher(filter.text);
  // With the change kinds of the base, a subtree whose directory matches is the base's, which is its
  // anchor's: no need to walk it.
  const sameChanges = CHANGE_MARKS.every((mark) => filter.changes[mark] === base.filter.changes[mark]);
  const whole = sameChanges ? wholeSubtrees(tree, matchesPath) : () => false;
  const kept = new Map<number, readonly TreeNode[]>();
  const matches = (node: TreeNode) => filter.changes[node.change] && matchesPath(node.path);
  // A directory is shown when a child is (it keeps those) or when it matches itself. Walked with a
  // stack of open directories, not by recursion: a hostile layer nests paths thousands deep.
  const open: { node: TreeNode; children: readonly TreeNode[]; next: number; shown: TreeNode[] }[] = [];
  const enter = (node: TreeNode) => open.push({ node, children: base.children(node), next: 0, shown: [] });
  if (base.hasChildren(tree.root)) enter(tree.root);
  while (open.length > 0) {
    const dir = open[open.length - 1]!;
    const child = dir.children[dir.next++];
    if (child) {
      if (!base.hasChildren(child)) {
        if (matches(child)) dir.shown.push(child);
      } else if (whole(child)) dir.shown.push(child);
      else enter(child);
      continue;
    }
    open.pop();
    if (dir.shown.length > 0) kept.set(dir.node.id, dir.shown);
    if ((dir.shown.length > 0 || matches(dir.node)) && open.length > 0)
      open[open.length - 1]!.shown.push(dir.node);
  }
  const result = narrowed(tree, filter, kept, whole, base, sameChanges ? base.anchor : undefined);
  let link: Narrowed | undefined = result;
  for (let i = 0; i < NARROWED_KEPT && link; i++) link = link.base;
  if (link) link.base = undefined;
  return result;
}

/** Which directories are folded: all of them or none, flipped for the paths in `toggled`. */
export interface CollapseState {
  readonly allCollapsed: boolean;
  readonly toggled: ReadonlySet<string>;
}

export const ALL_EXPANDED: CollapseState = { allCollapsed: false, toggled: new Set() };

export function isCollapsed(collapse: CollapseState, path: string): boolean {
  return collapse.allCollapsed !== collapse.toggled.has(path);
}

export interface FileRow {
  readonly node: TreeNode;
  /** 0 for children of the root. */
  readonly depth: number;
  /** Tree guides drawn before the name, e.g. `│  ├─ `. */
  readonly guide: string;
  /** The node has visible children (so space folds or unfolds it). */
  readonly expandable: boolean;
  readonly collapsed: boolean;
}

export interface FileRows {
  readonly filtered: FilteredTree;
  readonly collapse: CollapseState;
  readonly rows: readonly FileRow[];
}

const BRANCH = '├─ ';
const LAST_BRANCH = '└─ ';
const PIPE = '│  ';
const BLANK = '   ';

/** The guide prefix for the children of a row: its own guide with the branch turned into a pipe. */
function childPrefix(row: FileRow): string {
  const stem = row.guide.slice(0, -BRANCH.length);
  return stem + (row.guide.endsWith(LAST_BRANCH) ? BLANK : PIPE);
}

function appendRows(
  out: FileRow[],
  filtered: FilteredTree,
  collapse: CollapseState,
  parent: TreeNode,
  depth: number,
  prefix: string,
): void {
  // A stack of the unfolded directories being listed, not recursion: a hostile layer nests paths
  // thousands deep. One guide string a level, shared by its rows: a 200,000-row flatten builds no strings.
  const open: {
    children: readonly TreeNode[];
    next: number;
    depth: number;
    prefix: string;
    branch: string;
  }[] = [];
  const enter = (node: TreeNode, at: number, stem: string) =>
    open.push({ children: filtered.children(node), next: 0, depth: at, prefix: stem, branch: stem + BRANCH });
  enter(parent, depth, prefix);
  while (open.length > 0) {
    const level = open[open.length - 1]!;
    const i = level.next++;
    const node = level.children[i];
    if (!node) {
      open.pop();
      continue;
    }
    const last = i === level.children.length - 1;
    const expandable = filtered.hasChildren(node);
    const collapsed = expandable && isCollapsed(collapse, node.path);
    const guide = last ? level.prefix + LAST_BRANCH : level.branch;
    out.push({ node, depth: level.depth, guide, expandable, collapsed });
    if (expandable && !collapsed) enter(node, level.depth + 1, level.prefix + (last ? BLANK : PIPE));
  }
}

// Unfolding everything again (Ctrl+Space twice, Esc on a filter) should not walk the tree again.
const expandedCache = new WeakMap<FilteredTree, FileRows>();

export function flattenTree(filtered: FilteredTree, collapse: CollapseState = ALL_EXPANDED): FileRows {
  const allExpanded = !collapse.allCollapsed && collapse.toggled.size === 0;
  const cached = allExpanded ? expandedCache.get(filtered) : undefined;
  if (cached) return cached;
  const rows: FileRow[] = [];
  appendRows(rows, filtered, collapse, filtered.tree.root, 0, '');
  const result = { filtered, collapse, rows };
  if (allExpanded) expandedCache.set(filtered, result);
  return result;
}

/** Index just past the last descendant row of `rows[index]`. */
function subtreeEnd(rows: readonly FileRow[], index: number): number {
  const depth = rows[index]!.depth;
  let end = index + 1;
  while (end < rows.length && rows[end]!.depth > depth) end++;
  return end;
}

/** Folds or unfolds the directory at `index`, splicing its subtree rather than flattening again. */
export function toggleCollapseAt(current: FileRows, index: number): FileRows {
  const row = current.rows[index];
  if (!row?.expandable) return current;
  const toggled = new Set(current.collapse.toggled);
  if (toggled.has(row.node.path)) toggled.delete(row.node.path);
  else toggled.add(row.node.path);
  const collapse: CollapseState = { allCollapsed: current.collapse.allCollapsed, toggled };
  const updated: FileRow = { ...row, collapsed: !row.collapsed };
  const before = current.rows.slice(0, index);
  if (row.collapsed) {
    const subtree: FileRow[] = [];
    appendRows(subtree, current.filtered, collapse, row.node, row.depth + 1, childPrefix(row));
    return { ...current, collapse, rows: before.concat(updated, subtree, current.rows.slice(index + 1)) };
  }
  const end = subtreeEnd(current.rows, index);
  return { ...current, collapse, rows: before.concat(updated, current.rows.slice(end)) };
}

/** Folds every directory, or unfolds every directory when all are already folded. */
export function toggleCollapseAll(current: FileRows): FileRows {
  const foldAll = !(current.collapse.allCollapsed && current.collapse.toggled.size === 0);
  return flattenTree(current.filtered, { allCollapsed: foldAll, toggled: new Set() });
}

/** Row index of `path`, or -1. */
export function indexOfPath(rows: readonly FileRow[], path: string): number {
  for (let i = 0; i < rows.length; i++) if (rows[i]!.node.path === path) return i;
  return -1;
}
