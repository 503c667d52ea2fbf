/**
 * The facts behind imgscope's hints, derived from the file model once: package caches and VCS
 * directories left in the final image, the bytes each layer made dead (deleted or overwritten), and the
 * largest files. They depend on no policy, so they can be cached with an image's summary; the hints check
 * (src/policy/checks/hints.ts) turns them into advice.
 *
 * Changing what is found here changes cached summaries: bump SUMMARY_REVISION in cache/location.ts.
 */
import type { Analysis, FileTree, PathBytes, WalkedNode } from './types.js';

export type CacheKind =
  | 'apt-lists'
  | 'apt-cache'
  | 'apk-cache'
  | 'yum-cache'
  | 'pip-cache'
  | 'npm-cache'
  | 'yarn-cache'
  | 'zypper-cache'
  | 'uv-cache'
  | 'poetry-cache'
  | 'go-cache'
  | 'maven-cache'
  | 'gradle-cache';
export type LeftoverKind = CacheKind | 'vcs';

/** A directory of the final image that should not ship: a package manager's cache or a VCS directory. */
export interface Leftover {
  kind: LeftoverKind;
  /** Absolute path of the directory. */
  path: string;
  /** Σ sizes of everything under it. */
  bytes: number;
  /** The layer whose files put most bytes there; absent when it holds no regular file. */
  layer?: number;
}

/** What one layer made dead: bytes of earlier layers it deleted or overwrote, which still ship in them. */
export interface DeadBytes {
  layer: number;
  change: 'deleted' | 'overwritten';
  bytes: number;
  /**
   * The top-level paths it deleted or overwrote, with the bytes each made dead (what a deleted path held;
   * what an overwritten one replaced: a file's bytes, or all a directory held), largest first; at most
   * DEAD_PATH_EXAMPLES.
   */
  largestPaths: { path: string; bytes: number }[];
  /** How many such paths there are in all. */
  pathCount: number;
  /** Of `bytes`, what the layer shipped itself and then replaced (a path it lists twice); 0 if deleted. */
  ownBytes: number;
}

export interface LargeFile {
  path: string;
  bytes: number;
  layer: number;
}

export interface HintFindings {
  /** In the order a walk of the final tree meets them (it breaks ties between equal sizes). */
  leftovers: Leftover[];
  /** Largest first; per layer, what it deleted before what it overwrote. */
  deadBytes: DeadBytes[];
  /** The LARGEST_FILES largest regular files of the final image, largest first, equal sizes by path. */
  largestFiles: LargeFile[];
}

/** How many of the largest files, and of each layer's dead paths, are kept. */
export const LARGEST_FILES = 5;
export const DEAD_PATH_EXAMPLES = 3;

/** Package-manager caches, by the directory's absolute path (after platform-limits.md "Image hygiene"). */
const CACHE_PATTERNS: readonly { kind: CacheKind; pattern: RegExp }[] = [
  { kind: 'apt-lists', pattern: /^\/var\/lib\/apt\/lists$/ },
  { kind: 'apt-cache', pattern: /^\/var\/cache\/apt$/ },
  { kind: 'apk-cache', pattern: /^\/(?:var\/cache\/apk|etc\/apk\/cache)$/ },
  { kind: 'yum-cache', pattern: /^\/var\/cache\/(?:yum|dnf|libdnf5)$/ },
  { kind: 'pip-cache', pattern: /\/\.cache\/pip$/ },
  // npm's cache is `_cacache`: `npm cache clean --force` removes it, not the `_logs` beside it.
  { kind: 'npm-cache', pattern: /\/\.npm\/_cacache$/ },
  { kind: 'yarn-cache', pattern: /\/(?:\.cache\/yarn|\.yarn-cache)$/ },
  { kind: 'zypper-cache', pattern: /^\/var\/cache\/zypp$/ },
  { kind: 'uv-cache', pattern: /\/\.cache\/uv$/ },
  { kind: 'poetry-cache', pattern: /\/\.cache\/pypoetry$/ },
  // Go's build cache, and its module cache (`$GOPATH/pkg/mod`: /go in the golang images, ~/go elsewhere).
  { kind: 'go-cache', pattern: /\/(?:\.cache\/go-build|go\/pkg\/mod)$/ },
  { kind: 'maven-cache', pattern: /\/\.m2\/repository$/ },
  { kind: 'gradle-cache', pattern: /\/\.gradle\/caches$/ },
];

const VCS_NAMES = new Set(['.git', '.svn', '.hg']);
/**
 * The name of every directory CACHE_PATTERNS or VCS_NAMES can match: other directories are passed over
 * without building their path (on a 200,000-file image that walk was a tenth of the findings' time).
 */
