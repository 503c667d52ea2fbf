import { counted } from '../../report/format.js';
import { checkResult, fromOrigin, type ManifestCheck, NO_IMAGE } from './check.js';

/** The user's budget for the number of layers (`--max-layers`): at most the budget passes. */
export const maxLayers: ManifestCheck = (facts, policy) => {
  const budget = policy.budgets.maxLayers;
  if (!budget) return undefined;
  const limit = budget.value;
  if (facts.compressedSize === undefined) return checkResult('max-layers', 'skip', NO_IMAGE, { limit });
  const actual = facts.layerCount;
  const message = `${counted(actual, 'layer', 'layers')}, budget ${limit}${fromOrigin(budget.origin)}`;
  if (actual <= limit) return checkResult('max-layers', 'pass', message, { actual, limit });
  return checkResult('max-layers', 'fail', message, {
    actual,
    limit,
    // platform-limits.md, "Image hygiene": merge related RUN commands to reduce layer count.
    hint: 'merge related RUN commands (and COPY steps) to reduce the layer count',
  });
};
