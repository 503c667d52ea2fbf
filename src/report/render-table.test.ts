import { describe, expect, it } from 'vitest';
import { failingReport, noImageReport, warningReport } from '../../test/policy/sample-reports.js';
import { renderTable } from './render-table.js';
import type { Report } from './report.js';

describe('renderTable', () => {
  it('shows no size, layers or digest to deploy when the index has no image for the platform', () => {
    const lines = renderTable(noImageReport(), { color: false }).split('\n');
    expect(lines.slice(1, 3)).toEqual([
      `Index      sha256:${'9'.repeat(64)}    Schema oci-v1 (application/vnd.oci.image.index.v1+json)`,
      'Platform   none selected: the index has linux/arm64',
    ]);
    expect(lines.some((line) => /^(Digest|Size) /.test(line) || line.includes('┌'))).toBe(false);
  });

  it('offers the pinned reference to deploy on its verdict line only when the verdict does not fail', () => {
    const pinned = `localhost:5000/team/app@sha256:${'a'.repeat(64)}`;
    const verdictLine = (report: Report) =>
      renderTable(report, { color: false })
        .split('\n')
        .find((line) => line.startsWith('Verdict:'));
    expect(verdictLine({ ...failingReport(), verdict: 'pass' })).toBe(`Verdict: PASS · deploy ${pinned}`);
    expect(verdictLine(failingReport())).toBe(`Verdict: FAIL · pinned ${pinned}`);
  });

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

  it('says a FAIL that only warnings explain comes from fail-on warn, and says nothing when a check failed', () => {
    const failedByWarnings: Report = { ...warningReport(), verdict: 'fail' };
    expect(renderTable(failedByWarnings, { color: false })).toMatch(
      /^Verdict: FAIL \(the warnings fail it: fail-on warn\)/m,
    );
    expect(renderTable(warningReport(), { color: false })).not.toContain('fail-on warn');
    expect(renderTable(failingReport(), { color: false })).not.toContain('fail-on warn');
  });

  it("names at most 20 of the index's platforms on its Index line", () => {
    const platforms = Array.from({ length: 25 }, (_, i) => `linux/arch${i}`);
    const report: Report = { ...warningReport(), index: { digest: 'sha256:1', mediaType: 'x', platforms } };
    const line = renderTable(report, { color: false })
      .split('\n')
      .find((l) => l.startsWith('Index '));
    expect(line).toMatch(/\(linux\/arch0, .*, linux\/arch19 and 5 more\)$/);
  });

  it('shows bidirectional overrides and line separators from the image as escapes, not reordered text', () => {
    const base = warningReport();
    const trojan = '/app/invoice\u202egpj.exe';
    const report: Report = {
      ...base,
      inefficientFiles: [{ ...base.inefficientFiles![0]!, path: trojan, overwrittenBy: [] }],
      layers: base.layers.map((layer) => ({ ...layer, createdBy: 'RUN a\u2028b \u2066c\u2069' })),
    };
    const text = renderTable(report, { color: false });
    expect(text).not.toMatch(/[\u2028-\u202e\u2066-\u2069]/);
    expect(text).toContain('/app/invoice\\u202egpj.exe');
    // A command's whitespace, U+2028 included, is folded to one space before it is printed.
    expect(text).toContain('RUN a b \\u2066c\\u2069');
  });

  it('shows a name’s bytes that are not UTF-8 as \\xff, and leaves characters beyond U+FFFF whole', () => {
    const base = warningReport();
    const report: Report = {
      ...base,
      inefficientFiles: [{ ...base.inefficientFiles![0]!, path: '/x\udcff/\ud800\udc80', overwrittenBy: [] }],
    };
    const text = renderTable(report, { color: false });
    expect(text).toContain('/x\\xff/\ud800\udc80');
  });

  it('wraps a long finding under its check, so its fix at the end is not cut off', () => {
    const finding = `apt package lists /var/lib/apt/lists: 9 MiB, left by layer 2 (\`RUN apt-get update\`); ${'word '.repeat(30)}end the RUN with \`&& rm -rf /var/lib/apt/lists/*\``;
    const report: Report = {
      ...warningReport(),
      checks: [
        { id: 'hints', status: 'warn', message: 'm', details: [{ kind: 'apt-lists', message: finding }] },
      ],
    };
    const lines = renderTable(report, { color: false, width: 60 }).split('\n');
    const first = lines.findIndex((line) => line.startsWith('        · apt package lists'));
    const block = lines.slice(
      first,
      lines.findIndex((line, i) => i > first && !line.startsWith(' '.repeat(10))),
    );
    expect(block.length).toBeGreaterThan(3);
    expect(block.every((line) => line.length <= 60)).toBe(true);
    expect(block.slice(1).every((line) => /^ {10}\S/.test(line))).toBe(true);
    expect(block.join(' ').replace(/ +/g, ' ')).toContain(finding.replace(/ +/g, ' ').slice(-40));
  });
});
