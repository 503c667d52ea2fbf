#!/usr/bin/env node
// `npm run build`, second step: bundles the compiled CLI (dist/cli/main.js) into dist/bundle/, which
// bin/imgscope runs.
//
// Why: loading ~95 modules one file at a time — resolving, reading and compiling each — was a third of a
// registry `check`'s start-up; one bundle loads in ~35 ms less (bench/run.js measures start-up). The
// explorer (Ink, React) and each report format stay in chunks of their own, loaded only when used, as
// their dynamic imports say. undici's two modules are loaded at run time (undici-pool.ts).
// dist/bundle/meta.json (esbuild's metafile) maps every chunk to the modules in it, so the bench can tell
// which modules a command loaded.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'dist/cli/main.js' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  // ink's optional import for React DevTools, reached only with DEV=true.
  external: ['react-devtools-core'],
  define: { __IMGSCOPE_VERSION__: JSON.stringify(version) },
  // Packages written as CommonJS call `require` for Node's modules; ES module scope has none.
  banner: {
    js: "import { createRequire as __imgscopeRequire } from 'node:module';\nconst require = __imgscopeRequire(import.meta.url);",
  },
  chunkNames: 'chunks/[name]-[hash]',
  // Chained through tsc's maps to src/: bin/imgscope turns them on for --debug.
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(`${outdir}/meta.json`, JSON.stringify(result.metafile));
