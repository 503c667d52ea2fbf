import type { AnalysisCheck } from './check.js';
import { diveRule } from './dive-rule.js';

/**
 * dive's `highestUserWastedPercent`: fails when wasted bytes / user bytes (all layers but the base) is
 * greater than the threshold. Despite the name both are ratios from 0 to 1, as in dive.
 */
export const highestUserWastedPercent: AnalysisCheck = (_facts, analysis, policy) => {
  return diveRule('highestUserWastedPercent', policy.rules.highestUserWastedPercent, (threshold, origin) => {
    const { wastedBytes, userSize } = analysis.waste;
    // dive divides in floating point: waste over no user bytes is +Inf, which every threshold fails.
    const actual = userSize === 0 && wastedBytes > 0 ? '+Inf' : analysis.waste.userWastedPercent;
    if (actual === '+Inf' || threshold < actual) {
      return {
        status: 'fail',
        actual,
        limit: threshold,
        message: `too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=${actual} > threshold=${threshold})${origin}`,
        hint: 'files changed or deleted by a later layer still ship in the earlier one; see the hints',
      };
    }
    return {
      status: 'pass',
      actual,
      limit: threshold,
      message: `%-user-wasted-bytes=${actual}, threshold=${threshold}${origin}`,
    };
  });
};
