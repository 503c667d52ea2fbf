import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../test/helpers/shared.js';
import { failingReport, passingReport, warningReport } from '../../test/policy/sample-reports.js';
import type { Report } from './report.js';

const schema = JSON.parse(readFileSync(join(projectRoot, 'schema', 'report.schema.json'), 'utf8'));
const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);

function errorsOf(report: unknown): string[] {
  return validate(JSON.parse(JSON.stringify(report)))
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

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
