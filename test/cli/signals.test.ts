import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { LAYERS_FOLDER, TEMP_PREFIX } from '../../src/analysis/cache/location.js';
import { blobOf, ImageFiles, makeTempDir, OCI, setLayoutIndex, tarBytes } from '../helpers/image-files.js';
import { projectRoot } from '../helpers/shared.js';

/** An uncompressed layer of `count` empty files: its cache entry takes a while to write. */
function manyFilesLayer(layer: number, count: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const header = Buffer.alloc(512);
    header.write(`layer-${layer}/directory-${i % 100}/${'a-long-file-name-'.repeat(4)}${i}`, 0);
    header.write('0000644\0', 100);
    for (const offset of [108, 116]) header.write('0000000\0', offset);
    header.write('00000000000\0', 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\x0000', 257);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(header);
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

let dir: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  dir = await makeTempDir('signals');
  const files = new ImageFiles();
  const tars = [0, 1].map((layer) => manyFilesLayer(layer, 120_000));
  const layers = tars.map((tar) => files.blob(tar, OCI.layer));
  const config = files.blob(
    {
      os: 'linux',
      architecture: 'amd64',
      rootfs: { type: 'layers', diff_ids: tars.map((tar) => blobOf(tar).digest) },
    },
    OCI.config,
  );
  const manifest = files.blob({ schemaVersion: 2, mediaType: OCI.manifest, config, layers }, OCI.manifest);
  await setLayoutIndex(files, [manifest]).writeDirectory(join(dir.path, 'image'));
});
afterAll(() => dir.remove());

/** Runs `check` and sends `signal` the moment it starts writing a layer's cache entry. */
function interruptedCheck(
  signal: NodeJS.Signals,
  cache: string,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const layers = join(cache, LAYERS_FOLDER);
  mkdirSync(layers, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(projectRoot, 'bin', 'imgscope'), 'check', '--cache-dir', cache, join(dir.path, 'image')],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, IMGSCOPE_NO_CACHE: '' } },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const watcher = watch(layers, (_event, name) => {
      if (!name?.startsWith(TEMP_PREFIX)) return;
      watcher.close();
      child.kill(signal);
    });
    child.on('error', reject);
    child.on('close', (code, received) => {
      watcher.close();
      resolve({ code, signal: received, stderr });
    });
  });
}

const tempFiles = (cache: string) =>
  readdirSync(cache, { recursive: true, encoding: 'utf8' }).filter((path) =>
    path.split('/').at(-1)!.startsWith(TEMP_PREFIX),
  );

describe('a signal during imgscope check', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    '%s ends it by that signal and leaves no half-written cache file',
    async (signal) => {
      const cache = join(dir.path, `cache-${signal}`);
      const result = await interruptedCheck(signal, cache);
      expect(result.signal).toBe(signal);
      expect(result.stderr).toBe('');
      expect(tempFiles(cache)).toEqual([]);
    },
  );
});

const TMUX = ['/usr/bin/tmux', '/usr/local/bin/tmux'].find((path) => existsSync(path));
const SOCKET = `imgscope-signals-test-${process.pid}`;
const tmux = (...args: string[]) =>
  execFileSync(TMUX!, ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8' });

describe.skipIf(!TMUX)('a signal during imgscope check on a terminal', () => {
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // Gone with its last session.
    }
    rmSync(join(`/tmp/tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
  });

  it('erases the progress line before ending, so the next line starts at the margin', async () => {
    const cache = join(dir.path, 'cache-terminal');
    const command = [process.execPath, join(projectRoot, 'bin', 'imgscope'), 'check', '--cache-dir', cache]
      .concat(join(dir.path, 'image'))
      .map((word) => `'${word}'`)
      .join(' ');
    tmux(
      'new-session',
      '-d',
      '-s',
      'check',
      '-x',
      '100',
      '-y',
      '10',
      `${command} >/dev/null; echo "[exit $?]"; exec sleep 86400`,
    );
    const screen = () => tmux('capture-pane', '-p', '-t', 'check');
    const deadline = Date.now() + 20_000;
    const until = async (text: string) => {
      while (!screen().includes(text)) {
        if (Date.now() > deadline) throw new Error(`the screen never showed ${text}:\n${screen()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until('analysing layers');
    const shell = tmux('display-message', '-p', '-t', 'check', '#{pane_pid}').trim();
    process.kill(
      Number(execFileSync('ps', ['-o', 'pid=', '--ppid', shell], { encoding: 'utf8' }).trim()),
      'SIGTERM',
    );
    await until('[exit');
    expect(screen()).toContain('[exit 143]');
    expect(screen()).not.toContain('analysing layers');
  });
});

describe('SIGUSR1 sent to imgscope', () => {
  it("does not open Node's inspector, a debug port into a process that holds registry credentials", async () => {
    // A registry that accepts the connection and never answers: imgscope waits for its headers meanwhile.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => {
      silent.close();
    });
    const { port } = silent.address() as AddressInfo;
    const child = spawn(
      process.execPath,
      [join(projectRoot, 'bin', 'imgscope'), 'check', '--no-cache', `127.0.0.1:${port}/app:1`],
      { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const ended = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, signal) => resolve(signal)),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    child.kill('SIGUSR1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGTERM');
    expect(await ended).toBe('SIGTERM');
    expect(stderr).not.toMatch(/inspector|Debugger/i);
  });
});

