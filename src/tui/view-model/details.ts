import { formatSize } from '../../policy/sizes.js';
import { truncateMiddle } from '../../report/fit-table.js';
import { formatPercent, layerNumber, printable, shortCommand, shortDigest } from '../../report/format.js';
import type { CheckResult, CheckStatus, Report } from '../../report/report.js';
import { wrapText } from '../format.js';
import type { TuiState } from '../state/state.js';
import { layerFailure } from './layers.js';
import { columnsOf, type Line, line, lineText, type Role, type Segment, seg } from './lines.js';

export const STATUS_ROLE: Record<CheckStatus, Role> = {
  pass: 'pass',
  warn: 'warn',
  fail: 'fail',
  skip: 'skip',
};
const TOP_FILES = 5;

function wrapped(text: string, width: number, indent = '  ', role: Role = 'plain'): Line[] {
  return wrapText(text, width - indent.length).map((part) => line(indent, seg(part, role)));
}

function field(label: string, value: string, width: number): Line[] {
  const head = `  ${label} `;
  if (head.length + value.length <= width) return [line(seg(head, 'dim'), value)];
  return [line(seg(head, 'dim')), ...wrapped(value, width, '    ')];
}

/**
 * Two figures on one line, or the second on a line of its own when both do not fit: cut at the pane's
 * edge, an 80-column terminal lost the layer's file count (`files 37` became `file…`).
 */
function pair(first: (Segment | string)[], second: (Segment | string)[], width: number): Line[] {
  const both = line(...first, ...second);
  return columnsOf(lineText(both)) <= width ? [both] : [line(...first), line(' ', ...second)];
}

function layerSection(state: TuiState, width: number): Line[] {
  const layer = state.layers[state.layerCursor.index];
  if (!layer) return [line(seg('No layers', 'heading'))];
  const lines = [
    line(seg(`Layer ${layerNumber(layer.index)}`, 'heading'), seg(` of ${state.layers.length}`, 'dim')),
  ];
  lines.push(...field('digest', shortDigest(layer.digest), width));
  const command = shortCommand(layer.command, Number.POSITIVE_INFINITY);
  lines.push(...(command ? wrapped(command, width) : [line(seg('  (no history command)', 'dim'))]));
  const summary = layer.summary;
  if (!summary) {
    const failure = layerFailure(state, layer);
    if (failure !== undefined) {
      lines.push(
        line(seg(`  ${formatSize(layer.compressedSize)} compressed, `, 'dim'), seg('FAILED', 'error')),
      );
      lines.push(...wrapped(failure, width, '  ', 'error'));
      return lines;
    }
    const status = state.failure
      ? 'not read: the analysis stopped'
      : layer.status === 'waiting'
        ? 'waiting to stream'
        : 'streaming';
    // Wrapped: cut, a narrow pane lost why the layer was not read.
    lines.push(...wrapped(`${formatSize(layer.compressedSize)} compressed, ${status}`, width, '  ', 'dim'));
    return lines;
  }
  const size = `${formatSize(summary.compressedSize)} → ${formatSize(summary.uncompressedSize)}`;
  lines.push(
    ...pair([seg('  size ', 'dim'), size], [seg(' files ', 'dim'), String(summary.fileCount)], width),
    ...pair(
      [
        '  ',
        seg(`+${summary.added}`, 'added'),
        ' ',
        seg(`~${summary.modified}`, 'modified'),
        ' ',
        seg(`-${summary.removed}`, 'removed'),
      ],
      [seg(' made dead ', 'dim'), formatSize(summary.wastedBytes)],
      width,
    ),
  );
  return lines;
}

function budgetLine(report: Report, width: number): Line[] {
  const check = report.checks?.find((c) => c.id === 'compressed-size');
  const size = formatSize(report.compressedSize);
  if (check && typeof check.limit === 'number' && check.limit > 0) {
    const share = formatPercent(report.compressedSize / check.limit);
    return field('compressed', `${size} of ${formatSize(check.limit)} budget (${share})`, width);
  }
  return field('compressed', size, width);
}

const CHECK_DETAILS = 3;

