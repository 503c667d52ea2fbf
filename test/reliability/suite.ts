import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Report } from '../../src/report/report.js';
import type { FaultProxy } from '../registry/fault-proxy.js';
import { TEST_IDENTITY_TOKEN, TEST_USER, type TestRegistry } from '../registry/harness.js';
import { type CliRun, filesUnder, isolatedEnv, runImgscope } from './cli-run.js';
import { type Expectation, type Judgement, judge, Ledger, type Outcome, shortError } from './outcomes.js';

/** Secrets of the test registries: none may ever reach stdout, stderr or a report. */
export const TEST_SECRETS = [
  TEST_USER.password,
  Buffer.from(`${TEST_USER.username}:${TEST_USER.password}`).toString('base64'),
  TEST_IDENTITY_TOKEN,
  'eyJhbGciOi', // the start of every JWT the token issuer signs
];

export interface TrialSpec {
  group: string;
  fault: string;
  expected: Outcome;
  /** Arguments after `check --json --profile none --full --cache-dir DIR`; the image last. */
  args: string[];
  /** Added to the isolated environment (registry credentials are there unless `anonymous`). */
  env?: NodeJS.ProcessEnv;
  anonymous?: boolean;
  input?: string;
  limitMs?: number;
  names?: Expectation['names'];
  checkReport?: Expectation['checkReport'];
  secrets?: string[];
  debug?: boolean;
  notice?: Expectation['notice'];
  /** Digests whose bytes were bad: nothing named after them may be in the cache afterwards. */
  unverified?: string[];
  /** Reuse a cache folder of an earlier trial (default: a fresh one). */
  cacheDir?: string;
  /** More problems seen outside the CLI's output (what a server received, what the cache holds). */
  verify?: (run: CliRun, judgement: Judgement, cachedFiles: string[]) => string[];
  notes?: (run: CliRun, judgement: Judgement) => string;
}

export interface TrialResult {
  run: CliRun;
  judgement: Judgement;
  cacheDir: string;
}

/**
 * Shared state of the reliability suite: the real registry (token auth) behind the fault proxy, a scratch
 * folder, and the ledger every trial writes its outcome to.
 */
export class Suite {
  readonly ledger = new Ledger();
  registry!: TestRegistry;
  proxy!: FaultProxy;
  scratch!: string;
  private trials = 0;

  /** `HOST:PORT/private/NAME` through the proxy. */
  ref(nameAndTag: string): string {
    return `${this.proxy.host}/private/${nameAndTag}`;
  }

  newDir(prefix: string): string {
    const dir = join(this.scratch, `${prefix}-${++this.trials}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** A clean run that fills `cacheDir` (not a case of its own): must succeed. */
  async warm(image: string, cacheDir: string): Promise<void> {
    const run = await runImgscope(
      ['check', '--json', '--profile', 'none', '--full', '--cache-dir', cacheDir, image],
      {
        env: isolatedEnv(this.scratch, {
          IMGSCOPE_USERNAME: TEST_USER.username,
          IMGSCOPE_PASSWORD: TEST_USER.password,
        }),
        cwd: this.scratch,
      },
    );
    expect(run.code, run.stderr).toBe(0);
  }

  /** Runs `imgscope check --json` once, judges it, records it, and asserts the expected outcome. */
  async trial(spec: TrialSpec): Promise<TrialResult> {
    const cacheDir = spec.cacheDir ?? this.newDir('cache');
    const args = ['check', '--json', '--profile', 'none', '--full', '--cache-dir', cacheDir, ...spec.args];
    const credentials = spec.anonymous
      ? {}
      : { IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password };
    const run = await runImgscope(args, {
      env: isolatedEnv(this.scratch, { ...credentials, ...spec.env }),
      cwd: this.scratch,
      ...(spec.input !== undefined ? { input: spec.input } : {}),
      ...(spec.limitMs ? { limitMs: spec.limitMs } : {}),
    });
    const judgement = judge(run, {
      names: spec.names ?? [this.proxy.host],
      secrets: [...TEST_SECRETS, ...(spec.secrets ?? [])],
      ...(spec.checkReport ? { checkReport: spec.checkReport } : {}),
      ...(spec.debug ? { debug: true } : {}),
      ...(spec.notice ? { notice: spec.notice } : {}),
    });
    const cached = filesUnder(cacheDir);
    for (const digest of spec.unverified ?? []) {
      const hex = digest.replace(/^sha256:/, '');
      const poisoned = cached.filter((file) => file.includes(hex));
      if (poisoned.length) judgement.problems.push(`unverified blob cached: ${poisoned.join(', ')}`);
    }
    judgement.problems.push(...(spec.verify?.(run, judgement, cached) ?? []));
    if (judgement.problems.length && judgement.outcome !== 'hung') judgement.outcome = 'lost';
    const notes = spec.notes?.(run, judgement) ?? shortError(judgement.errorLine);
    this.ledger.add({
      group: spec.group,
      fault: spec.fault,
      expected: spec.expected,
      outcome: judgement.outcome,
      ms: run.ms,
      notes: judgement.problems.length ? `${notes} — PROBLEMS: ${judgement.problems.join('; ')}` : notes,
    });
    expect(
      { outcome: judgement.outcome, problems: judgement.problems },
      `${spec.fault}\nstderr: ${run.stderr.slice(0, 2000)}`,
    ).toEqual({ outcome: spec.expected, problems: [] });
    return { run, judgement, cacheDir };
  }
}

/** The figures two reports of the same image must share, whatever happened on the way. */
export function figures(report: Report) {
  return {
    digest: report.digest,
    layerCount: report.layerCount,
    layersAnalyzed: report.layersAnalyzed,
    compressedSize: report.compressedSize,
    uncompressedSize: report.uncompressedSize,
    contentSize: report.contentSize,
    efficiency: report.efficiency,
    wastedBytes: report.wastedBytes,
    reclaimableBytes: report.reclaimableBytes,
    layers: report.layers.map(({ digest, compressedSize, uncompressedSize, contentSize, fileCount }) => ({
      digest,
      compressedSize,
      uncompressedSize,
      contentSize,
      fileCount,
    })),
  };
}

/** Problems of `report` against `expected` figures (a subset: only the keys given are compared). */
export function differences(report: Report, expected: Partial<ReturnType<typeof figures>>): string[] {
  const actual = figures(report) as Record<string, unknown>;
  return Object.entries(expected)
    .filter(([key, value]) => JSON.stringify(actual[key]) !== JSON.stringify(value))
    .map(([key, value]) => `${key}: ${JSON.stringify(actual[key])}, expected ${JSON.stringify(value)}`);
}
