import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { projectRoot } from '../../../test/helpers/shared.js';
import type { Digest } from '../../oci/digest.js';
import { StringTable } from '../layer-items.js';
import { PathTable } from '../paths.js';
import { readLayerTar } from '../tar-entries.js';
import { tarOf } from '../testing.js';
import type { InternTables, LayerAnalysis } from './entry-format.js';
import { DiskLayerCache } from './layer-cache.js';
import { entryFileName, LAYERS_FOLDER, TEMP_PREFIX } from './location.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-layer-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let roots = 0;
const newRoot = () => join(scratch, `root-${++roots}`);

const DIGEST: Digest = `sha256:${'12'.repeat(32)}`;
const freshTables = (): InternTables => ({ paths: new PathTable(), links: new StringTable() });

async function sampleLayer(tables: InternTables): Promise<LayerAnalysis> {
  const tar = await tarOf([
    'etc/',
    'etc/os-release:40',
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  ]);
  const result = await readLayerTar(Readable.from([tar]), { ...tables, label: 'sample' });
  return { ...result, compression: 'gzip', blobSize: tar.length };
}

function cacheAt(root: string, extra: { analyser?: string } = {}) {
  const lines: string[] = [];
  const warnings: string[] = [];
  const cache = new DiskLayerCache({
    root,
    debug: (line) => lines.push(line),
    warn: (message) => warnings.push(message),
    ...extra,
  });
  return { cache, lines, warnings };
}

function filesIn(root: string): string[] {
  const folder = join(root, LAYERS_FOLDER);
  return existsSync(folder) ? readdirSync(folder).sort() : [];
}

async function stored(root: string): Promise<string> {
  const tables = freshTables();
  const { cache } = cacheAt(root);
  cache.put(DIGEST, await sampleLayer(tables), tables);
  await cache.flush();
  return join(root, LAYERS_FOLDER, entryFileName(DIGEST));
}

