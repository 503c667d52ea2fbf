import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../helpers/shared.js';

/**
 * Runs the built CLI (`node bin/imgscope`, from `dist/`) the way CI would — no terminal, a clean
 * environment — and never waits forever: past `limitMs` the process is killed and the run is `hung`.
 * Peak RSS comes from the child itself (see peak-rss.cjs).
 */

/** A run slower than this on a loaded 2-core CI machine is a hang. */
export const RUN_LIMIT_MS = 30_000;

export interface CliRun {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  hung: boolean;
  peakRssBytes: number | undefined;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  input?: string;
  limitMs?: number;
}

const PROBE = join(projectRoot, 'test', 'reliability', 'peak-rss.cjs');
const BIN = join(projectRoot, 'bin', 'imgscope');
let runs = 0;

export function runImgscope(args: string[], options: RunOptions): Promise<CliRun> {
  const limitMs = options.limitMs ?? RUN_LIMIT_MS;
  const rssFile = join(options.cwd, `.peak-rss-${process.pid}-${++runs}`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--require', PROBE, BIN, ...args], {
      cwd: options.cwd,
      env: { ...options.env, IMGSCOPE_TEST_PEAK_RSS_FILE: rssFile },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - started);
      let peakRssBytes: number | undefined;
      if (existsSync(rssFile)) {
        peakRssBytes = Number(readFileSync(rssFile, 'utf8'));
        rmSync(rssFile, { force: true });
      }
      resolve({ args, code, stdout, stderr, ms, hung, peakRssBytes });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/**
 * The environment of every run: no credential store, config or cache of this machine or user — only
 * what a case adds. Timeouts are short so stalls resolve in seconds (IMGSCOPE_TIMEOUT_*_MS).
 */
export function isolatedEnv(scratch: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = join(scratch, 'home');
  mkdirSync(home, { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: home,
    DOCKER_CONFIG: join(scratch, 'no-docker-config'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_RUNTIME_DIR: '',
    REGISTRY_AUTH_FILE: '',
    NO_COLOR: '1',
    IMGSCOPE_TIMEOUT_CONNECT_MS: '3000',
    IMGSCOPE_TIMEOUT_HEADERS_MS: '5000',
    IMGSCOPE_TIMEOUT_IDLE_MS: '1500',
    ...extra,
  };
}

/** Every regular file under a directory (the analysis cache after a run), relative paths. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}
