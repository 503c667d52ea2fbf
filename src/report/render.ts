import { renderGithub } from './render-github.js';
import { renderMarkdown } from './render-markdown.js';
import { renderTable, type TableOptions } from './render-table.js';
import type { Report } from './report.js';

export type ReportFormat = 'table' | 'json' | 'markdown' | 'github';

/** Report → the text one output format prints. */
export function renderReport(report: Report, format: ReportFormat, options: TableOptions = {}): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'table':
      return renderTable(report, options);
    case 'markdown':
      return renderMarkdown(report);
    case 'github':
      return renderGithub(report);
  }
}
