import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../oci/digest.js';
import type { ImageSource } from '../oci/source.js';
import { analyze, analyzeImage, failedLayerOf, layerCommands, PROGRESS_INTERVAL } from './analyze.js';
import { END_OF_ARCHIVE, fakeImage, gzip, rawEntry, tarOf, zstd } from './testing.js';
import type { AnalysisEvent } from './types.js';

const history = [
  { created_by: 'ADD rootfs.tar /' },
  { created_by: 'ENV PATH=/bin', empty_layer: true },
  { created_by: 'RUN apk add curl' },
  { created_by: 'CMD ["sh"]', empty_layer: true },
  { created_by: 'RUN rm /etc/motd' },
];

async function threeLayers() {
  const base = await tarOf(['etc/', 'etc/motd:100', 'etc/hosts:20', 'bin/', 'bin/sh:1000']);
  const curl = await tarOf(['usr/', 'usr/bin/', 'usr/bin/curl:5000', 'etc/', 'etc/hosts:25']);
  const rm = await tarOf(['etc/', 'etc/.wh.motd']);
  return { base, curl, rm, blobs: [gzip(base), zstd(curl), rm] };
}

describe('analyzeImage', () => {
  it('streams gzip, zstd and plain layers into summaries, the model and dive’s waste', async () => {
    const { base, curl, rm, blobs } = await threeLayers();
    const image = fakeImage(blobs, { history });
    const analysis = await analyzeImage(image);

    expect(
      analysis.layers.map((layer) => [layer.compression, layer.uncompressedSize, layer.contentSize]),
    ).toEqual([
      ['gzip', base.length, 1120],
      ['zstd', curl.length, 5025],
      ['none', rm.length, 0],
    ]);
    expect(analysis.layers.map((layer) => layer.createdBy)).toEqual([
      'ADD rootfs.tar /',
      'RUN apk add curl',
      'RUN rm /etc/motd',
    ]);
    expect(
      analysis.layers.map(({ fileCount, added, modified, removed, wastedBytes }) => ({
        fileCount,
        added,
        modified,
        removed,
        wastedBytes,
      })),
    ).toEqual([
      { fileCount: 5, added: 5, modified: 0, removed: 0, wastedBytes: 0 },
      { fileCount: 5, added: 3, modified: 1, removed: 0, wastedBytes: 20 },
      { fileCount: 2, added: 0, modified: 0, removed: 1, wastedBytes: 100 },
    ]);
    expect(analysis.layers[1]).toMatchObject({
      index: 1,
      digest: image.layers[1]!.digest,
      mediaType: image.layers[1]!.mediaType,
      compressedSize: blobs[1]!.length,
    });
    expect(analysis.waste).toMatchObject({
      contentSize: 6145,
      userSize: 5025,
      wastedBytes: 145,
      reclaimableBytes: 120, // the layers made 20 + 100 dead: the 25-byte hosts survives
    });
    expect(analysis.waste.inefficientFiles.map((file) => [file.path, file.count, file.wastedBytes])).toEqual([
      ['/etc/motd', 2, 100],
      ['/etc/hosts', 2, 45],
    ]);
    expect(analysis.waste.inefficientFiles[0]!.overwrittenBy).toEqual([
      { layer: 2, createdBy: 'RUN rm /etc/motd', change: 'removed' },
    ]);
    expect(analysis.model.layerCount).toBe(3);
    expect(analysis.model.entryCount).toBe(12);
    const top = analysis.model.treeAt(2);
    expect(top.root.totalSize).toBe(1000 + 25 + 5000);
  });

  it('reports progress: start, throttled compressed bytes, done per layer, then the analysis', async () => {
    const big = await tarOf([{ name: 'blob', content: randomBytes(3 * PROGRESS_INTERVAL) }]);
    const small = await tarOf(['a:1']);
    const image = fakeImage([big, small], { chunkSize: 16 * 1024 });
    const events: AnalysisEvent[] = [];
    const analysis = await analyzeImage(image, { concurrency: 1 }, (event) => events.push(event));

    const progress = events.filter((event) => event.type === 'layer-progress');
    expect(progress.length).toBe(3);
    expect(progress.map((event) => event.type === 'layer-progress' && event.compressedBytes)).toEqual([
      PROGRESS_INTERVAL,
      2 * PROGRESS_INTERVAL,
      3 * PROGRESS_INTERVAL,
    ]);
    expect(
      events
        .map((event) => `${event.type}${'layer' in event ? event.layer : ''}`)
        .filter((e) => !e.startsWith('layer-progress')),
    ).toEqual(['layer-start0', 'layer-start1', 'layer-done0', 'layer-done1', 'done']);
    expect(events.at(-1)).toEqual({ type: 'done', analysis });
    expect(events[0]).toEqual({ type: 'layer-start', layer: 0, compressedSize: big.length });
  });

  it('streams at most `concurrency` layers at once', async () => {
    const blobs = await Promise.all(Array.from({ length: 7 }, (_, i) => tarOf([`f${i}:${i}`]).then(gzip)));
    const one = fakeImage(blobs);
    await analyzeImage(one, { concurrency: 1 });
    expect(one.maxOpen).toBe(1);
    const three = fakeImage(blobs, { chunkSize: 64 });
    const analysis = await analyzeImage(three, { concurrency: 3 });
    expect(three.maxOpen).toBeLessThanOrEqual(3);
    expect(three.maxOpen).toBeGreaterThan(1);
    expect(analysis.layers.map((layer) => layer.contentSize)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('streams more than ten layers at once without a listener-leak warning', async () => {
    const blobs = await Promise.all(Array.from({ length: 24 }, (_, i) => tarOf([`f${i}:${i}`]).then(gzip)));
    const image = fakeImage(blobs, { chunkSize: 16 });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      await analyzeImage(image, { concurrency: 16 });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(image.maxOpen).toBeGreaterThan(10);
    expect(warnings).toEqual([]);
  });

  it('starts the next layer as soon as one is parsed, up to four slots’ worth past the merge', async () => {
    const blobs = await Promise.all(Array.from({ length: 10 }, (_, i) => tarOf([`f${i}:${i}`]).then(gzip)));
    let release = () => {};
    const slowBase = new Promise<void>((resolve) => {
      release = resolve;
    });
    const image = fakeImage(blobs, { hold: new Map([[0, slowBase]]) });
    const startedWhileHeld: number[] = [];
    let held = true;
    setTimeout(() => {
      held = false;
      release();
    }, 300);
    const analysis = await analyzeImage(image, { concurrency: 2 }, (event) => {
      if (event.type === 'layer-start' && held) startedWhileHeld.push(event.layer);
    });
    // Layer 0 holds one of the two slots the whole time; layers 1 to 7 pass through the other, and
    // layer 8 would be more than 2 × 4 layers past the merge, still waiting for layer 0.
    expect(startedWhileHeld).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(image.maxOpen).toBe(2);
    expect(analysis.layers.map((layer) => layer.contentSize)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('fails on a digest mismatch, destroying the other layers’ streams', async () => {
    const { blobs } = await threeLayers();
    const tampered = Buffer.from(blobs[1]!);
    tampered[tampered.length - 5]! ^= 1;
    const image = fakeImage(blobs, { tamper: new Map([[1, tampered]]), chunkSize: 64 });
    await expect(analyzeImage(image)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(image.opened.every((stream) => stream.destroyed)).toBe(true);
  });

  it('checks each layer’s uncompressed tar against the config’s diff_ids, as docker does when it unpacks', async () => {
    const { base, curl, rm, blobs } = await threeLayers();
    const diffIds = [base, curl, rm].map(sha256Digest);
    const analysis = await analyzeImage(fakeImage(blobs, { diffIds }));
    expect(analysis.layers.map((layer) => layer.fileCount)).toEqual([5, 5, 2]);

    for (const wrong of [0, 1, 2]) {
      const swapped = diffIds.map((id, index) => (index === wrong ? diffIds[(wrong + 1) % 3]! : id));
      const image = fakeImage(blobs, { diffIds: swapped, reference: 'registry.test/app:1' });
      const failure = analyzeImage(image);
      await expect(failure).rejects.toMatchObject({
        code: 'DIGEST_MISMATCH',
        message: `layer ${wrong + 1} of registry.test/app:1 (${image.layers[wrong]!.digest}): its uncompressed content is ${diffIds[wrong]}, but the config's rootfs.diff_ids[${wrong}] is ${swapped[wrong]}`,
      });
      await expect(failure).rejects.toHaveProperty(
        'hint',
        expect.stringMatching(/^docker and containerd refuse/),
      );
    }
  });

  it('marks the layer that failed, not the layers its failure stopped', async () => {
    const corrupt = gzip(Buffer.alloc(10_000));
    corrupt.fill(0x55, 12, 40);
    const good = gzip(await tarOf(['etc/', 'etc/motd:100']));
    const error = await analyzeImage(fakeImage([good, corrupt, good])).catch((e: unknown) => e);
    expect(failedLayerOf(error)).toBe(1);
    expect(failedLayerOf(new Error('quit'))).toBeUndefined();
  });

  it('names the layer when its bytes do not decompress', async () => {
    const corrupt = gzip(Buffer.alloc(10_000));
    corrupt.fill(0x55, 12, 40);
    await expect(analyzeImage(fakeImage([corrupt]))).rejects.toMatchObject({
      code: 'MALFORMED',
      message: expect.stringMatching(/^layer 1 of fake:image \(sha256:[0-9a-f]{64}\): cannot decompress/),
      hint: expect.stringMatching(/^the layer blob is corrupt; rebuild the image, or write the layout again/),
    });
  });

  it('says how to fix an unreadable layer in the words of where the image came from', async () => {
    const notTar = gzip(Buffer.alloc(2048, 0x41));
    const from = (kind: ImageSource['kind']) => analyzeImage({ ...fakeImage([notTar]), kind });
    await expect(from('docker-archive')).rejects.toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('not a valid tar stream'),
      hint: 'the layer blob is corrupt or not a tar archive; rebuild the image, or save the archive again with the tool that made it (docker save)',
    });
    await expect(from('registry')).rejects.toMatchObject({
      hint: 'the layer blob is corrupt or not a tar archive; rebuild the image, or re-push the image',
    });
  });

  it('reads a zstd layer that starts with a skippable frame (pzstd writes one before every frame)', async () => {
    const { curl } = await threeLayers();
    const skippable = Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
    const analysis = await analyzeImage(
      fakeImage([Buffer.concat([skippable, zstd(curl)])], { chunkSize: 3 }),
    );
    expect(analysis.layers.map((layer) => [layer.compression, layer.uncompressedSize])).toEqual([
      ['zstd', curl.length],
    ]);
  });

  it('refuses a zstd layer whose window is over 128 MiB, quickly and naming the fix', async () => {
    const tar = await tarOf(['etc/', 'etc/motd:100']);
    const long = execFileSync('zstd', ['-q', '-c', '--long=30'], { input: tar }); // a 1 GiB window
    const started = performance.now();
    await expect(analyzeImage(fakeImage([long]))).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(
        /^layer 1 of fake:image \(sha256:[0-9a-f]{64}\): cannot decompress \(the zstd frame at byte 0 needs a 1024 MiB window; imgscope decodes windows up to 128 MiB\)$/,
      ),
      hint: "recompress the layer with a zstd window of 128 MiB or less (zstd's default; --long=27 at most)",
    });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('reports a decompression bomb as a LIMIT error instead of dying', async () => {
    const bomb = gzip(await tarOf([{ name: 'zeros', content: Buffer.alloc(4_000_000) }]));
    expect(bomb.length).toBeLessThan(10_000);
    await expect(analyzeImage(fakeImage([bomb]), { maxUncompressedBytes: 1_000_000 })).rejects.toMatchObject({
      code: 'LIMIT',
      message: expect.stringContaining('decompression guard'),
    });
  });

  it('fails a layer whose distinct names outgrow the memory budget, naming the layer', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(97)}`);
    const layer = gzip(await tarOf(names.map((name) => ({ name, content: Buffer.alloc(0) }))));
    await expect(analyzeImage(fakeImage([layer]), { maxNameBytes: 100 * 1024 })).resolves.toBeDefined();
    await expect(analyzeImage(fakeImage([layer]), { maxNameBytes: 10 * 1024 })).rejects.toMatchObject({
      code: 'LIMIT',
      message: expect.stringMatching(
        /^layer 1 of fake:image \(sha256:[0-9a-f]{64}\): its file names and link targets take more than 10240 bytes of memory, more than any real image$/,
      ),
    });
    // Paths thousands of folders deep cost memory per folder, with next to no name bytes.
    const deep = gzip(await tarOf([{ name: `${'a/'.repeat(2000)}f`, content: Buffer.alloc(0) }]));
    await expect(analyzeImage(fakeImage([deep]), { maxPaths: 1000 })).rejects.toMatchObject({
      code: 'LIMIT',
      message: expect.stringMatching(/: it has more than 1,000 distinct paths, more than any real image$/),
    });
  });

  it('charges the paths a layer shadows within itself to the name budget, naming the layer', async () => {
    // 100 paths 200 folders deep, each listed twice: a few hundred name bytes interned, 40 kB of paths.
    const deep = 'a/'.repeat(200);
    const names = Array.from({ length: 100 }, (_, i) => `${deep}f${i}`);
    const layer = gzip(await tarOf([...names, ...names].map((name) => ({ name, content: 'x' }))));
    await expect(analyzeImage(fakeImage([layer]), { maxNameBytes: 100 * 1024 })).resolves.toBeDefined();
    await expect(analyzeImage(fakeImage([layer]), { maxNameBytes: 10 * 1024 })).rejects.toMatchObject({
      code: 'LIMIT',
      message: expect.stringMatching(
        /^layer 1 of fake:image \(sha256:[0-9a-f]{64}\): its file names and link targets take more than 10240 bytes of memory, more than any real image$/,
      ),
    });
  });

  it('charges the paths a layer removes to the name budget, so whiting out deep paths again and again is bounded', async () => {
    // 50 paths 200 folders deep, removed by ten layers and put back between: 200 kB of removed paths.
    const deep = 'a/'.repeat(200);
    const names = Array.from({ length: 50 }, (_, i) => `${deep}f${i}`);
    const add = gzip(await tarOf(names.map((name) => ({ name, content: 'x' }))));
    const remove = gzip(await tarOf(names.map((name) => ({ name: name.replace(/f(\d+)$/, '.wh.f$1') }))));
    const layers = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? add : remove));
    await expect(analyzeImage(fakeImage(layers), { maxNameBytes: 1024 ** 2 })).resolves.toBeDefined();
    await expect(analyzeImage(fakeImage(layers), { maxNameBytes: 100 * 1024 })).rejects.toMatchObject({
      code: 'LIMIT',
      message: expect.stringMatching(
        /^layer \d+ of fake:image .*: its file names and link targets take more than/,
      ),
    });
  });

  it('fails a layer with a hardlink to a path a lower layer removed, as docker cannot unpack it', async () => {
    const base = gzip(await tarOf([{ name: 'etc/real', content: 'real' }]));
    const removal = gzip(await tarOf([{ name: 'etc/.wh.real', content: '' }]));
    const link = gzip(await tarOf([{ name: 'etc/orphan', type: 'link', linkname: 'etc/real' }]));
    const error = await analyzeImage(fakeImage([base, removal, link])).catch((e: unknown) => e);
    // The explorer says FAILED on this layer, not 'stopped'.
    expect(failedLayerOf(error)).toBe(2);
    expect(error).toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(
        /^layer 3 of fake:image \(sha256:[0-9a-f]{64}\): entry "\/etc\/orphan" is a hardlink to "\/etc\/real", which is not there/,
      ),
      hint: expect.stringContaining('cannot be pulled'),
    });
  });

  it('stops when aborted, with the abort reason', async () => {
    const { blobs } = await threeLayers();
    const controller = new AbortController();
    const image = fakeImage(blobs, { chunkSize: 16 });
    const running = analyzeImage(image, { signal: controller.signal }, (event) => {
      if (event.type === 'layer-start' && event.layer === 1) controller.abort(new Error('user pressed q'));
    });
    await expect(running).rejects.toThrow('user pressed q');
    await new Promise((resolve) => setImmediate(resolve));
    expect(image.opened.every((stream) => stream.destroyed)).toBe(true);
  });

  it('stops the work when the consumer leaves the event stream early', async () => {
    const { blobs } = await threeLayers();
    const image = fakeImage(blobs, { chunkSize: 16 });
    for await (const event of analyze(image, { concurrency: 1 })) {
      if (event.type === 'layer-done') break;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(image.opened.length).toBeLessThan(3);
    expect(image.opened.every((stream) => stream.destroyed)).toBe(true);
  });

  it('hides eStargz metadata only in an eStargz layer: a plain gzip layer keeps a file of that name', async () => {
    const tar = await tarOf(['.prefetch.landmark:1', 'app:4', 'stargz.index.json:12']);
    // eStargz's footer: an empty gzip member whose extra field ends with the TOC offset and "STARGZ".
    const extra = Buffer.concat([
      Buffer.from('SG'),
      Buffer.from([22, 0]),
      Buffer.from(`${'0'.repeat(16)}STARGZ`),
    ]);
    const footer = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, extra.length, 0]),
      extra,
      Buffer.from([1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]),
    ]);
    expect(footer.length).toBe(51);
    const analysis = await analyzeImage(fakeImage([gzip(tar), Buffer.concat([gzip(tar), footer]), tar]));
    expect(analysis.layers.map((layer) => [layer.fileCount, layer.contentSize])).toEqual([
      [3, 17],
      [1, 4],
      [3, 17],
    ]);
  });

  it('counts names that differ only in bytes that are not UTF-8 as different files', async () => {
    const layer = (last: number, size: number) =>
      Buffer.concat([
        rawEntry({ name: Buffer.from([0x78, last]), typeflag: '0', content: Buffer.alloc(size) }),
        END_OF_ARCHIVE,
      ]);
    const analysis = await analyzeImage(fakeImage([layer(0xff, 10), layer(0xfe, 20)]));
    expect(analysis.waste).toMatchObject({ efficiency: 1, wastedBytes: 0, inefficientFiles: [] });
    expect(analysis.layers.map(({ added, modified, wastedBytes }) => [added, modified, wastedBytes])).toEqual(
      [
        [1, 0, 0],
        [1, 0, 0],
      ],
    );
  });

  it('analyses an image without layers', async () => {
    const analysis = await analyzeImage(fakeImage([]));
    expect(analysis.layers).toEqual([]);
    expect(analysis.waste.efficiency).toBe(1);
    expect(analysis.model.treeAt.bind(analysis.model, 0)).toThrow(RangeError);
  });
});

describe('layerCommands', () => {
  it('aligns history with layers by skipping empty_layer entries; missing history is empty', () => {
    const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history };
    expect(layerCommands(config, 4)).toEqual([
      'ADD rootfs.tar /',
      'RUN apk add curl',
      'RUN rm /etc/motd',
      '',
    ]);
    expect(layerCommands({ ...config, history: undefined }, 2)).toEqual(['', '']);
  });
});
