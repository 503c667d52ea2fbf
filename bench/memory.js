#!/usr/bin/env node
// Memory of the file model: an image of 1,000,000 tar entries across 10 layers (a base of 400,000 entries,
// then layers that add, overwrite, hard/symlink and delete), generated in memory as tar streams — never
// written anywhere — and analysed. Reports peak RSS (goal < 500 MB) and bytes per entry retained by the
// finished model. Run with --expose-gc (bench/run.js does) so the retained figure is measured after a GC.
//
// Usage: npm run build && node --expose-gc bench/memory.js [--entries N] [--json]
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { peakRssBytes } from './peak-rss.js';
import { prng, tarStream } from './tar-gen.js';

const entry = new URL('../dist/analysis/analyze.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('bench/memory.js: dist/ is missing; run `npm run build` first');
  process.exit(2);
}
const { analyzeImage } = await import(entry.href);

const args = process.argv.slice(2);
const at = args.indexOf('--entries');
const TOTAL_ENTRIES = at >= 0 ? Number(args[at + 1]) : 1_000_000;
const JSON_OUTPUT = args.includes('--json');
const LAYERS = 10;
const BASE_SHARE = 0.4;
const FILES_PER_DIR = 40;
const GOAL_MB = 500;

const CONTENT = Buffer.alloc(4096, 'x');
const content = (size) => CONTENT.subarray(0, size);

const baseFiles = Math.floor((TOTAL_ENTRIES * BASE_SHARE * FILES_PER_DIR) / (FILES_PER_DIR + 1));
const baseFileName = (id) =>
  `usr/share/p${Math.floor(id / (FILES_PER_DIR * 25))}/d${Math.floor(id / FILES_PER_DIR) % 25}/f${id % FILES_PER_DIR}.txt`;

/** The base layer: directories of 40 files, each preceded by its directory entry. */
function* baseLayer(random) {
  for (let id = 0; id < baseFiles; id++) {
    if (id % FILES_PER_DIR === 0)
      yield { name: `${baseFileName(id).replace(/f\d+\.txt$/, '')}`, type: '5', mode: 0o755 };
    const size = Math.floor(random() * 1024);
    yield { name: baseFileName(id), size, content };
  }
}

/**
 * An upper layer of `count` entries: new files, overwrites, links and whiteouts of base files. Hardlinks
 * name the layer's latest new file, as a tar writer links two names of one inode in the same layer (a
 * base file may have been removed below, and docker cannot link to what is not there).
 */
function* upperLayer(layer, count, random) {
  let emitted = 0;
  let latestNew;
  for (let n = 0; emitted < count; n++) {
    const roll = random();
    const base = Math.floor(random() * baseFiles);
    if (roll < 0.55 || (roll >= 0.85 && roll < 0.9 && latestNew === undefined)) {
      if (n % FILES_PER_DIR === 0) {
        yield { name: `opt/l${layer}/d${Math.floor(n / FILES_PER_DIR)}/`, type: '5', mode: 0o755 };
        emitted++;
      }
      latestNew = `opt/l${layer}/d${Math.floor(n / FILES_PER_DIR)}/new${n}.bin`;
      yield { name: latestNew, size: Math.floor(random() * 2048), content };
    } else if (roll < 0.8) {
      yield { name: baseFileName(base), size: Math.floor(random() * 1024), content };
    } else if (roll < 0.85) {
      yield { name: `opt/l${layer}/link${n}`, type: '2', linkname: `../../${baseFileName(base)}` };
    } else if (roll < 0.9) {
      yield { name: `opt/l${layer}/hard${n}`, type: '1', linkname: latestNew };
    } else {
      const name = baseFileName(base);
      const slash = name.lastIndexOf('/');
      yield { name: `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}` };
    }
    emitted++;
  }
}

function image() {
  const upperCount = Math.floor((TOTAL_ENTRIES * (1 - BASE_SHARE)) / (LAYERS - 1));
  const layers = Array.from({ length: LAYERS }, (_, index) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar',
    digest: `sha256:${index.toString(16).padStart(64, '0')}`,
    size: 0,
  }));
  return {
    reference: 'bench:memory',
    layers,
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    // Generated, not stored: the bench measures the analyser, so these streams are not verified.
    async openBlob(descriptor) {
      const index = layers.indexOf(descriptor);
      const random = prng(1000 + index);
      return tarStream(index === 0 ? baseLayer(random) : upperLayer(index, upperCount, random));
    },
    async close() {},
  };
}

const gc = globalThis.gc ?? (() => {});
const MB = 1024 * 1024;
const snapshot = () => {
  gc();
  gc();
  const { rss, heapUsed, arrayBuffers, external } = process.memoryUsage();
  return { rss, heapUsed, arrayBuffers, external };
};

const before = snapshot();
let peakRss = before.rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);
const started = performance.now();
const analysis = await analyzeImage(image());
const analysisSeconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peakRss = Math.max(peakRss, peakRssBytes());
const after = snapshot();

const { model } = analysis;
const treeStarted = performance.now();
const top = model.treeAt(LAYERS - 1);
let walked = 0;
const walk = (node) => {
  for (const child of top.children(node)) {
    walked++;
    if (child.childCount > 0) walk(child);
  }
};
walk(top.root);
const treeSeconds = (performance.now() - treeStarted) / 1000;
const withTree = snapshot();

const entries = model.entryCount;
const retained = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
const result = {
  bench: 'memory',
  entries,
  paths: model.pathCount,
  records: model.records?.count,
  layers: LAYERS,
  analysisSeconds,
  peakRssMB: peakRss / MB,
  goalMB: GOAL_MB,
  retainedBytesPerEntry: retained / entries,
  rssBytesPerEntry: (after.rss - before.rss) / entries,
  treeAtTopSeconds: treeSeconds,
  treeNodesWalked: walked,
  treeBytesPerPath:
    (withTree.heapUsed + withTree.arrayBuffers - after.heapUsed - after.arrayBuffers) / model.pathCount,
  efficiency: analysis.waste.efficiency,
};
if (JSON_OUTPUT) console.log(JSON.stringify(result));
else {
  console.log(
    `memory bench: ${entries} tar entries in ${LAYERS} layers (${result.paths} paths, ${result.records} records)`,
  );
  console.log(
    `  analysed in ${analysisSeconds.toFixed(1)} s; peak RSS ${result.peakRssMB.toFixed(0)} MB (goal < ${GOAL_MB} MB) ${result.peakRssMB < GOAL_MB ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `  model retained: ${result.retainedBytesPerEntry.toFixed(0)} bytes/entry (heap + typed arrays), RSS growth ${result.rssBytesPerEntry.toFixed(0)} bytes/entry`,
  );
  console.log(
    `  treeAt(top) + full walk of ${walked} nodes: ${treeSeconds.toFixed(2)} s, ${result.treeBytesPerPath.toFixed(0)} bytes/path while held`,
  );
}
