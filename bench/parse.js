#!/usr/bin/env node
// Per-entry cost of reading a layer's tar: a 200,000-file tar held in memory (so no decompression or I/O
// is timed) read by the analyser (readLayerTar: the hand-written parser, names interned into a PathTable)
// and, on the same bytes, by tar-stream's extract alone (the parser it replaced, doing nothing per entry).
// Reports the best of N runs, wall and CPU. Goal: a 200,000-file layer parsed in well under 1 s.
//
// Usage: npm run build && node bench/parse.js [--files N] [--reps N] [--json]
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import { prng, tarHeader } from './tar-gen.js';

const dist = (path) => new URL(`../dist/${path}`, import.meta.url);
if (!existsSync(fileURLToPath(dist('analysis/tar-entries.js')))) {
  console.error('bench/parse.js: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const { readLayerTar } = await import(dist('analysis/tar-entries.js').href);
const { PathTable } = await import(dist('analysis/paths.js').href);
const { StringTable } = await import(dist('analysis/layer-items.js').href);

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const FILES = option('--files', 200_000);
const REPS = option('--reps', 5);
const JSON_OUTPUT = args.includes('--json');
const GOAL_SECONDS = 1;

/** Directories of 40 files, sizes 0–700 bytes, as a docs or node_modules layer has. */
function layerTar() {
  const random = prng(3);
  const parts = [];
  for (let i = 0; i < FILES; i++) {
    const dir = `usr/share/pkg${Math.floor(i / 1000)}/d${Math.floor(i / 40) % 25}`;
    if (i % 40 === 0) parts.push(tarHeader(`${dir}/`, { type: '5', mode: 0o755 }));
    const size = Math.floor(random() * 700);
    parts.push(tarHeader(`${dir}/file-${i}.txt`, { size }));
    parts.push(Buffer.alloc(Math.ceil(size / 512) * 512, 0x61));
  }
  parts.push(Buffer.alloc(1024));
  const bytes = Buffer.concat(parts);
  const chunks = [];
  for (let at = 0; at < bytes.length; at += 1 << 20) chunks.push(bytes.subarray(at, at + (1 << 20)));
  return { bytes, chunks };
}

async function timed(work) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const entries = await work();
  const used = process.cpuUsage(cpu);
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (used.user + used.system) / 1e6,
    entries,
  };
}

const analyser = (chunks) => async () =>
  (
    await readLayerTar(Readable.from(chunks), {
      paths: new PathTable(),
      links: new StringTable(),
      label: 'bench',
      // The diff_id hash costs per byte, not per entry: the registry bench times it with the layers.
      knownDiffId: `sha256:${'0'.repeat(64)}`,
    })
  ).fileCount;

const tarStream = (chunks) => () =>
  new Promise((resolve, reject) => {
    let entries = 0;
    const extract = tar.extract();
    extract.on('entry', (_header, stream, next) => {
      entries++;
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', () => resolve(entries));
    extract.on('error', reject);
    Readable.from(chunks).pipe(extract);
  });

const best = (runs) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));

const { bytes, chunks } = layerTar();
const ours = [];
const theirs = [];
for (let rep = 0; rep < REPS; rep++) {
  ours.push(await timed(analyser(chunks)));
  theirs.push(await timed(tarStream(chunks)));
}
const result = {
  bench: 'parse',
  entries: best(ours).entries,
  tarBytes: bytes.length,
  repetitions: REPS,
  seconds: best(ours).seconds,
  cpuSeconds: best(ours).cpuSeconds,
  microsecondsPerEntry: (best(ours).seconds * 1e6) / best(ours).entries,
  tarStreamSeconds: best(theirs).seconds,
  tarStreamMicrosecondsPerEntry: (best(theirs).seconds * 1e6) / best(theirs).entries,
  goalSeconds: GOAL_SECONDS,
};
if (JSON_OUTPUT) console.log(JSON.stringify(result));
else {
  console.log(
    `parse bench: ${result.entries} entries, ${(bytes.length / 1e6).toFixed(0)} MB of tar in memory, best of ${REPS}`,
  );
  console.log(
    `  readLayerTar (hand-written parser + interning)  ${result.seconds.toFixed(3)} s  ${result.microsecondsPerEntry.toFixed(2)} µs/entry  (CPU ${result.cpuSeconds.toFixed(3)} s)`,
  );
  console.log(
    `  tar-stream extract alone                         ${result.tarStreamSeconds.toFixed(3)} s  ${result.tarStreamMicrosecondsPerEntry.toFixed(2)} µs/entry`,
  );
  console.log(
    `  goal < ${GOAL_SECONDS} s for ${FILES} files: ${result.seconds < GOAL_SECONDS ? 'met' : 'MISSED'}`,
  );
}
