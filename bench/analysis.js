#!/usr/bin/env node
// Analysis time of one generated ~200 MB gzip layer, as a ratio to node:zlib gunzip alone of the same
// bytes, measured in the same run (goal: ≤ 1.3×). The layer is written once into an OCI image layout in
// os.tmpdir(), removed at the end, and opened as `imgscope oci:DIR` opens it: read in the local source's
// chunks, its blob digest verified, its tar hashed and compared with the config's diff_id.
// Beside it, what the explorer would feel while a layer streams: how busy the main thread is
// (eventLoopUtilization) and its longest stall (monitorEventLoopDelay), inflating in node:zlib's pool.
//
// Usage: npm run build && node bench/analysis.js [--reps N] [--mb UNCOMPRESSED_MB] [--json]
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGunzip, createGzip } from 'node:zlib';
import { median } from './stats.js';
import { hashingTap, noisePool, prng, tarStream, textPool } from './tar-gen.js';

const analysisEntry = new URL('../dist/analysis/analyze.js', import.meta.url);
if (!existsSync(fileURLToPath(analysisEntry))) {
  console.error('bench/analysis.js: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const { analyzeImage } = await import(analysisEntry.href);
const { openLocalImage } = await import(new URL('../dist/oci/local/index.js', import.meta.url).href);
const { BLOB_READ_CHUNK } = await import(new URL('../dist/oci/local/files.js', import.meta.url).href);

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const REPS = option('--reps', 5);
const UNCOMPRESSED_MB = option('--mb', 360);
const JSON_OUTPUT = args.includes('--json');
const GOAL = 1.3;
/**
 * The floor is gunzip at its fastest: the analyser's own settings (1 MiB chunks, room to run ahead),
 * which beat zlib's defaults (16 KiB chunks) by about 2× here.
 */
const GUNZIP_FLOOR = {
  chunkSize: 1 << 20,
  readableHighWaterMark: 4 << 20,
  writableHighWaterMark: 1 << 20,
};

/**
 * A Debian-like layer: directories of packages, mostly small text files, some medium ones, a few large
 * binaries; about a third of the bytes incompressible.
 */
function* layerEntries(totalBytes) {
  const random = prng(42);
  const text = textPool(8 << 20);
  const noise = noisePool(32 << 20);
  const slice = (pool, size) => {
    if (size > pool.length) return Buffer.concat([pool, slice(pool, size - pool.length)]);
    const offset = Math.floor(random() * (pool.length - size));
    return pool.subarray(offset, offset + size);
  };
  let bytes = 0;
  for (let pkg = 0; bytes < totalBytes; pkg++) {
    const dir = `usr/lib/pkg${pkg}`;
    yield { name: `${dir}/`, type: '5', mode: 0o755 };
    const files = 5 + Math.floor(random() * 40);
    for (let file = 0; file < files && bytes < totalBytes; file++) {
      const roll = random();
      const size =
        roll < 0.6
          ? 100 + Math.floor(random() * 8_000)
          : roll < 0.92
            ? 8_000 + Math.floor(random() * 250_000)
            : roll < 0.995
              ? 256_000 + Math.floor(random() * 4_000_000)
              : 4_000_000 + Math.floor(random() * 28_000_000);
      const binary = size > 256_000 ? random() < 0.5 : random() < 0.2;
      bytes += size;
      yield {
        name: `${dir}/file${file}${binary ? '.so' : '.txt'}`,
        size,
        content: (n) => slice(binary ? noise : text, n),
      };
    }
  }
}

/** The layer's gzip blob at `path`, with its digest, size and diff_id (the sha256 of its tar). */
async function generateLayer(path) {
  const blob = createHash('sha256');
  const tar = createHash('sha256');
  const blobTap = hashingTap(blob);
  await pipeline(
    tarStream(layerEntries(UNCOMPRESSED_MB << 20)),
    hashingTap(tar).stream,
    createGzip({ level: 6 }),
    blobTap.stream,
    createWriteStream(path),
  );
  return {
    digest: `sha256:${blob.digest('hex')}`,
    size: blobTap.size(),
    diffId: `sha256:${tar.digest('hex')}`,
  };
}

/** An OCI image layout in `dir` around the layer at `layerPath` (moved into it); returns the blob's path. */
function writeLayout(dir, layerPath, layer) {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (bytes) => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(join(blobs, digest.slice(7)), bytes);
    return { digest, size: bytes.length };
  };
  const layerBlob = join(blobs, layer.digest.slice(7));
  renameSync(layerPath, layerBlob);
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created_by: 'bench: one Debian-like layer' }],
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: layer.digest,
            size: layer.size,
          },
        ],
      }),
    ),
  );
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest }],
    }),
  );
  return layerBlob;
}

