/**
 * Waste and efficiency exactly as dive computes them (wagoodman/dive `dive/filetree/efficiency.go`), fed
 * layer by layer while the image streams, plus what dive does not say: reclaimable bytes and which layers
 * made the waste.
 *
 * dive's model, reproduced here on interned paths instead of an object tree:
 * - Each layer has its own tree: every tar entry added by path, with the parents it implies (parents no
 *   entry named carry an empty FileInfo: size 0, not a directory). Names from `.wh..wh..` on (the opaque
 *   marker's prefix) are never added, but the directories leading to them are. A whiteout `.wh.X` is a
 *   node of its own whose path is X, visited only as a leaf: aufs's `.wh..wh.plnk` too (a whiteout of
 *   `.wh.plnk`, absent below), and what is inside it counts as files, though docker skips all of it at
 *   the root. Where a name is in the tree does not matter to dive.
 * - For every leaf of a layer's tree (root excluded), in dive's walk order (children by name, deepest
 *   first): size = the entry's header size; for a whiteout, the size of X in the stack of the layers
 *   below (a directory: the sizes of everything in it, itself included; anything else: 0). Per path:
 *   cumulative += size, min = smallest size seen, count++.
 * - efficiency = Σ min / Σ cumulative over all paths (1 when Σ cumulative is 0); the inefficient paths
 *   are those counted twice or more, and dive's wasted bytes are their cumulative sizes.
 * - Stacking layer trees: whiteouts remove their path, every other node is added with its FileInfo (so
 *   an implied parent resets a directory's FileInfo to the empty one). Opaque markers are ignored.
 * - A whiteout of a path absent below makes dive's tree lookup fail: the path is recorded with a
 *   smallest size of -1 and the rest of that layer's walk is abandoned. Reproduced, because dive's
 *   figures include it.
 */
import { ItemKind, type LayerItems, resize, TypeCode } from './layer-items.js';
import { compareNames, type PathTable, ROOT } from './paths.js';
import type { ChangeKind, InefficientFile, WasteSummary } from './types.js';

const NONE = -1;
const PRESENT = 1;
const IS_DIR = 2;
const WHITEOUT_PREFIX = '.wh.';
/** dive's `doubleWhiteoutPrefix`: names it never adds to a tree. */
const DOUBLE_WHITEOUT_PREFIX = '.wh..wh..';
/** What a whiteout named with that prefix removes. */
const DOUBLE_WHITEOUT_TARGET = DOUBLE_WHITEOUT_PREFIX.slice(WHITEOUT_PREFIX.length);

/** A leaf visit of one layer: a path, or a whiteout node (whose path is its target). */
interface Leaf {
  path: number;
  whiteout: boolean;
  size: number;
  /** For a whiteout: its target is absent from the stack below. */
  missing: boolean;
}

export class WasteAccumulator {
  private layer = -1;
  private readonly createdBy: string[] = [];
  private readonly contentSizes: number[] = [];

  // dive's stacked tree of the layers seen so far.
  private stackFlags = new Uint8Array(0);
  private stackSizes = new Float64Array(0);

  // The current layer's tree, stamped with layer + 1 so nothing needs clearing between layers.
  private inTree = new Int32Array(0);
  private hasChild = new Int32Array(0);
  private explicit = new Int32Array(0);
  private lastItem = new Int32Array(0);
  private whitedOut = new Int32Array(0);
  private readonly layerNodes: number[] = [];

  // Per path: dive's EfficiencyData. NaN min = not in dive's map yet.
  private cumulative = new Float64Array(0);
  private minimum = new Float64Array(0);
  private counts = new Uint16Array(0);
  /** Per path: the size of the copy a squash keeps (0 once a later layer whited it out). */
  private surviving = new Float64Array(0);
  private survivingLayer = new Int32Array(0);
  private readonly laterVisits = new Map<number, { layer: number; change: ChangeKind }[]>();
  /**
   * Per directory: the layers that removed everything in it from the layers below, by a whiteout of the
   * directory or an opaque marker in it. dive's figures ignore what these remove below the directory;
   * the attribution names them.
   */
  private readonly directoryRemovals = new Map<number, number[]>();
  private readonly inefficient: number[] = [];
  private sumMinimum = 0;
  private sumCumulative = 0;