const LEFTOVER_NAMES = new Set([
  'lists',
  'apt',
  'apk',
  'cache',
  'yum',
  'dnf',
  'libdnf5',
  'pip',
  '_cacache',
  'yarn',
  '.yarn-cache',
  'zypp',
  'uv',
  'pypoetry',
  'go-build',
  'mod',
  'repository',
  'caches',
  ...VCS_NAMES,
]);

export const LEFTOVER_KINDS: readonly LeftoverKind[] = [...CACHE_PATTERNS.map((rule) => rule.kind), 'vcs'];

/**
 * Everything the hints need from an analysis: one walk of the final tree, one of each wasting layer, and
 * for a layer that overwrote something, a walk of the tree below it limited to the paths it modified.
 */
export function hintFindingsOf(analysis: Pick<Analysis, 'layers' | 'model'>): HintFindings {
  const { layerCount } = analysis.model;
  if (layerCount === 0) return { leftovers: [], deadBytes: [], largestFiles: [] };
  const { leftovers, largest } = walkFinalTree(analysis.model.treeAt(layerCount - 1));
  return { leftovers, deadBytes: deadBytesByLayer(analysis), largestFiles: largest };
}

function leftoverKindAt(path: string, name: string): LeftoverKind | undefined {
  const cache = CACHE_PATTERNS.find((rule) => rule.pattern.test(path));
  if (cache) return cache.kind;
  return VCS_NAMES.has(name) ? 'vcs' : undefined;
}

interface Found {
  leftover: Leftover;
  /** Depth of the leftover directory: the walk is pre-order, so its contents follow it until a node this shallow. */
  depth: number;
  bytesByLayer: Map<number, number>;
}

/** One pass over the final tree: caches and VCS directories (with the layers that filled them) and the largest files. */
function walkFinalTree(tree: FileTree): { leftovers: Leftover[]; largest: LargeFile[] } {
  const found: Found[] = [];
  const largest: LargeFile[] = [];
  let inside: Found | undefined;
  tree.walk((node) => {
    if (inside && node.depth <= inside.depth) inside = undefined;
    // The merged tree shows what the last layer removed, marked removed: it does not ship.
    if (node.change === 'removed') return false;
    const type = node.type;
    if (type === 'dir') {
      if (!inside && node.totalSize > 0 && LEFTOVER_NAMES.has(node.name)) {
        const path = node.path();
        const kind = leftoverKindAt(path, node.name);
        if (kind) {
          inside = {
            leftover: { kind, path, bytes: node.totalSize },
            depth: node.depth,
            bytesByLayer: new Map(),
          };
          found.push(inside);
        }
      }
      return true;
    }
    if (type === 'file') {
      const { size, layer } = node;
      if (inside) inside.bytesByLayer.set(layer, (inside.bytesByLayer.get(layer) ?? 0) + size);
      keepLargest(largest, size, layer, node);
    }
    return false;
  });
  const leftovers = found.map(({ leftover, bytesByLayer }) => {
    const layer = heaviestLayer(bytesByLayer);
    return layer === undefined ? leftover : { ...leftover, layer };
  });
  return { leftovers, largest };
}

