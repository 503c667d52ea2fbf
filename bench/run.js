#!/usr/bin/env node
// `npm run bench`: the whole benchmark, one table of ratios measured in one run on the same images.
//
// 1. Generates four images as OCI layouts (bench/images.js: a Debian-like base, a six-layer image with
//    overwrites and deletes on that base, a 200,000-file layer, a 1.15 GB layer) and pushes them with
//    skopeo to a real registry (Distribution, bench/registry.js) on loopback.
// 2. For each image, REPS times in alternating order: `imgscope check --no-cache` from the registry (the
//    built CLI, as a user runs it; its peak RSS, and when it was ready, first connected and wrote its
//    report, from bench/probe.js); the decompression floor (node:zlib
//    gunzip alone of the same blobs, one after another, from memory, at the analyser's zlib settings);
//    and what a user would otherwise script: `skopeo copy docker://… dir:` then `tar -tzvf` of every
//    layer. Beside them,
//    as diagnostics: receiving the blobs from the registry alone, sha256 of them alone, sha256 of their
//    tars alone (the diff_ids `check` verifies), and inflating them the way `check` does (raw deflate, no
//    CRC-32; analysis/gzip-decoder.ts).
//    Then a cached re-run of each image from the registry: one check fills a cache, REPS more are timed.
// 3. Start-up of non-interactive commands, and which modules they load (the TUI's must not load).
// 4. The focused benches, each in its own process: parse.js (per-entry cost), analysis.js (one 200 MB gzip
//    layer vs gunzip), memory.js (1M entries: peak RSS, bytes per entry; REPS processes, the medians),
//    zstd.js (main-thread freedom, REPS times in one process),
//    cache.js (cached re-runs in detail, of the 200,000-file image generated here as an OCI layout) and tui-latency.js, when present.
//
// Usage: npm run bench (prints the table), npm run -s bench -- --json (the figures as JSON on stdout: -s stops
// npm printing its own lines there), npm run bench -- --json-file FILE (the table, and the figures in FILE);
// node bench/run.js [--json] [--json-file FILE] after npm run build.
// Environment: IMGSCOPE_BENCH_SCALE=0.1 scales every image and count down (default 1: ~1.5 GB of
// layers, ~10 min on 2 cores); IMGSCOPE_BENCH_REPS (default 3); IMGSCOPE_BENCH_KEEP=1 keeps the work
// folder (in os.tmpdir()).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGunzip, createInflateRaw } from 'node:zlib';
import { request } from 'undici';
import { EXPLORER_MODULE, modulesLoaded } from './bundle-modules.js';
import { generateImages } from './images.js';
import { startRegistry } from './registry.js';
import { median, mediansOf } from './stats.js';
import { missingTools } from './tools.js';

const JSON_OUTPUT = process.argv.includes('--json');
// npm prints `> imgscope@… bench` and the command on stdout before the script runs, unless it is silent:
// refused before minutes of measuring would end in JSON that no parser can read.
if (JSON_OUTPUT && process.env.npm_lifecycle_event && process.env.npm_config_loglevel !== 'silent') {
  console.error(
    'npm run bench: npm printed its own lines before the JSON on stdout — run npm run -s bench -- --json',
  );
  process.exit(2);
}
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const root = here('..');
const BIN = here('../bin/imgscope');
const PROBE = pathToFileURL(here('probe.js')).href;
if (!existsSync(here('../dist/analysis/analyze.js'))) {
  console.error('npm run bench: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const missing = missingTools();
if (missing) {
  console.error(`npm run bench: ${missing}`);
  process.exit(2);
}
// The receive diagnostic uses imgscope's own transport, from the build.
const { releasePiece } = await import('../dist/oci/pieces.js');
const { DEFAULT_BULK_DOWNLOAD_BYTES } = await import('../dist/registry/options.js');
const { bulkGet } = await import('../dist/registry/transport/bulk-get.js');
const { gzipHeaderLength } = await import('../dist/analysis/gzip-decoder.js');
const { DEFAULT_TIMEOUTS } = await import('../dist/registry/transport/http.js');

const SCALE = Number(process.env.IMGSCOPE_BENCH_SCALE ?? 1);
const REPS = Math.max(1, Number(process.env.IMGSCOPE_BENCH_REPS ?? 3));
const KEEP = process.env.IMGSCOPE_BENCH_KEEP === '1';
const JSON_FILE = process.argv.includes('--json-file')
  ? process.argv[process.argv.indexOf('--json-file') + 1]
  : undefined;
if (!(SCALE > 0 && SCALE <= 1)) {
  console.error('IMGSCOPE_BENCH_SCALE must be in (0, 1]');
  process.exit(2);
}
/** The analyser's own gunzip settings (src/analysis/compression.ts): the floor is gunzip at its fastest. */
const GUNZIP = { chunkSize: 1 << 20, readableHighWaterMark: 4 << 20, writableHighWaterMark: 1 << 20 };

const log = (line) => process.stderr.write(`${line}\n`);
const seconds = (started) => Number(process.hrtime.bigint() - started) / 1e9;

function run(command, args, options = {}) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...options });
  const elapsed = seconds(started);
  if (result.error) throw result.error;
  return { ...result, seconds: elapsed };
}

