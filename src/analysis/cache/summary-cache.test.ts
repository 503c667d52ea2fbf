import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/shared.js';
import { sha256Digest } from '../../oci/digest.js';
import { openLocalImage } from '../../oci/local/index.js';
import type { ImageSource } from '../../oci/source.js';
import { analyzeImage } from '../analyze.js';
import { type AnalysisSummary, summarizeAnalysis } from '../summary.js';
import { entryFileName, IMAGES_FOLDER, LAYERS_FOLDER, TEMP_PREFIX, TWIN_PREFIX } from './location.js';
import { DiskSummaryCache } from './summary-cache.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-summary-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let roots = 0;
const newRoot = () => join(scratch, `root-${++roots}`);

let image: Pick<ImageSource, 'digest' | 'layers'> & { commands?: readonly string[] };
let summary: AnalysisSummary;
beforeAll(async () => {
  const source = await openLocalImage(fixture('demo'));
  try {
    image = { digest: source.digest, layers: source.layers };
    summary = summarizeAnalysis(await analyzeImage(source));
  } finally {
    await source.close();
  }
});

function cacheAt(root: string, extra: { analyser?: string } = {}) {
  const lines: string[] = [];
  const warnings: string[] = [];
  const cache = new DiskSummaryCache({
    root,
    debug: (line) => lines.push(line),
    warn: (message) => warnings.push(message),
    ...extra,
  });
  return { cache, lines, warnings };
}

async function stored(root: string): Promise<string> {
  const { cache } = cacheAt(root);
  cache.put(image.digest, summary);
  await cache.flush();
  return join(root, IMAGES_FOLDER, entryFileName(image.digest));
}

/** The summaries in the images folder, by name. */
function summaryFiles(root: string): string[] {
  return readdirSync(join(root, IMAGES_FOLDER))
    .filter((name) => !name.startsWith(TWIN_PREFIX))
    .sort();
}

/** The twin pointers in the images folder: name and content. */
function twinPointers(root: string): [string, string][] {
  const folder = join(root, IMAGES_FOLDER);
  return readdirSync(folder)
    .filter((name) => name.startsWith(TWIN_PREFIX))
    .map((name) => [name, readFileSync(join(folder, name), 'utf8')]);
}

