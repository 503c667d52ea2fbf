import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FINGERPRINTS_FOLDER, IMAGES_FOLDER, LAYERS_FOLDER } from '../../src/analysis/cache/location.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/shared.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-cache-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const newDir = (name: string) => join(scratch, `${name}-${++folders}`);
/** The tests' environment turns the cache off (vitest.config.ts); these runs turn it back on. */
const CACHE_ON = { IMGSCOPE_NO_CACHE: '' };

/** A private copy of fixtures/demo and the digests of its layers. */
function demoCopy(): { dir: string; layers: string[] } {
  const dir = newDir('demo');
  cpSync(fixture('demo'), dir, { recursive: true });
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const manifest = JSON.parse(
    readFileSync(join(dir, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'),
  );
  return { dir, layers: manifest.layers.map((layer: { digest: string }) => layer.digest) };
}

const debugLines = (stderr: string, kind: string) =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith(`debug: cache ${kind} `))
    .map((line) => line.split(' ')[3]);

/** A check that consults the layer cache: the image summary, which would skip it, is cleared first. */
async function check(image: string, cacheDir: string, ...extra: string[]) {
  rmSync(join(cacheDir, IMAGES_FOLDER), { recursive: true, force: true });
  return runCli(['check', '--json', '--debug', '--cache-dir', cacheDir, ...extra, image]);
}

describe('imgscope check with the layer cache', () => {
  it('stores every layer on the first run and reads every one back on the second, same report', async () => {
    const { dir, layers } = demoCopy();
    const cache = newDir('cache');
    const first = await check(dir, cache);
    expect(first.code).toBe(0);
    expect(debugLines(first.stderr, 'stored').sort()).toEqual([...layers].sort());
    expect(debugLines(first.stderr, 'hit')).toEqual([]);

    const second = await check(dir, cache);
    expect(second.code).toBe(0);
    expect(debugLines(second.stderr, 'hit').sort()).toEqual([...layers].sort());
    expect(debugLines(second.stderr, 'miss')).toEqual([]);
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));

    // A cached analysis never stands for a blob that is gone: with every layer blob removed the cached
    // run fails as an uncached run does, on the first missing blob in layer order — checked before any
    // layer starts, so not whichever concurrent layer happens to fail first.
    for (const digest of layers) rmSync(join(dir, 'blobs', 'sha256', digest.slice(7)), { force: true });
    const blobless = await check(dir, cache);
    expect(blobless.code).toBe(2);
    const uncached = await runCli(['check', '--json', '--no-cache', '--cache-dir', cache, dir]);
    expect(uncached.code).toBe(2);
    const missingLayer = (stderr: string) =>
      /^imgscope: .*: blob (sha256:[0-9a-f]{64}) is missing \(blobs\/sha256\/[0-9a-f]{64}\) — (.*)$/m.exec(
        stderr,
      );
    const [cachedLine, cachedDigest, cachedHint] = missingLayer(blobless.stderr) ?? [];
    const [uncachedLine, uncachedDigest, uncachedHint] = missingLayer(uncached.stderr) ?? [];
    expect(cachedLine, blobless.stderr).toBeDefined();
    expect(uncachedLine, uncached.stderr).toBeDefined();
    expect(cachedDigest).toBe(layers[0]);
    expect(uncachedDigest).toBe(layers[0]);
    expect(cachedHint).toBe(uncachedHint);
  });

  it('ignores a corrupt entry, analyses that layer again and rewrites it', async () => {
    const { dir, layers } = demoCopy();
    const cache = newDir('cache');
    const first = await check(dir, cache);
    const victim = layers[2]!;
    const entry = join(cache, LAYERS_FOLDER, `sha256-${victim.slice(7)}`);
    const bytes = readFileSync(entry);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(entry, bytes);

    const second = await check(dir, cache);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`debug: cache entry ${victim} discarded (corrupt: checksum mismatch)`);
    expect(debugLines(second.stderr, 'stored')).toEqual([victim]);
    expect(debugLines(second.stderr, 'hit')).toHaveLength(layers.length - 1);
    expect(JSON.parse(second.stdout)).toEqual(JSON.parse(first.stdout));
    expect(debugLines((await check(dir, cache)).stderr, 'hit')).toHaveLength(layers.length);
  });

  it('with --no-cache neither reads nor writes it', async () => {
    const cache = newDir('cache');
    const result = await runCli([
      'check',
      '--json',
      '--debug',
      '--no-cache',
      '--cache-dir',
      cache,
      'fixtures/demo',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/cache/);
    expect(existsSync(cache)).toBe(false);
  });

  it('lives in IMGSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/imgscope; IMGSCOPE_NO_CACHE turns it off', async () => {
    const explicit = newDir('explicit');
    const xdg = newDir('xdg');
    const env = { ...CACHE_ON, IMGSCOPE_CACHE_DIR: explicit, XDG_CACHE_HOME: xdg };
    expect((await runCli(['check', 'fixtures/demo'], { env })).code).toBe(0);
    expect(readdirSync(join(explicit, LAYERS_FOLDER))).toHaveLength(8);
    expect(existsSync(xdg)).toBe(false);

    expect(
      (await runCli(['check', 'fixtures/demo'], { env: { ...CACHE_ON, XDG_CACHE_HOME: xdg } })).code,
    ).toBe(0);
    expect(readdirSync(join(xdg, 'imgscope', LAYERS_FOLDER))).toHaveLength(8);

    const off = newDir('off');
    const disabled = await runCli(['check', 'fixtures/demo'], {
      env: { IMGSCOPE_NO_CACHE: '1', XDG_CACHE_HOME: off },
    });
    expect(disabled.code).toBe(0);
    expect(existsSync(off)).toBe(false);
  });

  it('is never put in the working directory by an empty HOME or a relative XDG_CACHE_HOME', async () => {
    const cwd = newDir('cwd');
    mkdirSync(cwd);
    for (const env of [{ HOME: '' }, { HOME: 'home' }, { HOME: '', XDG_CACHE_HOME: 'cache' }]) {
      const result = await runCli(['cache', 'ls', '--json'], {
        cwd,
        env: { ...CACHE_ON, IMGSCOPE_CACHE_DIR: '', XDG_CACHE_HOME: '', ...env },
      });
      expect(result.code).toBe(0);
      const { directory } = JSON.parse(result.stdout) as { directory: string };
      expect(isAbsolute(directory)).toBe(true);
      expect(directory.startsWith(cwd)).toBe(false);
    }
  });

  it('degrades to no cache with one warning when the folder cannot be written', async () => {
    const blocker = newDir('blocker');
    writeFileSync(blocker, 'a file where the cache folder should be');
    const result = await runCli(['check', '--json', '--cache-dir', join(blocker, 'cache'), 'fixtures/demo']);
    expect(result.code).toBe(0);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^imgscope: warning: ${CANNOT_WRITE} in ${blocker}/cache: ${blocker} is not a folder; continuing without storing anything in it — move that file away`,
      ),
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ layerCount: 8, layersAnalyzed: true });
  });

  it('escapes control characters of the cache folder it cannot write in its warning', async () => {
    const blocker = newDir('block\u001b[31mred\nline');
    writeFileSync(blocker, 'a file where the cache folder should be');
    const result = await runCli(['check', '--json', '--cache-dir', join(blocker, 'cache'), 'fixtures/demo']);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('\u001b');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('block\\x1b[31mred line');
  });

  it.skipIf(!tinyDiskPossible())(
    'prune on a read-only mount says so (exit 2), rather than to check permissions',
    async () => {
      const cache = newDir('read-only');
      await runCli(['check', '--json', '--cache-dir', cache, 'fixtures/demo']);
      execFileSync('mount', ['--bind', cache, cache]);
      try {
        execFileSync('mount', ['-o', 'remount,bind,ro', cache]);
        const result = await runCli(['cache', 'prune', '--cache-dir', cache]);
        expect(result.code).toBe(2);
        expect(result.stderr).toBe(
          `imgscope: cannot use the cache in ${cache} (EROFS) — it is on a read-only file system: ` +
            'run this where it is mounted writable, or choose another folder with --cache-dir\n',
        );
      } finally {
        execFileSync('umount', [cache]);
      }
    },
  );

  it.skipIf(!tinyDiskPossible())(
    'on a full disk says, in one line, that the cache is not written and why',
    async () => {
      const disk = newDir('full-disk');
      mkdirSync(disk);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', disk]);
      try {
        const result = await runCli(['check', '--json', '--cache-dir', disk, 'fixtures/demo']);
        expect(result.code).toBe(0);
        expect(result.stderr).toBe(
          `imgscope: warning: cannot write the cache in ${disk} (ENOSPC); continuing without storing anything in it — ` +
            'free some space, choose another folder with --cache-dir, or pass --no-cache\n',
        );
        expect(JSON.parse(result.stdout)).toMatchObject({ layerCount: 8, layersAnalyzed: true });
      } finally {
        execFileSync('umount', [disk]);
      }
    },
  );

  // Node 20's recursive mkdir never returns where mkdir answers ENOENT under an existing folder.
  it.skipIf(!procMounted())('ends with one warning for a folder that cannot exist under /proc', async () => {
    const result = await runCli(['check', '--json', '--cache-dir', '/proc/nope', 'fixtures/demo'], {
      timeoutMs: 20_000,
    });
    expect(result.code).toBe(0);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^imgscope: warning: ${CANNOT_WRITE} in /proc/nope \\(ENOENT\\); continuing without storing`,
        ),
      ),
    ]);
    expect(JSON.parse(result.stdout)).toMatchObject({ layerCount: 8, layersAnalyzed: true });
  });
});