/** `imgscope ARGS` by the built CLI; exit 1 (a policy check failed) is a result, not an error. */
function imgscope(args, { probe = false, modules } = {}) {
  const out = join(work, `probe-${process.pid}.json`);
  const env = { ...process.env, IMGSCOPE_NO_CACHE: '1' };
  const node = [];
  if (probe || modules) {
    node.push('--import', PROBE);
    env.IMGSCOPE_BENCH_PROBE = out;
    if (modules) env.IMGSCOPE_BENCH_MODULES = modules;
  }
  const result = run(process.execPath, [...node, BIN, ...args], { env });
  if (result.status !== 0 && result.status !== 1)
    throw new Error(`imgscope ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  const usage = probe ? JSON.parse(readFileSync(out, 'utf8')) : {};
  return {
    seconds: result.seconds,
    stdout: result.stdout,
    stderr: result.stderr,
    peakRss: usage.maxRssBytes,
    cpuSeconds: usage.cpuSeconds,
    marks: usage.marks,
  };
}

/**
 * Each blob read whole into memory first, untimed, then fed in 1 MiB chunks: the floor is inflating
 * alone, whatever the page cache kept of the layout (skopeo's copies between runs evict it).
 */
function blobChunks(image, layer) {
  const bytes = readFileSync(join(image.dir, 'blobs', 'sha256', layer.digest.slice('sha256:'.length)));
  const chunks = [];
  for (let at = 0; at < bytes.length; at += 1 << 20) chunks.push(bytes.subarray(at, at + (1 << 20)));
  return chunks;
}

/** Times `work(chunks)` for each layer's blob in memory, one after another: wall and CPU seconds summed. */
async function timedOverBlobs(image, work) {
  let wall = 0n;
  let cpu = 0;
  for (const layer of image.layers) {
    const chunks = blobChunks(image, layer);
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await work(chunks, layer);
    wall += process.hrtime.bigint() - started;
    const used = process.cpuUsage(cpuBefore);
    cpu += (used.user + used.system) / 1e6;
  }
  return { seconds: Number(wall) / 1e9, cpuSeconds: cpu };
}

function gunzipFloor(image) {
  return timedOverBlobs(image, async (chunks) => {
    const sink = new Writable({ highWaterMark: 4 << 20, write: (_chunk, _encoding, callback) => callback() });
    await pipeline(Readable.from(chunks), createGunzip(GUNZIP), sink);
  });
}

/**
 * Inflating as `check` does (analysis/gzip-decoder.ts): raw deflate after the gzip header, no CRC-32. A
 * diagnostic beside the floor, not the floor: the issue's floor is gunzip. Each bench blob is one member.
 */
function inflateAlone(image) {
  return timedOverBlobs(image, async (chunks) => {
    const body = [chunks[0].subarray(gzipHeaderLength(chunks[0])), ...chunks.slice(1)];
    const sink = new Writable({ highWaterMark: 4 << 20, write: (_chunk, _encoding, callback) => callback() });
    await pipeline(Readable.from(body), createInflateRaw(GUNZIP), sink);
  });
}

/**
 * Diagnostics beside the floor, of the same blobs: receiving them from the registry alone (as imgscope
 * does: bulk GETs into recycled 1 MiB pieces for blobs of 1 MiB and more, the undici pool for smaller
 * ones; bytes counted and dropped) and sha256 of them alone, from memory. `check` pays both on top of
 * inflating, on the same two cores as the registry.
 */
async function receiveAlone(image) {
  const started = process.hrtime.bigint();
  const [host, repository] = image.reference.replace(/:latest$/, '').split(/\/(.*)/);
  for (const layer of image.layers) {
    const url = new URL(`http://${host}/v2/${repository}/blobs/${layer.digest}`);
    const { status, body } =
      layer.size >= DEFAULT_BULK_DOWNLOAD_BYTES
        ? await bulkGet({ method: 'GET', url, headers: {} }, { timeouts: DEFAULT_TIMEOUTS })
        : await request(url).then((response) => ({ status: response.statusCode, body: response.body }));
    if (status !== 200) throw new Error(`GET ${layer.digest}: ${status}`);
    for await (const chunk of body) releasePiece(chunk);
  }
  return { seconds: seconds(started) };
}

