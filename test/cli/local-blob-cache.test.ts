import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RACY_WINDOW_MS } from '../../src/analysis/cache/fingerprint-store.js';
import { IMAGES_FOLDER } from '../../src/analysis/cache/location.js';
import { TarArchiveFiles } from '../../src/oci/local/tar-index.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/shared.js';

// A cached check of an image on disk must not vouch for blobs it did not verify: after a first check,
// a layer blob deleted, truncated or changed by one byte fails the cached check exactly as it fails an
// uncached one, while an unchanged image is not hashed again.

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-local-blobs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const cache = join(scratch, 'cache');
let copies = 0;

type Kind = 'layout' | 'oci-archive' | 'docker-archive';
const FIXTURES: Record<Kind, string> = {
  layout: 'demo',
  'oci-archive': 'demo.oci.tar',
  'docker-archive': 'demo.docker.tar',
};

/** A private copy of the fixture of this kind. */
function copyOf(kind: Kind): string {
  const copy = join(scratch, `${++copies}-${FIXTURES[kind]}`);
  cpSync(fixture(FIXTURES[kind]), copy, { recursive: true });
  return copy;
}

interface LayerBlob {
  /** The layer's digest as the manifest names it (a docker save's legacy layers have none of their own). */
  digest: string | undefined;
  size: number;
  /** The file holding its bytes, from `offset` on: the blob's own file, or the archive. */
  file: string;
  offset: number;
  /** Its path in the layout or archive. */
  path: string;
}

/** The image's second layer, and where its bytes lie. */
async function secondLayer(kind: Kind, image: string): Promise<LayerBlob> {
  const blobPath = (digest: string) => `blobs/sha256/${digest.slice('sha256:'.length)}`;
  if (kind === 'layout') {
    const readJson = (path: string) => JSON.parse(readFileSync(join(image, path), 'utf8'));
    const index = readJson('index.json');
    const layer = readJson(blobPath(index.manifests[0].digest)).layers[1];
    const path = blobPath(layer.digest);
    return { digest: layer.digest, size: layer.size, file: join(image, path), offset: 0, path };
  }
  const files = await TarArchiveFiles.open(image, image);
  const readJson = async (path: string) => JSON.parse((await files.read(path, 1 << 20)).toString('utf8'));
  let digest: string | undefined;
  let path: string;
  if (kind === 'oci-archive') {
    const index = await readJson('index.json');
    digest = (await readJson(blobPath(index.manifests[0].digest))).layers[1].digest as string;
    path = blobPath(digest);
  } else {
    path = (await readJson('manifest.json'))[0].Layers[1];
  }
  const member = (await files.locate(path))!;
  return { digest, size: member.length, file: image, offset: member.offset, path };
}

function flipByte(file: string, at: number): void {
  const bytes = readFileSync(file);
  bytes[at]! ^= 0x01;
  writeFileSync(file, bytes);
}

/** Rewrites the archive at the same path from its files with `change` applied to one member. */
function rewriteArchive(archive: string, member: string, change: (file: string) => void): void {
  const dir = join(scratch, `extracted-${++copies}`);
  mkdirSync(dir);
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  change(join(dir, member));
  execFileSync('tar', ['-cf', archive, '-C', dir, '.']);
}

const checkWith = (cacheDir: string, image: string, ...extra: string[]) =>
  runCli(['check', '--json', '--full', '--cache-dir', cacheDir, ...extra, image]);
const check = (image: string, ...extra: string[]) => checkWith(cache, image, ...extra);
const uncachedCheck = (image: string) => runCli(['check', '--json', '--full', '--no-cache', image]);

const debugLines = (stderr: string, prefix: string) =>
  stderr.split('\n').filter((line) => line.startsWith(`debug: ${prefix}`));

interface Damage {
  kind: Kind;
  what: string;
  damage: (image: string) => Promise<RegExp>;
}

const damages: Damage[] = [
  {
    kind: 'layout',
    what: 'a layer blob deleted',
    damage: async (image) => {
      const layer = await secondLayer('layout', image);
      rmSync(layer.file);
      return new RegExp(`: blob ${layer.digest} is missing \\(blobs/sha256/`);
    },
  },
  {
    kind: 'layout',
    what: 'a layer blob truncated',
    damage: async (image) => {
      const layer = await secondLayer('layout', image);
      truncateSync(layer.file, 30_000);
      return new RegExp(`: 30000 bytes, but its descriptor promises ${layer.size} — `);
    },
  },
  {
    kind: 'layout',
    what: 'one byte of a layer blob changed',
    damage: async (image) => {
      const layer = await secondLayer('layout', image);
      flipByte(layer.file, Math.floor(layer.size / 2));
      return new RegExp(`: content is sha256:[0-9a-f]{64}, expected ${layer.digest} — `);
    },
  },
  {
    kind: 'oci-archive',
    what: 'one byte of a layer member changed in place',
    damage: async (image) => {
      const layer = await secondLayer('oci-archive', image);
      flipByte(image, layer.offset + Math.floor(layer.size / 2));
      return new RegExp(`: content is sha256:[0-9a-f]{64}, expected ${layer.digest} — `);
    },
  },
  {
    kind: 'oci-archive',
    what: 'the archive saved again without a layer blob',
    damage: async (image) => {
      const layer = await secondLayer('oci-archive', image);
      rewriteArchive(image, layer.path, (file) => rmSync(file));
      return new RegExp(`: blob ${layer.digest} is missing \\(blobs/sha256/`);
    },
  },
  {
    kind: 'oci-archive',
    what: 'the archive saved again with a layer blob truncated',
    damage: async (image) => {
      const layer = await secondLayer('oci-archive', image);
      rewriteArchive(image, layer.path, (file) => truncateSync(file, 30_000));
      return new RegExp(`: 30000 bytes, but its descriptor promises ${layer.size} — `);
    },
  },
  {
    kind: 'docker-archive',
    what: 'one byte of a layer.tar changed in place',
    damage: async (image) => {
      const layer = await secondLayer('docker-archive', image);
      flipByte(image, layer.offset + Math.floor(layer.size / 2));
      return /: content is sha256:[0-9a-f]{64}, expected sha256:[0-9a-f]{64} — /;
    },
  },
  {
    // A legacy layer's digest is its diff id, its size the file's: the new manifest misses the summary,
    // and the layer cache's entry under that diff id must not stand for the shorter file.
    kind: 'docker-archive',
    what: 'the archive saved again with a layer.tar truncated',
    damage: async (image) => {
      const layer = await secondLayer('docker-archive', image);
      rewriteArchive(image, layer.path, (file) => truncateSync(file, 5_120));
      return /: content is sha256:[0-9a-f]{64}, expected sha256:[0-9a-f]{64} — /;
    },
  },
];

