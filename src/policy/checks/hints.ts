import type { CacheKind, DeadBytes, LargeFile, Leftover } from '../../analysis/findings.js';
import type { AnalysisSummary } from '../../analysis/summary.js';
import { codeSpan, counted, imageText, layerNumber, shellQuote, shortCommand } from '../../report/format.js';
import type { CheckDetail } from '../../report/report.js';
import { formatSize, MiB } from '../sizes.js';
import { type AnalysisCheck, checkResult } from './check.js';

/**
 * Hints that explain waste and bloat, after platform-limits.md "Image hygiene": package caches left in
 * the image, VCS directories, files a later layer deleted or overwrote (with that layer's command), the
 * largest files, and the total that could be saved. The facts come from the analysis (`HintFindings`);
 * this check words them and says how to fix each.
 */

/** How a kind of leftover directory is called, and how to keep it out. */
interface Advice {
  label: string;
  fix: string;
}

/** Package-manager caches: removed in the same RUN that fills them, they never ship. */
const CACHE_ADVICE: Readonly<Record<CacheKind, Advice>> = {
  'apt-lists': {
    label: 'apt package lists',
    fix: 'end the RUN that calls apt-get update with `&& rm -rf /var/lib/apt/lists/*`',
  },
  'apt-cache': {
    label: 'apt archives and package cache',
    fix: 'end the RUN that calls apt-get install with `&& apt-get clean`',
  },
  'apk-cache': {
    label: 'apk cache',
    fix: 'use `apk add --no-cache`, or end the same RUN with `&& rm -rf /var/cache/apk/*`',
  },
  'yum-cache': {
    label: 'yum/dnf cache',
    fix: 'end the RUN that installs with `&& yum clean all` (or `dnf clean all`)',
  },
  'pip-cache': {
    label: 'pip cache',
    fix: 'use `pip install --no-cache-dir` (or ENV PIP_NO_CACHE_DIR=1)',
  },
  'npm-cache': {
    label: 'npm cache',
    fix: 'end the RUN that calls npm install/ci with `&& npm cache clean --force`',
  },
  'yarn-cache': {
    label: 'yarn cache',
    fix: 'end the RUN that calls yarn install with `&& yarn cache clean`',
  },
  'zypper-cache': {
    label: 'zypper cache',
    fix: 'end the RUN that calls zypper install with `&& zypper clean --all`',
  },
  'uv-cache': {
    label: 'uv cache',
    fix: 'use `uv pip install --no-cache` or `uv sync --no-cache` (or ENV UV_NO_CACHE=1)',
  },
  'poetry-cache': {
    label: 'Poetry cache',
    fix: 'end the RUN that calls poetry install with `&& rm -rf ~/.cache/pypoetry`',
  },
  'go-cache': {
    label: 'Go build or module cache',
    fix: 'build in a stage of its own and COPY only the binary, or end the RUN that builds with `&& go clean -cache -modcache`',
  },
  'maven-cache': {
    label: 'Maven repository',
    fix: 'build in a stage of its own and COPY only the jar, or end the RUN that builds with `&& rm -rf ~/.m2/repository`',
  },
  'gradle-cache': {
    label: 'Gradle cache',
    fix: 'build in a stage of its own and COPY only the jar, or end the RUN that builds with `&& rm -rf ~/.gradle/caches`',
  },
};

const VCS_FIX = 'add the VCS directory to .dockerignore, or COPY only what the app needs';

/**
 * A VCS directory a RUN made (a `git clone`), or a COPY brought from another stage, is not in the build
 * context: .dockerignore cannot keep it out.
 */
function vcsFix(summary: AnalysisSummary, leftover: Leftover): string {
  const command =
    leftover.layer === undefined ? '' : shortCommand(summary.layers[leftover.layer]?.createdBy ?? '');
  if (command.startsWith('RUN '))
    return `delete it in the RUN that cloned it (${codeSpan(`&& rm -rf ${shellQuote(leftover.path)}`)}), or clone in a build stage`;
  if (/^(?:COPY|ADD) (?:--\S+ )*--from=/.test(command))
    return 'COPY only what the app needs from that stage, or delete it there in the RUN that cloned it';
  return VCS_FIX;
}

function adviceFor(summary: AnalysisSummary, leftover: Leftover): Advice {
  if (leftover.kind !== 'vcs') return CACHE_ADVICE[leftover.kind];
  const name = leftover.path.slice(leftover.path.lastIndexOf('/') + 1);
  return { label: `${name} directory`, fix: vcsFix(summary, leftover) };
}

/**
 * imgscope's own threshold, not a platform fact: a cache, VCS directory or deletion at least this big
 * turns the check into a warning; smaller ones are still listed.
 */
export const NOTABLE_BYTES = 1 * MiB;
/** How many of the deleting or overwriting layers, and of VCS directories, are listed. */
export const LAYER_GROUPS = 10;
export const VCS_DIRS = 10;

/** A history command as one short line: `RUN apt-get update && …`. */
export function commandLine(createdBy: string, width = 80): string {
  return shortCommand(createdBy, width);
}

function layerText(summary: AnalysisSummary, layer: number): string {
  const command = commandLine(summary.layers[layer]?.createdBy ?? '');
  const number = layerNumber(layer);
  return command ? `layer ${number} (${codeSpan(command)})` : `layer ${number}`;
}

function leftoverDetail(summary: AnalysisSummary, leftover: Leftover): CheckDetail {
  const { label, fix } = adviceFor(summary, leftover);
  const { layer } = leftover;
  const by = layer === undefined ? '' : `, left by ${layerText(summary, layer)}`;
  const detail: CheckDetail = {
    kind: leftover.kind,
    message: `${label} ${imageText(leftover.path)}: ${formatSize(leftover.bytes)}${by}; ${fix}`,
    path: leftover.path,
    bytes: leftover.bytes,
  };
  if (layer !== undefined) {
    detail.layer = layer;
    detail.createdBy = summary.layers[layer]?.createdBy ?? '';
  }
  return detail;
}

