import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['./test/helpers/summary-reporter.ts', 'default'],
    // The CLIs tests spawn must not read or fill the user's layer cache (a hit would hide what a test
    // streams); tests of the cache turn it on with --cache-dir.
    env: { IMGSCOPE_NO_CACHE: '1' },
  },
});
