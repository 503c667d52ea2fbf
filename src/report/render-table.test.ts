import { describe, expect, it } from 'vitest';
import { warningReport } from '../../test/policy/sample-reports.js';
import { renderTable } from './render-table.js';
import type { Report } from './report.js';

describe('renderTable', () => {
  it('shows control characters from the image as escapes, in tables and in messages', () => {
    const base = warningReport();
    const evil = '/bin/sh -c echo \u001b]0;owned\u0007 \u001b[31mred';
    const report: Report = {
      ...base,
      platform: 'linux/amd64\u001b[2J',
      layers: base.layers.map((layer) => ({ ...layer, createdBy: evil })),
      inefficientFiles: [{ ...base.inefficientFiles![0]!, path: '/app/a\nb\u001b[1m', overwrittenBy: [] }],
      checks: [
        { id: 'hints', status: 'warn', message: 'm \u009b1m', details: [{ kind: 'x', message: 'd\u0007' }] },
      ],
    };
    const text = renderTable(report, { color: false });
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain('linux/amd64\\x1b[2J');
    expect(text).toContain('RUN echo \\x1b]0;owned\\x07 \\x1b[31mred');
    expect(text).toContain('/app/a\\x0ab\\x1b[1m');
    expect(text).toContain('hints: m \\x9b1m');
    expect(text).toContain('· d\\x07');
  });
});
