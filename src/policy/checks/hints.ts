import type { Analysis, FileTree, TreeNode } from '../../analysis/types.js';
import type { CheckDetail } from '../../report/report.js';
import { formatSize, MiB } from '../sizes.js';
import { type AnalysisCheck, checkResult } from './check.js';

/**
 * Hints that explain waste and bloat, after platform-limits.md "Image hygiene": package caches left in
 * the image, VCS directories, files a later layer deleted or overwrote (with that layer's command), the
 * largest files, and the total that could be saved.
 */

/** A kind of directory that should not ship, and how to keep it out. */
interface Leftover {
  kind: string;
  label: string;
  fix: string;
}

interface CacheRule extends Leftover {
  /** Matches the directory's absolute path. */
  pattern: RegExp;
}

/** Package-manager caches: removed in the same RUN that fills them, they never ship. */
const CACHE_RULES: readonly CacheRule[] = [
  {
    kind: 'apt-lists',
    label: 'apt package lists',
    pattern: /^\/var\/lib\/apt\/lists$/,
    fix: 'end the RUN that calls apt-get update with `&& rm -rf /var/lib/apt/lists/*`',
  },
  {
    kind: 'apt-cache',
    label: 'apt archives and package cache',
    pattern: /^\/var\/cache\/apt$/,
    fix: 'end the RUN that calls apt-get install with `&& apt-get clean`',
  },
  {
    kind: 'apk-cache',
    label: 'apk cache',
    pattern: /^\/(?:var\/cache\/apk|etc\/apk\/cache)$/,
    fix: 'use `apk add --no-cache`, or end the same RUN with `&& rm -rf /var/cache/apk/*`',
  },
  {
    kind: 'yum-cache',
    label: 'yum/dnf cache',
    pattern: /^\/var\/cache\/(?:yum|dnf)$/,
    fix: 'end the RUN that installs with `&& yum clean all` (or `dnf clean all`)',
  },
  {
    kind: 'pip-cache',
    label: 'pip cache',
    pattern: /\/\.cache\/pip$/,
    fix: 'use `pip install --no-cache-dir` (or ENV PIP_NO_CACHE_DIR=1)',
  },
  {
    kind: 'npm-cache',
    label: 'npm cache',
    pattern: /\/\.npm$/,
    fix: 'end the RUN that calls npm install/ci with `&& npm cache clean --force`',
  },
  {
    kind: 'yarn-cache',
    label: 'yarn cache',
    pattern: /\/(?:\.cache\/yarn|\.yarn-cache)$/,
    fix: 'end the RUN that calls yarn install with `&& yarn cache clean`',
  },
];

const VCS_NAMES = new Set(['.git', '.svn', '.hg']);
const VCS_FIX = 'add the VCS directory to .dockerignore, or COPY only what the app needs';

/**
 * imgscope's own threshold, not a platform fact: a cache, VCS directory or deletion at least this big
 * turns the check into a warning; smaller ones are still listed.
 */
export const NOTABLE_BYTES = 1 * MiB;
/** How many of the largest files, of the deleting or overwriting layers, and of VCS directories are listed. */
export const LARGEST_FILES = 5;
export const LAYER_GROUPS = 10;
export const VCS_DIRS = 10;

interface Found {
  leftover: Leftover;
  path: string;
  bytes: number;
  bytesByLayer: Map<number, number>;
}

