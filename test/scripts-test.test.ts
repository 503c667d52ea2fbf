import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared.js';

const work = mkdtempSync(join(tmpdir(), 'imgscope-scripts-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Where a system tool is, from the test's own PATH. */
function which(tool: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, tool))) return join(dir, tool);
  }
  throw new Error(`${tool} is not on PATH`);
}

/**
 * A PATH holding only what scripts/test needs to start (bash, dirname), a non-root `id`, and recording
 * stand-ins for `sudo` and `npm`: none of the tools it installs, and no apt-get, as on macOS or Fedora.
 */
function machineWithoutAptGet(): { bin: string; calls: string } {
  const bin = join(work, 'bin');
  const calls = join(work, 'calls');
  mkdirSync(bin);
  writeFileSync(calls, '');
  for (const tool of ['bash', 'dirname']) symlinkSync(which(tool), join(bin, tool));
  const script = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!${which('bash')}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  script('id', 'echo 1000');
  // Quoted: a TMPDIR with a space would otherwise send the records to a file beside it.
  script('sudo', `echo "sudo $*" >> "${calls}"; exit 1`);
  script('npm', `echo "npm $*" >> "${calls}"`);
  return { bin, calls };
}

describe('scripts/test (the README\'s "Try it" test command)', () => {
  it('on a machine without apt-get, names the missing tools and runs the tests, never asking sudo', () => {
    const { bin, calls } = machineWithoutAptGet();
    const result = spawnSync(join(bin, 'bash'), [join(projectRoot, 'scripts', 'test')], {
      env: { PATH: bin, HOME: work },
      encoding: 'utf8',
    });
    expect(readFileSync(calls, 'utf8')).toBe('npm ci --no-audit --no-fund\nnpm test\n');
    expect(result.stderr).toContain('missing docker-registry skopeo tmux zstd openssl tinyproxy:');
    expect(result.status).toBe(0);
  });
});
