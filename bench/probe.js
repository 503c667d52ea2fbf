// Preloaded (`node --import`) into a CLI process the benchmark runs: on exit, writes the process' peak RSS
// and CPU time (all its threads) to the file IMGSCOPE_BENCH_PROBE names; with IMGSCOPE_BENCH_MODULES, also lists every module the process
// loads (one URL a line), through a resolve hook. Node reports no child's peak RSS, so the child does.
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { peakRssBytes } from './peak-rss.js';

const modules = process.env.IMGSCOPE_BENCH_MODULES;
if (modules) register('./module-hooks.js', import.meta.url, { data: { file: modules } });

const out = process.env.IMGSCOPE_BENCH_PROBE;
if (out) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
    writeFileSync(out, JSON.stringify({ maxRssBytes: peakRssBytes(), cpuSeconds }));
  });
}
