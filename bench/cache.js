#!/usr/bin/env node
// The caches: `imgscope check` of a generated ~500 MB image (a 200,000-file layer, a layer of large
// binaries, a layer that overwrites and deletes) in an OCI layout in os.tmpdir(), run by the built CLI as a
// user would — without the cache, cold (analyses, stores every layer and the image summary), with the layer
// cache alone (the image summary removed before each run: what another image sharing these layers gets),
// and summary-cached (a repeated check of the same image; goal ≤ 1 s for any size). The summary-cached
// report must equal the uncached one byte for byte. Then where each cached run's time goes, measured in
// this process.
//
// Usage: npm run build && node bench/cache.js [--files N] [--mb BINARY_MB] [--reps N] [--keep] [--json]
//        node bench/cache.js --image DIR   (reuse the work folder an earlier --keep run printed)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGzipLayer, writeLayout } from './images.js';
import { median } from './stats.js';
import { noisePool, prng, textPool } from './tar-gen.js';

const dist = (path) => new URL(`../dist/${path}`, import.meta.url);
if (!existsSync(fileURLToPath(dist('analysis/cache/layer-cache.js')))) {
  console.error('bench/cache.js: dist/ is missing or stale; run `npm run build` first');
  process.exit(2);
}
const BIN = fileURLToPath(new URL('../bin/imgscope', import.meta.url));

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const FILES = option('--files', 200_000);
const BINARY_MB = option('--mb', 420);
const REPS = option('--reps', 5);
const REUSE = args.includes('--image') ? args[args.indexOf('--image') + 1] : undefined;
const KEEP = args.includes('--keep') || REUSE !== undefined;
const JSON_OUTPUT = args.includes('--json');
const GOAL_SECONDS = 1;

/** 200,000 small text files in directories of 50: the file-count-heavy layer. */
function* manyFiles(random) {
  const text = textPool(1 << 20, random);
  for (let i = 0; i < FILES; i++) {
    if (i % 50 === 0) yield { name: `usr/share/doc/p${Math.floor(i / 50)}/`, type: '5', mode: 0o755 };
    const size = Math.floor(random() * 600);
    const at = Math.floor(random() * (text.length - size));
    yield {
      name: `usr/share/doc/p${Math.floor(i / 50)}/f${i % 50}.txt`,
      size,
      content: () => text.subarray(at, at + size),
    };
  }
}

/** Large incompressible binaries: the byte-heavy layer. */
function* binaries(random) {
  const noise = noisePool(64 << 20, random);
  yield { name: 'opt/', type: '5', mode: 0o755 };
  yield { name: 'opt/app/', type: '5', mode: 0o755 };
  for (let i = 0, left = BINARY_MB << 20; left > 0; i++) {
    const size = Math.min(left, (8 << 20) + Math.floor(random() * (24 << 20)));
    left -= size;
    yield { name: `opt/app/lib${i}.so`, size, content: (n) => noise.subarray(0, n) };
  }
}

/** Overwrites, deletes and an opaque directory over the first two layers. */
function* changes(random) {
  yield { name: 'usr/share/doc/p7/.wh..wh..opq', size: 0 };
  for (let i = 0; i < 2_000; i++) {
    const p = Math.floor(random() * (FILES / 50));
    yield random() < 0.5
      ? { name: `usr/share/doc/p${p}/.wh.f${i % 50}.txt`, size: 0 }
      : { name: `usr/share/doc/p${p}/f${i % 50}.txt`, size: 100, content: (n) => Buffer.alloc(n, 'y') };
  }
  yield { name: 'opt/app/.wh.lib0.so', size: 0 };
}

async function generateLayout(dir) {
  const random = prng(2024);
  const layers = [manyFiles(random), binaries(random), changes(random)].map(
    (entries) => (blobs) => writeGzipLayer(blobs, entries, 1),
  );
  return writeLayout(dir, layers, ['ADD docs /', 'COPY app /opt/app', 'RUN cleanup']);
}

function layersOf(image) {
  const index = JSON.parse(readFileSync(join(image, 'index.json'), 'utf8'));
  const blob = (digest) => join(image, 'blobs', 'sha256', digest.slice('sha256:'.length));
  return JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8')).layers;
}

/** One run of the built CLI: wall seconds, as a user measures it. */
function cli(argv) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0)
    throw new Error(`imgscope ${argv.join(' ')} exited ${result.status}: ${result.stderr}`);
  return { seconds, stdout: result.stdout, stderr: result.stderr };
}