const KINDS: Kind[] = ['layout', 'oci-archive', 'docker-archive'];
/** A cache that has the image's layers but no summary of it. */
const layersOnly = join(scratch, 'layers-only-cache');
/** Per test, a copy checked once (so cached) before the test starts. */
const warmed = new Map<string, string>();
/** Per test, the fingerprints that first check recorded. */
const recorded = new Map<string, string[]>();

beforeAll(async () => {
  const tests: [string, Kind][] = [
    ...damages.map(({ kind, what }): [string, Kind] => [`${kind}: ${what}`, kind]),
    ...KINDS.map((kind): [string, Kind] => [kind, kind]),
    ['touched', 'layout'],
    ['layers only', 'layout'],
  ];
  for (const [name, kind] of tests) warmed.set(name, copyOf(kind));
  // Fingerprints are recorded only of files last changed before the racy window.
  await sleep(RACY_WINDOW_MS + 200);
  for (const [name, image] of warmed) {
    const first = await checkWith(name === 'layers only' ? layersOnly : cache, image, '--debug');
    expect(first.code, first.stderr).toBe(0);
    recorded.set(name, debugLines(first.stderr, 'blob fingerprint stored'));
  }
  rmSync(join(layersOnly, IMAGES_FOLDER), { recursive: true });
});

describe('a cached check of a damaged local image', () => {
  it.each(damages)(
    '$kind with $what: exit 2, the error of an uncached check',
    async ({ kind, what, damage }) => {
      const image = warmed.get(`${kind}: ${what}`)!;
      const error = await damage(image);
      const cached = await check(image);
      const uncached = await uncachedCheck(image);
      expect(uncached.code).toBe(2);
      expect(uncached.stderr).toMatch(error);
      expect(cached.code).toBe(2);
      expect(cached.stdout).toBe('');
      expect(cached.stderr).toBe(uncached.stderr);
      expect(cached.stderr.trimEnd().split('\n')).toHaveLength(1);
      // The damaged blob's fingerprint was on record: it was its file's changed stat that sent it to be hashed.
      expect(recorded.get(`${kind}: ${what}`)).toHaveLength(8);
    },
  );

  it('fails the same when only the layer cache has the image (no summary)', async () => {
    const image = warmed.get('layers only')!;
    const layer = await secondLayer('layout', image);
    flipByte(layer.file, 100);
    const cached = await checkWith(layersOnly, image, '--debug');
    expect(debugLines(cached.stderr, 'cache hit ')).toContain(`debug: cache hit ${layer.digest}`);
    expect(cached.code).toBe(2);
    const quiet = await checkWith(layersOnly, image);
    const uncached = await uncachedCheck(image);
    expect(uncached.code).toBe(2);
    expect(quiet.code).toBe(2);
    expect(quiet.stderr).toBe(uncached.stderr);
    expect(quiet.stderr).toMatch(new RegExp(`: content is sha256:[0-9a-f]{64}, expected ${layer.digest} — `));
    expect(recorded.get('layers only')).toHaveLength(8);
  });
});

describe('a cached check of an unchanged local image', () => {
  it.each(KINDS)('%s: hashes no blob — every fingerprint matches — and reports as before', async (kind) => {
    const image = warmed.get(kind)!;
    const again = await check(image, '--debug');
    expect(again.code).toBe(0);
    expect(debugLines(again.stderr, 'image summary ')).toEqual([
      expect.stringMatching(/^debug: image summary hit /),
    ]);
    expect(debugLines(again.stderr, 'blob fingerprint hit')).toHaveLength(8);
    expect(debugLines(again.stderr, 'blob fingerprint miss')).toEqual([]);
    expect(again.stdout).toBe((await uncachedCheck(image)).stdout);
  });

  it('hashes a blob again when its file was touched, passes when its bytes are intact, then trusts it again', async () => {
    const image = warmed.get('touched')!;
    const layer = await secondLayer('layout', image);
    const past = new Date(Date.UTC(2024, 0, 1));
    utimesSync(layer.file, past, past);
    const touched = await check(image, '--debug');
    expect(touched.code).toBe(0);
    expect(debugLines(touched.stderr, 'blob fingerprint miss')).toEqual([
      `debug: blob fingerprint miss ${layer.digest} (${layer.file} changed since)`,
    ]);
    // Recorded by that run, or (changed too recently for its stat to be trusted) by the next.
    await sleep(RACY_WINDOW_MS + 200);
    await check(image);
    const steady = await check(image, '--debug');
    expect(debugLines(steady.stderr, 'blob fingerprint hit')).toHaveLength(8);
    expect(debugLines(steady.stderr, 'blob fingerprint miss')).toEqual([]);
  });
});
