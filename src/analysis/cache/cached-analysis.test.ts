import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { announcePeerImages, fixture, hasPeerImages, peerImage } from '../../../test/helpers/shared.js';
import { sha256Digest } from '../../oci/digest.js';
import { openLocalImage } from '../../oci/local/index.js';
import type { ImageSource } from '../../oci/source.js';
import { buildReport } from '../../report/build-report.js';
import { type AnalyzeOptions, analyzeImage } from '../analyze.js';
import { fakeImage, gzip, tarOf } from '../testing.js';
import type { Analysis, AnalysisEvent, FileTree, TreeNode } from '../types.js';
import { DiskLayerCache } from './layer-cache.js';
import { entryFileName, LAYERS_FOLDER } from './location.js';

announcePeerImages();

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-cached-analysis-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let roots = 0;

function newCache() {
  const lines: string[] = [];
  const cache = new DiskLayerCache({
    root: join(scratch, `root-${++roots}`),
    debug: (line) => lines.push(line),
  });
  return { cache, lines };
}

async function run(source: ImageSource, options: AnalyzeOptions = {}) {
  const events: AnalysisEvent['type'][] = [];
  const analysis = await analyzeImage(source, options, (event) => events.push(event.type));
  return { analysis, events };
}

function walk(tree: FileTree): unknown[] {
  const rows: unknown[] = [];
  const visit = (node: TreeNode) => {
    rows.push([node.path, node.entry, node.change, node.totalSize, node.childCount]);
    for (const child of tree.children(node)) visit(child);
  };
  visit(tree.root);
  return rows;
}

/** Everything an Analysis shows: the report, every layer's changes, every tree the TUI can open. */
function observable(source: ImageSource, analysis: Analysis) {
  const { model } = analysis;
  const layers = analysis.layers.map((_, layer) => ({
    changes: [...model.layerChanges(layer)].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    merged: walk(model.treeAt(layer)),
    own: walk(model.layerTree(layer)),
  }));
  return {
    report: JSON.parse(JSON.stringify(buildReport(source, analysis))) as unknown,
    inefficientFiles: analysis.waste.inefficientFiles,
    counts: [model.layerCount, model.pathCount, model.entryCount],
    layers,
  };
}

/** Uncached, then cached cold (stores every layer), then cached warm (hits every layer): all alike. */
async function expectCachedRunsIdentical(open: () => Promise<ImageSource>) {
  const source = await open();
  try {
    const uncached = await run(source);
    const { cache, lines } = newCache();
    const cold = await run(source, { cache });
    await cache.flush();
    const warm = await run(source, { cache });
    await cache.flush();

    const digests = source.layers.map((layer) => layer.digest);
    const distinct = [...new Set(digests)];
    expect(lines.filter((line) => line.startsWith('cache stored')).length).toBe(distinct.length);
    expect(lines.filter((line) => line.startsWith('cache hit')).length).toBe(digests.length);
    const expected = observable(source, uncached.analysis);
    expect(observable(source, cold.analysis)).toEqual(expected);
    expect(observable(source, warm.analysis)).toEqual(expected);
    // The TUI sees every layer start and finish, hit or not.
    const starts = (events: string[]) => events.filter((type) => type === 'layer-start').length;
    const dones = (events: string[]) => events.filter((type) => type === 'layer-done').length;
    expect([starts(warm.events), dones(warm.events)]).toEqual([digests.length, digests.length]);
    expect(warm.events.at(-1)).toBe('done');
  } finally {
    await source.close();
  }
}