const since = (started) => Number(process.hrtime.bigint() - started) / 1e9;

const timer = (phases) => async (name, work) => {
  const started = process.hrtime.bigint();
  const value = await work();
  phases[name] = since(started);
  return value;
};

/** A layer-cached `check` (no image summary), phase by phase, in this process. */
async function layerCachedPhases(image, cacheDir) {
  const { openLocalImage } = await import(dist('oci/local/index.js').href);
  const { analyzeImage } = await import(dist('analysis/analyze.js').href);
  const { DiskLayerCache } = await import(dist('analysis/cache/layer-cache.js').href);
  const { DiskFingerprintStore } = await import(dist('analysis/cache/fingerprint-store.js').href);
  const { summarizeAnalysis } = await import(dist('analysis/summary.js').href);
  const { PathTable } = await import(dist('analysis/paths.js').href);
  const { StringTable } = await import(dist('analysis/layer-items.js').href);
  const { evaluate, imageFactsOf, resolvePolicy } = await import(dist('policy/index.js').href);
  const { buildReport } = await import(dist('report/build-report.js').href);
  const { renderReport } = await import(dist('report/render.js').href);
  const phases = {};
  const timed = timer(phases);
  const source = await timed('open', () => openLocalImage(image));
  const analysis = await timed('analyse', () =>
    analyzeImage(source, {
      cache: new DiskLayerCache({ root: cacheDir }),
      // As check does: without the fingerprints every cache hit of a local blob would be hashed again.
      fingerprints: new DiskFingerprintStore({ root: cacheDir }),
    }),
  );
  const policy = await resolvePolicy({ cwd: process.cwd() });
  // The policy checks, the hints' walk of the final tree and of each layer's tree included.
  await timed('policy', () => evaluate(imageFactsOf(source), summarizeAnalysis(analysis), policy));
  await timed('report', () =>
    renderReport(buildReport(source, analysis), 'json', { color: false, width: 100 }),
  );
  // Of the analysis: reading, checking and interning the entries alone (the rest is merging).
  const probe = new DiskLayerCache({ root: cacheDir });
  const tables = { paths: new PathTable(), links: new StringTable() };
  await timed('readEntries', async () => {
    for (const layer of source.layers) await probe.get(layer.digest, tables);
  });
  await source.close();
  return phases;
}

/** A summary-cached `check`, phase by phase, in this process. */
async function summaryCachedPhases(image, cacheDir) {
  const phases = {};
  const timed = timer(phases);
  const modules = await timed('modules', async () => ({
    ...(await import(dist('oci/local/index.js').href)),
    ...(await import(dist('analysis/cache/summary-cache.js').href)),
    ...(await import(dist('analysis/cache/fingerprint-store.js').href)),
    ...(await import(dist('analysis/cache/local-blobs.js').href)),
    ...(await import(dist('policy/index.js').href)),
    ...(await import(dist('report/build-report.js').href)),
    ...(await import(dist('report/render.js').href)),
  }));
  const {
    openLocalImage,
    DiskSummaryCache,
    DiskFingerprintStore,
    LocalBlobs,
    evaluate,
    imageFactsOf,
    resolvePolicy,
    buildReport,
    renderReport,
  } = modules;
  const source = await timed('open', () => openLocalImage(image));
  const cached = await timed('readSummary', () => new DiskSummaryCache({ root: cacheDir }).get(source));
  if (!cached) throw new Error('no image summary to read');
  const { summary } = cached;
  await timed('confirmBlobs', () =>
    new LocalBlobs(source, new DiskFingerprintStore({ root: cacheDir })).confirmAll(source.layers),
  );
  const policy = await resolvePolicy({ cwd: process.cwd() });
  await timed('policy', () => evaluate(imageFactsOf(source), summary, policy));
  await timed('report', () =>
    renderReport(buildReport(source, summary), 'json', { color: false, width: 100 }),
  );
  await source.close();
  return phases;
}

/** The manifest digest a JSON report names. */
const reportedDigest = (json) => JSON.parse(json).digest;

/**
 * `image` rebuilt as CI rebuilds an unchanged Dockerfile: the same layer blobs (hard links), a config with
 * a new `created` time, so a new config and manifest digest.
 */