/** A check: status, id and message; for a warning or failure also its hint and its largest findings. */
function checkLines(check: CheckResult, width: number): Line[] {
  const status = check.status.toUpperCase().padEnd(4);
  const lines = [line('  ', seg(status, STATUS_ROLE[check.status]), ` ${check.id}`)];
  lines.push(...wrapped(check.message, width, '       ', 'dim'));
  if (check.status !== 'warn' && check.status !== 'fail') return lines;
  if (check.hint) lines.push(...wrapped(`fix: ${check.hint}`, width, '       '));
  for (const detail of (check.details ?? []).slice(0, CHECK_DETAILS)) {
    const bytes = detail.bytes === undefined ? '' : `${formatSize(detail.bytes)} `;
    lines.push(...wrapped(`• ${bytes}${detail.message}`, width, '       '));
  }
  const more = (check.details?.length ?? 0) - CHECK_DETAILS;
  if (more > 0) lines.push(line(seg(`       … ${more} more (imgscope check lists them all)`, 'dim')));
  return lines;
}

function imageSection(state: TuiState, width: number): Line[] {
  const { report, image } = state;
  const lines = [line(seg('Image', 'heading'))];
  lines.push(...field('reference', image.reference, width));
  lines.push(...field('digest', image.digest, width));
  lines.push(...field('platform', image.platform, width), ...field('schema', image.schema, width));
  if (!report) return lines;
  lines.push(...budgetLine(report, width));
  if (report.uncompressedSize > 0)
    lines.push(...field('uncompressed', formatSize(report.uncompressedSize), width));
  if (report.tier) {
    const tier = `${report.tier.name} (${formatSize(report.tier.imageSize)}): ${report.tier.recommendedMemory}`;
    lines.push(...field('memory tier', tier, width));
  }
  return lines;
}

function verdictSection(state: TuiState, width: number): Line[] {
  const { report } = state;
  if (!report?.verdict) return [];
  const pending = state.reportFinal
    ? ''
    : state.failure
      ? ' (manifest checks only: the analysis failed)'
      : ' (manifest checks; layers still streaming)';
  const lines = [
    line(seg('Verdict ', 'heading'), seg(report.verdict.toUpperCase(), report.verdict), seg(pending, 'dim')),
  ];
  for (const check of report.checks ?? []) lines.push(...checkLines(check, width));
  return lines;
}

/** Waste figures: the report's when there is one (it carries deadBytes too), else the analysis's. */
function wasteSection(state: TuiState, width: number): Line[] {
  const waste = state.analysis?.waste;
  const report = state.reportFinal ? state.report : undefined;
  const efficiency = report?.efficiency ?? waste?.efficiency;
  if (efficiency === undefined) return [];
  const wastedBytes = report?.wastedBytes ?? waste?.wastedBytes ?? 0;
  const userWasted = report?.userWastedPercent ?? waste?.userWastedPercent ?? 0;
  const lines = [line(seg('Waste', 'heading'))];
  lines.push(...field('efficiency', formatPercent(efficiency), width));
  lines.push(...field('wasted', `${formatSize(wastedBytes)} (${formatPercent(userWasted)} of user)`, width));
  const reclaimable = report?.reclaimableBytes ?? waste?.reclaimableBytes;
  if (reclaimable !== undefined) lines.push(...field('reclaimable', formatSize(reclaimable), width));
  if (report?.deadBytes !== undefined) {
    lines.push(...field('squash drops', formatSize(report.deadBytes), width));
  }
  const top = (report?.inefficientFiles ?? waste?.inefficientFiles ?? []).slice(0, TOP_FILES);
  if (top.length > 0) lines.push(line(seg('  top inefficient files (w lists all)', 'dim')));
  for (const file of top) {
    const figures = `  ${formatSize(file.wastedBytes).padStart(9)} ${`${file.count}×`.padStart(3)} `;
    // Cut in the middle: the end holds the file name, where several apt lists share a long start.
    lines.push(line(figures, truncateMiddle(printable(file.path), Math.max(1, width - figures.length))));
  }
  return lines;
}

function failureSection(state: TuiState, width: number): Line[] {
  if (!state.failure) return [];
  const lines = wrapped(`Analysis failed: ${state.failure.message}`, width, '', 'error');
  if (state.failure.hint) lines.push(...wrapped(state.failure.hint, width, '  ', 'dim'));
  return lines;
}

/** Everything the Details pane can show, top to bottom; the pane scrolls through it. */
export function detailLines(state: TuiState, width: number): Line[] {
  const sections = [
    failureSection(state, width),
    layerSection(state, width),
    verdictSection(state, width),
    imageSection(state, width),
    wasteSection(state, width),
  ].filter((section) => section.length > 0);
  return sections.flatMap((section, i) => (i === 0 ? section : [line(''), ...section]));
}

export function detailLineCount(state: TuiState, width: number): number {
  return detailLines(state, width).length;
}
