/**
 * Test doubles for the analysis seam: a FileTree built from a list of paths, and a FileModel / Analysis
 * over a few layers. Enough of the contract (sorted children, implied directories, rolled-up sizes) for
 * the view model's unit tests; the end-to-end tests use the real analyser.
 */

import { walkByChildren } from '../../src/analysis/tree-walk.js';
import type {
  Analysis,
  EntryType,
  FileModel,
  FileTree,
  InefficientFile,
  LayerChange,
  LayerSummary,
  TreeNode,
} from '../../src/analysis/types.js';
import type { ChangeMark } from '../../src/tui/view-model/file-rows.js';

export interface FakeEntry {
  path: string;
  type?: EntryType;
  size?: number;
  change?: ChangeMark;
  mode?: number;
  uid?: number;
  gid?: number;
  linkTarget?: string;
}

interface MutableNode extends TreeNode {
  kids: MutableNode[];
}

export function fakeTree(entries: readonly FakeEntry[], layer = 0): FileTree {
  let nextId = 0;
  const make = (path: string, spec: FakeEntry | undefined): MutableNode => ({
    id: nextId++,
    name: path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1),
    path,
    entry: {
      path,
      type: spec?.type ?? 'dir',
      mode: spec?.mode ?? (spec?.type === 'dir' || !spec ? 0o755 : 0o644),
      uid: spec?.uid ?? 0,
      gid: spec?.gid ?? 0,
      size: spec?.size ?? 0,
      layer,
      ...(spec?.linkTarget ? { linkTarget: spec.linkTarget } : {}),
    },
    change: spec?.change ?? 'unmodified',
    totalSize: 0,
    childCount: 0,
    kids: [],
  });
  const root = make('/', undefined);
  const byPath = new Map<string, MutableNode>([['/', root]]);
  const ensure = (path: string, spec?: FakeEntry): MutableNode => {
    const existing = byPath.get(path);
    if (existing) {
      if (spec)
        Object.assign(existing, { entry: make(path, spec).entry, change: spec.change ?? 'unmodified' });
      return existing;
    }
    const parentPath = path.slice(0, path.lastIndexOf('/')) || '/';
    const parent = ensure(parentPath);
    const node = make(path, spec);
    parent.kids.push(node);
    byPath.set(path, node);
    return node;
  };
  for (const spec of entries) ensure(spec.path, { ...spec, type: spec.type ?? 'file' });
  const rollUp = (node: MutableNode): number => {
    node.kids.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    node.childCount = node.kids.length;
    node.totalSize = node.entry.size + node.kids.reduce((sum, kid) => sum + rollUp(kid), 0);
    return node.totalSize;
  };
  rollUp(root);
  const tree: FileTree = {
    root,
    size: byPath.size - 1,
    children: (node) => (byPath.get(node.path)?.kids ?? []).slice(),
    walk: (visit) => walkByChildren(tree, visit),
  };
  return tree;
}

/** A model over layers given as their changes (each entry's `change` says what the layer did). */
export function fakeModel(layers: readonly FakeEntry[][]): FileModel {
  return {
    layerCount: layers.length,
    pathCount: new Set(layers.flat().map((e) => e.path)).size,
    entryCount: layers.flat().length,
    *layerChanges(layer: number): Iterable<LayerChange> {
      for (const e of layers[layer] ?? []) {
        const type = e.type ?? 'file';
        const change = e.change === 'unmodified' || !e.change ? 'added' : e.change;
        yield { path: e.path, type, mode: e.mode ?? 0o644, uid: 0, gid: 0, size: e.size ?? 0, layer, change };
      }
    },
    layerTree: (layer) => fakeTree(layers[layer] ?? [], layer),
    deadBytes: () => ({ deleted: 0, overwritten: 0, shadowed: [], removals: [] }),
    treeAt(layer) {
      const merged = new Map<string, FakeEntry>();
      for (let l = 0; l <= layer; l++) {
        for (const e of layers[l] ?? []) {
          if (e.change === 'removed' && l < layer) {
            for (const path of merged.keys())
              if (path === e.path || path.startsWith(`${e.path}/`)) merged.delete(path);
          } else {
            merged.set(e.path, { ...e, change: l === layer ? (e.change ?? 'added') : 'unmodified' });
          }
        }
      }
      return fakeTree([...merged.values()], layer);
    },
  };
}

export function fakeSummary(index: number, overrides: Partial<LayerSummary> = {}): LayerSummary {
  return {
    index,
    digest: `sha256:${String(index).repeat(64).slice(0, 64)}`,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    compression: 'gzip',
    compressedSize: 1000 * (index + 1),
    uncompressedSize: 3000 * (index + 1),
    contentSize: 2500 * (index + 1),
    createdBy: `RUN step ${index}`,
    fileCount: 3,
    added: 2,
    modified: 1,
    removed: 0,
    wastedBytes: 0,
    ...overrides,
  };
}

export function fakeAnalysis(
  layers: readonly FakeEntry[][],
  inefficientFiles: InefficientFile[] = [],
): Analysis {
  return {
    layers: layers.map((_, i) => fakeSummary(i)),
    model: fakeModel(layers),
    waste: {
      contentSize: 10_000,
      userSize: 7_500,
      efficiency: 0.9,
      wastedBytes: inefficientFiles.reduce((sum, f) => sum + f.wastedBytes, 0),
      userWastedPercent: 0.1,
      reclaimableBytes: inefficientFiles.reduce((sum, f) => sum + f.reclaimableBytes, 0),
      inefficientFiles,
    },
  };
}
