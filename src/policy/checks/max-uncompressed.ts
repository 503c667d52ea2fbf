import { formatSize, formatSizePair } from '../sizes.js';
import { type AnalysisCheck, checkResult, fromOrigin } from './check.js';

/** The user's budget for Σ uncompressed layer tars (`--max-uncompressed`): at most the budget passes. */
export const maxUncompressed: AnalysisCheck = (_facts, analysis, policy) => {
  const budget = policy.budgets.maxUncompressed;
  if (!budget) return undefined;
  const actual = analysis.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0);
  const limit = budget.value;
  const shown = formatSizePair(actual, limit);
  const message = `${shown.actual} uncompressed, budget ${shown.limit}${fromOrigin(budget.origin)}`;
  if (actual <= limit) return checkResult('max-uncompressed', 'pass', message, { actual, limit });
  return checkResult('max-uncompressed', 'fail', message, {
    actual,
    limit,
    hint: `cut ${formatSize(actual - limit)}: see the hints for caches and files deleted by later layers`,
  });
};
