import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';

// The progress line is drawn only in the terminal's foreground job: run as a background job (`scripts/test &`,
// or Ctrl-Z then bg), vitest would see none drawn. These tests are about what is drawn, wherever they run.
vi.mock('../foreground.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../foreground.js')>()),
  inForeground: () => true,
}));

/** Runs the CLI in process; with `terminal`, stderr is a terminal of that environment (TERM). */
async function run(argv: string[], terminal?: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  const stderr = terminal ? Object.assign(new PassThrough(), { isTTY: true }) : new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const code = await main(argv, {
    stdout: new PassThrough(),
    stderr,
    stdin: new PassThrough(),
    env: terminal ?? {},
    cwd: process.cwd(),
  });
  return { code, stderr: text };
}

describe('main', () => {
  it('takes a --debug after -- as an argument: one line, no stack trace', async () => {
    const result = await run(['inspect', '--', '--debug']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^imgscope: image reference "--debug"/),
    ]);
  });

  it('prints the stack trace with --debug, even when the command line does not parse', async () => {
    const result = await run(['inspect', '--debug', '--no-such-option']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^imgscope: unknown option --no-such-option/);
    expect(result.stderr).toMatch(/\n\s+at /);
  });

  it('prints the stack trace with --debug with the control characters of what it quotes escaped', async () => {
    const result = await run(['inspect', '--debug', '/nonexistent/app\x1b]0;retitled\x07.tar']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\n\s+at /);
    expect(result.stderr).toContain('ImgscopeError: /nonexistent/app\\x1b]0;retitled\\x07.tar: no such file');
    expect(result.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
  });

  it('prints the message atop the --debug stack trace on one line, so a path cannot add a frame', async () => {
    const result = await run(['inspect', '--debug', '/nonexistent/app\n    at forged (src/evil.ts:1:1).tar']);
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n');
    expect(lines[1]).toBe(
      'ImgscopeError: /nonexistent/app     at forged (src/evil.ts:1:1).tar: no such file or directory',
    );
    expect(lines.filter((line) => line.includes('forged'))).toHaveLength(2);
  });
});

describe('check on a terminal', () => {
  async function stderrOf(env: NodeJS.ProcessEnv): Promise<string> {
    const { code, stderr } = await run(['check', '--no-cache', 'fixtures/demo'], env);
    expect(code).toBe(0);
    return stderr;
  }

  it('draws its progress line, but not on TERM=dumb (Emacs’s shell), which shows the codes as text', async () => {
    expect(await stderrOf({ TERM: 'xterm-256color' })).toContain('\r\x1b[2Kanalysing layers 8/8');
    expect(await stderrOf({ TERM: 'dumb' })).toBe('');
  });
});

describe('a compressed archive opened on a terminal', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'imgscope-main-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('shows its indexing pass in check and inspect, then erases it', async () => {
    const archive = join(scratch, 'demo.tar.gz');
    writeFileSync(archive, gzipSync(execFileSync('tar', ['-C', 'fixtures/demo', '-cf', '-', '.'])));
    for (const command of [['check', '--no-layers'], ['inspect']]) {
      const { code, stderr: text } = await run([...command, archive], { TERM: 'xterm-256color' });
      expect(code).toBe(0);
      expect(text).toMatch(
        new RegExp(`^\\r\\x1b\\[2Kindexing ${archive} · .* decompressed\\).*\\r\\x1b\\[2K$`),
      );
    }
  });
});

describe('a path with control characters', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'imgscope-main-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const name = 'app\x1b]0;retitled\x07\n\x1b[31mred';

  /** stderr on a terminal, less the progress line's own erase codes: what the path could have added. */
  async function stderrOf(argv: string[]): Promise<string> {
    const { code, stderr } = await run(argv, { TERM: 'xterm-256color' });
    expect(code).toBe(0);
    return stderr.replaceAll('\r\x1b[2K', '');
  }

  it('is printed escaped in the warning before the image is read, and in the indexing progress line', async () => {
    const layout = join(scratch, name);
    cpSync('fixtures/demo', layout, { recursive: true });
    rmSync(join(layout, 'oci-layout'));
    const warning = await stderrOf(['inspect', layout]);
    expect(warning).toContain('app\\x1b]0;retitled\\x07 \\x1b[31mred has no oci-layout file');
    expect(warning.slice(0, -1)).not.toMatch(/[\x00-\x1f]/);
    const archive = join(scratch, `${name}.tar.gz`);
    writeFileSync(archive, gzipSync(execFileSync('tar', ['-C', 'fixtures/demo', '-cf', '-', '.'])));
    const progress = await stderrOf(['inspect', archive]);
    expect(progress).toContain('indexing ');
    expect(progress).toContain('app\\x1b]0;retitled\\x07 \\x1b[31mred.tar.gz');
    expect(progress).not.toMatch(/[\x00-\x1f]/);
  });
});
