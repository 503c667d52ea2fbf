import type { AnalysisCheck } from './check.js';
import { diveRule } from './dive-rule.js';

/** dive's `lowestEfficiency`: fails when the threshold is greater than the image's efficiency. */
export const lowestEfficiency: AnalysisCheck = (_facts, analysis, policy) => {
  return diveRule('lowestEfficiency', policy.rules.lowestEfficiency, (threshold, origin) => {
    const actual = analysis.waste.efficiency;
    if (threshold > actual) {
      return {
        status: 'fail',
        actual,
        limit: threshold,
        message: `image efficiency is too low (efficiency=${actual} < threshold=${threshold})${origin}`,
        hint: 'remove files in the same RUN that created them; see the hints for what later layers deleted or overwrote',
      };
    }
    return {
      status: 'pass',
      actual,
      limit: threshold,
      message: `efficiency=${actual}, threshold=${threshold}${origin}`,
    };
  });
};
