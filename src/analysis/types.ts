import type { Digest } from '../oci/digest.js';

/** What a tar entry is, after hardlink/symlink resolution of the header type. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** How a layer's entry relates to the tree below it. */
export type ChangeKind = 'added' | 'modified' | 'removed';

/** Layer blob encoding, detected from magic bytes (media types lie or are absent). */
export type Compression = 'gzip' | 'zstd' | 'none';

/** One path as a layer (or the merged tree) has it. A view value: the model stores entries compactly. */
export interface FileEntry {
  /** Absolute, normalised: `/etc/passwd`. */
  path: string;
  type: EntryType;
  /** Permission bits and setuid/setgid/sticky (no file-type bits). */
  mode: number;
  uid: number;
  gid: number;
  /** File content bytes (0 for everything but regular files). */
  size: number;
  /** Symlink target, or the path a hardlink points at. */
  linkTarget?: string;
  /** Index of the layer that last set this entry. */
  layer: number;
}

/** An entry of one layer's diff: what its tar set, or removed with a whiteout. */
export interface LayerChange extends FileEntry {
  change: ChangeKind;
}

/** Per-layer facts, in application order (base first). */
export interface LayerSummary {
  index: number;
  digest: Digest;
  mediaType: string;
  compression: Compression;
  /** The blob as stored (what a registry transfers). */
  compressedSize: number;
  /** Bytes of the uncompressed tar stream. */
  uncompressedSize: number;
  /** Σ of the tar entries' sizes: dive's layer size. */
  contentSize: number;
  /** `created_by` of the history entry this layer came from ('' when the image has no history). */
  createdBy: string;
  /** Entries in the layer's tar (whiteouts included, estargz metadata excluded). */
  fileCount: number;
  added: number;
  modified: number;
  removed: number;
  /**
   * Bytes this layer made dead: content below it that it overwrote or deleted, and copies it ships and
   * replaces itself.
   */
  wastedBytes: number;
}

/** A path touched by two or more layers (dive's inefficiency list). */
export interface InefficientFile {
  path: string;
  /** Layers whose tree has the path as a leaf. */
  count: number;
  /** dive's figure: Σ size of every copy, the surviving one included. */
  wastedBytes: number;
  /** What a squash would drop: cumulative − the copy that survives (0 when the last layer deleted it). */
  reclaimableBytes: number;
  /** Layers that overwrote or deleted earlier copies, with their commands. */
  overwrittenBy: { layer: number; createdBy: string; change: ChangeKind }[];
}

/** Waste and efficiency, computed exactly as dive computes them (plus `reclaimableBytes`). */
export interface WasteSummary {
  /** Σ layer content sizes (dive's image size). */
  contentSize: number;
  /** Σ content sizes of all layers but the first. */
  userSize: number;
  efficiency: number;
  wastedBytes: number;
  /** wastedBytes / userSize (0 when userSize is 0). */
  userWastedPercent: number;
  reclaimableBytes: number;
  /** Largest dive waste first. */
  inefficientFiles: InefficientFile[];
  /** How many paths are inefficient, when `inefficientFiles` was cut short (a cached summary). */
  inefficientFileCount?: number;
}

/**
 * A node of a merged or per-layer tree as the UI walks it. Directories that no tar entry named
 * (implied by deeper paths) have `entry.type === 'dir'` with mode 0o755 and `layer` of the first child.
 */
export interface TreeNode {
  id: number;
  name: string;
  path: string;
  entry: FileEntry;
  /** For per-layer trees: the change; for merged trees: the change made by the selected layer, if any. */
  change: ChangeKind | 'unmodified';
  /** Σ sizes of this node and everything below it. */
  totalSize: number;
  childCount: number;
}

/**
 * A node as `FileTree.walk` visits it, read straight from the model instead of built as a TreeNode. It is
 * valid only during the visit: the walk reuses it for the next node.
 */
export interface WalkedNode {
  readonly id: number;
  /** 1 for the root's children. */
  readonly depth: number;
  readonly type: EntryType;
  readonly change: ChangeKind | 'unmodified';
  /** Content bytes of a regular file; 0 for everything else. */
  readonly size: number;
  /** Index of the layer that last set this entry. */
  readonly layer: number;
  /** Σ sizes of this node and everything below it. */
  readonly totalSize: number;
  readonly name: string;
  /** The absolute path, built on each call. */
  path(): string;
}

/** A browsable tree: the merged image up to a layer, or one layer's changes. */
export interface FileTree {
  readonly root: TreeNode;
  children(node: TreeNode): TreeNode[];
  /** Number of nodes, root excluded. */
  readonly size: number;
  /**
   * Every node below the root, depth-first and pre-order (siblings last name first), for passes over the
   * whole tree: no TreeNode is built. `visit` returns whether to go into the node's children.
   */
  walk(visit: (node: WalkedNode) => boolean): void;
}

export interface FileModel {
  readonly layerCount: number;
  /** Distinct paths across all layers. */
  readonly pathCount: number;
  /** Tar entries across all layers. */
  readonly entryCount: number;
  layerChanges(layer: number): Iterable<LayerChange>;
  /**
   * The merged tree after layers 0..layer; `change` marks what `layer` itself did. What `layer` removed
   * is still shown, marked 'removed' (with what it contained), as dive shows it; it does not ship.
   */
  treeAt(layer: number): FileTree;
  /** Only what `layer` changed, as a tree (removed entries included). */
  layerTree(layer: number): FileTree;
  /** How `layer` made its dead bytes (`LayerSummary.wastedBytes`). */
  deadBytes(layer: number): LayerDeadBytes;
}

/** What one layer made dead, by how: `deleted + overwritten` is the layer's `wastedBytes`. */
export interface LayerDeadBytes {
  /** Freed by its whiteouts and opaque directories, but for the paths it then sets again. */
  deleted: number;
  /** Freed by its entries replacing what was at their paths (and what it deleted there first). */
  overwritten: number;
  /**
   * Copies the layer ships and replaces itself (a path it lists twice, a file in a directory it then
   * replaces), with the bytes each made dead: part of `overwritten`.
   */
  shadowed: readonly PathBytes[];
  /**
   * Each path a whiteout or opaque directory of the layer removed, with the bytes that freed (0 for one
   * name of a hardlinked file whose other names remain), paths it then set again included.
   */
  removals: readonly PathBytes[];
}

export interface PathBytes {
  path: string;
  bytes: number;
}

export interface Analysis {
  layers: LayerSummary[];
  waste: WasteSummary;
  model: FileModel;
}

/** Progress while layers stream; the TUI renders these, `check` awaits the end. */
export type AnalysisEvent =
  | { type: 'layer-start'; layer: number; compressedSize: number }
  | { type: 'layer-progress'; layer: number; compressedBytes: number; compressedSize: number }
  | { type: 'layer-done'; layer: number; summary: LayerSummary }
  | { type: 'done'; analysis: Analysis };