function sha256Alone(image) {
  return timedOverBlobs(image, async (chunks, layer) => {
    const hash = createHash('sha256');
    for (const chunk of chunks) hash.update(chunk);
    if (`sha256:${hash.digest('hex')}` !== layer.digest) throw new Error(`${layer.digest}: digest mismatch`);
  });
}

/**
 * sha256 of each layer's uncompressed tar alone (its diff_id, which `check` verifies too), from memory:
 * each blob is inflated untimed first.
 */
async function diffIdAlone(image) {
  let wall = 0n;
  for (const layer of image.layers) {
    const tar = [];
    const sink = new Writable({
      highWaterMark: 4 << 20,
      write: (chunk, _encoding, callback) => {
        tar.push(chunk);
        callback();
      },
    });
    await pipeline(Readable.from(blobChunks(image, layer)), createGunzip(GUNZIP), sink);
    const started = process.hrtime.bigint();
    const hash = createHash('sha256');
    for (const chunk of tar) hash.update(chunk);
    hash.digest();
    wall += process.hrtime.bigint() - started;
  }
  return { seconds: Number(wall) / 1e9 };
}

/** What a user scripts without imgscope: copy the image out of the registry, list every layer. */
function skopeoAndTar(reference) {
  const dir = join(work, 'skopeo-dir');
  rmSync(dir, { recursive: true, force: true });
  const started = process.hrtime.bigint();
  const copy = run('skopeo', [
    'copy',
    '--quiet',
    '--src-tls-verify=false',
    `docker://${reference}`,
    `dir:${dir}`,
  ]);
  if (copy.status !== 0) throw new Error(`skopeo copy failed: ${copy.stderr}`);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  for (const layer of manifest.layers) {
    const listed = run('tar', ['-tzvf', join(dir, layer.digest.slice('sha256:'.length))], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (listed.status !== 0) throw new Error(`tar -tzvf failed: ${listed.stderr}`);
  }
  const elapsed = seconds(started);
  rmSync(dir, { recursive: true, force: true });
  return { seconds: elapsed };
}

/**
 * A repeated `check` of the same image from the registry, as the issue's cached re-run is: a first check
 * with a cache stores every layer and the image summary; the next ones are timed (process start included)
 * and must report what the uncached check reported; one more, untimed, with --debug, must have read the
 * image summary alone.
 */
function cachedReruns(name, image, uncachedReport) {
  const args = [
    'check',
    '--cache-dir',
    join(work, 'cache', name),
    '--profile',
    'none',
    '--json',
    image.reference,
  ];
  imgscope(args);
  const runs = Array.from({ length: REPS }, () => imgscope(args));
  const debug = imgscope([...args, '--debug'])
    .stderr.split('\n')
    .filter((line) => line.startsWith('debug: '));
  if (
    !debug.some((line) => line.startsWith('debug: image summary hit')) ||
    debug.some((line) => line.startsWith('debug: cache '))
  )
    failures.push(`${name}: the cached re-run did not read the image summary alone:\n${debug.join('\n')}`);
  if (runs.some((run) => run.stdout !== uncachedReport))
    failures.push(`${name}: the cached re-run's report differs from the uncached one`);
  return runs.map((run) => run.seconds);
}

/** One focused bench in its own process, its --json line parsed; undefined (and a note) if it failed. */
function focused(file, args = [], node = []) {
  if (!existsSync(here(file))) return undefined;
  log(`bench/${file} ${args.join(' ')}`);
  const result = run(process.execPath, [...node, here(file), ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = result.stdout.trim().split('\n').pop();
  try {
    return { ...JSON.parse(line), exitCode: result.status, wallSeconds: result.seconds };
  } catch {
    failures.push(`bench/${file} exited ${result.status} without a result`);
    return undefined;
  }
}

/**
 * A focused bench run REPS times, each in a process of its own (its peak RSS is the process's): the median
 * of each figure; undefined if a run failed.
 */
function focusedMedians(file, args = [], node = []) {
  const runs = [];
  for (let rep = 0; rep < REPS; rep++) {
    const result = focused(file, args, node);
    if (!result) return undefined;
    runs.push(result);
  }
  return mediansOf(runs);
}

const failures = [];
const loadBefore = loadavg()[0];
const work = mkdtempSync(join(tmpdir(), 'imgscope-bench-'));
const startedAll = process.hrtime.bigint();
let registry;
try {
  log(`generating images (scale ${SCALE}) in ${work}`);
  const generationStarted = process.hrtime.bigint();
  const images = await generateImages(work, SCALE);
  const generationSeconds = seconds(generationStarted);

  registry = await startRegistry();
  const pushStarted = process.hrtime.bigint();
  for (const [name, image] of Object.entries(images))
    image.reference = registry.push(image.dir, `bench/${name}`);
  const pushSeconds = seconds(pushStarted);
  log(`generated in ${generationSeconds.toFixed(1)} s, pushed in ${pushSeconds.toFixed(1)} s`);

  const perImage = {};
  for (const [name, image] of Object.entries(images)) {
    log(`measuring ${name} (${image.reference})`);
    const checks = [];
    const floors = [];
    const scripts = [];
    const receives = [];
    const hashes = [];
    const diffIds = [];
    const inflates = [];
    let report;
    await receiveAlone(image); // the registry's reads come from the page cache, as on a warm registry
    for (let rep = 0; rep < REPS; rep++) {
      const order =
        rep % 2 === 0
          ? ['check', 'floor', 'inflate', 'receive', 'sha256', 'diffid', 'script']
          : ['script', 'diffid', 'sha256', 'receive', 'inflate', 'floor', 'check'];
      for (const what of order) {
        if (what === 'check') {
          const registryCpuBefore = registry.cpuSeconds();
          const check = imgscope(['check', '--no-cache', '--profile', 'none', '--json', image.reference], {
            probe: true,
          });
          check.registryCpuSeconds = registry.cpuSeconds() - registryCpuBefore;
          checks.push(check);
          report = JSON.parse(check.stdout);
        } else if (what === 'floor') floors.push(await gunzipFloor(image));
        else if (what === 'inflate') inflates.push(await inflateAlone(image));
        else if (what === 'receive') receives.push(await receiveAlone(image));
        else if (what === 'sha256') hashes.push(await sha256Alone(image));
        else if (what === 'diffid') diffIds.push(await diffIdAlone(image));
        else scripts.push(skopeoAndTar(image.reference));
      }
    }
    const cached = cachedReruns(name, image, checks.at(-1).stdout);
    perImage[name] = {
      layers: image.layers.length,
      compressedBytes: image.layers.reduce((sum, layer) => sum + layer.size, 0),
      uncompressedBytes: report.uncompressedSize,
      entries: report.layers.reduce((sum, layer) => sum + layer.fileCount, 0),
      checkSeconds: median(checks.map((c) => c.seconds)),
      checkCpuSeconds: median(checks.map((c) => c.cpuSeconds)),
      registryCpuSeconds: median(checks.map((c) => c.registryCpuSeconds)),
      floorSeconds: median(floors.map((f) => f.seconds)),
      floorCpuSeconds: median(floors.map((f) => f.cpuSeconds)),
      scriptSeconds: median(scripts.map((s) => s.seconds)),
      receiveSeconds: median(receives.map((r) => r.seconds)),
      sha256Seconds: median(hashes.map((h) => h.seconds)),
      diffIdSeconds: median(diffIds.map((h) => h.seconds)),
      inflateSeconds: median(inflates.map((i) => i.seconds)),
      peakRssBytes: Math.max(...checks.map((c) => c.peakRss)),
      // Where a check's time goes: Node's own start, imgscope's until its first request, then requests
      // and analysis until the report is written, then exit (seconds, medians).
      phases: {
        nodeSeconds: median(checks.map((c) => c.marks.nodeReadyMs / 1000)),
        startupSeconds: median(checks.map((c) => (c.marks.firstConnectMs - c.marks.nodeReadyMs) / 1000)),
        analysisSeconds: median(checks.map((c) => (c.marks.firstOutputMs - c.marks.firstConnectMs) / 1000)),
        exitSeconds: median(checks.map((c) => (c.marks.exitMs - c.marks.firstOutputMs) / 1000)),
      },
      efficiency: report.efficiency,
      cachedSeconds: median(cached),
    };
  }
  await registry.stop();
  registry = undefined;

  log('start-up and module loading');
  const fixture = here('../fixtures/demo');
  const startup = {
    versionSeconds: median(Array.from({ length: 7 }, () => imgscope(['--version']).seconds)),
    noLayersSeconds: median(
      Array.from(
        { length: 7 },
        () => imgscope(['check', '--no-layers', '--profile', 'none', fixture]).seconds,
      ),
    ),
  };
  const tuiModules = {};
  for (const [label, args] of [
    ['--version', ['--version']],
    ['check --no-layers', ['check', '--no-layers', '--profile', 'none', fixture]],
    ['check --json', ['check', '--json', '--profile', 'none', fixture]],
  ]) {
    const list = join(work, 'modules.txt');
    rmSync(list, { force: true });
    imgscope(args, { modules: list });
    const loaded = [...new Set(readFileSync(list, 'utf8').split('\n').filter(Boolean))];
    const modules = modulesLoaded(loaded, root);
    tuiModules[label] = {
      files: loaded.length,
      modules: modules.length,
      tui: modules.filter((path) => EXPLORER_MODULE.test(path)),
    };
  }

  const scaled = (value) => Math.max(1, Math.round(value * SCALE));
  const parse = focused('parse.js', ['--files', String(scaled(200_000)), '--reps', String(REPS + 2)]);
  const analysis = focused('analysis.js', ['--mb', String(scaled(360)), '--reps', String(REPS + 2)]);
  const memory = focusedMedians('memory.js', ['--entries', String(scaled(1_000_000))], ['--expose-gc']);
  const zstd = focused('zstd.js', ['--mb', String(scaled(200)), '--reps', String(REPS)]);
  const cache = focused('cache.js', ['--image', dirname(images.files.dir), '--reps', String(REPS)]);
  const tui = focused('tui-latency.js', ['--files', String(scaled(200_000))]);

  const results = {
    scale: SCALE,
    repetitions: REPS,
    generationSeconds,
    pushSeconds,
    images: perImage,
    startup,
    tuiModules,
    parse,
    analysis,
    memory,
    zstd,
    cache,
    tui,
    totalSeconds: seconds(startedAll),
    loadAverage: { before: loadBefore, after: loadavg()[0] },
  };
  if (JSON_OUTPUT) console.log(JSON.stringify(results));
  else console.log(table(results));
  if (JSON_FILE) writeFileSync(JSON_FILE, `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await registry?.stop();
  if (KEEP) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
if (failures.length > 0) {
  for (const failure of failures) log(failure);
  process.exitCode = 1;
}

function table(r) {
  const mb = (bytes) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
  const s = (value) => `${value.toFixed(value < 10 ? 2 : 1)} s`;
  const x = (value) => `${value.toFixed(2)}×`;
  const pct = (fraction) => `${(fraction * 100).toFixed(0)}%`;
  const verdict = (ok) => (ok ? 'met' : '**missed**');
  const rows = [];
  const row = (measure, result, goal = '', ok) =>
    rows.push([measure, result, goal, ok === undefined ? '' : verdict(ok)]);
  const images = Object.entries(r.images);
  const sum = (key) => images.reduce((total, [, image]) => total + image[key], 0);
  const describe = {
    base: 'Debian-like base',
    app: 'six layers on that base, overwrites + deletes',
    files: 'one 200,000-file layer',
    big: `one ${mb(r.images.big.compressedBytes)} layer`,
  };

  const checkTotal = sum('checkSeconds');
  const floorTotal = sum('floorSeconds');
  const scriptTotal = sum('scriptSeconds');
  row(
    '`check --no-cache` from the registry ÷ gunzip floor, all images',
    `${x(checkTotal / floorTotal)} (${s(checkTotal)} vs ${s(floorTotal)})`,
    '≤ 1.25×',
    checkTotal / floorTotal <= 1.25,
  );
  for (const [name, image] of images)
    row(
      `  ${name}: ${describe[name]}`,
      `${x(image.checkSeconds / image.floorSeconds)} (${s(image.checkSeconds)} vs ${s(image.floorSeconds)}; ` +
        `CPU ${s(image.checkCpuSeconds)} vs ${s(image.floorCpuSeconds)}; registry CPU ${s(image.registryCpuSeconds)})`,
    );
  const checkCpu = sum('checkCpuSeconds');
  const floorCpu = sum('floorCpuSeconds');
  row(
    '  the same in CPU time (all threads), all images',
    `${x(checkCpu / floorCpu)} (${s(checkCpu)} vs ${s(floorCpu)})`,
  );
  const registryCpu = sum('registryCpuSeconds');
  const twoCoreBound = (checkCpu + registryCpu) / 2;
  row(
    '  two-core bound: CPU of `check` and of the registry serving it, ÷ 2 cores (no schedule can beat it), all images',
    `${s(twoCoreBound)} = ${x(twoCoreBound / floorTotal)} the floor (${s(checkCpu)} + registry ${s(registryCpu)})`,
  );
  const verifyingFloor = floorTotal + sum('sha256Seconds') + sum('diffIdSeconds');
  row(
    '  ÷ gunzip, sha256 of the blobs and sha256 of their tars, one after another (what verifying every digest costs), all images',
    `${x(checkTotal / verifyingFloor)} (${s(checkTotal)} vs ${s(verifyingFloor)})`,
  );
  row(
    '  where it goes, all images: receiving from the registry alone / sha256 of the blobs alone / sha256 of the tars (diff_ids) alone / gunzip alone / raw inflate alone (as `check` inflates: no CRC-32)',
    `${s(sum('receiveSeconds'))} / ${s(sum('sha256Seconds'))} / ${s(sum('diffIdSeconds'))} / ${s(floorTotal)} / ${s(sum('inflateSeconds'))}`,
  );
  for (const [name, image] of images)
    row(
      `    ${name}`,
      `${s(image.receiveSeconds)} / ${s(image.sha256Seconds)} / ${s(image.diffIdSeconds)} / ${s(image.floorSeconds)} / ${s(image.inflateSeconds)}`,
    );
  row(
    '  where a `check` spends its time: Node starting / imgscope until its first request / requests and analysis until the report / exit',
    images
      .map(
        ([name, { phases: p }]) =>
          `${name} ${[p.nodeSeconds, p.startupSeconds, p.analysisSeconds, p.exitSeconds].map(s).join(' / ')}`,
      )
      .join('; '),
  );
  row(
    "  `check` ÷ raw inflate alone, all images (not the goal's floor: the same inflating `check` does)",
    x(checkTotal / sum('inflateSeconds')),
  );
  row(
    '`check --no-cache` ÷ (`skopeo copy` + `tar -tzvf` of every layer), all images',
    `${x(checkTotal / scriptTotal)} (${s(checkTotal)} vs ${s(scriptTotal)})`,
    '≤ 0.6×',
    checkTotal / scriptTotal <= 0.6,
  );
  for (const [name, image] of images)
    row(
      `  ${name}`,
      `${x(image.checkSeconds / image.scriptSeconds)} (${s(image.checkSeconds)} vs ${s(image.scriptSeconds)})`,
    );
  const big = r.images.big;
  row(
    `peak RSS of \`check\`, ${mb(big.compressedBytes)} layer (${mb(big.uncompressedBytes)} of tar)`,
    mb(big.peakRssBytes),
    '≤ 200 MB',
    big.peakRssBytes <= 200e6,
  );
  for (const [name, image] of images.filter(([name]) => name !== 'big'))
    row(`  peak RSS, ${name} (${image.entries.toLocaleString('en')} entries)`, mb(image.peakRssBytes));
  const slowestCached = images.reduce((slowest, entry) =>
    entry[1].cachedSeconds > slowest[1].cachedSeconds ? entry : slowest,
  );
  row(
    `cached re-run of \`check\` from the registry, the slowest of the ${images.length} images (${slowestCached[0]})`,
    s(slowestCached[1].cachedSeconds),
    '≤ 1 s',
    slowestCached[1].cachedSeconds <= 1,
  );
  row('  per image', images.map(([name, image]) => `${name} ${s(image.cachedSeconds)}`).join(' / '));
  if (r.cache)
    row(
      `  the same of the files image as an OCI layout (${r.cache.entries.toLocaleString('en')} entries; uncached ${s(r.cache.uncachedSeconds)}` +
        `${r.cache.layerCachedSeconds === undefined ? '' : `, layers cached ${s(r.cache.layerCachedSeconds)}`}` +
        `${r.cache.rebuiltSeconds === undefined ? '' : `, a rebuild with a new config ${s(r.cache.rebuiltSeconds)}`})`,
      s(r.cache.cachedSeconds),
    );
  else row('cached re-run', 'bench/cache.js absent');
  row('start-up: `imgscope --version`', s(r.startup.versionSeconds));
  row('start-up: `imgscope check --no-layers` on fixtures/demo', s(r.startup.noLayersSeconds));
  const loadedTui = Object.entries(r.tuiModules).filter(([, m]) => m.tui.length > 0);
  row(
    'TUI modules loaded by `--version`, `check --no-layers`, `check --json`',
    loadedTui.length === 0 ? 'none' : loadedTui.map(([label, m]) => `${label}: ${m.tui.length}`).join(', '),
    'none',
    loadedTui.length === 0,
  );
  if (r.tui) {
    const j = r.tui.results['j (row down)'];
    row(
      `TUI key-to-frame, ${r.tui.files.toLocaleString('en')}-file tree (j: median / p95; worst scroll p95)`,
      `${j.median.toFixed(1)} / ${j.p95.toFixed(1)} ms; ${r.tui.worstScrollP95.toFixed(1)} ms`,
      `< ${r.tui.goalMs} ms`,
      r.tui.worstScrollP95 < r.tui.goalMs,
    );
  }
  if (r.parse)
    row(
      `tar parse, ${r.parse.entries.toLocaleString('en')} entries in memory, best of ${r.parse.repetitions} (tar-stream: ${s(r.parse.tarStreamSeconds)})`,
      `${s(r.parse.seconds)} (${r.parse.microsecondsPerEntry.toFixed(2)} µs/entry)`,
      '< 1 s',
      r.parse.seconds < 1,
    );
  if (r.analysis)
    row(
      `one ${mb(r.analysis.compressedBytes)} gzip layer, analysis ÷ gunzip (in process, medians of ${r.analysis.repetitions})`,
      x(r.analysis.ratio),
      `≤ ${r.analysis.goal}×`,
      r.analysis.ratio <= r.analysis.goal,
    );
  if (r.analysis?.mainThreadBusy !== undefined)
    row(
      '  the same: main thread busy, longest stall (what the explorer feels while a gzip layer streams)',
      `${pct(r.analysis.mainThreadBusy)}, ${r.analysis.maxEventLoopDelayMs.toFixed(0)} ms`,
    );
  if (r.zstd)
    row(
      `zstd layer (${mb(r.zstd.uncompressedBytes)} of tar): main thread busy, longest stall (fzstd on the main thread, as before)`,
      `${pct(r.zstd.mainThreadBusy)}, ${r.zstd.maxEventLoopDelayMs.toFixed(0)} ms in ${s(r.zstd.zstdSeconds)} ` +
        `(${pct(r.zstd.mainThreadFzstdBusy)}, ${r.zstd.mainThreadFzstdMaxEventLoopDelayMs.toFixed(0)} ms)`,
    );
  if (r.memory) {
    row(
      `${r.memory.entries.toLocaleString('en')} entries in ${r.memory.layers} layers: peak RSS`,
      `${r.memory.peakRssMB.toFixed(0)} MB`,
      `< ${r.memory.goalMB} MB`,
      r.memory.peakRssMB < r.memory.goalMB,
    );
    row('  retained model, bytes per entry (heap + typed arrays)', r.memory.retainedBytesPerEntry.toFixed(0));
  }

  const header = [
    `imgscope benchmark — scale ${r.scale}, medians of ${r.repetitions} runs unless a row says otherwise, ${images.length} images ` +
      `(${mb(sum('compressedBytes'))} of layers, ${sum('entries').toLocaleString('en')} entries), ` +
      `generated in ${s(r.generationSeconds)}, pushed in ${s(r.pushSeconds)}; whole run ${s(r.totalSeconds)}; ` +
      `load average ${r.loadAverage.before.toFixed(1)} before, ${r.loadAverage.after.toFixed(1)} after (2 cores)`,
    '',
    '| measure | result | goal | |',
    '| --- | --- | --- | --- |',
  ];
  return [...header, ...rows.map((cells) => `| ${cells.join(' | ')} |`)].join('\n');
}
