#!/usr/bin/env node
// Key-to-frame latency of the TUI on the bench's 200,000-file image (bench/images.js `files`), analysed by
// the real analyser and browsed in its real file model: the real runTui, rendering through Ink into a
// fake 120×40 TTY. A key is written to stdin and the clock stops at the first byte of the next
// frame written to stdout. Keys are spaced wider than the redraw throttle, as a person's are.
//
// Usage: npm run build && node bench/tui-latency.js [--files N] [--json]
// Goal (issue 5): scrolling under 50 ms.
import { existsSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { manyFiles } from './images.js';
import { tarStream } from './tar-gen.js';

// Frames as a colour terminal gets them (chalk reads this when Ink loads), whatever this process's stdout is.
process.env.FORCE_COLOR ??= '3';
const entry = new URL('../dist/tui/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('bench/tui-latency.js: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const { runTui } = await import(entry.href);
const { analyzeImage } = await import(new URL('../dist/analysis/analyze.js', import.meta.url).href);

const args = process.argv.slice(2);
const FILES = Number(args[args.indexOf('--files') + 1]) || 200_000;
const JSON_OUTPUT = args.includes('--json');
const GOAL_MS = 50;

/**
 * The image the bench's `files` image is (bench/images.js: one layer of `files` small text files in
 * directories of 50), its tar generated in memory and analysed by the real analyser: the explorer then
 * browses the file model `imgscope IMAGE` would give it. The tar is not verified (no diff_id): the bench
 * times the explorer, not the analysis.
 */
function generatedSource(files) {
  const digest = (n) => `sha256:${String(n).padStart(64, '0')}`;
  const layers = [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(1), size: 0 }];
  const configDescriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: digest(2),
    size: 1000,
  };
  return {
    reference: 'bench/files:latest',
    kind: 'oci-layout',
    digest: digest(3),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    schema: 'oci-v1',
    platform: { os: 'linux', architecture: 'amd64' },
    index: undefined,
    manifest: { schemaVersion: 2, config: configDescriptor, layers },
    rawManifest: new Uint8Array(),
    config: {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      history: [{ created_by: 'COPY docs /usr/share/doc' }],
    },
    configDescriptor,
    layers,
    openBlob: async () => tarStream(manyFiles(files)),
    close: async () => {},
  };
}

/** A TTY-looking stdout that timestamps writes; a TTY-looking stdin we type into. */
function fakeTerminal(columns, rows) {
  let waiter;
  const stdout = new Writable({
    write(_chunk, _encoding, callback) {
      if (waiter) {
        const resolve = waiter;
        waiter = undefined;
        resolve(performance.now());
      }
      callback();
    },
  });
  Object.assign(stdout, { isTTY: true, columns, rows });
  const stdin = new PassThrough();
  Object.assign(stdin, { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
  stdin.setEncoding('utf8');
  const stderr = new Writable({ write: (_c, _e, callback) => callback() });
  /** Runs `action` and resolves with the milliseconds until the next frame starts. */
  const timeToFrame = (what, action) =>
    new Promise((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`no frame after ${what}`)), 10_000);
      const start = performance.now();
      waiter = (at) => {
        clearTimeout(timeout);
        resolve(at - start);
      };
      action();
    });
  const press = (key) => timeToFrame(JSON.stringify(key), () => stdin.write(key));
  return { io: { stdin, stdout, stderr, env: {} }, press, timeToFrame };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (value) => `${value.toFixed(1).padStart(6)} ms`;
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function main() {
  const generated = performance.now();
  const source = generatedSource(FILES);
  const analysis = await analyzeImage(source);
  const generateMs = performance.now() - generated;
  const nodes = analysis.model.pathCount;
  const { io, press, timeToFrame } = fakeTerminal(120, 40);

  let release;
  const gate = new Promise((resolve) => {
    release = resolve;
  });
  async function* events() {
    await gate;
    yield { type: 'done', analysis };
  }
  const exited = runTui({ source, events: events() }, io);
  await sleep(300);
  // The first frame with the tree costs the one full flatten of every row.
  const firstTreeMs = await timeToFrame('the analysis', release);
  await sleep(300);

  const results = {};
  /** Presses the keys in turn, `times` presses in all; each must change the screen. */
  const measure = async (label, keys, times) => {
    const samples = [];
    const cpu = [];
    for (let i = 0; i < times; i++) {
      const before = process.cpuUsage();
      samples.push(await press(keys[i % keys.length]));
      const used = process.cpuUsage(before);
      cpu.push((used.user + used.system) / 1000);
      await sleep(25); // wider than the 60 fps throttle, so each key gets its own leading-edge frame
    }
    results[label] = {
      cpuMedian: percentile(cpu, 50),
      median: percentile(samples, 50),
      p95: percentile(samples, 95),
      max: Math.max(...samples),
    };
  };

  await press('\t'); // focus Files
  await sleep(25);
  // Warm-up (JIT, first-frame caches), not recorded: a person's first keys after the tree appears.
  for (let i = 0; i < 20; i++) {
    await press(i % 2 ? 'k' : 'j');
    await sleep(25);
  }
  await measure('j (row down)', ['j'], 200);
  await measure('k (row up)', ['k'], 100);
  await measure('PgDn / PgUp', ['\x1b[6~', '\x1b[6~', '\x1b[5~', '\x1b[5~'], 100);
  await measure('End / Home (whole tree apart)', ['G', 'g'], 20);
  await measure('Space (fold/unfold a directory)', [' '], 40);
  await measure('Ctrl+Space (fold/unfold all)', ['\x00'], 6);
  await measure('filter: "/", "7", Esc', ['/', '7', '\x1b'], 3);

  io.stdin.write('q');
  await exited;

  const scrolling = ['j (row down)', 'k (row up)', 'PgDn / PgUp', 'End / Home (whole tree apart)'];
  const worstScrollP95 = Math.max(...scrolling.map((label) => results[label].p95));
  if (JSON_OUTPUT) {
    const entries = analysis.layers[0].fileCount;
    const figures = { files: FILES, entries, nodes, generateMs, firstTreeMs, results, worstScrollP95 };
    console.log(JSON.stringify({ ...figures, goalMs: GOAL_MS }));
    return;
  }
  console.log(
    `TUI key-to-frame latency, ${FILES.toLocaleString('en')} files (${nodes.toLocaleString('en')} nodes), 120×40`,
  );
  console.log(`  first frame with the tree (flatten all rows)  ${firstTreeMs.toFixed(1)} ms`);
  for (const [label, r] of Object.entries(results)) {
    console.log(
      `  ${label.padEnd(34)} median ${ms(r.median)}  p95 ${ms(r.p95)}  max ${ms(r.max)}  (CPU median ${ms(r.cpuMedian)})`,
    );
  }
  const verdict = worstScrollP95 < GOAL_MS ? 'meets' : 'MISSES';
  console.log(`scrolling p95 ${worstScrollP95.toFixed(1)} ms: ${verdict} the ${GOAL_MS} ms goal`);
  if (worstScrollP95 >= GOAL_MS) process.exitCode = 1;
}

await main();