describe('DiskLayerCache', () => {
  it('misses, stores one file named after the digest, then hits with the same layer', async () => {
    const root = newRoot();
    const { cache, lines } = cacheAt(root);
    expect(await cache.get(DIGEST, freshTables())).toBeUndefined();
    const tables = freshTables();
    const layer = await sampleLayer(tables);
    cache.put(DIGEST, layer, tables);
    await cache.flush();
    expect(filesIn(root)).toEqual([entryFileName(DIGEST)]);

    const loaded = await cache.get(DIGEST, freshTables());
    expect(loaded).toMatchObject({
      compression: 'gzip',
      fileCount: layer.fileCount,
      contentSize: layer.contentSize,
      uncompressedSize: layer.uncompressedSize,
    });
    expect(loaded?.items.count).toBe(layer.items.count);
    expect(lines).toEqual([
      `cache miss ${DIGEST}`,
      expect.stringMatching(new RegExp(`^cache stored ${DIGEST} \\(\\d+ bytes\\)$`)),
      `cache hit ${DIGEST}`,
    ]);
  });

  it('makes its folder again when it was removed after the first store (another version pruned it)', async () => {
    const root = newRoot();
    const { cache, warnings } = cacheAt(root);
    const other: Digest = `sha256:${'34'.repeat(32)}`;
    for (const digest of [DIGEST, other]) {
      const tables = freshTables();
      cache.put(digest, await sampleLayer(tables), tables);
      await cache.flush();
      rmSync(join(root, LAYERS_FOLDER), { recursive: true });
    }
    const tables = freshTables();
    cache.put(DIGEST, await sampleLayer(tables), tables);
    await cache.flush();
    expect(warnings).toEqual([]);
    expect(filesIn(root)).toEqual([entryFileName(DIGEST)]);
  });

  it('marks a hit as recently used (the mtime prune orders by)', async () => {
    const root = newRoot();
    const file = await stored(root);
    const { utimesSync, statSync } = await import('node:fs');
    utimesSync(file, new Date(2000, 0, 1), new Date(2000, 0, 1));
    const { cache } = cacheAt(root);
    expect(await cache.get(DIGEST, freshTables())).toBeDefined();
    await cache.flush();
    expect(statSync(file).mtime.getFullYear()).toBeGreaterThan(2000);
  });

  it('ignores and removes a corrupt entry, then stores a good one again', async () => {
    const root = newRoot();
    const file = await stored(root);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0xff;
    writeFileSync(file, bytes);

    const { cache, lines } = cacheAt(root);
    expect(await cache.get(DIGEST, freshTables())).toBeUndefined();
    await cache.flush();
    expect(lines).toEqual([`cache entry ${DIGEST} discarded (corrupt: checksum mismatch)`]);
    expect(filesIn(root)).toEqual([]);
    expect(existsSync(await stored(root))).toBe(true);
  });

  it('ignores and removes a truncated or empty entry', async () => {
    for (const keep of [0, 100]) {
      const root = newRoot();
      const file = await stored(root);
      writeFileSync(file, readFileSync(file).subarray(0, keep));
      const { cache } = cacheAt(root);
      expect(await cache.get(DIGEST, freshTables())).toBeUndefined();
      await cache.flush();
      expect(filesIn(root)).toEqual([]);
    }
  });

  it('misses, without blocking or reading forever, when a FIFO or a device is where an entry should be', async () => {
    const root = newRoot();
    const file = await stored(root);
    rmSync(file);
    execFileSync('mkfifo', [file]);
    const { cache, lines } = cacheAt(root);
    expect(await cache.get(DIGEST, freshTables())).toBeUndefined();
    expect(lines).toEqual([`cache miss ${DIGEST} (EINVAL)`]);
    rmSync(file);
    symlinkSync('/dev/zero', file);
    expect(await cache.get(DIGEST, freshTables())).toBeUndefined();
    // A put replaces the link itself, never writing through it.
    expect(existsSync(await stored(root))).toBe(true);
    expect(lstatSync(file).isFile()).toBe(true);
  }, 10_000);

  it('replaces a folder where an entry should be, rather than giving up caching as if the disk were full', async () => {
    const root = newRoot();
    const file = await stored(root);
    rmSync(file);
    mkdirSync(join(file, 'sub'), { recursive: true });
    writeFileSync(join(file, 'sub', 'x'), 'x');
    const tables = freshTables();
    const { cache, lines, warnings } = cacheAt(root);
    expect(await cache.get(DIGEST, tables)).toBeUndefined();
    cache.put(DIGEST, await sampleLayer(tables), tables);
    await cache.flush();
    expect(warnings).toEqual([]);
    expect(lstatSync(file).isFile()).toBe(true);
    expect(await cache.get(DIGEST, freshTables())).toBeDefined();
    expect(lines.at(-1)).toBe(`cache hit ${DIGEST}`);
  });

  it('makes the cache root and the folders above it private, and leaves an existing root as it is', async () => {
    const home = newRoot();
    const root = join(home, '.cache', 'imgscope');
    const tables = freshTables();
    const { cache } = cacheAt(root);
    cache.put(DIGEST, await sampleLayer(tables), tables);
    await cache.flush();
    const modeOf = (path: string) => statSync(path).mode & 0o777;
    expect([home, join(home, '.cache'), root].map(modeOf)).toEqual([0o700, 0o700, 0o700]);
    expect(modeOf(join(root, LAYERS_FOLDER))).toBe(0o777 & ~process.umask());

    const shared = newRoot();
    mkdirSync(shared, { mode: 0o755 });
    await stored(shared);
    expect(modeOf(shared)).toBe(0o755 & ~process.umask());
  });

  it('ignores and removes an entry another analyser version wrote', async () => {
    const root = newRoot();
    const tables = freshTables();
    const older = cacheAt(root, { analyser: '0.0.1-r1' });
    older.cache.put(DIGEST, await sampleLayer(tables), tables);
    await older.cache.flush();

    const { cache, lines } = cacheAt(root);
    expect(await cache.get(DIGEST, freshTables())).toBeUndefined();
    await cache.flush();
    expect(lines).toEqual([`cache entry ${DIGEST} discarded (stale: analyser 0.0.1-r1)`]);
    expect(filesIn(root)).toEqual([]);
  });

  it('never reads a temp file a killed writer left behind', async () => {
    const root = newRoot();
    const folder = join(root, LAYERS_FOLDER);
    mkdirSync(folder, { recursive: true });
    const file = await stored(newRoot());
    // What a writer killed mid-write leaves: its temp file, half written, under a name no reader opens.
    writeFileSync(join(folder, `${TEMP_PREFIX}4242-abcdef`), readFileSync(file).subarray(0, 200));
    const { cache } = cacheAt(root);
    expect(await cache.get(DIGEST, freshTables())).toBeUndefined();
  });

  it('lets concurrent writers of one digest leave exactly one whole entry and no temp files', async () => {
    const root = newRoot();
    const writers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const tables = freshTables();
        const { cache, warnings } = cacheAt(root);
        cache.put(DIGEST, await sampleLayer(tables), tables);
        return { cache, warnings };
      }),
    );
    await Promise.all(writers.map(({ cache }) => cache.flush()));
    expect(writers.flatMap(({ warnings }) => warnings)).toEqual([]);
    expect(filesIn(root)).toEqual([entryFileName(DIGEST)]);
    expect(await cacheAt(root).cache.get(DIGEST, freshTables())).toBeDefined();
  });

  it('degrades to no caching with one warning when the folder cannot be created', async () => {
    const blocker = join(scratch, `a-file-${++roots}`);
    writeFileSync(blocker, 'not a folder');
    const { cache, warnings } = cacheAt(join(blocker, 'cache'));
    for (const digest of [DIGEST, `sha256:${'34'.repeat(32)}`, `sha256:${'56'.repeat(32)}`] as const) {
      const tables = freshTables();
      cache.put(digest, await sampleLayer(tables), tables);
      await cache.flush();
    }
    expect(await cache.get(DIGEST, freshTables())).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^cannot write the cache in .*(a-file-\d+)\/cache: .*\1 is not a folder; continuing without storing anything in it — move/,
    );
  });

  it.skipIf(process.getuid?.() === 0)(
    'degrades with one warning on a read-only folder, and still reads it',
    async () => {
      const root = newRoot();
      await stored(root);
      const { chmodSync } = await import('node:fs');
      chmodSync(join(root, LAYERS_FOLDER), 0o555);
      try {
        const { cache, warnings } = cacheAt(root);
        const tables = freshTables();
        cache.put(`sha256:${'78'.repeat(32)}`, await sampleLayer(tables), tables);
        cache.put(`sha256:${'9a'.repeat(32)}`, await sampleLayer(tables), tables);
        await cache.flush();
        expect(warnings).toHaveLength(1);
        expect(await cache.get(DIGEST, freshTables())).toBeDefined();
      } finally {
        chmodSync(join(root, LAYERS_FOLDER), 0o755);
      }
    },
  );
});

