import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { median, mediansOf } from '../bench/stats.js';
import { registryUnavailable } from './registry/harness.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

/** The tools `npm run bench` calls beside imgscope; scripts/test installs them. */
function missingTool(): string | undefined {
  if (registryUnavailable) return registryUnavailable;
  for (const tool of ['skopeo', 'zstd']) {
    const found = (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, tool)));
    if (!found) return `${tool} is not on PATH (scripts/test installs it)`;
  }
  return undefined;
}

const unavailable = missingTool();
if (unavailable) console.warn(`skipping the bench smoke run: ${unavailable}`);

/**
 * The benchmark is part of what the project ships (the README's figures come from it), so it must keep
 * running as the code under it changes: here end to end at 2% scale, once, every measure present.
 */
describe.skipIf(unavailable)('npm run bench, at 2% scale', () => {
  it('runs every measure and reports each', { timeout: 300_000 }, async () => {
    // Made here, not in the describe: a skipped or filtered-out suite never runs its afterAll.
    const dir = mkdtempSync(join(tmpdir(), 'imgscope-bench-test-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const json = join(dir, 'bench.json');
    const env = { ...process.env, IMGSCOPE_BENCH_SCALE: '0.02', IMGSCOPE_BENCH_REPS: '1' };
    const { stdout, stderr } = await run(process.execPath, ['bench/run.js', '--json-file', json], {
      cwd: ROOT,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    const output = `${stdout}\n${stderr}`;
    expect(output).not.toMatch(/without a result|absent/);

    const results = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(results.images)).toEqual(['base', 'app', 'files', 'big']);
    for (const image of Object.values<Record<string, number>>(results.images)) {
      expect(image.entries).toBeGreaterThan(0);
      expect(image.checkSeconds).toBeGreaterThan(0);
      expect(image.floorSeconds).toBeGreaterThan(0);
      expect(image.scriptSeconds).toBeGreaterThan(0);
      expect(image.cachedSeconds).toBeGreaterThan(0);
      expect(image.efficiency).toBeGreaterThan(0);
      expect(image.efficiency).toBeLessThanOrEqual(1);
    }
    for (const section of ['startup', 'tuiModules', 'parse', 'analysis', 'memory', 'zstd', 'cache', 'tui'])
      expect(results[section], section).toBeTruthy();
    // The explorer is timed on the file model the analyser builds of the files image, not on a stand-in.
    expect(results.tui.entries).toBe(results.images.files.entries);
    expect(stdout).toMatch(/\| `check --no-cache` from the registry ÷ gunzip floor, all images \| \d/);
    // Each row says how its figure was taken where it is not the header's median.
    expect(stdout).toMatch(/\| tar parse, [\d,]+ entries in memory, best of \d+ /);
    expect(stdout).toMatch(
      /\| one [\d.]+ MB gzip layer, analysis ÷ gunzip \(in process, medians of \d+\) \|/,
    );
    expect(stdout).toMatch(
      /\| cached re-run of `check` from the registry, the slowest of the 4 images \(\w+\) \| \d/,
    );
  });
});

describe('npm run bench without the tools it runs', () => {
  it('names each missing one and what to install, before generating anything', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'imgscope-bench-path-'));
    onTestFinished(() => rmSync(bin, { recursive: true, force: true }));
    symlinkSync(process.execPath, join(bin, 'node'));
    const env = { ...process.env, PATH: bin, IMGSCOPE_BENCH_SCALE: '0.02', IMGSCOPE_BENCH_REPS: '1' };
    const failed = await run(process.execPath, ['bench/run.js'], { cwd: ROOT, env }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toMatch(
      /^npm run bench: .*skopeo, tar, gzip, zstd, getconf not found \(Debian: apt-get install .*skopeo tar gzip zstd libc-bin\)\n$/,
    );
  }, 120_000);
});

describe('npm run bench -- --json', () => {
  const underNpm = (loglevel: string) => ({
    ...process.env,
    npm_lifecycle_event: 'bench',
    npm_config_loglevel: loglevel,
    PATH: '/nonexistent',
  });
  const failure = (env: NodeJS.ProcessEnv) =>
    run(process.execPath, ['bench/run.js', '--json'], { cwd: ROOT, env }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );

  it('is refused when npm prints its own lines on stdout first, naming npm run -s', async () => {
    const failed = await failure(underNpm('notice'));
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toBe(
      'npm run bench: npm printed its own lines before the JSON on stdout — run npm run -s bench -- --json\n',
    );
  });

  it('runs under npm run -s, whose stdout holds the JSON alone', async () => {
    // No tool on PATH: it stops at the next check, past the one under test.
    const failed = await failure(underNpm('silent'));
    expect(failed?.stderr).toMatch(/^npm run bench: .* not found/);
  });
});

describe("the benches' median", () => {
  it('is the middle value of an odd count and the mean of the two middle ones of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([1, 9])).toBe(5);
    expect(median([7])).toBe(7);
  });
});

describe("the benches' medians of several runs", () => {
  it("takes the median of each figure, the first run for the rest, and a failed run's exit code", () => {
    const runs = [
      { bench: 'memory', peakRssMB: 300, entries: 10, exitCode: 0 },
      { bench: 'memory', peakRssMB: 100, entries: 10, exitCode: 1 },
      { bench: 'memory', peakRssMB: 200, entries: 10, exitCode: 0 },
    ];
    expect(mediansOf(runs)).toEqual({
      bench: 'memory',
      peakRssMB: 200,
      entries: 10,
      exitCode: 1,
      repetitions: 3,
    });
  });
});
