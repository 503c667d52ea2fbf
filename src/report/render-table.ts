import Table from 'cli-table3';
import { formatSize } from '../policy/sizes.js';
import { counted, formatPercent, shortCommand, shortDigest, shortPath, truncate } from './format.js';
import type { Report } from './report.js';

const STATUS_MARK = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' } as const;

export interface TableOptions {
  /** Colour escapes allowed (a TTY and no NO_COLOR). */
  color?: boolean;
  /** Terminal width to fit tables into (default 100). */
  width?: number;
  /** How many inefficient files to list. */
  topFiles?: number;
  /** How many findings to list under a check. */
  topDetails?: number;
  /** Said after "Layers were not analysed" when they were not: why, and how to get the figures. */
  notAnalysedNote?: string | undefined;
}

function table(head: string[], colAligns: ('left' | 'right')[], color: boolean): Table.Table {
  return new Table({
    head,
    colAligns,
    style: { head: color ? ['bold'] : [], border: color ? ['grey'] : [], compact: true, 'padding-left': 1 },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}

/** The human summary `imgscope check` prints: image facts, layers, efficiency and where the waste is. */
export function renderTable(report: Report, options: TableOptions = {}): string {
  const color = options.color ?? false;
  const width = Math.max(80, options.width ?? 100);
  const topFiles = options.topFiles ?? 10;
  const topDetails = options.topDetails ?? 5;
  const lines: string[] = [];

  lines.push(`Image      ${report.reference}`);
  lines.push(`Digest     ${report.pinnedReference ?? report.digest}`);
  lines.push(`Platform   ${report.platform}    Schema ${report.schema} (${report.mediaType})`);
  if (report.index) lines.push(`Index      ${report.index.digest} (${report.index.platforms.join(', ')})`);
  const uncompressed = report.layersAnalyzed ? ` · ${formatSize(report.uncompressedSize)} uncompressed` : '';
  lines.push(
    `Size       ${formatSize(report.compressedSize)} compressed${uncompressed} · ${counted(report.layerCount, 'layer', 'layers')}`,
  );
  lines.push('');

  const layers = report.layersAnalyzed
    ? table(
        ['#', 'Compressed', 'Uncompressed', 'Files +/~/-', 'Wasted', 'Command'],
        ['right', 'right', 'right', 'right', 'right', 'left'],
        color,
      )
    : table(['#', 'Compressed', 'Digest', 'Command'], ['right', 'right', 'left', 'left'], color);
  for (const layer of report.layers) {
    // # + sizes + counts + wasted take ~58 columns with borders; the command gets the rest.
    const command = shortCommand(layer.createdBy, width - (report.layersAnalyzed ? 60 : 38)) || '—';
    if (report.layersAnalyzed) {
      layers.push([
        String(layer.index),
        formatSize(layer.compressedSize),
        formatSize(layer.uncompressedSize),
        `${layer.added}/${layer.modified}/${layer.removed}`,
        layer.wastedBytes ? formatSize(layer.wastedBytes) : '',
        command,
      ]);
    } else {
      layers.push([
        String(layer.index),
        formatSize(layer.compressedSize),
        shortDigest(layer.digest),
        command,
      ]);
    }
  }
  lines.push(layers.toString());

  if (report.layersAnalyzed && report.efficiency !== undefined) {
    lines.push('');
    lines.push(
      `Efficiency ${formatPercent(report.efficiency)} · wasted ${formatSize(report.wastedBytes ?? 0)} ` +
        `(${formatPercent(report.userWastedPercent ?? 0)} of user layers) · a squash would drop ` +
        `${formatSize(report.deadBytes ?? 0)}`,
    );
    const files = report.inefficientFiles ?? [];
    if (files.length > 0) {
      const waste = table(
        ['Count', 'Wasted', 'Reclaimable', 'Path', 'Overwritten or removed by'],
        ['right', 'right', 'right', 'left', 'left'],
        color,
      );
      // Count, sizes and borders take ~36 columns; path and culprit share the rest.
      const free = width - 36;
      const pathWidth = Math.max(20, Math.ceil(free * 0.55));
      const byWidth = Math.max(16, free - pathWidth);
      for (const file of files.slice(0, topFiles)) {
        const by = file.overwrittenBy
          .map((o) => `#${o.layer} ${shortCommand(o.createdBy, byWidth)}`)
          .join('; ');
        waste.push([
          String(file.count),
          formatSize(file.wastedBytes),
          formatSize(file.reclaimableBytes),
          shortPath(file.path, pathWidth),
          truncate(by, byWidth),
        ]);
      }
      lines.push('');
      lines.push(`Top inefficient files (${Math.min(files.length, topFiles)} of ${files.length}):`);
      lines.push(waste.toString());
    }
  } else if (!report.layersAnalyzed) {
    lines.push('');
    const note = options.notAnalysedNote ? `: ${options.notAnalysedNote}` : '';
    lines.push(`Layers were not analysed (manifest-only)${note}.`);
  }

  if (report.checks?.length) {
    lines.push('');
    lines.push(`Checks (profile ${report.profile ?? 'none'}):`);
    for (const check of report.checks) {
      lines.push(`  ${STATUS_MARK[check.status]}  ${check.id}: ${check.message}`);
      if (check.hint && check.status !== 'pass') lines.push(`        fix: ${check.hint}`);
      const details = check.details ?? [];
      for (const detail of details.slice(0, topDetails))
        lines.push(`        · ${truncate(detail.message, width - 10)}`);
      if (details.length > topDetails)
        lines.push(`        · … ${details.length - topDetails} more (--json lists them all)`);
    }
  }
  if (report.verdict) {
    lines.push('');
    const deploy = report.pinnedReference ? ` · deploy ${report.pinnedReference}` : '';
    lines.push(`Verdict: ${report.verdict.toUpperCase()}${deploy}`);
  }
  return `${lines.join('\n')}\n`;
}
