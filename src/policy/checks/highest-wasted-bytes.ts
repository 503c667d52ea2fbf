import { formatSize } from '../sizes.js';
import type { AnalysisCheck } from './check.js';
import { diveRule } from './dive-rule.js';

/** dive's `highestWastedBytes`: fails when dive's wasted bytes are greater than the threshold. */
export const highestWastedBytes: AnalysisCheck = (_facts, analysis, policy) => {
  return diveRule('highestWastedBytes', policy.rules.highestWastedBytes, (threshold, origin) => {
    const actual = analysis.waste.wastedBytes;
    const figures = `wasted-bytes=${actual} (${formatSize(actual)}), threshold=${threshold} (${formatSize(threshold)})`;
    if (actual > threshold) {
      return {
        status: 'fail',
        actual,
        limit: threshold,
        message: `too many bytes wasted (${figures})${origin}`,
        hint: 'files changed or deleted by a later layer still ship in the earlier one; see the hints',
      };
    }
    return { status: 'pass', actual, limit: threshold, message: `${figures}${origin}` };
  });
};
