import { describe, expect, it } from 'vitest';
import { schemaErrorsOf as errorsOf } from '../../test/policy/report-schema.js';
import { failingReport, passingReport, warningReport } from '../../test/policy/sample-reports.js';
import type { Report } from './report.js';

describe('schema/report.schema.json', () => {
  it.each([
    ['an analysed report with warnings', warningReport],
    ['a failing report without layers', failingReport],
    ['a passing report of a local image without a profile', passingReport],
  ])('accepts %s', (_, make) => {
    expect(errorsOf(make())).toEqual([]);
  });

  it('refuses reports that break the contract', () => {
    const report: Report = warningReport();
    expect(errorsOf({ ...report, verdict: 'ok' })).toContain(
      '/verdict must be equal to one of the allowed values',
    );
    expect(errorsOf({ ...report, digest: 'sha256:abc' })).toEqual([
      expect.stringMatching(/^\/digest must match pattern/),
    ]);
    expect(errorsOf({ ...report, surprise: 1 })).toEqual([' must NOT have additional properties']);
    const { checks } = report;
    expect(errorsOf({ ...report, checks: [{ ...checks![0], status: 'error' }] })).toContain(
      '/checks/0/status must be equal to one of the allowed values',
    );
  });
});
