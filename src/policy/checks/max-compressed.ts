import { formatSize, formatSizePair, uncountedNote } from '../sizes.js';
import {
  checkResult,
  fromOrigin,
  type ManifestCheck,
  NO_IMAGE,
  STORED_UNCOMPRESSED,
  STORED_UNCOMPRESSED_HINT,
} from './check.js';

/** The user's budget for config + layer blobs as stored (`--max-compressed`): at most the budget passes. */
export const maxCompressed: ManifestCheck = (facts, policy) => {
  const budget = policy.budgets.maxCompressed;
  if (!budget) return undefined;
  const limit = budget.value;
  if (facts.compressedSize === undefined) {
    return checkResult('max-compressed', 'skip', NO_IMAGE, { limit });
  }
  const actual = facts.compressedSize;
  const shown = formatSizePair(actual, limit);
  const message = `${shown.actual} compressed, budget ${shown.limit}${fromOrigin(budget.origin)}${uncountedNote(facts.uncountedBytes)}`;
  if (actual <= limit) return checkResult('max-compressed', 'pass', message, { actual, limit });
  if (facts.storedUncompressed) {
    return checkResult('max-compressed', 'warn', `${message}; ${STORED_UNCOMPRESSED}`, {
      actual,
      limit,
      hint: STORED_UNCOMPRESSED_HINT,
    });
  }
  return checkResult('max-compressed', 'fail', message, {
    actual,
    limit,
    hint: `cut ${formatSize(actual - limit)}: a smaller base image, a multi-stage build, no package caches`,
  });
};
