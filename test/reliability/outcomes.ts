import type { Report } from '../../src/report/report.js';
import type { CliRun } from './cli-run.js';

/**
 * What became of one fault or hostile input, judged only from what a user of the CLI sees:
 * - `recovered`: exit 0, nothing on stderr but a notice the trial expects, a report with the right digest and
 *   figures;
 * - `failed cleanly`: exit 2, nothing on stdout, exactly one stderr line `imgscope: … — hint` that names
 *   the input, no stack trace;
 * - `lost`: anything else — wrong figures, an unclean or unexpected error, a leaked secret;
 * - `hung`: killed at the time limit.
 */
export type Outcome = 'recovered' | 'failed cleanly' | 'lost' | 'hung';

export interface Expectation {
  /** An error line must contain one of these (the reference, host, repository or path it concerns). */
  names: (string | RegExp)[];
  /** Problems with a successful report (digest, figures); none means it is right. */
  checkReport?: (report: Report) => string[];
  /** Strings that must appear nowhere in stdout or stderr. */
  secrets?: string[];
  /** `--debug` run: `debug:` lines and a stack trace after the error line are expected on stderr. */
  debug?: boolean;
  /** A stderr line the run must print besides its result (a wait it announces), matched whole. */
  notice?: RegExp;
}

export interface Judgement {
  outcome: Outcome;
  problems: string[];
  /** The one error line (without `imgscope: `), when there is one. */
  errorLine?: string;
  report?: Report;
}

export function judge(run: CliRun, expectation: Expectation): Judgement {
  if (run.hung) return { outcome: 'hung', problems: [`killed after ${run.ms} ms`] };
  const leaks = (expectation.secrets ?? []).filter(
    (secret) => run.stdout.includes(secret) || run.stderr.includes(secret),
  );
  const leaked = leaks.map((secret) => `leaked a secret (${secret.slice(0, 6)}…)`);
  const allLines = run.stderr.split('\n').filter((line) => line !== '');
  const noticed = expectation.notice ? allLines.filter((line) => expectation.notice!.test(line)) : [];
  const stderrLines = allLines.filter(
    (line) => !noticed.includes(line) && !(expectation.debug && line.startsWith('debug: ')),
  );
  const missingNotice =
    expectation.notice && noticed.length === 0 ? [`no stderr line ${expectation.notice}`] : [];

  if (run.code === 0) {
    const problems = [...leaked, ...missingNotice];
    if (stderrLines.length > 0) problems.push(`stderr not empty: ${stderrLines[0]}`);
    let report: Report | undefined;
    try {
      report = JSON.parse(run.stdout) as Report;
    } catch {
      problems.push('stdout is not a JSON report');
    }
    if (report) problems.push(...(expectation.checkReport?.(report) ?? []));
    return { outcome: problems.length ? 'lost' : 'recovered', problems, ...(report ? { report } : {}) };
  }

  const problems = [...leaked];
  if (run.code !== 2) problems.push(`exit code ${run.code}, not 2`);
  if (run.stdout !== '') problems.push('stdout not empty on failure');
  const [line = '', ...rest] = stderrLines;
  const stack = rest.some((l) => /^\s+at /.test(l));
  if (rest.length > 0 && !(expectation.debug && stack)) problems.push(`${stderrLines.length} stderr lines`);
  if (stack && !expectation.debug) problems.push('stack trace');
  // Hostile text (JSON excerpts, registry messages, file names) must not reach a terminal raw.
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(run.stderr)) problems.push('control characters on stderr');
  if (!line.startsWith('imgscope: ')) problems.push(`error line does not start with "imgscope: ": ${line}`);
  if (/unexpected error|internal error/.test(line)) problems.push(`not a handled error: ${line}`);
  if (!line.includes(' — ')) problems.push(`no hint: ${line}`);
  const named = expectation.names.some((name) =>
    typeof name === 'string' ? line.includes(name) : name.test(line),
  );
  if (!named) problems.push(`error line names none of ${expectation.names.join(', ')}: ${line}`);
  return {
    outcome: problems.length ? 'lost' : 'failed cleanly',
    problems,
    errorLine: line.replace(/^imgscope: /, ''),
  };
}

export interface LedgerRow {
  group: string;
  fault: string;
  expected: Outcome;
  outcome: Outcome;
  ms: number;
  notes: string;
}

/** The suite's record: one row per case, printed as a markdown table with totals at the end of the run. */
export class Ledger {
  readonly rows: LedgerRow[] = [];

  add(row: LedgerRow): void {
    this.rows.push(row);
  }

  totals(): Record<Outcome, number> {
    const totals: Record<Outcome, number> = { recovered: 0, 'failed cleanly': 0, lost: 0, hung: 0 };
    for (const row of this.rows) totals[row.outcome]++;
    return totals;
  }

  markdown(): string {
    const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');
    const lines = ['| group | fault | outcome | time | notes |', '| --- | --- | --- | ---: | --- |'];
    for (const row of this.rows) {
      const outcome =
        row.outcome === row.expected ? row.outcome : `**${row.outcome}** (expected ${row.expected})`;
      const time = row.ms >= 1000 ? `${(row.ms / 1000).toFixed(1)} s` : `${row.ms} ms`;
      lines.push(`| ${row.group} | ${cell(row.fault)} | ${outcome} | ${time} | ${cell(row.notes)} |`);
    }
    const totals = this.totals();
    const total = this.rows.reduce((sum, row) => sum + row.ms, 0);
    lines.push(
      '',
      `Totals: ${this.rows.length} cases — ${totals.recovered} recovered, ${totals['failed cleanly']} failed cleanly, ` +
        `${totals.lost} lost, ${totals.hung} hung; ${(total / 1000).toFixed(1)} s of CLI time.`,
    );
    return lines.join('\n');
  }
}

/** An error message (its hint dropped) made stable for the table: ports, digests and temp paths replaced. */
export function shortError(line: string | undefined, max = 100): string {
  if (!line) return '';
  const stable = (line.split(' — ')[0] ?? line)
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}:\d+/g, 'HOST')
    .replace(/sha256:[0-9a-f]{12,64}/g, 'sha256:…')
    .replace(/\/tmp\/imgscope-reliability-[^/\s"]+/g, 'TMP')
    .replace(/\d{3,}(?= bytes)/g, (n) => Number(n).toLocaleString('en-US'));
  return stable.length > max ? `${stable.slice(0, max - 1)}…` : stable;
}
