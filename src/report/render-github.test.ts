import { describe, expect, it } from 'vitest';
import {
  failingReport,
  noImageReport,
  passingReport,
  warningReport,
} from '../../test/policy/sample-reports.js';
import { escapeData, escapeProperty, renderGithub, workflowCommand } from './render-github.js';
import type { Report } from './report.js';

describe('workflow command escaping (as @actions/core does it)', () => {
  it('escapes %, CR and LF in data', () => {
    expect(escapeData('100% done\r\nnext: a,b')).toBe('100%25 done%0D%0Anext: a,b');
  });

  it('also escapes : and , in properties', () => {
    expect(escapeProperty('host:5000/a,b%\n')).toBe('host%3A5000/a%2Cb%25%0A');
  });

  it('builds ::command key=value,…::message', () => {
    expect(workflowCommand('error', { title: 'a:b', file: 'x,y' }, ['m', 'n'])).toBe(
      '::error title=a%3Ab,file=x%2Cy::m%0An',
    );
    expect(workflowCommand('notice', {}, 'plain')).toBe('::notice::plain');
  });
});

describe('renderGithub', () => {
  it('annotates failed checks as errors with the fix, skipped ones as notices, and closes with the verdict', () => {
    const lines = renderGithub(failingReport()).trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, l.indexOf('::', 2)))).toEqual([
      '::error title=imgscope platform (localhost%3A5000/team/app%3A1.0)',
      '::error title=imgscope compressed-size (localhost%3A5000/team/app%3A1.0)',
      '::notice title=imgscope memory-tier (localhost%3A5000/team/app%3A1.0)',
      '::notice title=imgscope max-uncompressed (localhost%3A5000/team/app%3A1.0)',
      '::notice title=imgscope hints (localhost%3A5000/team/app%3A1.0)',
      '::notice title=imgscope verdict%3A fail',
    ]);
    expect(lines[1]).toContain('smaller than 1 GiB (before decompression)%0AFix: shrink the image');
    expect(lines[5]).toBe(
      `::notice title=imgscope verdict%3A fail::localhost:5000/team/app:1.0: fail (2 failed, 3 passed, 3 skipped)%0A1.37 GiB compressed, 2 layers, linux/arm64%0Apinned localhost:5000/team/app@sha256:${'a'.repeat(64)}`,
    );
  });

  it('offers the pinned reference to deploy only when the verdict does not fail', () => {
    const passing = renderGithub({ ...failingReport(), verdict: 'pass' })
      .trimEnd()
      .split('\n')
      .at(-1)!;
    expect(passing).toMatch(new RegExp(`%0Adeploy localhost:5000/team/app@sha256:${'a'.repeat(64)}$`));
    const failing = renderGithub(failingReport()).trimEnd().split('\n').at(-1)!;
    expect(failing).not.toContain('deploy');
  });

  it('offers no digest to deploy for an image on disk, only its digest', () => {
    const verdict = renderGithub(passingReport()).trimEnd().split('\n').at(-1)!;
    expect(verdict).toMatch(new RegExp(`%0Adigest ${passingReport().digest}$`));
    expect(verdict).not.toContain('deploy');
  });

  it('annotates warnings with their findings', () => {
    const warning = renderGithub(warningReport())
      .split('\n')
      .find((l) => l.startsWith('::warning'))!;
    expect(warning).toContain('::could save about 19 MiB');
    expect(warning).toContain('%0A- apt package lists /var/lib/apt/lists: 9 MiB');
  });

  it('makes warnings errors under --fail-on warn, where they fail the verdict', () => {
    const report = { ...warningReport(), verdict: 'fail' as const };
    const commands = (failOn: 'fail' | 'warn') =>
      renderGithub(report, { failOn })
        .split('\n')
        .filter((l) => /^::(error|warning) title=imgscope hints/.test(l))
        .map((l) => l.slice(2, l.indexOf(' ')));
    expect(commands('warn')).toEqual(['error']);
    expect(commands('fail')).toEqual(['warning']);
  });

  it('says how many findings it left out of an annotation', () => {
    const withFindings = (count: number): Report => ({
      ...warningReport(),
      checks: [
        {
          id: 'hints',
          status: 'warn',
          message: 'waste',
          details: Array.from({ length: count }, (_, i) => ({ kind: 'vcs', message: `finding ${i}` })),
        },
      ],
    });
    const annotation = (count: number) => renderGithub(withFindings(count)).split('\n')[0]!;
    expect(annotation(7)).toMatch(/%0A- finding 4%0A- … and 2 more \(--json lists them all\)$/);
    expect(annotation(5)).toMatch(/%0A- finding 4$/);
  });

  it('offers no digest to deploy when the index has no image for the platform', () => {
    const verdict = renderGithub(noImageReport()).trimEnd().split('\n').at(-1);
    expect(verdict).toBe(
      '::notice title=imgscope verdict%3A fail::registry.test/team/app:1.0: fail (1 failed, 1 passed, 4 skipped)%0A' +
        'no image for the platform in index sha256:' +
        '9'.repeat(64) +
        ' (it has linux/arm64)',
    );
  });

  it('stays quiet about passed checks', () => {
    const lines = renderGithub(passingReport()).trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^::notice title=imgscope verdict%3A pass::oci:fixtures\/app: pass \(3 passed\)/,
    );
  });

  it('shows control characters from the image as escapes, so they cannot colour or rewrite the log', () => {
    const report: Report = {
      ...failingReport(),
      reference: 'oci:x\u001b[1m',
      checks: [{ id: 'hints', status: 'warn', message: 'file /a\u001b[31mred\u0007\nnext', hint: 'x\ry' }],
    };
    const github = renderGithub(report);
    expect(github).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(github).toContain(
      '::warning title=imgscope hints (oci%3Ax\\x1b[1m)::file /a\\x1b[31mred\\x07\\x0anext%0AFix: x\\x0dy',
    );
  });

  it('keeps every annotation on one line whatever the messages hold', () => {
    const report: Report = {
      ...failingReport(),
      checks: [{ id: 'x', status: 'fail', message: 'a\nb\r\n::error::forged', hint: '100%' }],
    };
    const lines = renderGithub(report).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(
      '::error title=imgscope x (localhost%3A5000/team/app%3A1.0)::a\\x0ab\\x0d\\x0a::error::forged%0AFix: 100%25',
    );
  });
});