  constructor(private readonly paths: PathTable) {}

  /** Adds the next layer (in order, base first). */
  addLayer(items: LayerItems, createdBy: string, contentSize: number): void {
    this.layer++;
    this.createdBy.push(createdBy);
    this.contentSizes.push(contentSize);
    this.ensureCapacity(this.paths.size);
    const stamp = this.layer + 1;

    const whiteouts: number[] = [];
    const metaWhiteouts: number[] = [];
    const opaques: number[] = [];
    this.layerNodes.length = 0;
    // Entries come grouped by directory: whether dive skips one's directory is worked out once per group.
    let lastDir = NONE;
    let skippedDir = NONE;
    for (let i = 0; i < items.count; i++) {
      const path = items.paths[i]!;
      const kind = items.kinds[i];
      if (kind !== ItemKind.Marker) {
        const dir = kind === ItemKind.Opaque ? path : this.paths.parent(path);
        if (dir !== lastDir) {
          lastDir = dir;
          skippedDir = this.skippedByDive(dir);
        }
        if (skippedDir !== NONE) {
          this.markNode(this.paths.parent(skippedDir), stamp);
          continue;
        }
      }
      switch (kind) {
        case ItemKind.Entry:
          this.markNode(path, stamp);
          this.explicit[path] = stamp;
          this.lastItem[path] = i;
          break;
        case ItemKind.Whiteout: {
          const parent = this.paths.parent(path);
          this.markNode(parent, stamp);
          // `x/.wh..wh..y`, a whiteout of `x/.wh..y` to docker, is a name dive never adds (x is kept).
          if (this.paths.name(path).startsWith(DOUBLE_WHITEOUT_TARGET)) break;
          this.hasChild[parent] = stamp;
          // A whiteout named twice (`.wh.x`, `./.wh.x`) is one node of dive's layer tree: one visit.
          if (this.whitedOut[path] === stamp) break;
          this.whitedOut[path] = stamp;
          whiteouts.push(path);
          break;
        }
        case ItemKind.Marker:
          this.addMarker(path, i, stamp, metaWhiteouts);
          break;
        case ItemKind.Opaque:
          opaques.push(path);
          this.markNode(path, stamp);
          break;
        default:
          this.markNode(path, stamp);
      }
    }
    // dive visits a whiteout node only as a leaf: `.wh..wh.plnk/` or `x/.wh.y/` holding entries of this
    // layer is none.
    const notLeaves: number[] = [];
    for (const target of whiteouts) {
      const node = this.paths.lookup(this.paths.parent(target), WHITEOUT_PREFIX + this.paths.name(target));
      if (node !== NONE && this.hasChild[node] === stamp) notLeaves.push(target);
    }
    for (let k = 0; k < metaWhiteouts.length; k += 2) {
      const target = metaWhiteouts[k + 1]!;
      if (this.whitedOut[target] === stamp) continue;
      this.whitedOut[target] = stamp;
      whiteouts.push(target);
      if (this.hasChild[metaWhiteouts[k]!] === stamp) notLeaves.push(target);
    }
    const visitedWhiteouts =
      notLeaves.length === 0 ? whiteouts : whiteouts.filter((path) => !notLeaves.includes(path));

    // The stack dive looks whiteouts up in: layers 0..n-1, or for the base layer its own tree as is.
    if (this.layer === 0) for (const node of this.layerNodes) this.addToStack(node, items, stamp);

    let anyMissing = false;
    let conflict = false;
    for (const path of visitedWhiteouts) anyMissing ||= !(this.stackFlags[path]! & PRESENT);
    for (const path of whiteouts) conflict ||= this.inTree[path] === stamp;

    // Order matters when a path is visited twice in this layer, and for where a missing whiteout cuts
    // the walk short; otherwise only the order in which paths become inefficient does (it breaks ties in
    // dive's list), so the common case visits the leaves as they come, with no Leaf made for each.
    const discovered: Leaf[] = [];
    if (conflict || anyMissing) {
      const leaves = this.leavesOf(items, stamp, visitedWhiteouts);
      if (conflict) sortInWalkOrder(leaves, this.paths);
      else this.cutAtFirstMissing(leaves);
      for (const leaf of leaves) {
        if (leaf.missing) {
          this.touch(leaf.path);
          break;
        }
        if (this.visit(leaf.path, leaf.size, leaf.whiteout)) discovered.push(leaf);
      }
    } else {
      for (const node of this.layerNodes) {
        if (this.hasChild[node] === stamp) continue;
        const size = this.nodeSize(node, items, stamp);
        if (this.visit(node, size, false))
          discovered.push({ path: node, whiteout: false, size, missing: false });
      }
      for (const path of visitedWhiteouts) {
        const size = this.removedSize(path);
        if (this.visit(path, size, true)) discovered.push({ path, whiteout: true, size, missing: false });
      }
      sortInWalkOrder(discovered, this.paths);
    }
    for (const leaf of discovered) this.inefficient.push(leaf.path);

    // By the path table, not dive's stack: there a directory no entry named is not one.
    for (const path of whiteouts) if (this.paths.firstChild(path) !== NONE) this.recordDirectoryRemoval(path);
    for (const dir of opaques) this.recordDirectoryRemoval(dir);
    this.stackLayer(items, stamp, whiteouts, conflict);
  }

