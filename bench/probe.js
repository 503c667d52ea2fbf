// Preloaded (`node --import`) into a CLI process the benchmark runs: on exit, writes to the file
// IMGSCOPE_BENCH_PROBE names the process' peak RSS, its CPU time (all its threads) and when, in ms since
// the process started, it passed four marks: Node ready (this file loads), the first connection opened,
// the first output written, and exit. With IMGSCOPE_BENCH_MODULES, also lists every module the process
// loads (one URL a line), through a resolve hook. Node reports no child's peak RSS, so the child does.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { performance } from 'node:perf_hooks';
import { peakRssBytes } from './peak-rss.js';

const modules = process.env.IMGSCOPE_BENCH_MODULES;
if (modules) register('./module-hooks.js', import.meta.url, { data: { file: modules } });

const out = process.env.IMGSCOPE_BENCH_PROBE;
if (out) {
  const marks = { nodeReadyMs: performance.now() };
  subscribe('net.client.socket', () => {
    marks.firstConnectMs ??= performance.now();
  });
  const write = process.stdout.write;
  process.stdout.write = function (...args) {
    marks.firstOutputMs ??= performance.now();
    return write.apply(this, args);
  };
  process.on('exit', () => {
    marks.exitMs = performance.now();
    const usage = process.resourceUsage();
    const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
    writeFileSync(out, JSON.stringify({ maxRssBytes: peakRssBytes(), cpuSeconds, marks }));
  });
}
