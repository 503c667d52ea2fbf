// Which modules a CLI run loaded, when it runs from the bundle (scripts/bundle.js): a chunk counts as the
// modules esbuild's metafile lists in it, any other file as itself. Shared by bench/run.js and
// test/cli/bundle.test.ts, which both check that non-interactive commands load none of the explorer.
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Modules of the explorer: its own, Ink's and React's. */
export const EXPLORER_MODULE = /(^|\/)dist\/tui\/|(^|\/)node_modules\/(ink|react)\//;

/** The metafile of the bundle in the checkout at `root`: which modules each output file holds. */
export function bundleMetafile(root) {
  return JSON.parse(readFileSync(join(root, 'dist/bundle/meta.json'), 'utf8'));
}

/** The modules (paths relative to `root`) behind the resolved URLs a run listed; node: builtins dropped. */
export function modulesLoaded(urls, root) {
  const { outputs } = bundleMetafile(root);
  return [...new Set(urls)]
    .filter((url) => url.startsWith('file:'))
    .flatMap((url) => {
      const path = relative(root, fileURLToPath(url));
      return outputs[path] ? Object.keys(outputs[path].inputs) : [path];
    });
}