async function timeGunzip(path) {
  const started = process.hrtime.bigint();
  let bytes = 0;
  const sink = new Transform({
    transform(chunk, _encoding, callback) {
      bytes += chunk.length;
      callback();
    },
  });
  await pipeline(
    createReadStream(path, { highWaterMark: BLOB_READ_CHUNK }),
    createGunzip(GUNZIP_FLOOR),
    sink,
  );
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes };
}

async function timeAnalysis(image) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const utilisation = performance.eventLoopUtilization();
  const started = process.hrtime.bigint();
  const analysis = await analyzeImage(image);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const busy = performance.eventLoopUtilization(utilisation).utilization;
  delay.disable();
  return { seconds, analysis, busy, maxStallMs: delay.max / 1e6 };
}

const dir = mkdtempSync(join(tmpdir(), 'imgscope-bench-layout-'));
let image;
try {
  const generationStarted = Date.now();
  const descriptor = await generateLayer(join(dir, 'layer.tar.gz'));
  const path = writeLayout(dir, join(dir, 'layer.tar.gz'), descriptor);
  const generationSeconds = (Date.now() - generationStarted) / 1000;
  image = await openLocalImage(`oci:${dir}`);

  await timeGunzip(path); // warm the page cache and the code
  const gunzipTimes = [];
  const analysisTimes = [];
  const busy = [];
  const stalls = [];
  let last;
  for (let rep = 0; rep < REPS; rep++) {
    // Alternate which goes first so neither always gets the warmer machine.
    if (rep % 2 === 0) {
      gunzipTimes.push((await timeGunzip(path)).seconds);
      last = await timeAnalysis(image);
    } else {
      last = await timeAnalysis(image);
      gunzipTimes.push((await timeGunzip(path)).seconds);
    }
    analysisTimes.push(last.seconds);
    busy.push(last.busy);
    stalls.push(last.maxStallMs);
  }
  const layer = last.analysis.layers[0];
  const gunzip = median(gunzipTimes);
  const analysis = median(analysisTimes);
  const result = {
    bench: 'analysis',
    compressedBytes: descriptor.size,
    uncompressedBytes: layer.uncompressedSize,
    entries: layer.fileCount,
    repetitions: REPS,
    gunzipSeconds: gunzip,
    analysisSeconds: analysis,
    ratio: analysis / gunzip,
    goal: GOAL,
    mainThreadBusy: median(busy),
    maxEventLoopDelayMs: median(stalls),
    generationSeconds,
  };
  if (JSON_OUTPUT) console.log(JSON.stringify(result));
  else {
    const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
    console.log(
      `analysis bench: one gzip layer, ${mb(descriptor.size)} compressed, ${mb(layer.uncompressedSize)} tar, ${layer.fileCount} entries`,
    );
    console.log(
      `  gunzip alone   median ${gunzip.toFixed(3)} s  (${gunzipTimes.map((t) => t.toFixed(3)).join(', ')})`,
    );
    console.log(
      `  analyzeImage   median ${analysis.toFixed(3)} s  (${analysisTimes.map((t) => t.toFixed(3)).join(', ')})`,
    );
    console.log(
      `  ratio ${result.ratio.toFixed(3)}× (goal ≤ ${GOAL}×) ${result.ratio <= GOAL ? 'ok' : 'MISSED'}`,
    );
    console.log(
      `  main thread busy ${(result.mainThreadBusy * 100).toFixed(0)}%, longest stall ${result.maxEventLoopDelayMs.toFixed(0)} ms (medians)`,
    );
  }
} finally {
  await image?.close();
  rmSync(dir, { recursive: true, force: true });
}
