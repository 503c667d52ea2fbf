#!/usr/bin/env node
// Does the main thread stay free while a zstd layer streams? One generated ~200 MB tar, compressed by the
// zstd CLI and by gzip, analysed in this process (analyzeImage over a verified file stream) while
// monitorEventLoopDelay watches the main thread; for comparison, fzstd decoding the same blob on the main
// thread (how zstd was decoded before the worker). Reports each one's time and longest event-loop stall:
// what a key press in the TUI would wait for. With --reps N, the three are measured N times in turn and
// each figure is the median.
//
// Usage: npm run build && node bench/zstd.js [--mb UNCOMPRESSED_MB] [--reps N] [--json]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { median } from './stats.js';
import { hashingTap, noisePool, prng, tarStream, textPool } from './tar-gen.js';
import { missingTools } from './tools.js';

const dist = (path) => new URL(`../dist/${path}`, import.meta.url);
if (!existsSync(fileURLToPath(dist('analysis/analyze.js')))) {
  console.error('bench/zstd.js: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const missing = missingTools(['zstd']);
if (missing) {
  console.error(`bench/zstd.js: ${missing}`);
  process.exit(2);
}
const { analyzeImage } = await import(dist('analysis/analyze.js').href);
const { VerifyingStream } = await import(dist('oci/digest.js').href);

const args = process.argv.slice(2);
const at = args.indexOf('--mb');
const UNCOMPRESSED_MB = at >= 0 ? Number(args[at + 1]) : 200;
const repsAt = args.indexOf('--reps');
const REPS = repsAt >= 0 ? Math.max(1, Number(args[repsAt + 1])) : 1;
const JSON_OUTPUT = args.includes('--json');

function* entries() {
  const random = prng(9);
  const text = textPool(8 << 20, random);
  const noise = noisePool(16 << 20, random);
  let bytes = 0;
  for (let i = 0; bytes < UNCOMPRESSED_MB << 20; i++) {
    if (i % 40 === 0) yield { name: `usr/lib/p${i / 40}/`, type: '5', mode: 0o755 };
    const binary = random() < 0.3;
    const size = Math.floor(random() * (binary ? 400_000 : 20_000));
    bytes += size;
    const pool = binary ? noise : text;
    const offset = Math.floor(random() * (pool.length - size));
    yield {
      name: `usr/lib/p${Math.floor(i / 40)}/f${i}`,
      size,
      content: () => pool.subarray(offset, offset + size),
    };
  }
}

async function writeBlob(path, compressor) {
  const hash = createHash('sha256');
  const tap = hashingTap(hash);
  await pipeline(tarStream(entries()), compressor, tap.stream, createWriteStream(path));
  return { digest: `sha256:${hash.digest('hex')}`, size: tap.size() };
}

function zstdCli() {
  const child = spawn('zstd', ['-q', '-c', '-3', '-T1'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return Duplex.from({ writable: child.stdin, readable: child.stdout });
}

function fileImage(path, descriptor) {
  return {
    reference: `bench:${path}`,
    layers: [descriptor],
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    async openBlob(blob) {
      return createReadStream(path, { highWaterMark: 256 * 1024 }).pipe(
        new VerifyingStream({ digest: blob.digest, size: blob.size, label: path }),
      );
    },
    async close() {},
  };
}

async function watched(work) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const utilisation = performance.eventLoopUtilization();
  const started = performance.now();
  const value = await work();
  const seconds = (performance.now() - started) / 1000;
  const busy = performance.eventLoopUtilization(utilisation).utilization;
  delay.disable();
  return { seconds, maxMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6, busy, value };
}

const zstdPath = join(tmpdir(), `imgscope-bench-zstd-${process.pid}.tar.zst`);
const gzipPath = join(tmpdir(), `imgscope-bench-zstd-${process.pid}.tar.gz`);
try {
  const zstdBlob = await writeBlob(zstdPath, zstdCli());
  const gzipBlob = await writeBlob(gzipPath, createGzip({ level: 6 }));
  const mediaType = 'application/vnd.oci.image.layer.v1.tar+zstd';
  const analyse = (path, blob) => analyzeImage(fileImage(path, { mediaType, ...blob }));

  await analyse(zstdPath, zstdBlob); // warms the worker pool's first worker, the page cache and the code
  const runs = [];
  for (let rep = 0; rep < REPS; rep++) {
    const worker = await watched(() => analyse(zstdPath, zstdBlob));
    const gzip = await watched(() => analyse(gzipPath, gzipBlob));
    const mainThread = await watched(async () => {
      let bytes = 0;
      const decoder = new Decompress((chunk) => {
        bytes += chunk.length;
      });
      for await (const chunk of createReadStream(zstdPath, { highWaterMark: 256 * 1024 }))
        decoder.push(chunk);
      decoder.push(new Uint8Array(0), true);
      return bytes;
    });
    runs.push({ worker, gzip, mainThread });
  }
  const medianOf = (run, figure) => median(runs.map((r) => r[run][figure]));
  const figures = (run) => ({
    seconds: medianOf(run, 'seconds'),
    maxMs: medianOf(run, 'maxMs'),
    p99Ms: medianOf(run, 'p99Ms'),
    busy: medianOf(run, 'busy'),
  });
  const [worker, gzip, mainThread] = ['worker', 'gzip', 'mainThread'].map(figures);
  const layer = runs[0].worker.value.layers[0];
  const result = {
    bench: 'zstd',
    repetitions: REPS,
    compressedBytes: zstdBlob.size,
    uncompressedBytes: layer.uncompressedSize,
    entries: layer.fileCount,
    zstdSeconds: worker.seconds,
    maxEventLoopDelayMs: worker.maxMs,
    p99EventLoopDelayMs: worker.p99Ms,
    mainThreadBusy: worker.busy,
    gzipSeconds: gzip.seconds,
    gzipMaxEventLoopDelayMs: gzip.maxMs,
    gzipMainThreadBusy: gzip.busy,
    mainThreadFzstdSeconds: mainThread.seconds,
    mainThreadFzstdMaxEventLoopDelayMs: mainThread.maxMs,
    mainThreadFzstdBusy: mainThread.busy,
  };
  if (JSON_OUTPUT) console.log(JSON.stringify(result));
  else {
    const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
    const pct = (fraction) => `${(fraction * 100).toFixed(0)}%`;
    console.log(
      `zstd bench: ${mb(result.compressedBytes)} zstd → ${mb(result.uncompressedBytes)} tar, ${result.entries} entries`,
    );
    console.log(
      `  analyzeImage, zstd on the worker  ${worker.seconds.toFixed(2)} s; main thread busy ${pct(worker.busy)}, longest stall ${worker.maxMs.toFixed(1)} ms, p99 ${worker.p99Ms.toFixed(1)} ms`,
    );
    console.log(
      `  analyzeImage, same tar as gzip    ${gzip.seconds.toFixed(2)} s; main thread busy ${pct(gzip.busy)}, longest stall ${gzip.maxMs.toFixed(1)} ms`,
    );
    console.log(
      `  fzstd on the main thread (before) ${mainThread.seconds.toFixed(2)} s (decode only); main thread busy ${pct(mainThread.busy)}, longest stall ${mainThread.maxMs.toFixed(1)} ms`,
    );
  }
} finally {
  rmSync(zstdPath, { force: true });
  rmSync(gzipPath, { force: true });
}
