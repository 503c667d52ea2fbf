import { formatSize } from '../policy/sizes.js';
import {
  codeSpan,
  counted,
  formatPercent,
  layerNumber,
  pinnedLabel,
  printable,
  shortCommand,
  shortDigest,
} from './format.js';
import { imageSelected, indexPlatforms } from './no-image.js';
import type { CheckResult, CheckStatus, Report } from './report.js';
import { verdictNote } from './verdict.js';

export interface MarkdownOptions {
  /** How many inefficient files to list. */
  topFiles?: number;
  /** How many findings of a check (the hints) to list. */
  topDetails?: number;
}

const VERDICT_HEADINGS: Record<NonNullable<Report['verdict']>, string> = {
  pass: '✅ imgscope: pass',
  warn: '⚠️ imgscope: pass with warnings',
  fail: '❌ imgscope: fail',
};

const STATUS_MARKS: Record<CheckStatus, string> = { pass: '✅', warn: '⚠️', fail: '❌', skip: '⏭️' };

/** Plain text made inert: Markdown and HTML punctuation escaped, one line. */
function text(value: string): string {
  return (
    printable(value)
      .replace(/\s+/g, ' ')
      .replace(/[\\`*_{}[\]()<>#+!~]/g, '\\$&')
      .replace(/&/g, '&amp;')
      // A path such as /home/@admin would mention (notify) that user or team on GitHub, and #12 link
      // that issue; a zero-width space after the @ or # keeps the text as it reads and does neither
      // (as Renovate's comments do).
      .replace(/@|#(?=\d)/g, '$&&#8203;')
      // GitHub reads the text between two dollar signs (Java's Outer$Inner.class names) as LaTeX math, and
      // its docs do not promise that `\$` stops it; a character reference is no delimiter to any parser.
      .replace(/\$/g, '&#36;')
  );
}

/** A code span that survives any backticks in `value`. */
function code(value: string): string {
  // Control characters first: a newline or tab in a file name is shown as \x0a, as every format shows it,
  // not folded into a space that names another file.
  return codeSpan(printable(value).replace(/\s+/g, ' '));
}

/**
 * A message whose `code spans` (the form checks use for commands and fixes) stay code and everything
 * else is escaped: paths and history commands come from the image and must not render as Markdown.
 */
function message(value: string): string {
  const parts: string[] = [];
  let at = 0;
  // As CommonMark: a run of backticks opens a span that the next run of the same length closes.
  for (const opener of value.matchAll(/`+/g)) {
    if (opener.index < at) continue;
    const fence = opener[0];
    const start = opener.index + fence.length;
    const closer = new RegExp(`(?<!\`)${fence}(?!\`)`, 'g');
    closer.lastIndex = start;
    const end = closer.exec(value)?.index;
    if (end === undefined) continue;
    parts.push(text(value.slice(at, opener.index)), code(unpadded(value.slice(start, end))));
    at = end + fence.length;
  }
  parts.push(text(value.slice(at)));
  return parts.join('');
}

/** A code span's content without the one space on either side that codeSpan adds around backticks. */
function unpadded(content: string): string {
  return /^ .*[^ ].* $/.test(content) ? content.slice(1, -1) : content;
}

/**
 * A table row. A pipe inside a cell is escaped here, not where the cell is made: GFM removes that
 * backslash even inside a code span in a table, while a code span elsewhere (the heading, a list of
 * findings) would show it.
 */
function row(cells: string[]): string {
  return `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function tableOf(head: string[], align: ('l' | 'r')[], rows: string[][]): string[] {
  return [row(head), row(align.map((a) => (a === 'r' ? '---:' : '---'))), ...rows.map(row)];
}

function summaryRows(report: Report): string[][] {
  const rows: string[][] = [];
  rows.push(['Image', code(report.reference)]);
  if (!imageSelected(report)) {
    const index = `none selected: index ${code(report.digest)} has ${text(indexPlatforms(report))}`;
    rows.push(['Platform', `${index} · ${text(report.schema)}`]);
    if (report.profile) rows.push(['Profile', text(report.profile)]);
    return rows;
  }
  // An image on disk has no reference to deploy: its digest (for a docker-archive, of a manifest
  // imgscope wrote) need not be the one a push gives.
  rows.push(
    report.pinnedReference
      ? [pinnedLabel(report) === 'deploy' ? 'Deploy' : 'Pinned', code(report.pinnedReference)]
      : ['Digest', code(report.digest)],
  );
  const index = report.index ? ` (from an index of ${text(indexPlatforms(report))})` : '';
  rows.push(['Platform', `${text(report.platform)}${index} · ${text(report.schema)}`]);
  const uncompressed = report.layersAnalyzed ? ` · ${formatSize(report.uncompressedSize)} uncompressed` : '';
  rows.push([
    'Size',
    `${formatSize(report.compressedSize)} compressed${uncompressed} · ${counted(report.layerCount, 'layer', 'layers')}`,
  ]);
  if (report.profile) {
    const tier = report.tier ? ` · ${text(report.tier.name)}: ${text(report.tier.recommendedMemory)}` : '';
    rows.push(['Profile', `${text(report.profile)}${tier}`]);
  }
  if (report.layersAnalyzed && report.efficiency !== undefined) {
    rows.push([
      'Efficiency',
      `${formatPercent(report.efficiency)} · wasted ${formatSize(report.wastedBytes ?? 0)} ` +
        `(${formatPercent(report.userWastedPercent ?? 0)} of user layers) · ` +
        `a squash would drop ${formatSize(report.deadBytes ?? 0)}`,
    ]);
  }
  return rows;
}

function checkCell(check: CheckResult): string {
  const fix = check.hint && check.status !== 'pass' ? `<br>**Fix:** ${message(check.hint)}` : '';
  return `${message(check.message)}${fix}`;
}

function checksSection(checks: readonly CheckResult[], topDetails: number): string[] {
  const lines = ['#### Checks', ''];
  lines.push(
    ...tableOf(
      ['', 'Check', 'Result'],
      ['l', 'l', 'l'],
      checks.map((c) => [STATUS_MARKS[c.status], code(c.id), checkCell(c)]),
    ),
  );
  for (const check of checks) {
    const details = check.details ?? [];
    if (details.length === 0) continue;
    // Check ids are imgscope's own identifiers; Markdown escapes would show literally inside HTML.
    lines.push(
      '',
      `<details><summary>${check.id}: ${counted(details.length, 'finding', 'findings')}</summary>`,
      '',
    );
    for (const detail of details.slice(0, topDetails)) lines.push(`- ${message(detail.message)}`);
    if (details.length > topDetails)
      lines.push(`- … and ${details.length - topDetails} more (\`--json\` lists them all)`);
    lines.push('', '</details>');
  }
  return lines;
}

