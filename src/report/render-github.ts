import type { FailOn } from '../policy/policy.js';
import { formatSize } from '../policy/sizes.js';
import { counted, pinnedLabel, printable } from './format.js';
import { imageSelected, indexPlatforms } from './no-image.js';
import type { CheckResult, CheckStatus, Report } from './report.js';

/**
 * GitHub Actions workflow commands (`::error title=…::message`): failed checks become error annotations,
 * warnings warning annotations (error annotations under --fail-on warn, where they fail the verdict),
 * skipped checks notices, and one closing notice carries the verdict.
 * Passed checks stay quiet. Escaping follows @actions/core: data escapes `%`, CR and LF; properties
 * also escape `:` and `,`.
 */

const COMMANDS: Record<Exclude<CheckStatus, 'pass'>, 'error' | 'warning' | 'notice'> = {
  fail: 'error',
  warn: 'warning',
  skip: 'notice',
};

export function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * `::command key=value,…::message`, the message given as its lines: each line's control characters
 * (image text: paths, commands, platforms) shown as `\x1b`, `\x0a` included, so only imgscope's own
 * line breaks become the annotation's.
 */
export function workflowCommand(
  command: string,
  properties: Record<string, string>,
  lines: string | readonly string[],
): string {
  const props = Object.entries(properties)
    .map(([key, value]) => `${key}=${escapeProperty(printable(value))}`)
    .join(',');
  const message = (typeof lines === 'string' ? [lines] : lines).map(printable).join('\n');
  return `::${command}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

export interface GithubOptions {
  /** How many findings of a check (the hints) an annotation lists. */
  topDetails?: number;
  /** With `warn`, warnings failed the verdict: they are errors, so the failed step shows why. */
  failOn?: FailOn | undefined;
}

function annotationBody(check: CheckResult, topDetails: number): string[] {
  const lines = [check.message];
  if (check.hint) lines.push(`Fix: ${check.hint}`);
  const details = check.details ?? [];
  for (const detail of details.slice(0, topDetails)) lines.push(`- ${detail.message}`);
  if (details.length > topDetails)
    lines.push(`- … and ${details.length - topDetails} more (--json lists them all)`);
  return lines;
}

function tally(checks: readonly CheckResult[]): string {
  const count = (status: CheckStatus) => checks.filter((c) => c.status === status).length;
  const parts: [number, string][] = [
    [count('fail'), 'failed'],
    [count('warn'), 'warned'],
    [count('pass'), 'passed'],
    [count('skip'), 'skipped'],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, word]) => `${n} ${word}`)
    .join(', ');
}

export function renderGithub(report: Report, options: GithubOptions = {}): string {
  const checks = report.checks ?? [];
  const lines: string[] = [];
  for (const check of checks) {
    if (check.status === 'pass') continue;
    const failsVerdict = check.status === 'warn' && options.failOn === 'warn';
    lines.push(
      workflowCommand(
        failsVerdict ? 'error' : COMMANDS[check.status],
        { title: `imgscope ${check.id} (${report.reference})` },
        annotationBody(check, options.topDetails ?? 5),
      ),
    );
  }
  const verdict = report.verdict ?? 'pass';
  const head = `${report.reference}: ${verdict}${checks.length > 0 ? ` (${tally(checks)})` : ''}`;
  const summary = imageSelected(report)
    ? [
        head,
        `${formatSize(report.compressedSize)} compressed, ${counted(report.layerCount, 'layer', 'layers')}, ${report.platform}`,
        report.pinnedReference
          ? `${pinnedLabel(report)} ${report.pinnedReference}`
          : `digest ${report.digest}`,
      ]
    : [head, `no image for the platform in index ${report.digest} (it has ${indexPlatforms(report)})`];
  lines.push(workflowCommand('notice', { title: `imgscope verdict: ${verdict}` }, summary));
  return `${lines.join('\n')}\n`;
}
