#!/usr/bin/env node
// Records every optional dependency in package-lock.json, including the platform builds the npm
// registry mirror of this workplace does not serve (other OSes' @biomejs/cli-*, @rollup/rollup-*).
// npm leaves unfetchable optional packages out of the lock file and then `npm ci` refuses the lock as
// out of sync; listed as optional, npm ci skips them on platforms they do not fit, as it should.
// Run after any `npm install` that changes the lock file.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path}/node_modules/${name}`;
    const hoisted = `node_modules/${name}`;
    if (packages[nested] || packages[hoisted]) continue;
    if (!/^\d+\.\d+\.\d+/.test(spec))
      throw new Error(`${path}: optional ${name}@${spec} is not an exact version`);
    packages[hoisted] = { version: spec, ...(entry.dev ? { dev: true } : {}), optional: true };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} optional platform packages recorded`);
