import { ENTRY_TYPES, TypeCode } from './layer-items.js';
import { type PathTable, ROOT } from './paths.js';
import { Change, RecordFlag, type RecordStore } from './records.js';
import type { ChangeKind, EntryType, FileEntry, FileTree, TreeNode, WalkedNode } from './types.js';

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
      if (visible === HIDDEN || records.removedUnseen(visible)) continue;
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
    for (let record = start; record < end; record++)
      shown[records.paths[record]!] = records.removedUnseen(record) ? HIDDEN : record;
    for (let record = start; record < end; record++) {
      if (shown[records.paths[record]!] === HIDDEN) continue;
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

  walk(visit: (node: WalkedNode) => boolean): void {
    const { paths } = this.source;
    const cursor = new WalkCursor(this.source, this, this.layer);
    const ids: number[] = [];
    const depths: number[] = [];
    const pushChildren = (id: number, depth: number) => {
      for (const child of paths.sortedChildren(id)) {
        if (this.shown[child] === HIDDEN) continue;
        ids.push(child);
        depths.push(depth);
      }
    };
    pushChildren(ROOT, 1);
    while (ids.length > 0) {
      const id = ids.pop()!;
      const depth = depths.pop()!;
      cursor.id = id;
      cursor.depth = depth;
      if (visit(cursor)) pushChildren(id, depth + 1);
    }
  }

  /** The record a node shows, PHANTOM for a directory shown only to hold something. */
  recordOf(id: number): number {
    return this.shown[id]!;
  }

  totalOf(id: number): number {
    return this.totals[id]!;
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

  changeOf(id: number): ChangeKind | 'unmodified' {
    const record = this.shown[id]!;
    if (record < 0 || this.context?.[id] === 1) return 'unmodified';
    const { records } = this.source;
    if (records.layers[record] !== this.layer) return 'unmodified';
    return CHANGE_KINDS[records.flags[record]! & RecordFlag.ChangeMask]!;
  }

  private isRemoved(id: number): boolean {
    return this.changeOf(id) === 'removed';
  }

  /** Content bytes of the regular file a node shows; 0 for everything else. */
  ownSize(id: number): number {
    const record = this.shown[id]!;
    if (record < 0) return 0;
    const { records } = this.source;
    return records.types[record] === TypeCode.file ? records.sizes[record]! : 0;
  }

  /**
   * Totals (a removed directory counts what it removed; a present one skips its removed children) and
   * child counts of the shown nodes reachable from the root. A path's id is always above its parent's, so
   * ascending ids reach parents before children, and descending ids are a post-order: two linear passes,
   * no child index, no stack.
   */
  private rollUp(): number {
    const { paths } = this.source;
    const count = paths.size;
    const reachable = new Uint8Array(count);
    reachable[ROOT] = 1;
    for (let id = 1; id < count; id++)
      if (this.shown[id] !== HIDDEN && reachable[paths.parent(id)] === 1) reachable[id] = 1;
    let size = 0;
    for (let id = count - 1; id > ROOT; id--) {
      if (reachable[id] === 0) continue;
      size++;
      const total = this.totals[id]! + this.ownSize(id);
      this.totals[id] = total;
      const parent = paths.parent(id);
      this.childCounts[parent]!++;
      if (!this.isRemoved(id) || (parent !== ROOT && this.isRemoved(parent))) this.totals[parent]! += total;
    }
    this.totals[ROOT]! += this.ownSize(ROOT);
    return size;
  }
}

/** The one WalkedNode a walk moves from node to node: fields read from the view's arrays on demand. */
class WalkCursor implements WalkedNode {
  id = ROOT;
  depth = 0;

  constructor(
    private readonly source: TreeViewSource,
    private readonly view: TreeView,
    private readonly viewLayer: number,
  ) {}

  private get record(): number {
    return this.view.recordOf(this.id);
  }

  get type(): EntryType {
    const record = this.record;
    return record === PHANTOM ? 'dir' : ENTRY_TYPES[this.source.records.types[record]!]!;
  }

  get change(): ChangeKind | 'unmodified' {
    return this.view.changeOf(this.id);
  }

  get size(): number {
    return this.view.ownSize(this.id);
  }

  get layer(): number {
    const record = this.record;
    return record === PHANTOM ? this.viewLayer : this.source.records.layers[record]!;
  }

  get totalSize(): number {
    return this.view.totalOf(this.id);
  }

  get name(): string {
    return this.source.paths.name(this.id);
  }

  path(): string {
    return this.source.paths.path(this.id);
  }
}
