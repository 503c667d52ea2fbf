import { TypeCode } from './layer-items.js';
import { type PathTable, ROOT } from './paths.js';
import { Change, RecordFlag, type RecordStore } from './records.js';
import type { ChangeKind, FileEntry, FileTree, TreeNode } from './types.js';

const HIDDEN = -1;
/** A directory shown only to hold something (a removal of a path whose parent never existed). */
const PHANTOM = -2;
const CHANGE_KINDS: readonly (ChangeKind | 'unmodified')[] = ['added', 'modified', 'removed', 'unmodified'];

/** What a tree view reads from the model. */
export interface TreeViewSource {
  readonly paths: PathTable;
  readonly records: RecordStore;
  layerRange(layer: number): [number, number];
  recordAt(path: number, layer: number): number;
  firstRecord(path: number): number;
  entry(record: number, path: string): FileEntry;
}

/**
 * A FileTree over the compact model: per path, the record shown (or none), rolled-up sizes and child
 * counts, computed once in O(paths) when the view is built. `children()` walks the path table's
 * name-sorted child index and builds TreeNode values for the shown children only.
 */
export class TreeView implements FileTree {
  readonly root: TreeNode;
  readonly size: number;
  private readonly totals: Float64Array;
  private readonly childCounts: Int32Array;

  private constructor(
    private readonly source: TreeViewSource,
    private readonly layer: number,
    private readonly shown: Int32Array,
    /** 1 where a path is shown only as the parent of changes (layer trees). */
    private readonly context: Uint8Array | undefined,
  ) {
    const count = source.paths.size;
    this.totals = new Float64Array(count);
    this.childCounts = new Int32Array(count);
    this.size = this.rollUp();
    this.root = {
      id: ROOT,
      name: '',
      path: '/',
      entry: { path: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, layer: 0 },
      change: 'unmodified',
      totalSize: this.totals[ROOT]!,
      childCount: this.childCounts[ROOT]!,
    };
  }

  /** The merged image after layers 0..layer, with what `layer` removed shown as removed. */
  static merged(source: TreeViewSource, layer: number): TreeView {
    const { records } = source;
    const count = source.paths.size;
    const shown = new Int32Array(count).fill(HIDDEN);
    for (let path = 1; path < count; path++) {
      let visible = HIDDEN;
      for (
        let record = source.firstRecord(path);
        record !== HIDDEN && records.layers[record]! <= layer;
        record = records.next[record]!
      )
        visible = record;
      if (visible === HIDDEN) continue;
      if (records.change(visible) !== Change.Removed || records.layers[visible] === layer)
        shown[path] = visible;
    }
    return new TreeView(source, layer, shown, undefined);
  }

  /** Only what `layer` changed, with the directories leading to the changes as context. */
  static layer(source: TreeViewSource, layer: number): TreeView {
    const { records, paths } = source;
    const count = paths.size;
    const shown = new Int32Array(count).fill(HIDDEN);
    const context = new Uint8Array(count);
    const [start, end] = source.layerRange(layer);
    for (let record = start; record < end; record++) shown[records.paths[record]!] = record;
    for (let record = start; record < end; record++) {
      for (
        let at = paths.parent(records.paths[record]!);
        at !== ROOT && shown[at] === HIDDEN;
        at = paths.parent(at)
      ) {
        const visible = source.recordAt(at, layer);
        shown[at] = visible === HIDDEN ? PHANTOM : visible;
        context[at] = 1;
      }
    }
    return new TreeView(source, layer, shown, context);
  }

  children(node: TreeNode): TreeNode[] {
    const { paths } = this.source;
    const prefix = node.id === ROOT ? '/' : `${node.path}/`;
    const nodes: TreeNode[] = [];
    for (const child of paths.sortedChildren(node.id)) {
      if (this.shown[child] !== HIDDEN) nodes.push(this.node(child, prefix + paths.name(child)));
    }
    return nodes;
  }

  private node(id: number, path: string): TreeNode {
    const record = this.shown[id]!;
    return {
      id,
      name: this.source.paths.name(id),
      path,
      entry:
        record === PHANTOM
          ? { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, layer: this.layer }
          : this.source.entry(record, path),
      change: this.changeOf(id),
      totalSize: this.totals[id]!,
      childCount: this.childCounts[id]!,
    };
  }

  private changeOf(id: number): ChangeKind | 'unmodified' {
    const record = this.shown[id]!;
    if (record < 0 || this.context?.[id] === 1) return 'unmodified';
    const { records } = this.source;
    if (records.layers[record] !== this.layer) return 'unmodified';
    return CHANGE_KINDS[records.flags[record]! & RecordFlag.ChangeMask]!;
  }

  private isRemoved(id: number): boolean {
    return this.changeOf(id) === 'removed';
  }

  private ownSize(id: number): number {
    const record = this.shown[id]!;
    if (record < 0) return 0;
    const { records } = this.source;
    return records.types[record] === TypeCode.file ? records.sizes[record]! : 0;
  }

  /**
   * Post-order over the shown nodes reachable from the root: totals (a removed directory counts what it
   * removed; a present one skips its removed children) and child counts. Iterative: paths can be deep.
   */
  private rollUp(): number {
    const { paths } = this.source;
    let size = 0;
    const stack: number[] = [ROOT];
    const expanded: boolean[] = [false];
    while (stack.length > 0) {
      const id = stack[stack.length - 1]!;
      if (!expanded[expanded.length - 1]) {
        expanded[expanded.length - 1] = true;
        for (const child of paths.sortedChildren(id)) {
          if (this.shown[child] === HIDDEN) continue;
          stack.push(child);
          expanded.push(false);
        }
        continue;
      }
      stack.pop();
      expanded.pop();
      if (id !== ROOT) size++;
      const removed = id !== ROOT && this.isRemoved(id);
      let total = this.ownSize(id);
      let children = 0;
      for (const child of paths.sortedChildren(id)) {
        if (this.shown[child] === HIDDEN) continue;
        children++;
        if (removed || !this.isRemoved(child)) total += this.totals[child]!;
      }
      this.totals[id] = total;
      this.childCounts[id] = children;
    }
    return size;
  }
}