// The writer killed for real: a child process writing large entries, SIGKILLed while a temp file exists.
const distCache = join(projectRoot, 'dist', 'analysis', 'cache', 'layer-cache.js');
describe.skipIf(!existsSync(distCache))('a writer killed mid-write (built dist/)', () => {
  const writer = `
    const dist = ${JSON.stringify(pathToFileURL(join(projectRoot, 'dist')).href)};
    const { DiskLayerCache } = await import(dist + '/analysis/cache/layer-cache.js');
    const { PathTable } = await import(dist + '/analysis/paths.js');
    const { LayerItems, StringTable } = await import(dist + '/analysis/layer-items.js');
    const paths = new PathTable();
    const items = new LayerItems();
    for (let i = 0; i < 400_000; i++) items.push(0, paths.intern(['dir' + (i % 1000), 'file-' + i]), 0, 0o644, 0, 0, i, -1);
    const layer = {
      items, compression: 'gzip', fileCount: items.count, contentSize: 0, uncompressedSize: 0,
      diffId: 'sha256:' + 'ab'.repeat(32), blobSize: 0,
    };
    const cache = new DiskLayerCache({ root: process.argv[1] });
    for (let n = 0; ; n++) {
      cache.put('sha256:' + n.toString(16).padStart(64, '0'), layer, { paths, links: new StringTable() });
      await cache.flush();
    }`;

  /**
   * Kills the writer while a temp file of its exists, once it has stored an entry. Seeing the temp file and
   * killing are two steps, and under load the rename could slip in between (a new writer then had to start,
   * seconds each): the writer is frozen first, and killed only if a temp file is still there once every
   * thread of it has stopped; else it goes on.
   */
  async function killMidWrite(root: string): Promise<void> {
    const folder = join(root, LAYERS_FOLDER);
    const child = spawn(process.execPath, ['--input-type=module', '-e', writer, root], { stdio: 'ignore' });
    const pid = child.pid!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // A test that times out never reaches the finally below: the writer must not outlive it.
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    const midWrite = () => {
      const names = existsSync(folder) ? readdirSync(folder) : [];
      return (
        names.some((name) => name.startsWith(TEMP_PREFIX)) && names.some((name) => name.startsWith('sha256-'))
      );
    };
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error('the writer exited on its own');
        if (midWrite()) {
          process.kill(pid, 'SIGSTOP');
          while (!everyThreadStopped(pid)) await new Promise((resolve) => setTimeout(resolve, 1));
          if (midWrite()) break;
          process.kill(pid, 'SIGCONT');
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** A thread still inside a system call (a rename) stops only once the call has returned. */
  function everyThreadStopped(pid: number): boolean {
    if (!existsSync('/proc/self/task')) {
      return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
        .trim()
        .startsWith('T');
    }
    return readdirSync(`/proc/${pid}/task`).every((task) => {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      return /^[Tt]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!);
    });
  }

  it('leaves no partial entry visible: every entry a reader can open is whole', async () => {
    // A dist/ built before the analyser revision changed writes to another folder: nothing to wait for.
    const built = await import(
      pathToFileURL(join(projectRoot, 'dist', 'analysis', 'cache', 'location.js')).href
    );
    expect(built.LAYERS_FOLDER, 'dist/ is older than src/: run npm run build').toBe(LAYERS_FOLDER);
    const root = newRoot();
    await killMidWrite(root);
    const temps = filesIn(root).filter((name) => name.startsWith(TEMP_PREFIX));
    expect(temps.length).toBeGreaterThan(0);
    const entries = filesIn(root).filter((name) => name.startsWith('sha256-'));
    expect(entries.length).toBeGreaterThan(0);
    const { cache, lines } = cacheAt(root);
    for (const name of entries) {
      const digest = `sha256:${name.slice('sha256-'.length)}` as Digest;
      const layer = await cache.get(digest, freshTables());
      expect(layer?.items.count).toBe(400_000);
    }
    expect(lines.filter((line) => line.includes('discarded'))).toEqual([]);
  }, 60_000);
});