describe('DiskSummaryCache', () => {
  it('misses, stores one file named after the manifest digest (and its twin pointer), then hits with the same summary', async () => {
    const root = newRoot();
    const { cache, lines } = cacheAt(root);
    expect(await cache.get(image)).toBeUndefined();
    cache.put(image.digest, summary);
    await cache.flush();
    expect(summaryFiles(root)).toEqual([entryFileName(image.digest)]);
    expect(twinPointers(root)).toEqual([[expect.stringMatching(/^twin-[0-9a-f]{64}$/), `${image.digest}\n`]]);
    expect(await cache.get(image)).toEqual({ summary });
    expect(lines.map((line) => line.replace(/ \(\d+ bytes\)$/, ''))).toEqual([
      `image summary miss ${image.digest}`,
      `image summary stored ${image.digest}`,
      `image summary hit ${image.digest}`,
    ]);
  });

  it('serves another manifest with the same layers and layer commands, and stores it under that one once adopted', async () => {
    const root = newRoot();
    await stored(root);
    const { cache, lines } = cacheAt(root);
    const commands = summary.layers.map((layer) => layer.createdBy);
    const rebuilt = { ...image, digest: sha256Digest('a rebuild: new timestamps in the config'), commands };
    expect(await cache.get(rebuilt)).toEqual({ summary, twin: image.digest });
    await cache.flush();
    // Not before the caller verified the rebuild's blobs: nothing is stored from unverified data.
    expect(summaryFiles(root)).toEqual([entryFileName(image.digest)]);
    cache.adopt(rebuilt.digest, summary);
    await cache.flush();
    expect(lines.map((line) => line.replace(/ \(\d+ bytes\)$/, ''))).toEqual([
      `image summary hit ${rebuilt.digest} (the layers and commands of ${image.digest})`,
      `image summary stored ${rebuilt.digest}`,
    ]);
    expect(summaryFiles(root)).toEqual([entryFileName(image.digest), entryFileName(rebuilt.digest)].sort());
    // The pointer stays on the first build: with the rebuild's summary gone, the next rebuild still finds it.
    expect(twinPointers(root).map(([, target]) => target)).toEqual([`${image.digest}\n`]);
    rmSync(join(root, IMAGES_FOLDER, entryFileName(rebuilt.digest)));
    expect(await cacheAt(root).cache.get(rebuilt)).toEqual({ summary, twin: image.digest });

    // Another command for a layer, other layers, or no commands to compare: the analysis may differ.
    const other = (changes: Partial<typeof rebuilt>) => ({
      ...rebuilt,
      digest: sha256Digest(JSON.stringify(changes)),
      ...changes,
    });
    const renamed = commands.map((command, index) => (index === 0 ? `${command} # changed` : command));
    expect(await cache.get(other({ commands: renamed }))).toBeUndefined();
    expect(
      await cache.get(other({ layers: image.layers.slice(1), commands: commands.slice(1) })),
    ).toBeUndefined();
    expect(await cache.get(other({ commands: undefined }))).toBeUndefined();
  });

  it('finds a twin through its pointer, never by reading the other summaries', async () => {
    const root = newRoot();
    await stored(root);
    const [[pointer]] = twinPointers(root) as [[string, string]];
    const commands = summary.layers.map((layer) => layer.createdBy);
    const rebuilt = { ...image, digest: sha256Digest('a rebuild'), commands };
    const { cache } = cacheAt(root);
    expect(await cache.get(rebuilt)).toEqual({ summary, twin: image.digest });
    await cache.flush();

    // Without a pointer there is no twin, though the summary is there.
    rmSync(join(root, IMAGES_FOLDER, pointer));
    expect(
      await cacheAt(root).cache.get({ ...rebuilt, digest: sha256Digest('another rebuild') }),
    ).toBeUndefined();
    // A pointer to a summary that is gone, or to one of other layers, is a miss too.
    writeFileSync(join(root, IMAGES_FOLDER, pointer), `${sha256Digest('pruned')}\n`);
    expect(await cacheAt(root).cache.get({ ...rebuilt, digest: sha256Digest('third') })).toBeUndefined();
    writeFileSync(join(root, IMAGES_FOLDER, pointer), `${entryFileName(image.digest)}\n`);
    expect(await cacheAt(root).cache.get({ ...rebuilt, digest: sha256Digest('fourth') })).toBeUndefined();
  });

  it("marks a hit as recently used, and the image's layer entries with it", async () => {
    const root = newRoot();
    const file = await stored(root);
    const layers = join(root, LAYERS_FOLDER);
    mkdirSync(layers, { recursive: true });
    const layerEntry = join(layers, entryFileName(image.layers[0]!.digest));
    writeFileSync(layerEntry, 'a layer entry');
    const old = new Date('2024-01-01T00:00:00Z');
    for (const path of [file, layerEntry]) utimesSync(path, old, old);
    const { cache } = cacheAt(root);
    expect(await cache.get(image)).toBeDefined();
    await cache.flush();
    for (const path of [file, layerEntry]) expect(statSync(path).mtimeMs).toBeGreaterThan(old.getTime());
  });

  it('ignores and removes a corrupt summary, then stores a good one again', async () => {
    const root = newRoot();
    const file = await stored(root);
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0xff;
    writeFileSync(file, bytes);
    const { cache, lines } = cacheAt(root);
    expect(await cache.get(image)).toBeUndefined();
    expect(lines).toEqual([`image summary ${image.digest} discarded (corrupt: checksum mismatch)`]);
    cache.put(image.digest, summary);
    await cache.flush();
    expect(await cache.get(image)).toEqual({ summary });
  });

  it('ignores and removes a summary another analyser wrote, or one of another image', async () => {
    const root = newRoot();
    const file = await stored(root);
    const { cache, lines } = cacheAt(root, { analyser: 'another' });
    expect(await cache.get(image)).toBeUndefined();
    await cache.flush();
    expect(lines[0]).toMatch(/discarded \(stale: analyser .+\)$/);
    // Its twin pointer stays, harmless (it names a summary that is gone), until `cache prune`.
    expect(summaryFiles(root)).toEqual([]);

    await stored(root);
    const other = { ...image, digest: `sha256:${'cd'.repeat(32)}` as const };
    writeFileSync(join(root, IMAGES_FOLDER, entryFileName(other.digest)), readFileSync(file));
    const second = cacheAt(root);
    expect(await second.cache.get(other)).toBeUndefined();
    expect(second.lines[0]).toBe(
      `image summary ${other.digest} discarded (corrupt: summary of ${image.digest})`,
    );
  });

  it('does not use a summary whose layers exceed the decompression guard, and keeps it', async () => {
    const root = newRoot();
    const file = await stored(root);
    const total = summary.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0);
    const { cache, lines } = cacheAt(root);
    expect(await cache.get(image, total - 1)).toBeUndefined();
    expect(lines).toEqual([
      `image summary ${image.digest} not used (its layers exceed the decompression guard)`,
    ]);
    expect(await cache.get(image, total)).toEqual({ summary });
    expect(readFileSync(file).length).toBeGreaterThan(0);
  });

  it('never reads a temp file a killed writer left behind', async () => {
    const root = newRoot();
    const folder = join(root, IMAGES_FOLDER);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${TEMP_PREFIX}123-abc`), 'half a summary');
    const { cache } = cacheAt(root);
    expect(await cache.get(image)).toBeUndefined();
  });

  it('degrades to no caching with one warning when the folder cannot be created', async () => {
    const blocker = join(scratch, `a-file-${++roots}`);
    writeFileSync(blocker, 'not a folder');
    const { cache, warnings } = cacheAt(join(blocker, 'cache'));
    cache.put(image.digest, summary);
    await cache.flush();
    cache.put(image.digest, summary);
    await cache.flush();
    expect(await cache.get(image)).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^cannot write the cache in .*: .* is not a folder; continuing without storing anything in it — move/,
    );
  });
});