function layersSection(report: Report): string[] {
  // An index with no image for the platform has no layers: a header-only table says nothing.
  if (report.layers.length === 0) return [];
  const rows = report.layers.map((layer) =>
    report.layersAnalyzed
      ? [
          String(layerNumber(layer.index)),
          formatSize(layer.compressedSize),
          formatSize(layer.uncompressedSize),
          layer.wastedBytes ? formatSize(layer.wastedBytes) : '',
          code(shortCommand(layer.createdBy, 72) || shortDigest(layer.digest)),
        ]
      : [
          String(layerNumber(layer.index)),
          formatSize(layer.compressedSize),
          code(shortCommand(layer.createdBy, 72) || shortDigest(layer.digest)),
        ],
  );
  const table = report.layersAnalyzed
    ? tableOf(['#', 'Compressed', 'Uncompressed', 'Made dead', 'Command'], ['r', 'r', 'r', 'r', 'l'], rows)
    : tableOf(['#', 'Compressed', 'Command'], ['r', 'r', 'l'], rows);
  return ['', `<details><summary>Layers (${report.layerCount})</summary>`, '', ...table, '', '</details>'];
}

function wasteSection(report: Report, topFiles: number): string[] {
  const files = report.inefficientFiles ?? [];
  if (files.length === 0) return [];
  const shown = files.slice(0, topFiles);
  const rows = shown.map((file) => [
    String(file.count),
    formatSize(file.wastedBytes),
    formatSize(file.reclaimableBytes),
    code(file.path),
    // `layer 3`, not the table's `#3`: GitHub links `#3` in a comment to issue 3 and notes it there.
    file.overwrittenBy.map((o) => `layer ${layerNumber(o.layer)} ${o.change}`).join(', '),
  ]);
  return [
    '',
    `#### Top waste (${shown.length} of ${report.inefficientFileCount ?? files.length})`,
    '',
    ...tableOf(['Count', 'Wasted', 'Reclaimable', 'Path', 'Changed by'], ['r', 'r', 'r', 'l', 'l'], rows),
  ];
}

/** A pull-request comment: verdict, image summary, checks, layers (folded) and the top waste. */
export function renderMarkdown(report: Report, options: MarkdownOptions = {}): string {
  const heading = report.verdict
    ? `${VERDICT_HEADINGS[report.verdict]}${verdictNote(report)}`
    : 'imgscope report';
  const lines = [`### ${heading} — ${code(report.reference)}`, ''];
  lines.push(...tableOf(['', ''], ['l', 'l'], summaryRows(report)));
  if (report.checks && report.checks.length > 0)
    lines.push('', ...checksSection(report.checks, options.topDetails ?? 10));
  lines.push(...layersSection(report));
  if (!report.layersAnalyzed) {
    lines.push('', '_Layers were not analysed (manifest-only), so there are no waste figures._');
  }
  lines.push(...wasteSection(report, options.topFiles ?? 10));
  return `${lines.join('\n')}\n`;
}
