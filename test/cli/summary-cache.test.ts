import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { entryFileName, IMAGES_FOLDER } from '../../src/analysis/cache/location.js';
import { readSummaryHeader } from '../../src/analysis/cache/summary-format.js';
import { runCli } from '../helpers/cli.js';
import { blobOf, ImageFiles, OCI, setLayoutIndex, tarBytes } from '../helpers/image-files.js';
import { announcePeerImages, fixture, hasPeerImages, peerImage } from '../helpers/shared.js';

announcePeerImages();

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-summary-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const newDir = (name: string) => join(scratch, `${name}-${++folders}`);

/** A private copy of fixtures/demo: its manifest, config and layer blob files. */
function demoCopy() {
  const dir = newDir('demo');
  cpSync(fixture('demo'), dir, { recursive: true });
  const blob = (digest: string) => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
  const manifestDigest: string = index.manifests[0].digest;
  const manifest = JSON.parse(readFileSync(blob(manifestDigest), 'utf8'));
  return {
    dir,
    manifestDigest,
    manifest: blob(manifestDigest),
    config: blob(manifest.config.digest),
    layers: (manifest.layers as { digest: string }[]).map((layer) => blob(layer.digest)),
  };
}

/**
 * fixtures/demo rebuilt with `change` applied to its config — new timestamps, a label — and so a new
 * config and manifest digest over the very same layers.
 */
function rebuiltDemo(
  change: (config: { history?: { created_by?: string }[] } & Record<string, unknown>) => void,
) {
  const image = demoCopy();
  const config = JSON.parse(readFileSync(image.config, 'utf8'));
  change(config);
  const store = (content: object) => {
    const blob = blobOf(content);
    writeFileSync(join(image.dir, 'blobs', 'sha256', blob.digest.slice('sha256:'.length)), blob.bytes);
    return blob;
  };
  const newConfig = store(config);
  const manifest = JSON.parse(readFileSync(image.manifest, 'utf8'));
  manifest.config = { ...manifest.config, digest: newConfig.digest, size: newConfig.size };
  const newManifest = store(manifest);
  const indexPath = join(image.dir, 'index.json');
  const index = JSON.parse(readFileSync(indexPath, 'utf8'));
  index.manifests[0] = { ...index.manifests[0], digest: newManifest.digest, size: newManifest.size };
  writeFileSync(indexPath, JSON.stringify(index));
  return { ...image, manifestDigest: newManifest.digest, original: image.manifestDigest };
}

const debugLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('debug: '));
const summaryLines = (stderr: string) =>
  debugLines(stderr)
    .filter((line) => line.startsWith('debug: image summary '))
    .map((line) => line.replace(/ \(\d+ bytes\)$/, ''));
const layerCacheLines = (stderr: string) =>
  debugLines(stderr).filter((line) => line.startsWith('debug: cache '));

function check(image: string, cacheDir: string, ...extra: string[]) {
  return runCli(['check', '--json', '--full', '--debug', '--cache-dir', cacheDir, ...extra, image]);
}

/** Uncached, cold (stores the summary) and summary-cached: the JSON reports byte for byte alike. */
async function expectSummaryRunsIdentical(image: string) {
  const cache = newDir('cache');
  const uncached = await runCli(['check', '--json', '--full', '--no-cache', image]);
  const cold = await check(image, cache);
  const warm = await check(image, cache);
  for (const run of [uncached, cold, warm]) expect(run.code, run.stderr).not.toBe(2);
  expect(summaryLines(cold.stderr).map((line) => line.split(' ')[3])).toEqual(['miss', 'stored']);
  expect(summaryLines(warm.stderr).map((line) => line.split(' ')[3])).toEqual(['hit']);
  expect(layerCacheLines(warm.stderr)).toEqual([]);
  expect(cold.stdout).toBe(uncached.stdout);
  expect(warm.stdout).toBe(uncached.stdout);
  expect(warm.code).toBe(uncached.code);
  return { cache, uncached, warm };
}