  result(): WasteSummary {
    const contentSize = sum(this.contentSizes);
    const userSize = contentSize - (this.contentSizes[0] ?? 0);
    const order = this.inefficient.map((path, discovery) => ({ path, discovery }));
    // dive sorts ascending by cumulative size and lists the result backwards: largest first, and for
    // equal sizes the path that became inefficient last comes first.
    order.sort((a, b) => this.cumulative[b.path]! - this.cumulative[a.path]! || b.discovery - a.discovery);
    const inefficientFiles: InefficientFile[] = order.map(({ path }) => this.inefficientFile(path));
    let wastedBytes = 0;
    let reclaimableBytes = 0;
    for (const file of inefficientFiles) {
      wastedBytes += file.wastedBytes;
      reclaimableBytes += file.reclaimableBytes;
    }
    return {
      contentSize,
      userSize,
      efficiency: this.sumCumulative === 0 ? 1 : this.sumMinimum / this.sumCumulative,
      wastedBytes,
      userWastedPercent: userSize === 0 ? 0 : wastedBytes / userSize,
      reclaimableBytes,
      inefficientFiles,
    };
  }

  private inefficientFile(path: number): InefficientFile {
    const cumulative = this.cumulative[path]!;
    const visits = this.laterVisits.get(path) ?? [];
    const last = visits[visits.length - 1];
    const removal = last && last.change !== 'removed' ? this.removalAbove(path, last.layer) : NONE;
    const removals = removal === NONE ? [] : [{ layer: removal, change: 'removed' as const }];
    const overwrittenBy = [...visits, ...removals].map(({ layer, change }) => ({
      layer,
      createdBy: this.createdBy[layer] ?? '',
      change,
    }));
    return {
      path: this.paths.path(path),
      count: this.counts[path]!,
      wastedBytes: cumulative,
      reclaimableBytes: cumulative - this.surviving[path]!,
      overwrittenBy,
    };
  }

  private recordDirectoryRemoval(dir: number): void {
    const layers = this.directoryRemovals.get(dir);
    if (layers) layers.push(this.layer);
    else this.directoryRemovals.set(dir, [this.layer]);
  }

