/**
 * A quit signal in the explorer's windows that neither the load nor the session hears itself: while the
 * policy is resolved with the keyboard already raw, and as the session ends, before its cache writes are
 * flushed. The explorer runs in a child (the built CLI's modules, not the bundle, so the child shares the
 * cache's list of writes in progress) whose keyboard and screen claim to be a terminal, and which sends
 * itself the signal at the exact step: a signal left to its default there would end it at once.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from '../../src/analysis/cache/location.js';
import { makeTempDir } from '../helpers/image-files.js';
import { fixture, projectRoot } from '../helpers/shared.js';

let dir: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  dir = await makeTempDir('explore-signals');
});
afterAll(() => dir.remove());

const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';

/**
 * Runs the explorer on the demo image with a cache write in progress throughout (its temp file on disk,
 * as a large entry's on a slow disk), and sends SIGTERM when `trigger` says so: `raw`, as the keyboard is
 * first made raw (the policy is resolved next); `session-end`, as the session gives the screen back, its
 * signal listeners gone, once `q` has quit it. Returns how the child ended, its raw-mode switches, and
 * the temp files left in the cache folder.
 */
async function explorerSignalled(trigger: 'raw' | 'session-end') {
  const cache = join(dir.path, trigger);
  mkdirSync(cache, { recursive: true });
  const dist = (path: string) => JSON.stringify(join(projectRoot, 'dist', path));
  const child = `
    import { PassThrough, Writable } from 'node:stream';
    const { writeAtomically } = await import(${dist('analysis/cache/files.js')});
    const { main } = await import(${dist('cli/main.js')});
    writeAtomically(${JSON.stringify(cache)}, 'entry', [Buffer.alloc(10)], new Promise(() => {}));
    const terminal = (write) =>
      Object.assign(new Writable({ write(chunk, _e, done) { write(String(chunk)); done(); } }), {
        isTTY: true, columns: 100, rows: 30,
      });
    let quitTyped = false;
    const stdout = terminal((text) => {
      if (!quitTyped && text.includes('Layers (')) {
        quitTyped = true;
        setTimeout(() => keyboard.push('q'), 0);
      }
      if (${JSON.stringify(trigger)} === 'session-end' && text.includes(${JSON.stringify(LEAVE_ALTERNATE_SCREEN)})) {
        process.kill(process.pid, 'SIGTERM');
      }
    });
    let raw = false;
    const keyboard = Object.assign(new PassThrough(), {
      isTTY: true, unref() {}, ref() {},
      setRawMode(mode) {
        process.stdout.write(\`\${mode}\\n\`);
        if (${JSON.stringify(trigger)} === 'raw' && mode && !raw) {
          raw = true;
          process.kill(process.pid, 'SIGTERM');
        }
        return keyboard;
      },
    });
    const code = await main([${JSON.stringify(`oci:${fixture('demo')}`)}], {
      stdout,
      stderr: terminal(() => {}),
      stdin: keyboard,
      env: { TERM: 'xterm-256color', IMGSCOPE_NO_CACHE: '1' },
      cwd: process.cwd(),
    });
    process.stdout.write(\`exit \${code}\\n\`);
    process.exitCode = code;
  `;
  const spawned = spawn(process.execPath, ['--input-type=module', '-e', child], {
    stdio: ['ignore', 'pipe', 'inherit'],
    // A session of its own, without a controlling terminal: in the foreground as far as imgscope can tell.
    detached: true,
  });
  let stdout = '';
  spawned.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
    spawned.on('error', reject);
    spawned.on('close', (_code, received) => resolve(received));
  });
  const temp = readdirSync(cache).filter((name) => name.startsWith(TEMP_PREFIX));
  return { signal, lines: stdout.split('\n').filter(Boolean), temp };
}

describe('a quit signal where neither the load nor the session listens', () => {
  it('while the policy is resolved, with the keyboard raw: ends by it with the keyboard given back', async () => {
    const { signal, lines } = await explorerSignalled('raw');
    expect(signal).toBe('SIGTERM');
    expect(lines).toContain('true');
    expect(lines.at(-1)).toBe('false');
  });

  it('as the session ends, before the cache is flushed: ends by it and leaves no temp file', async () => {
    const { signal, lines, temp } = await explorerSignalled('session-end');
    expect(signal).toBe('SIGTERM');
    expect(lines).not.toContain('exit 0');
    expect(temp).toEqual([]);
  });
});