const DELETED_FIX = 'delete files in the same RUN that created them, or build them in another stage';
const OVERWRITTEN_FIX =
  'change files in the same RUN that created them (COPY --chmod/--chown instead of a later chmod/chown)';
/** A COPY or ADD that overwrote files brought them again: no RUN or chmod is involved. */
const COPIED_AGAIN_FIX =
  'copy each file in one layer: narrow this COPY so it leaves out what earlier layers hold, unless an earlier copy is there for the build cache (package.json before npm ci)';

/**
 * Only a layer's own copies: its tar lists a path more than once (or fills a folder it then replaces),
 * which no diff docker, buildkit or kaniko take makes — no Dockerfile change removes it.
 */
const OWN_COPIES_FIX =
  "this layer's tar holds these paths more than once and ships every copy: rebuild it with a tool that writes each path once (docker, buildkit and kaniko do)";

function groupFix(summary: AnalysisSummary, group: DeadBytes): string {
  if (group.change === 'deleted') return DELETED_FIX;
  if (group.ownBytes >= group.bytes) return OWN_COPIES_FIX;
  const command = shortCommand(summary.layers[group.layer]?.createdBy ?? '');
  return /^(?:COPY|ADD) /.test(command) ? COPIED_AGAIN_FIX : OVERWRITTEN_FIX;
}

function groupDetail(summary: AnalysisSummary, group: DeadBytes): CheckDetail {
  const shown = group.largestPaths.map((p) =>
    group.change === 'deleted' ? `${imageText(p.path)} (${formatSize(p.bytes)})` : imageText(p.path),
  );
  const hidden = group.pathCount - group.largestPaths.length;
  const more = hidden > 0 ? `, and ${hidden} more` : '';
  const what = group.change === 'deleted' ? 'deleted' : 'overwrote';
  // What a layer overwrote may be its own copy (a path it lists twice), not only an earlier layer's.
  const shippers =
    group.ownBytes === 0
      ? 'earlier layers'
      : group.ownBytes >= group.bytes
        ? 'this layer'
        : 'earlier layers and this one';
  return {
    kind: group.change,
    message: `${layerText(summary, group.layer)} ${what} ${formatSize(group.bytes)} that ${shippers} still ${shippers === 'this layer' ? 'ships' : 'ship'}: ${shown.join(', ')}${more}; ${groupFix(summary, group)}`,
    bytes: group.bytes,
    layer: group.layer,
    createdBy: summary.layers[group.layer]?.createdBy ?? '',
  };
}

function largestDetail(summary: AnalysisSummary, file: LargeFile): CheckDetail {
  return {
    kind: 'largest-file',
    message: `${imageText(file.path)}: ${formatSize(file.bytes)}, from ${layerText(summary, file.layer)}`,
    path: file.path,
    bytes: file.bytes,
    layer: file.layer,
    createdBy: summary.layers[file.layer]?.createdBy ?? '',
  };
}

export const hints: AnalysisCheck = (_facts, summary) => {
  if (summary.layers.length === 0) return checkResult('hints', 'pass', 'the image has no layers');
  const { leftovers, deadBytes: groups, largestFiles } = summary.findings;
  const bySize = (a: { bytes: number }, b: { bytes: number }) => b.bytes - a.bytes;
  const caches = leftovers.filter((f) => f.kind !== 'vcs').sort(bySize);
  const vcs = leftovers.filter((f) => f.kind === 'vcs').sort(bySize);

  const cacheBytes = caches.reduce((sum, f) => sum + f.bytes, 0);
  const vcsBytes = vcs.reduce((sum, f) => sum + f.bytes, 0);
  const deadBytes = summary.layers.reduce((sum, layer) => sum + layer.wastedBytes, 0);
  const savable = cacheBytes + vcsBytes + deadBytes;

  const parts: string[] = [];
  if (caches.length > 0)
    parts.push(`${counted(caches.length, 'package cache', 'package caches')} (${formatSize(cacheBytes)})`);
  if (vcs.length > 0)
    parts.push(`${counted(vcs.length, 'VCS directory', 'VCS directories')} (${formatSize(vcsBytes)})`);
  if (deadBytes > 0) parts.push(`files deleted or overwritten later (${formatSize(deadBytes)})`);
  const message =
    parts.length > 0
      ? `could save about ${formatSize(savable)}: ${parts.join(', ')}`
      : 'no package caches, VCS directories, or files deleted or overwritten later';

  // Leftovers and deletions are mistakes worth a warning; overwrites are often unavoidable (dpkg status).
  const notable = [
    ...leftovers.map((f) => ({ bytes: f.bytes, fix: adviceFor(summary, f).fix })),
    ...groups
      .filter((g) => g.change === 'deleted')
      .map((g) => ({ bytes: g.bytes, fix: groupFix(summary, g) })),
  ]
    .filter((n) => n.bytes >= NOTABLE_BYTES)
    .sort(bySize);

  return checkResult('hints', notable.length > 0 ? 'warn' : 'pass', message, {
    actual: savable,
    hint: notable[0]?.fix,
    details: [
      ...caches.map((f) => leftoverDetail(summary, f)),
      ...vcs.slice(0, VCS_DIRS).map((f) => leftoverDetail(summary, f)),
      ...groups.slice(0, LAYER_GROUPS).map((g) => groupDetail(summary, g)),
      ...largestFiles.map((file) => largestDetail(summary, file)),
    ],
  });
};
