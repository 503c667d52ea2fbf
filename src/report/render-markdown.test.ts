import { describe, expect, it } from 'vitest';
import { fakeFacts, fakeLayer, fakeSummary } from '../../test/policy/fakes.js';
import {
  failingReport,
  noImageReport,
  passingReport,
  warningReport,
} from '../../test/policy/sample-reports.js';
import { hints } from '../policy/checks/hints.js';
import { profilePolicy } from '../policy/policy.js';
import { MiB } from '../policy/sizes.js';
import { renderMarkdown } from './render-markdown.js';
import type { Report } from './report.js';

/** The warning report with one hints check: its message and one finding, from an image named `reference`. */
function withFinding(
  finding: string,
  { message = 'm', reference }: { message?: string; reference?: string } = {},
) {
  const report: Report = {
    ...warningReport(),
    checks: [{ id: 'hints', status: 'warn', message, details: [{ kind: 'largest-file', message: finding }] }],
  };
  return reference === undefined ? report : { ...report, reference };
}

describe('renderMarkdown', () => {
  it('heads a FAIL that only warnings explain with fail-on warn', () => {
    const markdown = renderMarkdown({ ...warningReport(), verdict: 'fail' });
    expect(markdown.split('\n')[0]).toContain('❌ imgscope: fail (the warnings fail it: fail-on warn)');
    expect(renderMarkdown(failingReport()).split('\n')[0]).not.toContain('fail-on warn');
  });

  it('offers no digest to deploy when the index has no image for the platform', () => {
    const markdown = renderMarkdown(noImageReport());
    expect(markdown).not.toContain('| Deploy |');
    expect(markdown).toContain(
      `| Platform | none selected: index \`sha256:${'9'.repeat(64)}\` has linux/arm64 · oci-v1 |`,
    );
    expect(markdown).not.toContain('| Size |');
    expect(markdown).not.toContain('Layers (');
  });

  it("offers a registry image's pinned reference to deploy unless it fails, and only a digest for an image on disk", () => {
    const pinned = `\`localhost:5000/team/app@sha256:${'a'.repeat(64)}\``;
    expect(renderMarkdown({ ...failingReport(), verdict: 'pass' })).toContain(`| Deploy | ${pinned} |`);
    expect(renderMarkdown(failingReport())).toContain(`| Pinned | ${pinned} |`);
    expect(renderMarkdown(failingReport())).not.toContain('| Deploy |');
    const local = renderMarkdown(passingReport());
    expect(local).not.toContain('| Deploy |');
    expect(local).toContain(`| Digest | \`${passingReport().digest}\` |`);
  });

  it('keeps dollar signs from the image from opening GitHub math (Outer$Inner.class)', () => {
    const markdown = renderMarkdown(withFinding('/app/A$B.class (1 MiB), /app/C$D.class (1 MiB)'));
    expect(markdown).toContain('- /app/A&#36;B.class \\(1 MiB\\), /app/C&#36;D.class \\(1 MiB\\)');
  });

  it('mentions no one and links no issue from text in the image (/home/@admin, #12)', () => {
    const markdown = renderMarkdown(withFinding('/home/@admin/.cache and /srv/@org/team-x: see #12'));
    expect(markdown).toContain('/home/@&#8203;admin/.cache and /srv/@&#8203;org/team-x: see \\#&#8203;12');
    const finding = markdown.split('\n').find((line) => line.includes('/home/'));
    expect(finding).not.toMatch(/@(?!&#8203;)|(?<!&)#\d/);
  });

  it('heads the comment with the verdict and the image', () => {
    expect(renderMarkdown(failingReport()).split('\n')[0]).toBe(
      '### ❌ imgscope: fail — `localhost:5000/team/app:1.0`',
    );
    expect(renderMarkdown(warningReport()).split('\n')[0]).toMatch(/^### ⚠️ imgscope: pass with warnings/);
    expect(renderMarkdown(passingReport()).split('\n')[0]).toMatch(
      /^### ✅ imgscope: pass — `oci:fixtures\/app`/,
    );
  });

  it('tables every check with its status, and the fix for the ones that did not pass', () => {
    const markdown = renderMarkdown(failingReport());
    expect(markdown).toContain('| ❌ | `compressed-size` | 1.37 GiB compressed');
    expect(markdown).toContain('<br>**Fix:** shrink the image');
    expect(markdown).toContain('| ⏭️ | `hints` | not evaluated: the manifest-level checks already failed |');
    expect(markdown).toContain('| ✅ | `startup` | `node server.js` must start');
  });

  it('lists the hints, folds the layers, and shows the top waste', () => {
    const markdown = renderMarkdown(warningReport());
    expect(markdown).toContain('<details><summary>hints: 4 findings</summary>');
    expect(markdown).toContain('`&& rm -rf /var/lib/apt/lists/*`');
    expect(markdown).toContain('| 3 | 10 MiB | 30 MiB | 10 MiB | `RUN rm -rf /build` |');
    expect(markdown).toContain('| 2 | 10 MiB | 10 MiB | `/build/a.o` | layer 3 removed |');
  });

  it('names the layers that changed a file without linking GitHub issues (#3)', () => {
    const markdown = renderMarkdown(warningReport());
    expect(markdown).not.toMatch(/(?<![&\\])#\d/);
  });

  it('counts a single finding as "1 finding"', () => {
    const report: Report = {
      ...warningReport(),
      checks: [{ id: 'hints', status: 'warn', message: 'm', details: [{ kind: 'vcs', message: 'd' }] }],
    };
    expect(renderMarkdown(report)).toContain('<details><summary>hints: 1 finding</summary>');
  });

  it('says how many findings it left out of a list', () => {
    const report: Report = {
      ...warningReport(),
      checks: [
        {
          id: 'hints',
          status: 'warn',
          message: 'waste',
          details: Array.from({ length: 12 }, (_, i) => ({ kind: 'vcs', message: `finding ${i}` })),
        },
      ],
    };
    const lines = renderMarkdown(report).split('\n');
    const last = lines.indexOf('- finding 9');
    expect(lines[last + 1]).toBe('- … and 2 more (`--json` lists them all)');
    expect(renderMarkdown(report, { topDetails: 12 })).not.toContain('more (`--json`');
  });

  it('says when layers were not analysed', () => {
    expect(renderMarkdown(failingReport())).toContain('_Layers were not analysed');
    expect(renderMarkdown(warningReport())).not.toContain('not analysed');
  });

  it('keeps text from the image from rendering as Markdown or breaking the tables', () => {
    const report = withFinding('multi\nline <script>', {
      reference: 'localhost:5000/x|y:1',
      message: 'file /app/[click](http://evil)/<img src=x>|*b* in `RUN echo `a` | tee`',
    });
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('`localhost:5000/x\\|y:1`');
    expect(markdown).toContain('\\[click\\]\\(http://evil\\)/\\<img src=x\\>\\|\\*b\\*');
    expect(markdown).not.toMatch(/(?<!\\)<(img|script)/);
    expect(markdown).toContain('- multi\\\\x0aline \\<script\\>');
    const checkRow = markdown.split('\n').find((line) => line.includes('`hints`'))!;
    // Four unescaped pipes: the row has exactly three cells.
    expect(checkRow.match(/(?<!\\)\|/g)).toHaveLength(4);
  });

  it('escapes pipes in commands only inside tables, where GFM removes the backslash again', () => {
    const report = withFinding('/a|b: 1 MiB, from layer 2 (`RUN curl x | sh`)', { reference: 'oci:x|y' });
    const markdown = renderMarkdown(report);
    expect(markdown.split('\n')[0]).toMatch(/ — `oci:x\|y`$/);
    expect(markdown).toContain('- /a|b: 1 MiB, from layer 2 \\(`RUN curl x | sh`\\)');
    expect(markdown).toContain('| Image | `oci:x\\|y` |');
  });

  it('reads code spans in messages as CommonMark does, so a command with backticks stays one span', () => {
    const report = withFinding("/a_b: 2 MiB, from layer 2 (``RUN printf '`x`' *``), see `c`");
    const markdown = renderMarkdown(report);
    expect(markdown).toContain("- /a\\_b: 2 MiB, from layer 2 \\(``RUN printf '`x`' *``\\), see `c`");
  });

  it('keeps a file name with a backtick apart from the command span after it', () => {
    const summary = fakeSummary({
      layers: [fakeLayer(0, { createdBy: '/bin/sh -c touch /x' })],
      files: [{ path: '/app/a`b', size: 2 * MiB, layer: 0 }],
    });
    const check = hints(fakeFacts(), summary, profilePolicy('scf'))!;
    const markdown = renderMarkdown({ ...warningReport(), checks: [check] });
    expect(markdown).toContain('- ``/app/a`b``: 2 MiB, from layer 1 \\(`RUN touch /x`\\)');
  });

  it('shows control characters from the image as escapes', () => {
    const report = withFinding('/a\u001b[31mb: 1 MiB, from layer 2 (`RUN \u0007x`)');
    const markdown = renderMarkdown(report);
    expect(markdown).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(markdown).toContain('- /a\\\\x1b\\[31mb: 1 MiB, from layer 2 \\(`RUN \\x07x`\\)');
  });

  it('shows a newline or tab in a file name as an escape, as the table does, not as a space', () => {
    const report = withFinding('/nl\nline\ttab.txt: 2 MiB, from layer 2');
    report.inefficientFiles = [{ ...report.inefficientFiles![0]!, path: '/nl\nline\ttab.txt' }];
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('- /nl\\\\x0aline\\\\x09tab.txt: 2 MiB, from layer 2');
    expect(markdown).toContain('| `/nl\\x0aline\\x09tab.txt` |');
    expect(markdown).not.toContain('nl line');
  });

  it('shortens a command in the layers table without cutting an emoji in half', () => {
    const report = warningReport();
    // `RUN ` and 66 letters: the cut at 71 UTF-16 units falls between the halves of 😀.
    report.layers = [{ ...report.layers[0]!, createdBy: `/bin/sh -c ${'a'.repeat(66)}😀 tail` }];
    const markdown = renderMarkdown(report);
    expect(markdown).toContain(`| \`RUN ${'a'.repeat(66)}…\` |`);
    expect(Buffer.from(markdown).toString()).not.toContain('\ufffd');
  });

  it('fences code spans that contain backticks', () => {
    const report: Report = { ...warningReport(), reference: 'a`b' };
    expect(renderMarkdown(report).split('\n')[0]).toContain('``a`b``');
  });
});