describe('imgscope check with the image summary cache', () => {
  it('reads the summary on the second run — no layer, not even the layer cache — and reports the same bytes', async () => {
    const { dir, manifestDigest } = demoCopy();
    const { cache } = await expectSummaryRunsIdentical(dir);
    const [hit] = summaryLines((await check(dir, cache)).stderr);
    expect(hit).toBe(`debug: image summary hit ${manifestDigest}`);
    // Every renderer reads the same report: the table matches too.
    const table = (...extra: string[]) => runCli(['check', '--full', ...extra, dir]);
    expect((await table('--cache-dir', cache)).stdout).toBe((await table('--no-cache')).stdout);
  });

  it('with a stored summary still reads and verifies the manifest, config and layer blobs', async () => {
    const image = demoCopy();
    const cache = newDir('cache');
    const first = await check(image.dir, cache);
    expect(first.code).toBe(0);
    // The summary is no proof that the blobs on disk are still there (test/cli/local-blob-cache.test.ts).
    for (const layer of image.layers) rmSync(layer);
    const blobless = await check(image.dir, cache);
    expect(blobless.code).toBe(2);
    expect(summaryLines(blobless.stderr)).toEqual([`debug: image summary hit ${image.manifestDigest}`]);
    const uncached = await runCli(['check', '--json', '--no-cache', image.dir]);
    expect(uncached.code).toBe(2);
    // Both name the first layer's blob: every layer blob is looked for, in order, before any is read.
    expect(uncached.stderr).toContain(`blob sha256:${basename(image.layers[0]!)} is missing`);
    expect(blobless.stderr).toContain(uncached.stderr.split(' — ')[0]);

    // A config that is not the manifest's: refused before the summary is looked up.
    const config = readFileSync(image.config);
    writeFileSync(image.config, Buffer.from(config.toString('utf8').replace('"amd64"', '"arm64"')));
    const tampered = await check(image.dir, cache);
    expect(tampered.code).toBe(2);
    expect(summaryLines(tampered.stderr)).toEqual([]);
    rmSync(image.config);
    const configless = await check(image.dir, cache);
    expect(configless.code).toBe(2);
    expect(summaryLines(configless.stderr)).toEqual([]);
  });

  it('serves a rebuild with the same layers and commands from the summary of the first build', async () => {
    const first = demoCopy();
    const cache = newDir('cache');
    expect((await check(first.dir, cache)).code).toBe(0);

    const rebuilt = rebuiltDemo((config) => {
      config.created = '2030-01-01T00:00:00Z';
      config.config = {
        ...(config.config as object),
        Labels: { 'org.opencontainers.image.revision': 'abc123' },
      };
    });
    expect(rebuilt.manifestDigest).not.toBe(rebuilt.original);
    const run = await check(rebuilt.dir, cache);
    expect(run.code).toBe(0);
    expect(summaryLines(run.stderr)).toEqual([
      `debug: image summary hit ${rebuilt.manifestDigest} (the layers and commands of ${rebuilt.original})`,
      `debug: image summary stored ${rebuilt.manifestDigest}`,
    ]);
    expect(layerCacheLines(run.stderr)).toEqual([]);
    // The report is the rebuild's own: its digest, and the same bytes as an uncached check of it.
    expect(JSON.parse(run.stdout).digest).toBe(rebuilt.manifestDigest);
    expect(run.stdout).toBe((await runCli(['check', '--json', '--full', '--no-cache', rebuilt.dir])).stdout);

    // A layer made by another command is analysed afresh (its layers come from the layer cache).
    const renamed = rebuiltDemo((config) => {
      const entry = config.history?.find((item) => item.created_by);
      if (entry) entry.created_by = `${entry.created_by} # edited`;
    });
    const fresh = await check(renamed.dir, cache);
    expect(summaryLines(fresh.stderr)).toEqual([
      `debug: image summary miss ${renamed.manifestDigest}`,
      `debug: image summary stored ${renamed.manifestDigest}`,
    ]);
  });

  it('does not serve a rebuild whose config names a layer by another diff_id: the layer is checked against it', async () => {
    const first = demoCopy();
    const cache = newDir('cache');
    expect((await check(first.dir, cache)).code).toBe(0);

    const rebuilt = rebuiltDemo((config) => {
      const rootfs = config.rootfs as { diff_ids: string[] };
      rootfs.diff_ids = [...rootfs.diff_ids].reverse();
    });
    const run = await check(rebuilt.dir, cache);
    expect(run.code).toBe(2);
    expect(summaryLines(run.stderr)).toEqual([`debug: image summary miss ${rebuilt.manifestDigest}`]);
    // Every layer came from the layer cache, and its stored diff_id still caught the config's lie.
    expect(layerCacheLines(run.stderr).every((line) => line.startsWith('debug: cache hit '))).toBe(true);
    expect(run.stderr).toMatch(
      /imgscope: layer \d+ of .*: its uncompressed content is sha256:\w+, but the config's rootfs\.diff_ids\[\d+\] is sha256:\w+/,
    );
  });

  it("stores a rebuild's summary found through its twin only once the rebuild's blobs are verified", async () => {
    const first = demoCopy();
    const cache = newDir('cache');
    expect((await check(first.dir, cache)).code).toBe(0);
    const rebuilt = rebuiltDemo((config) => {
      config.created = '2030-01-01T00:00:00Z';
    });
    const layer = rebuilt.layers.at(-1)!;
    const bytes = readFileSync(layer);
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(layer, bytes);

    const run = await check(rebuilt.dir, cache);
    expect(run.code).toBe(2);
    expect(summaryLines(run.stderr)).toEqual([
      `debug: image summary hit ${rebuilt.manifestDigest} (the layers and commands of ${rebuilt.original})`,
    ]);
    expect(readdirSync(join(cache, IMAGES_FOLDER))).not.toContain(
      entryFileName(rebuilt.manifestDigest as `sha256:${string}`),
    );
  });

  it('ignores a corrupt summary, analyses from the layer cache and stores it again', async () => {
    const { dir, manifestDigest } = demoCopy();
    const cache = newDir('cache');
    const first = await check(dir, cache);
    const file = join(cache, IMAGES_FOLDER, entryFileName(manifestDigest as `sha256:${string}`));
    const bytes = readFileSync(file);
    bytes[bytes.length - 2]! ^= 0xff;
    writeFileSync(file, bytes);

    const second = await check(dir, cache);
    expect(second.code).toBe(0);
    expect(summaryLines(second.stderr)).toEqual([
      `debug: image summary ${manifestDigest} discarded (corrupt: checksum mismatch)`,
      `debug: image summary stored ${manifestDigest}`,
    ]);
    expect(layerCacheLines(second.stderr).every((line) => line.startsWith('debug: cache hit '))).toBe(true);
    expect(second.stdout).toBe(first.stdout);
    expect(summaryLines((await check(dir, cache)).stderr)).toEqual([
      `debug: image summary hit ${manifestDigest}`,
    ]);
  });

  it('fails the same with a stored summary: a bad --concurrency, the decompression guard', async () => {
    const { dir } = demoCopy();
    const cache = newDir('cache');
    expect((await check(dir, cache)).code).toBe(0);
    const badFlag = await check(dir, cache, '--concurrency', '0');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/--concurrency/);

    const guarded = (...extra: string[]) =>
      runCli(['check', '--json', ...extra, dir], { env: { IMGSCOPE_DECOMPRESSION_LIMIT: '10KB' } });
    const withSummary = await guarded('--debug', '--cache-dir', cache);
    const without = await guarded('--no-cache');
    expect(withSummary.code).toBe(2);
    expect(withSummary.stderr).toMatch(
      /image summary .* not used \(its layers exceed the decompression guard\)/,
    );
    expect(withSummary.stderr).toMatch(/decompression guard/);
    expect(without.code).toBe(2);
  });

  it('stores only the inefficient files a report lists, and still reports the same bytes', async () => {
    const files = new ImageFiles();
    const layer = async (entries: Parameters<typeof tarBytes>[0]) => {
      const tar = await tarBytes(entries);
      return { descriptor: files.blob(gzipSync(tar), OCI.layerGzip), diffId: blobOf(tar).digest };
    };
    const names = Array.from({ length: 80 }, (_, i) => `srv/data/f${i}`);
    const base = await layer([
      ...names.map((name, i) => ({ name, content: 'x'.repeat(100 + i) })),
      { name: 'var/cache/apt/archives/a.deb', content: 'd'.repeat(5000) },
      { name: 'app/.git/HEAD', content: 'ref: refs/heads/main' },
    ]);
    const over = await layer([
      ...names.map((name) => ({ name, content: 'y' })),
      { name: 'app/.wh..git', content: '' },
    ]);
    const config = files.blob(
      {
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [base.diffId, over.diffId] },
        history: [{ created_by: 'COPY data /srv' }, { created_by: 'RUN touch /srv/data/*' }],
      },
      OCI.config,
    );
    const manifest = files.blob(
      { schemaVersion: 2, mediaType: OCI.manifest, config, layers: [base.descriptor, over.descriptor] },
      OCI.manifest,
    );
    const dir = await setLayoutIndex(files, [manifest]).writeDirectory(newDir('many'));
    const { cache, uncached } = await expectSummaryRunsIdentical(dir);
    const report = JSON.parse(uncached.stdout);
    expect(report.inefficientFiles).toHaveLength(50);
    const [stored] = readdirSync(join(cache, IMAGES_FOLDER));
    const file = readFileSync(join(cache, IMAGES_FOLDER, stored!));
    const { header, payloadOffset } = readSummaryHeader(file);
    const payload = file.toString('utf8', payloadOffset, payloadOffset + header.payloadBytes);
    expect(JSON.parse(payload).waste.inefficientFiles).toHaveLength(50); // of 80
    expect(
      report.checks
        .find((c: { id: string }) => c.id === 'hints')
        .details.map((d: { kind: string }) => d.kind),
    ).toContain('apt-cache');
  });

  it('is listed by cache ls and removed by cache prune', async () => {
    const { dir, manifestDigest } = demoCopy();
    const cache = newDir('cache');
    await check(dir, cache);
    const table = await runCli(['cache', 'ls', '--cache-dir', cache]);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toContain(`Image summaries ${join(cache, IMAGES_FOLDER)}`);
    expect(lines.some((line) => line.startsWith(`${manifestDigest}  `))).toBe(true);
    expect(lines[lines.indexOf(`Image summaries ${join(cache, IMAGES_FOLDER)}`) + 3]).toMatch(
      /^1 image summary, \d+(\.\d+)? KiB$/,
    );
    const json = JSON.parse((await runCli(['cache', 'ls', '--json', '--cache-dir', cache])).stdout);
    expect(json.images).toMatchObject({ directory: join(cache, IMAGES_FOLDER), count: 1 });
    expect(json.images.entries[0].digest).toBe(manifestDigest);

    const pruned = await runCli(['cache', 'prune', '--cache-dir', cache]);
    expect(pruned.stdout).toMatch(/^removed 1 image summary \(.+\); kept 0 image summaries \(0 B\)$/m);
    const after = await check(dir, cache);
    expect(summaryLines(after.stderr).map((line) => line.split(' ')[3])).toEqual(['miss', 'stored']);
  });
});

describe.skipIf(!hasPeerImages)('the image summary cache on the dive peer images', () => {
  it.each([
    'test-docker-image.tar',
    'test-kaniko-image.tar',
    'test-oci-gzip-image.tar',
    'test-oci-zstd-image.tar',
    'test-oci-estargz-image.tar',
    'test-oci-uncompressed-image.tar',
  ])('a summary-cached check of %s reports the same bytes as an uncached one', async (name) => {
    await expectSummaryRunsIdentical(peerImage(name));
  });
});