  /** The first layer after `since` that removed a directory above `path`, and so `path`; else NONE. */
  private removalAbove(path: number, since: number): number {
    if (this.directoryRemovals.size === 0) return NONE;
    let first = NONE;
    for (let dir = this.paths.parent(path); dir !== ROOT; dir = this.paths.parent(dir)) {
      for (const layer of this.directoryRemovals.get(dir) ?? []) {
        if (layer > since && (first === NONE || layer < first)) first = layer;
      }
    }
    return first;
  }

  /** This layer's leaves in dive's terms: the nodes without children in its tree, then its whiteouts. */
  private leavesOf(items: LayerItems, stamp: number, whiteouts: readonly number[]): Leaf[] {
    const leaves: Leaf[] = [];
    for (const node of this.layerNodes) {
      if (this.hasChild[node] === stamp) continue;
      leaves.push({ path: node, whiteout: false, size: this.nodeSize(node, items, stamp), missing: false });
    }
    for (const path of whiteouts) {
      const missing = !(this.stackFlags[path]! & PRESENT);
      leaves.push({ path, whiteout: true, size: missing ? 0 : this.removedSize(path), missing });
    }
    return leaves;
  }

  /** Keeps the leaves dive walks before the first missing whiteout, then that whiteout, in place. */
  private cutAtFirstMissing(leaves: Leaf[]): void {
    let first: { leaf: Leaf; key: string } | undefined;
    for (const leaf of leaves) {
      if (!leaf.missing) continue;
      const key = walkKey(leaf.path, true, this.paths);
      if (!first || compareNames(key, first.key) < 0) first = { leaf, key };
    }
    if (!first) return;
    const cutoff = first.key;
    let kept = 0;
    for (const leaf of leaves) {
      if (!leaf.missing && compareNames(walkKey(leaf.path, leaf.whiteout, this.paths), cutoff) < 0)
        leaves[kept++] = leaf;
    }
    leaves[kept++] = first.leaf;
    leaves.length = kept;
  }

  /**
   * aufs metadata, which docker skips, as dive adds it: dive skips only names from `.wh..wh..` on, so
   * `.wh..wh.plnk` is a whiteout node (of `.wh.plnk`), and an entry inside it a node like any other.
   */
  private addMarker(path: number, item: number, stamp: number, metaWhiteouts: number[]): void {
    const skipped = this.skippedByDive(path);
    if (skipped !== NONE) {
      this.markNode(this.paths.parent(skipped), stamp);
      return;
    }
    const name = this.paths.name(path);
    if (!name.startsWith(WHITEOUT_PREFIX)) {
      this.markNode(path, stamp);
      this.explicit[path] = stamp;
      this.lastItem[path] = item;
      return;
    }
    const parent = this.paths.parent(path);
    this.markNode(parent, stamp);
    this.hasChild[parent] = stamp;
    if (name.length === WHITEOUT_PREFIX.length) return;
    const target = this.paths.child(parent, name.slice(WHITEOUT_PREFIX.length));
    if (target >= this.inTree.length) this.ensureCapacity(this.paths.size);
    metaWhiteouts.push(path, target);
  }

  /**
   * The outermost of `dir` and its ancestors named from `.wh..wh..` on (`x/.wh..wh..y/`, a directory to
   * docker), which dive never adds, with everything under it; else NONE.
   */
  private skippedByDive(dir: number): number {
    let skipped = NONE;
    for (let at = dir; at !== ROOT; at = this.paths.parent(at))
      if (this.paths.name(at).startsWith(DOUBLE_WHITEOUT_PREFIX)) skipped = at;
    return skipped;
  }

  /** Puts `path` and its missing ancestors into this layer's tree. */
  private markNode(path: number, stamp: number): void {
    for (let at = path; at !== ROOT && this.inTree[at] !== stamp; at = this.paths.parent(at)) {
      this.inTree[at] = stamp;
      this.layerNodes.push(at);
      this.hasChild[this.paths.parent(at)] = stamp;
    }
  }

