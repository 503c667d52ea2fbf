#!/usr/bin/env node
// `npm run bench`: builds nothing, runs each benchmark in its own process (so one's memory cannot skew
// another's) and stops at the first that fails. Add a benchmark by adding a line to BENCHES.
//
// Usage: npm run build && npm run bench [-- NAME...]   (names: the file names below without .js)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BENCHES = [
  { file: 'analysis.js', node: [], args: [] },
  { file: 'memory.js', node: ['--expose-gc'], args: [] },
  { file: 'cache.js', node: [], args: [] },
];

if (!existsSync(fileURLToPath(new URL('../dist/analysis/analyze.js', import.meta.url)))) {
  console.error('npm run bench: dist/ is missing; run `npm run build` first');
  process.exit(2);
}

const only = process.argv.slice(2);
for (const bench of BENCHES) {
  if (only.length > 0 && !only.includes(bench.file.replace(/\.js$/, ''))) continue;
  const script = fileURLToPath(new URL(bench.file, import.meta.url));
  const { status, signal } = spawnSync(process.execPath, [...bench.node, script, ...bench.args], {
    stdio: 'inherit',
  });
  if (status !== 0) {
    console.error(`bench/${bench.file} failed (${signal ?? `exit ${status}`})`);
    process.exit(status || 1);
  }
}