function rebuildLayout(image, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const blobs = join(image, 'blobs', 'sha256');
  for (const name of readdirSync(blobs)) linkSync(join(blobs, name), join(dir, 'blobs', 'sha256', name));
  copyFileSync(join(image, 'oci-layout'), join(dir, 'oci-layout'));
  const index = JSON.parse(readFileSync(join(image, 'index.json'), 'utf8'));
  const blobPath = (digest) => join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  const manifest = JSON.parse(readFileSync(blobPath(index.manifests[0].digest), 'utf8'));
  const config = JSON.parse(readFileSync(blobPath(manifest.config.digest), 'utf8'));
  const store = (object) => {
    const bytes = Buffer.from(JSON.stringify(object));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(blobPath(digest), bytes);
    return { digest, size: bytes.length };
  };
  manifest.config = { ...manifest.config, ...store({ ...config, created: new Date().toISOString() }) };
  index.manifests[0] = { ...index.manifests[0], ...store(manifest) };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
  return { dir, digest: index.manifests[0].digest };
}

const work = REUSE ?? join(tmpdir(), `imgscope-bench-cache-${process.pid}`);
try {
  const generationStarted = Date.now();
  const image = join(work, 'image');
  const layers = REUSE ? layersOf(image) : await generateLayout(image);
  const generationSeconds = (Date.now() - generationStarted) / 1000;
  const cacheDir = join(work, 'cache');
  const check = (...extra) => cli(['check', '--json', '--full', ...extra, `oci:${image}`]);

  const uncached = [];
  let uncachedReport;
  for (let rep = 0; rep < Math.min(REPS, 3); rep++) {
    const run = check('--no-cache');
    uncached.push(run.seconds);
    uncachedReport = run.stdout;
  }
  rmSync(cacheDir, { recursive: true, force: true });
  const cold = check('--cache-dir', cacheDir);
  const imagesFolder = readdirSync(cacheDir).find((name) => name.startsWith('images-'));
  // Beside the summary lies its twin pointer (`twin-<hex>`, see summary-cache.ts).
  const summaryFiles = imagesFolder
    ? readdirSync(join(cacheDir, imagesFolder)).filter((name) => name.startsWith('sha256-'))
    : [];
  if (summaryFiles.length !== 1)
    throw new Error(`the cold run stored ${summaryFiles.length} image summaries`);
  const summaryFile = join(cacheDir, imagesFolder, summaryFiles[0]);
  const summaryBytes = readFileSync(summaryFile);

  // The layer cache alone: what a check of another image with these layers reads.
  // Each kind of run is timed as a user runs it, then run once more, untimed, with --debug (which turns
  // on source maps and writes a line per cache read) to see what it read.
  const layerCached = [];
  for (let rep = 0; rep < REPS; rep++) {
    rmSync(summaryFile, { force: true });
    layerCached.push(check('--cache-dir', cacheDir).seconds);
  }
  rmSync(summaryFile, { force: true });
  let last = check('--cache-dir', cacheDir, '--debug');
  const hits = last.stderr.split('\n').filter((line) => line.startsWith('debug: cache hit')).length;
  if (hits !== layers.length) throw new Error(`the layer-cached run hit ${hits} of ${layers.length} layers`);

  // The image summary: a repeated check of the same image.
  writeFileSync(summaryFile, summaryBytes);
  const cached = [];
  let timedReport;
  for (let rep = 0; rep < REPS; rep++) {
    const run = check('--cache-dir', cacheDir);
    cached.push(run.seconds);
    timedReport = run.stdout;
  }
  last = check('--cache-dir', cacheDir, '--debug');
  const debug = last.stderr.split('\n').filter((line) => line.startsWith('debug: '));
  if (
    !debug.some((line) => line.startsWith('debug: image summary hit')) ||
    debug.some((line) => line.startsWith('debug: cache '))
  )
    throw new Error(`the summary-cached run did not read the summary alone:\n${debug.join('\n')}`);
  if (timedReport !== uncachedReport || last.stdout !== uncachedReport)
    throw new Error('the summary-cached report differs from the uncached one');

  // Before the rebuild, whose hard links move the blobs' ctime: their fingerprints still match here.
  const phases = await summaryCachedPhases(image, cacheDir);
  const layerPhases = await layerCachedPhases(image, cacheDir);

  // A rebuild: the same layers under a config with a new timestamp, so a manifest never seen before.
  const rebuilt = rebuildLayout(image, join(work, 'rebuilt'));
  const rebuiltSummary = join(cacheDir, imagesFolder, `sha256-${rebuilt.digest.slice('sha256:'.length)}`);
  const rebuilds = [];
  const checkRebuilt = (...extra) =>
    cli(['check', '--json', '--full', '--cache-dir', cacheDir, ...extra, `oci:${rebuilt.dir}`]);
  for (let rep = 0; rep < REPS; rep++) {
    rmSync(rebuiltSummary, { force: true });
    rebuilds.push(checkRebuilt().seconds);
  }
  rmSync(rebuiltSummary, { force: true });
  last = checkRebuilt('--debug');
  const rebuildDebug = last.stderr.split('\n').filter((line) => line.startsWith('debug: '));
  if (
    !rebuildDebug.includes(
      `debug: image summary hit ${rebuilt.digest} (the layers and commands of ${reportedDigest(uncachedReport)})`,
    ) ||
    rebuildDebug.some((line) => line.startsWith('debug: cache '))
  )
    throw new Error(`the rebuild did not read the first build's summary alone:\n${rebuildDebug.join('\n')}`);
  rmSync(rebuilt.dir, { recursive: true, force: true });

  const startup = median(Array.from({ length: REPS }, () => cli(['--version']).seconds));
  const entryBytes = JSON.parse(cli(['cache', 'ls', '--json', '--cache-dir', cacheDir]).stdout).totalSize;
  const report = JSON.parse(last.stdout);

  const result = {
    bench: 'cache',
    compressedBytes: layers.reduce((sum, layer) => sum + layer.size, 0),
    uncompressedBytes: report.uncompressedSize,
    entries: report.layers.reduce((sum, layer) => sum + layer.fileCount, 0),
    cacheBytes: entryBytes,
    summaryBytes: summaryBytes.length,
    uncachedSeconds: median(uncached),
    coldCacheSeconds: cold.seconds,
    layerCachedSeconds: median(layerCached),
    cachedSeconds: median(cached),
    rebuiltSeconds: median(rebuilds),
    sameReport: true,
    goalSeconds: GOAL_SECONDS,
    startupSeconds: startup,
    phases,
    layerCachedPhases: layerPhases,
    generationSeconds,
  };
  if (JSON_OUTPUT) console.log(JSON.stringify(result));
  else {
    const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
    const s = (seconds) => `${seconds.toFixed(3)} s`;
    const list = (values) => values.map(s).join(', ');
    console.log(
      `cache bench: ${layers.length} layers, ${mb(result.compressedBytes)} compressed, ${mb(result.uncompressedBytes)} tar, ` +
        `${result.entries} entries; layer entries ${mb(entryBytes)}, image summary ${(summaryBytes.length / 1e3).toFixed(1)} kB`,
    );
    console.log(`  check, no cache        median ${s(result.uncachedSeconds)}  (${list(uncached)})`);
    console.log(
      `  check, cold cache             ${s(cold.seconds)}  (analyses, stores every layer and the summary)`,
    );
    console.log(`  check, layer cache     median ${s(result.layerCachedSeconds)}  (${list(layerCached)})`);
    console.log(
      `  check, summary cached  median ${s(result.cachedSeconds)}  (${list(cached)}); report equals the uncached one byte for byte`,
    );
    console.log(
      `  check, a rebuild       median ${s(result.rebuiltSeconds)}  (${list(rebuilds)}); same layers, new config: the first build's summary`,
    );
    console.log(
      `  where a summary-cached run goes: process start + CLI ${s(startup)} (--version); loading check's modules ${s(phases.modules)}; ` +
        `open image ${s(phases.open)} (manifest and config read and verified); read the summary ${s(phases.readSummary)}; ` +
        `layer blobs confirmed by their fingerprints ${s(phases.confirmBlobs)}; ` +
        `policy checks ${s(phases.policy)}; report ${s(phases.report)}`,
    );
    console.log(
      `  where a layer-cached run goes: open image ${s(layerPhases.open)}; analyse ${s(layerPhases.analyse)} ` +
        `(of which reading the entries ${s(layerPhases.readEntries)}, the rest merging); ` +
        `policy checks ${s(layerPhases.policy)} (hint findings included); report ${s(layerPhases.report)}`,
    );
    const verdict = result.cachedSeconds <= GOAL_SECONDS ? 'met' : 'MISSED';
    console.log(`  goal ≤ ${GOAL_SECONDS} s for a cached re-run: ${verdict}`);
  }
  if (result.cachedSeconds > GOAL_SECONDS) process.exitCode = 1;
} finally {
  if (KEEP) console.error(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
