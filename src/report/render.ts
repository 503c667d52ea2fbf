import type { FailOn } from '../policy/policy.js';
import type { TableOptions } from './render-table.js';
import type { Report } from './report.js';

export type ReportFormat = 'table' | 'json' | 'markdown' | 'github';

/**
 * Report → the text one output format prints. Each renderer is loaded when its format is asked for:
 * `check --json` in CI need not load the table's modules (cli-table3, string-width) to print JSON.
 */
export async function renderReport(
  report: Report,
  format: ReportFormat,
  options: TableOptions & { failOn?: FailOn } = {},
): Promise<string> {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'table':
      return (await import('./render-table.js')).renderTable(report, options);
    case 'markdown':
      return (await import('./render-markdown.js')).renderMarkdown(report);
    case 'github':
      return (await import('./render-github.js')).renderGithub(report, { failOn: options.failOn });
  }
}
