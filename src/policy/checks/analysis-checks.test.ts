import { describe, expect, it } from 'vitest';
import { fakeFacts, fakeLayer, fakeSummary } from '../../../test/policy/fakes.js';
import { type Policy, profilePolicy, type RuleSetting } from '../policy.js';
import { MiB } from '../sizes.js';
import { highestUserWastedPercent } from './highest-user-wasted-percent.js';
import { highestWastedBytes } from './highest-wasted-bytes.js';
import { lowestEfficiency } from './lowest-efficiency.js';
import { maxUncompressed } from './max-uncompressed.js';

const facts = fakeFacts();

function withRules(rules: Policy['rules']): Policy {
  return { ...profilePolicy('none'), rules };
}

const rule = (value: number | 'disabled'): RuleSetting => ({ value, origin: '.dive-ci' });

describe("dive's rules, with dive's comparisons", () => {
  it('lowestEfficiency fails only when the threshold is greater than the efficiency', () => {
    const analysis = fakeSummary({ waste: { efficiency: 0.9 } });
    expect(lowestEfficiency(facts, analysis, withRules({ lowestEfficiency: rule(0.9) }))?.status).toBe(
      'pass',
    );
    const failed = lowestEfficiency(facts, analysis, withRules({ lowestEfficiency: rule(0.91) }));
    expect(failed).toMatchObject({ status: 'fail', actual: 0.9, limit: 0.91 });
    expect(failed?.message).toBe(
      'image efficiency is too low (efficiency=0.9 < threshold=0.91) (from .dive-ci)',
    );
  });

  it('highestWastedBytes fails only when wasted bytes are greater than the threshold', () => {
    const analysis = fakeSummary({ waste: { wastedBytes: 20_000_000 } });
    expect(
      highestWastedBytes(facts, analysis, withRules({ highestWastedBytes: rule(20_000_000) }))?.status,
    ).toBe('pass');
    expect(
      highestWastedBytes(facts, analysis, withRules({ highestWastedBytes: rule(19_999_999) })),
    ).toMatchObject({
      status: 'fail',
      actual: 20_000_000,
      limit: 19_999_999,
    });
  });

  it('highestUserWastedPercent fails only when the ratio is greater than the threshold', () => {
    const analysis = fakeSummary({ waste: { userWastedPercent: 0.1 } });
    expect(
      highestUserWastedPercent(facts, analysis, withRules({ highestUserWastedPercent: rule(0.1) }))?.status,
    ).toBe('pass');
    expect(
      highestUserWastedPercent(facts, analysis, withRules({ highestUserWastedPercent: rule(0.09) }))?.status,
    ).toBe('fail');
  });

  it('reports a disabled rule as skipped, as dive does', () => {
    const analysis = fakeSummary({ waste: { efficiency: 0 } });
    expect(
      lowestEfficiency(facts, analysis, withRules({ lowestEfficiency: rule('disabled') })),
    ).toMatchObject({
      status: 'skip',
      limit: 'disabled',
      message: 'rule disabled (from .dive-ci)',
    });
  });

  it('are absent when not configured', () => {
    const analysis = fakeSummary();
    const policy = withRules({});
    expect(lowestEfficiency(facts, analysis, policy)).toBeUndefined();
    expect(highestWastedBytes(facts, analysis, policy)).toBeUndefined();
    expect(highestUserWastedPercent(facts, analysis, policy)).toBeUndefined();
  });
});

describe('max-uncompressed', () => {
  it('sums the uncompressed layer tars and compares at most', () => {
    const analysis = fakeSummary({
      layers: [fakeLayer(0, { uncompressedSize: 60 * MiB }), fakeLayer(1, { uncompressedSize: 40 * MiB })],
    });
    const policy = (bytes: number): Policy => ({
      ...profilePolicy('none'),
      budgets: { maxUncompressed: { value: bytes, origin: '--max-uncompressed' } },
    });
    expect(maxUncompressed(facts, analysis, policy(100 * MiB))).toMatchObject({
      status: 'pass',
      actual: 100 * MiB,
    });
    expect(maxUncompressed(facts, analysis, policy(100 * MiB - 1))?.status).toBe('fail');
    expect(maxUncompressed(facts, analysis, profilePolicy('none'))).toBeUndefined();
  });
});