describe('a cached analysis', () => {
  it('equals the uncached one on fixtures/demo (gzip, zstd and plain layers)', async () => {
    await expectCachedRunsIdentical(() => openLocalImage(fixture('demo')));
  });

  it('reuses the base layers another image shares, and analyses only the rest', async () => {
    const base = gzip(
      await tarOf(['etc/', 'etc/hosts:20', 'bin/', 'bin/sh:1000', 'lib/', 'lib/libc.so:3000']),
    );
    const app = gzip(await tarOf(['app/', 'app/main.js:500', 'etc/', 'etc/hosts:25', 'lib/.wh.libc.so']));
    const other = gzip(await tarOf(['srv/', 'srv/data:70', 'bin/.wh..wh..opq', 'bin/ash:10']));
    const { cache, lines } = newCache();
    await run(fakeImage([base, app]), { cache });
    await cache.flush();
    lines.length = 0;

    const second = fakeImage([base, other]);
    const cached = await run(second, { cache });
    await cache.flush();
    expect(lines.map((line) => line.replace(/ \(\d+ bytes\)/, ''))).toEqual(
      expect.arrayContaining([
        `cache hit ${second.layers[0]!.digest}`,
        `cache miss ${second.layers[1]!.digest}`,
        `cache stored ${second.layers[1]!.digest}`,
      ]),
    );
    expect(second.opened).toHaveLength(1); // only the layer not seen before was downloaded
    expect(observable(second, cached.analysis)).toEqual(observable(second, (await run(second)).analysis));
  });

  it('never stores a layer whose bytes failed verification', async () => {
    const good = gzip(await tarOf(['etc/', 'etc/hosts:20']));
    const promised = gzip(await tarOf(['etc/', { name: 'etc/hosts', content: 'x'.repeat(21) }]));
    const swapped = gzip(await tarOf(['etc/', { name: 'etc/hosts', content: 'y'.repeat(21) }]));
    const image = fakeImage([good, promised], { tamper: new Map([[1, swapped]]) });
    // Same size, other bytes: the tar parses fine and only the digest check at the end can fail.
    expect(swapped.length).toBe(promised.length);
    const { cache } = newCache();
    await expect(run(image, { cache, concurrency: 1 })).rejects.toThrow(/expected sha256:/);
    await cache.flush();
    // The first layer verified and was stored; the tampered one was not.
    expect(readdirSync(join(scratch, `root-${roots}`, LAYERS_FOLDER))).toEqual([
      entryFileName(image.layers[0]!.digest),
    ]);
  });

  it('checks a cached layer against the diff_ids of the image at hand, without downloading it', async () => {
    const tarBytes = await tarOf(['etc/', 'etc/hosts:20']);
    const layer = gzip(tarBytes);
    const { cache } = newCache();
    await run(fakeImage([layer], { diffIds: [sha256Digest(tarBytes)] }), { cache });
    await cache.flush();

    const wrong = sha256Digest('another tar');
    const lying = fakeImage([layer], { diffIds: [wrong] });
    await expect(run(lying, { cache })).rejects.toMatchObject({
      code: 'DIGEST_MISMATCH',
      message: expect.stringContaining(
        `is ${sha256Digest(tarBytes)}, but the config's rootfs.diff_ids[0] is ${wrong}`,
      ),
    });
    expect(lying.opened).toHaveLength(0);
  });

  it('keeps the decompression guard for layers that come from the cache', async () => {
    const layer = gzip(await tarOf(['big:200000']));
    const image = fakeImage([layer]);
    const { cache } = newCache();
    await run(image, { cache });
    await cache.flush();
    await expect(run(image, { cache, maxUncompressedBytes: 100_000 })).rejects.toThrow(/decompression guard/);
  });
});

describe.skipIf(!hasPeerImages)('a cached analysis of the dive peer images', () => {
  it.each([
    'test-docker-image.tar',
    'test-kaniko-image.tar',
    'test-oci-gzip-image.tar',
    'test-oci-zstd-image.tar',
    'test-oci-estargz-image.tar',
    'test-oci-uncompressed-image.tar',
  ])('equals the uncached one on %s', async (name) => {
    await expectCachedRunsIdentical(() => openLocalImage(peerImage(name)));
  });
});
