import { type AnalysisSummary, summarizeAnalysis } from '../../src/analysis/summary.js';
import { walkByChildren } from '../../src/analysis/tree-walk.js';
import type {
  Analysis,
  EntryType,
  FileModel,
  FileTree,
  LayerSummary,
  TreeNode,
  WasteSummary,
} from '../../src/analysis/types.js';
import type { Digest } from '../../src/oci/digest.js';
import type { ImageSource } from '../../src/oci/source.js';
import type { Descriptor } from '../../src/oci/types.js';
import type { ImageFacts } from '../../src/policy/facts.js';
import { MiB } from '../../src/policy/sizes.js';

/** Facts of a small, healthy linux/amd64 registry image; override what a test is about. */
export function fakeFacts(overrides: Partial<ImageFacts> = {}): ImageFacts {
  return {
    reference: 'registry.test/team/app:1.0',
    digest: `sha256:${'a'.repeat(64)}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    schema: 'oci-v1',
    platform: { os: 'linux', architecture: 'amd64' },
    indexPlatforms: undefined,
    config: {
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['node', 'server.js'], ExposedPorts: { '9000/tcp': {} } },
      rootfs: { type: 'layers', diff_ids: [] },
    },
    compressedSize: 100 * MiB,
    storedUncompressed: false,
    layerCount: 3,
    referenceIsTag: true,
    pinnedReference: `registry.test/team/app@sha256:${'a'.repeat(64)}`,
    ...overrides,
  };
}

export interface FakeFile {
  path: string;
  size?: number;
  layer?: number;
  type?: EntryType;
  /** What the layer did to the path (layer trees); list a removed directory before its contents. */
  change?: TreeNode['change'];
}

/** A tree with the given entries; directories are implied by their paths. */
export function fakeTree(files: readonly FakeFile[]): FileTree {
  let nextId = 0;
  const node = (path: string, name: string, type: EntryType, size: number, layer: number): TreeNode => ({
    id: nextId++,
    name,
    path,
    entry: { path, type, mode: 0o755, uid: 0, gid: 0, size, layer },
    change: 'unmodified',
    totalSize: 0,
    childCount: 0,
  });
  const root = node('/', '', 'dir', 0, 0);
  const children = new Map<TreeNode, TreeNode[]>([[root, []]]);
  const byPath = new Map<string, TreeNode>([['/', root]]);
  for (const file of files) {
    const parts = file.path.split('/').filter(Boolean);
    let parent = root;
    parts.forEach((name, i) => {
      const path = `/${parts.slice(0, i + 1).join('/')}`;
      let current = byPath.get(path);
      const leaf = i === parts.length - 1;
      if (current && leaf && file.change) current.change = file.change;
      if (!current) {
        const type = leaf ? (file.type ?? 'file') : 'dir';
        current = node(path, name, type, leaf && type === 'file' ? (file.size ?? 0) : 0, file.layer ?? 0);
        if (leaf && file.change) current.change = file.change;
        byPath.set(path, current);
        children.set(current, []);
        children.get(parent)!.push(current);
      }
      parent = current;
    });
  }
  const total = (n: TreeNode): number => {
    const kids = children.get(n) ?? [];
    n.childCount = kids.length;
    n.totalSize = n.entry.size + kids.reduce((sum, k) => sum + total(k), 0);
    return n.totalSize;
  };
  total(root);
  const tree: FileTree = {
    root,
    children: (n) => children.get(n) ?? [],
    size: byPath.size - 1,
    walk: (visit) => walkByChildren(tree, visit),
  };
  return tree;
}

export function fakeLayer(index: number, overrides: Partial<LayerSummary> = {}): LayerSummary {
  return {
    index,
    digest: `sha256:${String(index).padStart(64, '0')}`,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    compression: 'gzip',
    compressedSize: 10 * MiB,
    uncompressedSize: 30 * MiB,
    contentSize: 29 * MiB,
    createdBy: `/bin/sh -c step-${index}`,
    fileCount: 10,
    added: 10,
    modified: 0,
    removed: 0,
    wastedBytes: 0,
    ...overrides,
  };
}

/**
 * An analysis whose final tree holds `files`, whose layer trees hold `layerTrees[layer]` (only what the
 * layer changed), whose merged trees below the last layer hold `trees[layer]`, with `layers` and waste
 * figures as given.
 */
export function fakeAnalysis(
  options: {
    layers?: LayerSummary[];
    files?: FakeFile[];
    layerTrees?: Record<number, FakeFile[]>;
    trees?: Record<number, FakeFile[]>;
    /** Per layer, the copies it shipped and replaced itself (part of what it overwrote). */
    shadowed?: Record<number, { path: string; bytes: number }[]>;
    waste?: Partial<WasteSummary>;
  } = {},
): Analysis {
  const layers = options.layers ?? [fakeLayer(0), fakeLayer(1), fakeLayer(2)];
  const tree = fakeTree(options.files ?? []);
  const model: FileModel = {
    layerCount: layers.length,
    pathCount: tree.size,
    entryCount: tree.size,
    layerChanges: () => [],
    treeAt: (layer) => {
      const below = options.trees?.[layer];
      if (below) return fakeTree(below);
      if (layer !== layers.length - 1)
        throw new Error(`fake model only has the final tree, not layer ${layer}`);
      return tree;
    },
    layerTree: (layer) => fakeTree(options.layerTrees?.[layer] ?? []),
    // What the layer's tree shows removed was deleted (up to its wastedBytes); the rest overwritten.
    deadBytes: (layer) => {
      const wasted = layers[layer]?.wastedBytes ?? 0;
      const removed = (options.layerTrees?.[layer] ?? [])
        .filter((file) => file.change === 'removed')
        .reduce((sum, file) => sum + (file.size ?? 0), 0);
      const deleted = Math.min(wasted, removed);
      const shadowed = options.shadowed?.[layer] ?? [];
      return { deleted, overwritten: wasted - deleted, shadowed, removals: [] };
    },
  };
  const waste: WasteSummary = {
    contentSize: 87 * MiB,
    userSize: 58 * MiB,
    efficiency: 1,
    wastedBytes: 0,
    userWastedPercent: 0,
    reclaimableBytes: 0,
    inefficientFiles: [],
    ...options.waste,
  };
  return { layers, waste, model };
}

/** The summary the layer checks read, of `fakeAnalysis(options)` (hint findings derived from its trees). */
export function fakeSummary(options: Parameters<typeof fakeAnalysis>[0] = {}): AnalysisSummary {
  return summarizeAnalysis(fakeAnalysis(options));
}

const digestOf = (c: string): Digest => `sha256:${c.repeat(64)}`;

/** A registry image source with a config and three layers; never opens a blob. */
export function fakeSource(overrides: Partial<ImageSource> = {}): ImageSource {
  const layers: Descriptor[] = [0, 1, 2].map((i) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: digestOf(String(i + 1)),
    size: 10 * MiB,
  }));
  return {
    reference: 'localhost:5000/team/app:1.0',
    kind: 'registry',
    digest: digestOf('a'),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    schema: 'oci-v1',
    platform: { os: 'linux', architecture: 'amd64' },
    index: undefined,
    manifest: {
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf('c'), size: 1000 },
      layers,
    },
    rawManifest: new Uint8Array(),
    config: {
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['node', 'server.js'], ExposedPorts: { '9000/tcp': {} } },
      rootfs: { type: 'layers', diff_ids: [] },
      history: [0, 1, 2].map((i) => ({ created_by: `/bin/sh -c step-${i}` })),
    },
    configDescriptor: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: digestOf('c'),
      size: 1000,
    },
    layers,
    openBlob: () => Promise.reject(new Error('the fake source has no blobs')),
    close: () => Promise.resolve(),
    ...overrides,
  };
}