/** A history command as one short line: `RUN apt-get update && …`. */
export function commandLine(createdBy: string, width = 80): string {
  const text = createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^(?:RUN )?\/bin\/sh -c /, 'RUN ')
    .replace(/\s*# buildkit$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

function layerText(analysis: Analysis, layer: number): string {
  const command = commandLine(analysis.layers[layer]?.createdBy ?? '');
  return command ? `layer ${layer} (\`${command}\`)` : `layer ${layer}`;
}

function leftoverAt(node: TreeNode): Leftover | undefined {
  const cache = CACHE_RULES.find((rule) => rule.pattern.test(node.path));
  if (cache) return cache;
  if (VCS_NAMES.has(node.name)) return { kind: 'vcs', label: `${node.name} directory`, fix: VCS_FIX };
  return undefined;
}

/** One pass over the final tree: caches and VCS directories (with the layers that filled them) and the largest files. */
function walkFinalTree(tree: FileTree): { found: Found[]; largest: TreeNode[] } {
  const found: Found[] = [];
  const largest: TreeNode[] = [];
  const stack: { node: TreeNode; inside: Found | undefined }[] = [{ node: tree.root, inside: undefined }];
  while (stack.length > 0) {
    const { node, inside } = stack.pop()!;
    // The merged tree shows what the last layer removed, marked removed: it does not ship.
    if (node.change === 'removed') continue;
    const { entry } = node;
    if (entry.type === 'dir') {
      let owner = inside;
      if (!owner && node.totalSize > 0) {
        const leftover = leftoverAt(node);
        if (leftover) {
          owner = { leftover, path: node.path, bytes: node.totalSize, bytesByLayer: new Map() };
          found.push(owner);
        }
      }
      for (const child of tree.children(node)) stack.push({ node: child, inside: owner });
    } else if (entry.type === 'file') {
      if (inside)
        inside.bytesByLayer.set(entry.layer, (inside.bytesByLayer.get(entry.layer) ?? 0) + entry.size);
      keepLargest(largest, node);
    }
  }
  return { found, largest };
}

/** Larger first; equal sizes by path, so the list does not depend on walk order. */
function largerFirst(a: TreeNode, b: TreeNode): number {
  return b.entry.size - a.entry.size || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

function keepLargest(largest: TreeNode[], node: TreeNode): void {
  if (largest.length === LARGEST_FILES && largerFirst(node, largest[largest.length - 1]!) >= 0) return;
  let at = largest.findIndex((n) => largerFirst(node, n) < 0);
  if (at === -1) at = largest.length;
  largest.splice(at, 0, node);
  if (largest.length > LARGEST_FILES) largest.pop();
}

function heaviestLayer(bytesByLayer: Map<number, number>): number | undefined {
  let best: number | undefined;
  let bestBytes = -1;
  for (const [layer, bytes] of bytesByLayer) {
    if (bytes > bestBytes) [best, bestBytes] = [layer, bytes];
  }
  return best;
}

function foundDetail(analysis: Analysis, found: Found): CheckDetail {
  const { leftover } = found;
  const layer = heaviestLayer(found.bytesByLayer);
  const by = layer === undefined ? '' : `, left by ${layerText(analysis, layer)}`;
  const detail: CheckDetail = {
    kind: leftover.kind,
    message: `${leftover.label} ${found.path}: ${formatSize(found.bytes)}${by}; ${leftover.fix}`,
    path: found.path,
    bytes: found.bytes,
  };
  if (layer !== undefined) {
    detail.layer = layer;
    detail.createdBy = analysis.layers[layer]?.createdBy ?? '';
  }
  return detail;
}

/** What one layer made dead: bytes of earlier layers it deleted or overwrote, which still ship in them. */
interface LayerGroup {
  layer: number;
  change: 'deleted' | 'overwritten';
  bytes: number;
  /** The top-level paths it deleted (with the bytes under them) or overwrote, largest first. */
  paths: { path: string; bytes: number }[];
}

/**
 * Splits each layer's dead bytes (`LayerSummary.wastedBytes`: whiteouts, directory whiteouts and opaque
 * directories included, which dive's figures miss) into what it deleted and what it overwrote, walking
 * the layer's own tree down to the entries it removed or modified.
 */
function deadBytesByLayer(analysis: Analysis): LayerGroup[] {
  const groups: LayerGroup[] = [];
  for (const summary of analysis.layers) {
    if (summary.wastedBytes <= 0) continue;
    const tree = analysis.model.layerTree(summary.index);
    const removed: LayerGroup['paths'] = [];
    const modified: LayerGroup['paths'] = [];
    const stack = [tree.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.change === 'removed') removed.push({ path: node.path, bytes: node.totalSize });
      else if (node.change === 'modified' && node.entry.type !== 'dir')
        modified.push({ path: node.path, bytes: node.totalSize });
      else stack.push(...tree.children(node));
    }
    const removedBytes = Math.min(
      summary.wastedBytes,
      removed.reduce((sum, p) => sum + p.bytes, 0),
    );
    const bySize = (a: { bytes: number }, b: { bytes: number }) => b.bytes - a.bytes;
    if (removedBytes > 0) {
      groups.push({
        layer: summary.index,
        change: 'deleted',
        bytes: removedBytes,
        paths: removed.sort(bySize),
      });
    }
    if (summary.wastedBytes > removedBytes) {
      const overwritten = summary.wastedBytes - removedBytes;
      groups.push({
        layer: summary.index,
        change: 'overwritten',
        bytes: overwritten,
        paths: modified.sort(bySize),
      });
    }
  }
  return groups.sort((a, b) => b.bytes - a.bytes);
}

function groupFix(group: LayerGroup): string {
  return group.change === 'deleted'
    ? 'delete files in the same RUN that created them, or build them in another stage'
    : 'change files in the same RUN that created them (COPY --chmod/--chown instead of a later chmod/chown)';
}

const EXAMPLES = 3;

function groupDetail(analysis: Analysis, group: LayerGroup): CheckDetail {
  const shown = group.paths
    .slice(0, EXAMPLES)
    .map((p) => (group.change === 'deleted' ? `${p.path} (${formatSize(p.bytes)})` : p.path));
  const more = group.paths.length > EXAMPLES ? `, and ${group.paths.length - EXAMPLES} more` : '';
  const what = group.change === 'deleted' ? 'deleted' : 'overwrote';
  return {
    kind: group.change,
    message: `${layerText(analysis, group.layer)} ${what} ${formatSize(group.bytes)} that earlier layers still ship: ${shown.join(', ')}${more}; ${groupFix(group)}`,
    bytes: group.bytes,
    layer: group.layer,
    createdBy: analysis.layers[group.layer]?.createdBy ?? '',
  };
}

function largestDetail(analysis: Analysis, node: TreeNode): CheckDetail {
  return {
    kind: 'largest-file',
    message: `${node.path}: ${formatSize(node.entry.size)}, from ${layerText(analysis, node.entry.layer)}`,
    path: node.path,
    bytes: node.entry.size,
    layer: node.entry.layer,
    createdBy: analysis.layers[node.entry.layer]?.createdBy ?? '',
  };
}

function counted(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const hints: AnalysisCheck = (_facts, analysis) => {
  const layerCount = analysis.model.layerCount;
  if (layerCount === 0) return checkResult('hints', 'pass', 'the image has no layers');
  const { found, largest } = walkFinalTree(analysis.model.treeAt(layerCount - 1));
  const bySize = (a: { bytes: number }, b: { bytes: number }) => b.bytes - a.bytes;
  const caches = found.filter((f) => f.leftover.kind !== 'vcs').sort(bySize);
  const vcs = found.filter((f) => f.leftover.kind === 'vcs').sort(bySize);
  const groups = deadBytesByLayer(analysis);

  const cacheBytes = caches.reduce((sum, f) => sum + f.bytes, 0);
  const vcsBytes = vcs.reduce((sum, f) => sum + f.bytes, 0);
  const deadBytes = analysis.layers.reduce((sum, layer) => sum + layer.wastedBytes, 0);
  const savable = cacheBytes + vcsBytes + deadBytes;

  const parts: string[] = [];
  if (caches.length > 0)
    parts.push(`${counted(caches.length, 'package cache', 'package caches')} (${formatSize(cacheBytes)})`);
  if (vcs.length > 0)
    parts.push(`${counted(vcs.length, 'VCS directory', 'VCS directories')} (${formatSize(vcsBytes)})`);
  if (deadBytes > 0) parts.push(`files deleted or overwritten by later layers (${formatSize(deadBytes)})`);
  const message =
    parts.length > 0
      ? `could save about ${formatSize(savable)}: ${parts.join(', ')}`
      : 'no package caches, VCS directories, or files deleted or overwritten by later layers';

  // Leftovers and deletions are mistakes worth a warning; overwrites are often unavoidable (dpkg status).
  const notable = [
    ...found.map((f) => ({ bytes: f.bytes, fix: f.leftover.fix })),
    ...groups.filter((g) => g.change === 'deleted').map((g) => ({ bytes: g.bytes, fix: groupFix(g) })),
  ]
    .filter((n) => n.bytes >= NOTABLE_BYTES)
    .sort(bySize);

  return checkResult('hints', notable.length > 0 ? 'warn' : 'pass', message, {
    actual: savable,
    hint: notable[0]?.fix,
    details: [
      ...caches.map((f) => foundDetail(analysis, f)),
      ...vcs.slice(0, VCS_DIRS).map((f) => foundDetail(analysis, f)),
      ...groups.slice(0, LAYER_GROUPS).map((g) => groupDetail(analysis, g)),
      ...largest.map((node) => largestDetail(analysis, node)),
    ],
  });
};
