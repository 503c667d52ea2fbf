import { formatSize } from '../policy/sizes.js';
import { fittedTable, type TableColumn, truncateEnd, truncateMiddle, wrapToWidth } from './fit-table.js';
import {
  counted,
  formatPercent,
  layerNumber,
  pinnedLabel,
  printable,
  shortCommand,
  shortDigest,
} from './format.js';
import { imageSelected, indexPlatforms } from './no-image.js';
import type { Report } from './report.js';
import { verdictNote } from './verdict.js';

const DEFAULT_WIDTH = 100;

const STATUS_MARK = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' } as const;
/** Where a check's findings start: under its message, after `· `. */
const FINDING_INDENT = ' '.repeat(10);

export interface TableOptions {
  /** Colour escapes allowed (a TTY and no NO_COLOR). */
  color?: boolean;
  /** Terminal width to fit tables into (default 100, for output that is not a terminal). */
  width?: number;
  /** How many inefficient files to list. */
  topFiles?: number;
  /** How many findings to list under a check. */
  topDetails?: number;
  /** Said after "Layers were not analysed" when they were not: why, and how to get the figures. */
  notAnalysedNote?: string | undefined;
}

/** The human summary `imgscope check` prints: image facts, layers, efficiency and where the waste is. */
export function renderTable(report: Report, options: TableOptions = {}): string {
  const color = options.color ?? false;
  const width = options.width ?? DEFAULT_WIDTH;
  const topFiles = options.topFiles ?? 10;
  const topDetails = options.topDetails ?? 5;
  const lines: string[] = [];

  // The table's cells are made printable by fittedTable; every other line from the image is made so here.
  lines.push(printable(`Image      ${report.reference}`));
  if (!imageSelected(report)) {
    // An index without the platform: there is no image, so no size and no layers to show.
    lines.push(printable(`Index      ${report.digest}    Schema ${report.schema} (${report.mediaType})`));
    lines.push(printable(`Platform   none selected: the index has ${indexPlatforms(report)}`));
  } else {
    lines.push(printable(`Digest     ${report.pinnedReference ?? report.digest}`));
    lines.push(printable(`Platform   ${report.platform}    Schema ${report.schema} (${report.mediaType})`));
    if (report.index) lines.push(printable(`Index      ${report.index.digest} (${indexPlatforms(report)})`));
    const uncompressed = report.layersAnalyzed
      ? ` · ${formatSize(report.uncompressedSize)} uncompressed`
      : '';
    lines.push(
      `Size       ${formatSize(report.compressedSize)} compressed${uncompressed} · ${counted(report.layerCount, 'layer', 'layers')}`,
    );
    lines.push('');
  }

  const command: TableColumn = { head: 'Command', align: 'left', shorten: truncateEnd };
  const commandOf = (createdBy: string) => shortCommand(createdBy, Number.POSITIVE_INFINITY) || '—';
  if (report.layersAnalyzed) {
    const columns: TableColumn[] = [
      { head: '#', align: 'right' },
      { head: 'Compressed', shortHead: 'Compr.', align: 'right' },
      { head: 'Uncompressed', shortHead: 'Uncompr.', align: 'right' },
      { head: 'Files +/~/-', shortHead: '+/~/-', align: 'right' },
      // Bytes of the layers below that this one deleted or overwrote; they add up to what a squash drops.
      { head: 'Made dead', shortHead: 'Dead', align: 'right' },
      command,
    ];
    const rows = report.layers.map((layer) => [
      String(layerNumber(layer.index)),
      formatSize(layer.compressedSize),
      formatSize(layer.uncompressedSize),
      `${layer.added}/${layer.modified}/${layer.removed}`,
      layer.wastedBytes ? formatSize(layer.wastedBytes) : '',
      commandOf(layer.createdBy),
    ]);
    lines.push(fittedTable(columns, rows, width, color));
  } else if (report.layers.length > 0) {
    const columns: TableColumn[] = [
      { head: '#', align: 'right' },
      { head: 'Compressed', shortHead: 'Compr.', align: 'right' },
      { head: 'Digest', align: 'left' },
      command,
    ];
    const rows = report.layers.map((layer) => [
      String(layerNumber(layer.index)),
      formatSize(layer.compressedSize),
      shortDigest(layer.digest),
      commandOf(layer.createdBy),
    ]);
    lines.push(fittedTable(columns, rows, width, color));
  }

  if (report.layersAnalyzed && report.efficiency !== undefined) {
    lines.push('');
    lines.push(
      `Efficiency ${formatPercent(report.efficiency)} · wasted ${formatSize(report.wastedBytes ?? 0)} ` +
        `(${formatPercent(report.userWastedPercent ?? 0)} of user layers) · a squash would drop ` +
        `${formatSize(report.deadBytes ?? 0)}`,
    );
    const files = report.inefficientFiles ?? [];
    if (files.length > 0) {
      const columns: TableColumn[] = [
        { head: 'Count', align: 'right' },
        { head: 'Wasted', align: 'right' },
        { head: 'Reclaimable', shortHead: 'Reclaim.', align: 'right' },
        { head: 'Path', align: 'left', shorten: truncateMiddle },
        { head: 'Overwritten or removed by', shortHead: 'Dropped by', align: 'left', shorten: truncateEnd },
      ];
      const rows = files
        .slice(0, topFiles)
        .map((file) => [
          String(file.count),
          formatSize(file.wastedBytes),
          formatSize(file.reclaimableBytes),
          file.path,
          file.overwrittenBy
            .map((o) => `#${layerNumber(o.layer)} ${shortCommand(o.createdBy, Number.POSITIVE_INFINITY)}`)
            .join('; '),
        ]);
      const waste = fittedTable(columns, rows, width, color);
      lines.push('');
      lines.push(
        `Top inefficient files (${Math.min(files.length, topFiles)} of ${report.inefficientFileCount ?? files.length}):`,
      );
      lines.push(waste);
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
      lines.push(printable(`  ${STATUS_MARK[check.status]}  ${check.id}: ${check.message}`));
      if (check.hint && check.status !== 'pass') lines.push(printable(`        fix: ${check.hint}`));
      const details = check.details ?? [];
      for (const detail of details.slice(0, topDetails)) {
        // Wrapped, not cut: the end of a finding is its fix.
        const [first, ...more] = wrapToWidth(printable(detail.message), width - FINDING_INDENT.length);
        lines.push(
          `${FINDING_INDENT.slice(0, -2)}· ${first}`,
          ...more.map((line) => `${FINDING_INDENT}${line}`),
        );
      }
      if (details.length > topDetails)
        lines.push(`        · … ${details.length - topDetails} more (--json lists them all)`);
    }
  }
  if (report.verdict) {
    lines.push('');
    const pinned = report.pinnedReference ? ` · ${pinnedLabel(report)} ${report.pinnedReference}` : '';
    lines.push(printable(`Verdict: ${report.verdict.toUpperCase()}${verdictNote(report)}${pinned}`));
  }
  return `${lines.join('\n')}\n`;
}