describe('a second signal while the explorer flushes its cache', () => {
  // SIGQUIT too: the explorer quits on Ctrl+\, and once its session ended the terminal sends one.
  it.each(['SIGINT', 'SIGQUIT'] as const)(
    '%s ends it by that signal, leaving no half-written cache file, once what was held is printed',
    async (sent) => {
      const cache = join(dir.path, `cache-explorer-flush-${sent}`);
      mkdirSync(cache, { recursive: true });
      // The explorer's flush, waiting on a write whose temp file is on disk and not yet renamed: a slow
      // disk's fsync of a large entry, held here until the signal comes.
      const script = `
      import { writeAtomically } from ${JSON.stringify(join(projectRoot, 'dist/analysis/cache/files.js'))};
      import { flushCaches } from ${JSON.stringify(join(projectRoot, 'dist/cli/commands/explore.js'))};
      const held = new Promise(() => {});
      const write = writeAtomically(${JSON.stringify(cache)}, 'entry', [Buffer.alloc(10)], held);
      const slow = { flush: () => write };
      setInterval(() => {}, 1000);
      setTimeout(() => console.log('flushing'), 100);
      // What the session held back from stderr (a registry's wait notice) is printed before it ends.
      await flushCaches({ layers: slow, fingerprints: slow }, () => process.stderr.write('held line\\n'));
    `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.stdout.once('data', () => child.kill(sent));
      const signal = await new Promise((resolve) =>
        child.on('close', (_code, received) => resolve(received)),
      );
      expect(signal).toBe(sent);
      expect(tempFiles(cache)).toEqual([]);
      expect(stderr).toBe('held line\n');
    },
  );
});

/**
 * Runs imgscope in a child whose stderr (and, for the explorer, stdout and keyboard) claim to be a
 * terminal, and has the child send itself `signal` as it draws its first indexing line: the indexing pass
 * of a large archive is then still running, many chunks from its end. The keyboard's raw-mode switches
 * are returned in order. The child has a session of its own, without a controlling terminal: it is in
 * the foreground as far as the explorer can tell, wherever the tests run.
 */
function interruptedIndexing(
  argv: string[],
  signal: NodeJS.Signals,
): Promise<{ signal: NodeJS.Signals | null; stderr: string; rawModes: string[] }> {
  const child = `
    import { PassThrough, Writable } from 'node:stream';
    const { main } = await import(${JSON.stringify(join(projectRoot, 'dist', 'bundle', 'main.js'))});
    let sent = false;
    const stderr = Object.assign(
      new Writable({
        write(chunk, _encoding, done) {
          process.stderr.write(chunk);
          if (!sent && String(chunk).includes('indexing')) {
            sent = true;
            process.kill(process.pid, ${JSON.stringify(signal)});
          }
          done();
        },
      }),
      { isTTY: true, columns: 200 },
    );
    const terminal = () =>
      Object.assign(new PassThrough(), { isTTY: true, columns: 200, rows: 40, unref() {}, ref() {} });
    const keyboard = Object.assign(terminal(), {
      setRawMode(mode) {
        process.stdout.write(\`\${mode}\\n\`);
      },
    });
    const code = await main(${JSON.stringify(argv)}, {
      stdout: terminal(),
      stderr,
      stdin: keyboard,
      env: { TERM: 'xterm-256color', IMGSCOPE_NO_CACHE: '1' },
      cwd: process.cwd(),
    });
    process.exitCode = code;
  `;
  return new Promise((resolve, reject) => {
    const spawned = spawn(process.execPath, ['--input-type=module', '-e', child], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let stdout = '';
    spawned.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    spawned.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    spawned.on('error', reject);
    spawned.on('close', (_code, received) =>
      resolve({ signal: received, stderr, rawModes: stdout.split('\n').filter(Boolean) }),
    );
  });
}

describe('a signal while a compressed archive is indexed on a terminal', () => {
  let archive: string;
  beforeAll(async () => {
    archive = join(dir.path, 'large.tar.gz');
    const tar = await tarBytes([{ name: 'member', content: randomBytes(32 * 1024 * 1024) }]);
    writeFileSync(archive, gzipSync(tar, { level: 0 }));
  });

  it.each([
    { name: 'inspect', command: ['inspect'] },
    { name: 'the explorer', command: [] },
  ])('ends $name by that signal with the indexing line erased', async ({ command }) => {
    const result = await interruptedIndexing([...command, archive], 'SIGTERM');
    expect(result.signal).toBe('SIGTERM');
    expect(result.stderr).toMatch(/^\r\x1b\[2Kindexing .*\r\x1b\[2K$/s);
  });

  it('ends the explorer by that signal with the keyboard out of raw mode, the shell given it back as it was', async () => {
    const result = await interruptedIndexing([archive], 'SIGTERM');
    expect(result.signal).toBe('SIGTERM');
    expect(result.rawModes).toContain('true');
    expect(result.rawModes.at(-1)).toBe('false');
  });
});
