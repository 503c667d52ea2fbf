import type { Report } from './report.js';

/**
 * Said after a FAIL verdict that no failed check explains: under `--fail-on warn` (or `"failOn": "warn"`)
 * the warnings failed it, and a reader who sees only WARN rows above a FAIL should be told so.
 */
export function verdictNote(report: Report): string {
  const failedByWarnings =
    report.verdict === 'fail' && !(report.checks ?? []).some((check) => check.status === 'fail');
  return failedByWarnings ? ' (the warnings fail it: fail-on warn)' : '';
}