/** The caches write in the background; the first to fail gives the command's one warning, naming the root. */
const CANNOT_WRITE = 'cannot write the cache';

/** A 16 KiB tmpfs fills up for real: only root may mount one, and not in every container. */
function tinyDiskPossible(): boolean {
  if (process.getuid?.() === 0) {
    const probe = mkdtempSync(join(tmpdir(), 'imgscope-mount-probe-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', probe], { stdio: 'ignore' });
      execFileSync('umount', [probe]);
      return true;
    } catch {
      // Not allowed here.
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  }
  console.warn('skipping the full-disk cache test: mounting a small tmpfs needs root (CAP_SYS_ADMIN)');
  return false;
}

function procMounted(): boolean {
  if (existsSync('/proc/self')) return true;
  console.warn('skipping the /proc cache-folder test: /proc is not mounted here');
  return false;
}

describe('imgscope cache ls and prune', () => {
  /** A cache of fixtures/demo whose entries were last used one hour apart, oldest first. */
  async function agedCache(): Promise<{ cache: string; byAge: string[] }> {
    const cache = newDir('cache');
    const { layers } = demoCopy();
    expect((await runCli(['check', '--cache-dir', cache, 'fixtures/demo'])).code).toBe(0);
    const folder = join(cache, LAYERS_FOLDER);
    const base = Date.UTC(2024, 0, 1) / 1000;
    layers.forEach((digest, i) => {
      utimesSync(join(folder, `sha256-${digest.slice(7)}`), base + i * 3600, base + i * 3600);
    });
    return { cache, byAge: layers };
  }

  it.each([[[]], [['--no-cache']], [['--no-layers']]])(
    'check refuses an empty --cache-dir %j',
    async (extra) => {
      const result = await runCli(['check', '--cache-dir=', ...extra, 'fixtures/demo']);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^imgscope: --cache-dir is empty — /);
    },
  );

  it('ls prints a cache folder named with control characters escaped, as the warnings do', async () => {
    const cache = newDir('cache\u001b[31mred');
    const result = await runCli(['cache', 'ls', '--cache-dir', cache]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout.split('\n')[0]).toBe(
      `Cache ${join(cache, LAYERS_FOLDER).replace('\u001b', '\\x1b')}`,
    );
  });

  it('ls lists digest, size and last use, most recent first, with the total', async () => {
    const { cache, byAge } = await agedCache();
    const table = await runCli(['cache', 'ls', '--cache-dir', cache]);
    expect(table.code).toBe(0);
    expect(table.stderr).toBe('');
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Cache ${join(cache, LAYERS_FOLDER)}`);
    expect(lines[1]).toMatch(/^DIGEST +SIZE {2}LAST USED$/);
    expect(lines.slice(2, 10).map((line) => line.split(/ +/)[0])).toEqual([...byAge].reverse());
    expect(lines[2]).toMatch(/ 2024-01-01 07:00:00 UTC$/);
    expect(lines[10]).toMatch(/^8 layers, \d+(\.\d+)? KiB$/);

    const json = await runCli(['cache', 'ls', '--json', '--cache-dir', cache]);
    expect(json.code).toBe(0);
    const inventory = JSON.parse(json.stdout);
    expect(inventory).toMatchObject({ directory: join(cache, LAYERS_FOLDER), count: 8 });
    expect(inventory.entries.map((entry: { digest: string }) => entry.digest)).toEqual([...byAge].reverse());
    expect(inventory.entries[7].lastUsed).toBe('2024-01-01T00:00:00.000Z');
    const total = inventory.entries.reduce((sum: number, entry: { size: number }) => sum + entry.size, 0);
    expect(inventory.totalSize).toBe(total);
  });

  it('ls counts the fingerprints of verified local blobs; prune keeps those of unchanged files within a budget', async () => {
    const { cache } = await agedCache(); // a check of fixtures/demo: its 8 layer blobs were verified
    const lines = (await runCli(['cache', 'ls', '--cache-dir', cache])).stdout.trimEnd().split('\n');
    const heading = lines.indexOf(`Local blob fingerprints ${join(cache, FINGERPRINTS_FOLDER)}`);
    expect(lines[heading + 1]).toMatch(/^8 blob fingerprints, \d+(\.\d+)? KiB$/);
    const json = JSON.parse((await runCli(['cache', 'ls', '--json', '--cache-dir', cache])).stdout);
    expect(json.fingerprints).toMatchObject({ directory: join(cache, FINGERPRINTS_FOLDER), count: 8 });

    const within = await runCli(['cache', 'prune', '--max-size', '1GB', '--cache-dir', cache]);
    expect(within.stdout).toMatch(/^removed 0 blob fingerprints \(0 B\); kept 8 blob fingerprints \(.+\)$/m);
    const all = await runCli(['cache', 'prune', '--json', '--cache-dir', cache]);
    expect(JSON.parse(all.stdout).fingerprints).toMatchObject({ removed: 8, kept: 0 });
    expect(existsSync(join(cache, FINGERPRINTS_FOLDER))).toBe(false);
  });

  it('ls of a cache that does not exist yet lists nothing and exits 0', async () => {
    const result = await runCli(['cache', 'ls', '--cache-dir', newDir('nothing')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^0 layers, 0 B$/m);
  });

  it('prune --max-size drops the least recently used until the rest fit', async () => {
    const { cache, byAge } = await agedCache();
    // Used last of all now (a cache hit touches its entry the same way): the oldest becomes the newest.
    const folder = join(cache, LAYERS_FOLDER);
    const now = Date.UTC(2024, 0, 2) / 1000;
    utimesSync(join(folder, `sha256-${byAge[0]!.slice(7)}`), now, now);
    const sizes = new Map(
      (
        JSON.parse((await runCli(['cache', 'ls', '--json', '--cache-dir', cache])).stdout).entries as {
          digest: string;
          size: number;
        }[]
      ).map((entry) => [entry.digest, entry.size]),
    );
    const keep = [byAge[0]!, byAge[7]!, byAge[6]!];
    const budget = keep.reduce((sum, digest) => sum + sizes.get(digest)!, 0);

    const result = await runCli(['cache', 'prune', '--max-size', String(budget), '--cache-dir', cache]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^removed 5 layers \(.+\); kept 3 layers \(.+\) within .+$/m);
    const left = JSON.parse((await runCli(['cache', 'ls', '--json', '--cache-dir', cache])).stdout);
    expect(left.entries.map((entry: { digest: string }) => entry.digest)).toEqual(keep);
    expect(left.totalSize).toBe(budget);
  });

  it('prune without --max-size removes everything, stale versions included', async () => {
    const { cache } = await agedCache();
    const stale = join(cache, 'layers-0.0.1-r1');
    cpSync(join(cache, LAYERS_FOLDER), stale, { recursive: true });
    expect((await runCli(['cache', 'ls', '--cache-dir', cache])).stdout).toMatch(
      /and 8 stale files \(.+\) from other imgscope versions/,
    );
    const result = await runCli(['cache', 'prune', '--cache-dir', cache]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^removed 8 layers \(.+\); kept 0 layers \(0 B\)\nremoved 8 stale files/);
    expect(readdirSync(cache)).toEqual([LAYERS_FOLDER]);
    expect(readdirSync(join(cache, LAYERS_FOLDER))).toEqual([]);
  });

  it.each([
    [['cache'], /imgscope cache needs ls or prune/],
    [['cache', 'list'], /unknown cache command "list"/],
    [['cache', 'ls', 'extra'], /unexpected argument "extra"/],
    [['cache', 'prune', '--max-size', 'lots'], /--max-size "lots" is not a size — give a size such as 300MB/],
    [['cache', 'prune', '--max-size', '-1'], /--max-size "-1" is not a size — give a size such as 300MB/],
    [
      ['cache', 'ls', '--max-size', '1GiB'],
      /^imgscope: cache ls does not take --max-size — .*cache prune --max-size/,
    ],
    [['cache', 'ls', '--cache-dir='], /^imgscope: --cache-dir is empty — name the cache folder/],
    [['cache', 'prune', '--cache-dir', ''], /^imgscope: --cache-dir is empty — /],
  ])('%j exits 2 with one line saying what to do', async (args, message) => {
    const result = await runCli(
      args.some((arg) => arg.startsWith('--cache-dir')) ? args : [...args, '--cache-dir', newDir('cache')],
    );
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it.each(['ls', 'prune'])(
    '%s names a file standing where a cache folder should be (exit 2), not permissions',
    async (action) => {
      const root = newDir('file-in-the-way');
      mkdirSync(root);
      const file = join(root, IMAGES_FOLDER);
      writeFileSync(file, 'a file where the summaries folder should be');
      const result = await runCli(['cache', action, '--cache-dir', root]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `imgscope: cannot use the cache in ${root}: ${file} is not a folder — move that file away, or choose another folder with --cache-dir\n`,
      );
      const itself = await runCli(['cache', action, '--cache-dir', file]);
      expect(itself.stderr).toMatch(
        /^imgscope: cannot use the cache in .*: it is not a folder — move that file/,
      );
    },
  );
});