  /** The FileInfo size of a node of this layer's tree: its entry's, or 0 for an implied parent. */
  private nodeSize(node: number, items: LayerItems, stamp: number): number {
    return this.explicit[node] === stamp ? items.sizes[this.lastItem[node]!]! : 0;
  }

  private nodeIsDir(node: number, items: LayerItems, stamp: number): boolean {
    return this.explicit[node] === stamp && items.types[this.lastItem[node]!] === TypeCode.dir;
  }

  /** Creates dive's map entry for a path without counting a visit (min -1 until one comes). */
  private touch(path: number): void {
    if (!Number.isNaN(this.minimum[path]!)) return;
    this.minimum[path] = -1;
    this.sumMinimum -= 1;
  }

  /** Counts a leaf; true when it makes the path inefficient (its second visit). */
  private visit(path: number, size: number, whiteout: boolean): boolean {
    this.touch(path);
    const minimum = this.minimum[path]!;
    if (minimum < 0 || size < minimum) {
      this.sumMinimum += size - minimum;
      this.minimum[path] = size;
    }
    this.cumulative[path]! += size;
    this.sumCumulative += size;
    // A layer's entries survive its own whiteouts, whichever dive walks first.
    const stamp = this.layer + 1;
    if (!whiteout) {
      this.surviving[path] = size;
      this.survivingLayer[path] = stamp;
    } else if (this.survivingLayer[path] !== stamp) this.surviving[path] = 0;
    const count = ++this.counts[path]!;
    if (count === 1) return false;
    const visits = this.laterVisits.get(path) ?? [];
    // The stack still holds the layers below: a path a lower layer deleted is added again, not modified.
    const below = this.layer === 0 || (this.stackFlags[path]! & PRESENT) !== 0;
    visits.push({ layer: this.layer, change: whiteout ? 'removed' : below ? 'modified' : 'added' });
    this.laterVisits.set(path, visits);
    return count === 2;
  }

  /** Size dive gives a whiteout of a present path: a directory counts everything in it. */
  private removedSize(path: number): number {
    if (!(this.stackFlags[path]! & IS_DIR)) return 0;
    let total = 0;
    const pending = [path];
    while (pending.length > 0) {
      const at = pending.pop()!;
      total += this.stackSizes[at]!;
      for (let child = this.paths.firstChild(at); child !== NONE; child = this.paths.nextSibling(child))
        if (this.stackFlags[child]! & PRESENT) pending.push(child);
    }
    return total;
  }

  private stackLayer(items: LayerItems, stamp: number, whiteouts: number[], conflict: boolean): void {
    if (!conflict) {
      // Removals and additions commute when no whiteout targets a node of this layer.
      for (const path of whiteouts) this.removeFromStack(path);
      for (const node of this.layerNodes) this.addToStack(node, items, stamp);
      return;
    }
    // Only inside the subtrees of whited-out paths this layer also names does order matter; everything
    // else commutes with them (a node outside has no whiteout above it, or that whiteout would conflict).
    const conflicting = new Set(whiteouts.filter((path) => this.inTree[path] === stamp));
    const ordered: { path: number; whiteout: boolean }[] = [];
    for (const path of whiteouts) {
      if (conflicting.has(path)) ordered.push({ path, whiteout: true });
      else this.removeFromStack(path);
    }
    for (const node of this.layerNodes) {
      if (this.underAny(node, conflicting)) ordered.push({ path: node, whiteout: false });
      else this.addToStack(node, items, stamp);
    }
    sortInWalkOrder(ordered, this.paths);
    for (const node of ordered) {
      if (node.whiteout) this.removeFromStack(node.path);
      else this.addToStack(node.path, items, stamp);
    }
  }

  private underAny(path: number, ancestors: Set<number>): boolean {
    for (let at = path; at !== ROOT; at = this.paths.parent(at)) if (ancestors.has(at)) return true;
    return false;
  }

