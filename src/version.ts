import { readFileSync } from 'node:fs';

/** Set by the bundler (scripts/bundle.js); absent when the modules run as compiled or from source. */
declare const __IMGSCOPE_VERSION__: string | undefined;

/** The package version: the bundle's constant, else read once from package.json (up from src/ or dist/). */
export const VERSION: string =
  typeof __IMGSCOPE_VERSION__ === 'string'
    ? __IMGSCOPE_VERSION__
    : (() => {
        try {
          const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
            version?: string;
          };
          return pkg.version ?? '0.0.0';
        } catch {
          return '0.0.0';
        }
      })();
