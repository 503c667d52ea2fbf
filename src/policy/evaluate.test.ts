import { describe, expect, it } from 'vitest';
import { fakeFacts, fakeSummary } from '../../test/policy/fakes.js';
import type { CheckResult } from '../report/report.js';
import {
  evaluate,
  evaluateAnalysis,
  evaluateManifest,
  exitCodeOf,
  needsLayers,
  verdictOf,
} from './evaluate.js';
import { type Policy, profilePolicy } from './policy.js';
import { GiB } from './sizes.js';

const check = (status: CheckResult['status']): CheckResult => ({ id: status, status, message: status });

describe('verdictOf', () => {
  it('fails on a failed check, warns on a warning, passes otherwise (skips count as nothing)', () => {
    expect(verdictOf([check('pass'), check('skip')], 'fail')).toBe('pass');
    expect(verdictOf([check('pass'), check('warn')], 'fail')).toBe('warn');
    expect(verdictOf([check('warn'), check('fail')], 'fail')).toBe('fail');
    expect(verdictOf([], 'fail')).toBe('pass');
  });

  it('with --fail-on warn, a warning fails the verdict', () => {
    expect(verdictOf([check('pass'), check('warn')], 'warn')).toBe('fail');
    expect(verdictOf([check('pass'), check('skip')], 'warn')).toBe('pass');
  });

  it('maps to exit codes 0 and 1', () => {
    expect([exitCodeOf('pass'), exitCodeOf('warn'), exitCodeOf('fail')]).toEqual([0, 0, 1]);
  });
});

describe('evaluateManifest', () => {
  it('runs the scf checks in report order', () => {
    expect(evaluateManifest(fakeFacts(), profilePolicy('scf')).map((c) => c.id)).toEqual([
      'manifest-format',
      'platform',
      'compressed-size',
      'memory-tier',
      'startup',
      'pinned',
    ]);
  });

  it('runs only the budgets the user set under the none profile (and the format check)', () => {
    const policy: Policy = {
      ...profilePolicy('none'),
      budgets: { maxLayers: { value: 2, origin: '--max-layers' } },
    };
    const checks = evaluateManifest(fakeFacts({ layerCount: 3 }), policy);
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['manifest-format', 'pass'],
      ['max-layers', 'fail'],
    ]);
  });
});

describe('evaluateAnalysis', () => {
  it('runs the configured layer checks and always the hints', () => {
    const policy: Policy = {
      ...profilePolicy('scf'),
      rules: { lowestEfficiency: { value: 0.95, origin: '.dive-ci' } },
    };
    const checks = evaluateAnalysis(fakeFacts(), fakeSummary({ waste: { efficiency: 0.9 } }), policy);
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['lowestEfficiency', 'fail'],
      ['hints', 'pass'],
    ]);
  });
});

describe('highestUserWastedPercent', () => {
  it('fails waste over user layers that add no bytes, as dive’s wasted / 0 = +Inf does', () => {
    const policy: Policy = {
      ...profilePolicy('none'),
      rules: { highestUserWastedPercent: { value: 0.1, origin: '.dive-ci' } },
    };
    const waste = { userSize: 0, wastedBytes: 5000, userWastedPercent: 0 };
    const [rule] = evaluateAnalysis(fakeFacts(), fakeSummary({ waste }), policy);
    expect(rule).toMatchObject({ id: 'highestUserWastedPercent', status: 'fail', actual: '+Inf' });
    const clean = { userSize: 0, wastedBytes: 0, userWastedPercent: 0 };
    const [passed] = evaluateAnalysis(fakeFacts(), fakeSummary({ waste: clean }), policy);
    expect(passed).toMatchObject({ status: 'pass', actual: 0 });
  });
});

describe('evaluate without layers', () => {
  it('reports every configured layer check as skipped with the reason and where it was set, and keeps disabled rules disabled', () => {
    const policy: Policy = {
      ...profilePolicy('scf'),
      budgets: { maxUncompressed: { value: GiB, origin: '--max-uncompressed' } },
      rules: {
        lowestEfficiency: { value: 0.9, origin: '.dive-ci' },
        highestWastedBytes: { value: 'disabled', origin: '.dive-ci' },
      },
    };
    const { checks, verdict } = evaluate(fakeFacts(), undefined, policy, '--no-layers');
    const layerChecks = checks.slice(6);
    expect(layerChecks.map((c) => [c.id, c.status, c.message])).toEqual([
      ['max-uncompressed', 'skip', 'not evaluated: --no-layers; budget 1 GiB (from --max-uncompressed)'],
      ['lowestEfficiency', 'skip', 'not evaluated: --no-layers; threshold 0.9 (from .dive-ci)'],
      ['highestWastedBytes', 'skip', 'rule disabled (from .dive-ci)'],
      ['hints', 'skip', 'not evaluated: --no-layers'],
    ]);
    expect(verdict).toBe('pass');
  });
});

describe('needsLayers', () => {
  const scf = profilePolicy('scf');
  const failed = evaluateManifest(fakeFacts({ compressedSize: 2 * GiB }), scf);
  const passed = evaluateManifest(fakeFacts(), scf);

  it('streams layers when the manifest-level checks leave the verdict open', () => {
    expect(needsLayers(passed, scf)).toBe(true);
  });

  it('skips them when the manifest-level checks already failed, unless --full', () => {
    expect(needsLayers(failed, scf)).toBe(false);
    expect(needsLayers(failed, scf, { full: true })).toBe(true);
  });

  it('counts warnings as failing with --fail-on warn', () => {
    const warned: CheckResult[] = [...passed, check('warn')];
    expect(needsLayers(warned, scf)).toBe(true);
    expect(needsLayers(warned, { ...scf, failOn: 'warn' })).toBe(false);
  });

  it('never streams with --no-layers, not even with --full', () => {
    expect(needsLayers(passed, scf, { noLayers: true })).toBe(false);
    expect(needsLayers(passed, scf, { noLayers: true, full: true })).toBe(false);
  });
});