/** Larger first; equal sizes by path, so the list does not depend on walk order. */
function largerFirst(a: LargeFile, b: LargeFile): number {
  return b.bytes - a.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** Keeps the LARGEST_FILES largest; a file's path is built only when it can make the list. */
function keepLargest(largest: LargeFile[], bytes: number, layer: number, node: WalkedNode): void {
  const last = largest[LARGEST_FILES - 1];
  if (last && bytes < last.bytes) return;
  const file = { path: node.path(), bytes, layer };
  if (last && largerFirst(file, last) >= 0) return;
  let at = largest.findIndex((kept) => largerFirst(file, kept) < 0);
  if (at === -1) at = largest.length;
  largest.splice(at, 0, file);
  if (largest.length > LARGEST_FILES) largest.pop();
}

/** The first layer with the most bytes (a layer of empty files only still counts). */
function heaviestLayer(bytesByLayer: Map<number, number>): number | undefined {
  let best: number | undefined;
  let bestBytes = -1;
  for (const [layer, bytes] of bytesByLayer) {
    if (bytes > bestBytes) [best, bestBytes] = [layer, bytes];
  }
  return best;
}

const bySize = (a: { bytes: number }, b: { bytes: number }) => b.bytes - a.bytes;

/**
 * Each layer's dead bytes (`LayerSummary.wastedBytes`: whiteouts, directory whiteouts, opaque directories
 * and copies the layer shadows itself included, which dive's figures miss), split as the model counted
 * them into what it deleted and what it overwrote, with the paths behind each: the layer's own tree walked
 * down to the entries it removed or modified, and the tree below it for what the modified ones replaced.
 */
function deadBytesByLayer(analysis: Pick<Analysis, 'layers' | 'model'>): DeadBytes[] {
  const groups: DeadBytes[] = [];
  const group = (
    layer: number,
    change: DeadBytes['change'],
    bytes: number,
    paths: { path: string; bytes: number }[],
    ownBytes = 0,
  ): DeadBytes => ({
    layer,
    change,
    bytes,
    largestPaths: paths.sort(bySize).slice(0, DEAD_PATH_EXAMPLES),
    pathCount: paths.length,
    ownBytes,
  });
  for (const summary of analysis.layers) {
    if (summary.wastedBytes <= 0) continue;
    const { deleted, overwritten, shadowed, removals } = analysis.model.deadBytes(summary.index);
    const freedAt = freedBytesLookup(removals);
    const removed: { path: string; bytes: number }[] = [];
    const modified = newStep();
    const trail: Step[] = [modified];
    // Removed paths with what they held; modified ones (and the directories leading to them) as Steps.
    analysis.model.layerTree(summary.index).walk((node) => {
      const change = node.change;
      if (change === 'removed') {
        const path = node.path();
        removed.push({ path, bytes: freedAt(path) ?? node.totalSize });
        return false;
      }
      const isDir = node.type === 'dir';
      if (change !== 'modified' && !isDir) return false;
      const step = newStep();
      const parent = trail[node.depth - 1]!;
      if (!parent.children) parent.children = new Map();
      parent.children.set(node.name, step);
      trail[node.depth] = step;
      if (change === 'modified') {
        step.modified = true;
        step.nowDir = isDir;
        for (let depth = node.depth - 1; depth >= 0 && !trail[depth]!.leads; depth--)
          trail[depth]!.leads = true;
      }
      return isDir;
    });
    if (deleted > 0) groups.push(group(summary.index, 'deleted', deleted, removed));
    if (overwritten > 0) {
      const paths = mergedByPath([...overwrittenPaths(analysis.model, summary.index, modified), ...shadowed]);
      const own = shadowed.reduce((sum, copy) => sum + copy.bytes, 0);
      groups.push(group(summary.index, 'overwritten', overwritten, paths, Math.min(own, overwritten)));
    }
  }
  return groups.sort(bySize);
}

/**
 * What a layer's removals freed at or under a path, as the model counted them (a hardlinked file's bytes
 * only where its last name went); undefined where the layer removed nothing there itself.
 */
function freedBytesLookup(removals: readonly PathBytes[]): (path: string) => number | undefined {
  if (removals.length === 0) return () => undefined;
  const sorted = [...removals].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const before = [0];
  for (const removal of sorted) before.push(before[before.length - 1]! + removal.bytes);
  /** How many removals sort before `key`. */
  const rank = (key: string): number => {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (sorted[mid]!.path < key) low = mid + 1;
      else high = mid;
    }
    return low;
  };
  const between = (from: number, to: number) => before[to]! - before[from]!;
  return (path) => {
    // The path itself (the keys before `path\0`), then what is under it: from `path/` up to `path0`
    // ('0' follows '/'), leaving out siblings such as `path.txt` that sort between.
    const self = rank(path);
    const afterSelf = rank(`${path}\u0000`);
    const under = rank(`${path}/`);
    const afterUnder = rank(`${path}0`);
    if (self === afterSelf && under === afterUnder) return undefined;
    return between(self, afterSelf) + between(under, afterUnder);
  };
}

/** One line per path, its bytes summed: a layer can overwrite a lower copy and then its own. */
function mergedByPath(paths: readonly { path: string; bytes: number }[]): { path: string; bytes: number }[] {
  const byPath = new Map<string, number>();
  for (const { path, bytes } of paths) byPath.set(path, (byPath.get(path) ?? 0) + bytes);
  return [...byPath].map(([path, bytes]) => ({ path, bytes }));
}

/** The paths a layer modified, and the directories that lead to them, by name from the root. */
interface Step {
  children: Map<string, Step> | undefined;
  /** Something below was modified. */
  leads: boolean;
  modified: boolean;
  /** The layer made the modified path a directory. */
  nowDir: boolean;
}

const newStep = (): Step => ({ children: undefined, leads: false, modified: false, nowDir: false });

/**
 * What each path `layer` modified replaced, from the tree below the layer: a file's bytes, or all a
 * directory held when something else took its place. A directory that stays one (new mode or owner)
 * replaced nothing itself. The walk only enters the directories that lead to modified paths.
 */
function overwrittenPaths(
  model: Analysis['model'],
  layer: number,
  modified: Step,
): { path: string; bytes: number }[] {
  const paths: { path: string; bytes: number }[] = [];
  if (!modified.leads || layer === 0) return paths;
  const trail: Step[] = [modified];
  model.treeAt(layer - 1).walk((node) => {
    const step = trail[node.depth - 1]!.children?.get(node.name);
    if (!step) return false;
    const isDir = node.type === 'dir';
    if (step.modified && !(step.nowDir && isDir)) paths.push({ path: node.path(), bytes: node.totalSize });
    trail[node.depth] = step;
    return isDir && step.leads;
  });
  return paths;
}
