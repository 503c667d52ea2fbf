import { formatSize, formatSizeBeside, uncountedNote } from '../sizes.js';
import {
  checkResult,
  type ManifestCheck,
  NO_IMAGE,
  STORED_UNCOMPRESSED,
  STORED_UNCOMPRESSED_HINT,
} from './check.js';

/**
 * The image before decompression (config + layer blobs as stored) must be smaller than the profile's
 * limit (scf: 1 GiB, platform-limits.md "image size").
 */
export const compressedSize: ManifestCheck = (facts, policy) => {
  const limit = policy.profile.compressedLimitBytes;
  if (limit === undefined) return undefined;
  if (facts.compressedSize === undefined) {
    return checkResult('compressed-size', 'skip', NO_IMAGE, { limit });
  }
  const size = facts.compressedSize;
  const what = `${formatSizeBeside(size, limit)} compressed (config + layers as stored${uncountedNote(facts.uncountedBytes)})`;
  if (size < limit) {
    return checkResult('compressed-size', 'pass', `${what}, below ${formatSize(limit)}`, {
      actual: size,
      limit,
    });
  }
  const over = `${what}: ${policy.profile.title} need it smaller than ${formatSize(limit)} (before decompression)`;
  if (facts.storedUncompressed) {
    return checkResult('compressed-size', 'warn', `${over}; ${STORED_UNCOMPRESSED}`, {
      actual: size,
      limit,
      hint: STORED_UNCOMPRESSED_HINT,
    });
  }
  return checkResult('compressed-size', 'fail', over, {
    actual: size,
    limit,
    hint: 'shrink the image (smaller base, multi-stage build, no package caches); raising the limit needs a support ticket',
  });
};