  /** dive's AddPath: missing parents appear with an empty FileInfo, the node gets the layer's. */
  private addToStack(node: number, items: LayerItems, stamp: number): void {
    for (
      let at = this.paths.parent(node);
      at !== ROOT && !(this.stackFlags[at]! & PRESENT);
      at = this.paths.parent(at)
    ) {
      this.stackFlags[at] = PRESENT;
      this.stackSizes[at] = 0;
    }
    this.stackFlags[node] = PRESENT | (this.nodeIsDir(node, items, stamp) ? IS_DIR : 0);
    this.stackSizes[node] = this.nodeSize(node, items, stamp);
  }

  private removeFromStack(path: number): void {
    if (!(this.stackFlags[path]! & PRESENT)) return;
    const pending = [path];
    while (pending.length > 0) {
      const at = pending.pop()!;
      this.stackFlags[at] = 0;
      for (let child = this.paths.firstChild(at); child !== NONE; child = this.paths.nextSibling(child))
        if (this.stackFlags[child]! & PRESENT) pending.push(child);
    }
  }

  private ensureCapacity(size: number): void {
    if (size <= this.inTree.length) return;
    let capacity = Math.max(1024, this.inTree.length);
    while (capacity < size) capacity *= 2;
    const previous = this.minimum.length;
    this.stackFlags = resize(this.stackFlags, capacity);
    this.stackSizes = resize(this.stackSizes, capacity);
    this.inTree = resize(this.inTree, capacity);
    this.hasChild = resize(this.hasChild, capacity);
    this.explicit = resize(this.explicit, capacity);
    this.lastItem = resize(this.lastItem, capacity);
    this.whitedOut = resize(this.whitedOut, capacity);
    this.cumulative = resize(this.cumulative, capacity);
    this.minimum = resize(this.minimum, capacity);
    this.minimum.fill(Number.NaN, previous);
    this.counts = resize(this.counts, capacity);
    this.surviving = resize(this.surviving, capacity);
    this.survivingLayer = resize(this.survivingLayer, capacity);
  }
}

/** Separates path segments in walk keys: below every character a name can hold. */
const SEPARATOR = '\u0000';
/** Ends a walk key: above the separator, so a directory sorts after what is in it. */
const END = '\u0001';

/**
 * Sorts nodes into dive's walk order: depth first, children by name (Go compares bytes, i.e. code
 * points), a node after its children. A whiteout node sorts under its own name, `.wh.` + the target's.
 * One key string per node, compared natively (by code point, when a key holds surrogates).
 */
function sortInWalkOrder<T extends { path: number; whiteout: boolean }>(nodes: T[], paths: PathTable): void {
  if (nodes.length < 2) return;
  const keyed = nodes.map((node) => ({ node, key: walkKey(node.path, node.whiteout, paths) }));
  const codePoints = keyed.some(({ key }) => /[\ud800-\uffff]/.test(key));
  keyed.sort(
    codePoints
      ? (a, b) => compareNames(a.key, b.key)
      : (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  keyed.forEach(({ node }, index) => {
    nodes[index] = node;
  });
}

function walkKey(path: number, whiteout: boolean, paths: PathTable): string {
  let key = END;
  for (let at = path; at !== ROOT; at = paths.parent(at)) {
    const name = at === path && whiteout ? WHITEOUT_PREFIX + paths.name(at) : paths.name(at);
    key = at === path ? name + key : name + SEPARATOR + key;
  }
  return key;
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** A layer as the pure `computeWaste` takes it. */
export interface WasteLayer {
  items: LayerItems;
  createdBy?: string;
  /** Σ header sizes of the layer's entries; defaults to Σ of its items' sizes. */
  contentSize?: number;
}

/** dive's waste figures for a sequence of layers (base first) over one PathTable. */
export function computeWaste(paths: PathTable, layers: readonly WasteLayer[]): WasteSummary {
  const accumulator = new WasteAccumulator(paths);
  for (const { items, createdBy, contentSize } of layers)
    accumulator.addLayer(
      items,
      createdBy ?? '',
      contentSize ?? sum(Array.from(items.sizes.subarray(0, items.count))),
    );
  return accumulator.result();
}
