import type { Report } from '../../report/report.js';
import type { ImageFacts } from '../facts.js';
import type { Policy } from '../policy.js';
import { type MemoryTier, memoryAgainstTier, memoryTierOf } from '../profiles.js';
import { formatSize, formatSizeBeside } from '../sizes.js';
import {
  checkResult,
  fromOrigin,
  type ManifestCheck,
  NO_IMAGE,
  STORED_UNCOMPRESSED,
  STORED_UNCOMPRESSED_HINT,
} from './check.js';

function tierLabel(tier: MemoryTier): string {
  return `tier ${tier.level} (${tier.name})`;
}

/** The report's `tier`: undefined when the profile has no tiers, null when the image is in none. */
export function tierOf(facts: ImageFacts, policy: Policy): Report['tier'] {
  if (!policy.profile.memoryTiers || facts.compressedSize === undefined) return undefined;
  const tier = memoryTierOf(policy.profile, facts.compressedSize);
  if (!tier) return null;
  return { name: tierLabel(tier), imageSize: facts.compressedSize, recommendedMemory: tier.recommended };
}

/**
 * The memory the profile recommends for the image's (compressed) size (scf: platform-limits.md,
 * "memory tiers"; bounds as read in profiles.ts). With the function's memory configured, memory at or
 * below the tier's lower bound fails; above its upper bound is allowed.
 */
export const memoryTier: ManifestCheck = (facts, policy) => {
  const tiers = policy.profile.memoryTiers;
  const memory = policy.memoryMiB;
  if (!tiers) {
    // Reported, not dropped: a memory setting the profile cannot judge must not read as checked.
    if (!memory) return undefined;
    return checkResult(
      'memory-tier',
      'skip',
      `memory ${memory.value} MiB${fromOrigin(memory.origin)} is not checked: profile ${policy.profile.name} has no memory tiers`,
      { actual: memory.value },
    );
  }
  const actual = memory ? memory.value : null;
  if (facts.compressedSize === undefined) {
    return checkResult('memory-tier', 'skip', NO_IMAGE, { actual });
  }
  const tier = memoryTierOf(policy.profile, facts.compressedSize);
  if (!tier) {
    const top = tiers[tiers.length - 1]!;
    const image = formatSizeBeside(facts.compressedSize, top.maxImageBytes);
    return checkResult(
      'memory-tier',
      'skip',
      `${image} image is in no tier: the largest ends below ${formatSize(top.maxImageBytes)} (see compressed-size)`,
      { actual },
    );
  }
  const image = formatSizeBeside(facts.compressedSize, tier.maxImageBytes);
  const recommendation = `${image} image is ${tierLabel(tier)}: ${tier.recommended}`;
  if (!memory) {
    return checkResult('memory-tier', 'pass', recommendation, {
      actual,
      limit: tier.recommended,
      hint: 'pass --memory MiB (or "memory" in imgscope.config.json) to check the function memory',
    });
  }
  const configured = `memory ${memory.value} MiB${fromOrigin(memory.origin)}`;
  const standing = memoryAgainstTier(tier, memory.value);
  // The largest lower tier this memory suits: pushed, or shrunk, the image may fall in it.
  const lowerTierFits = tiers
    .filter((t) => t.level < tier.level && memoryAgainstTier(t, memory.value) !== 'below')
    .at(-1);
  if (standing === 'below' && facts.storedUncompressed && lowerTierFits) {
    return checkResult(
      'memory-tier',
      'warn',
      `${recommendation}; ${configured} is too low for it, but ${STORED_UNCOMPRESSED} and may be in a lower tier`,
      { actual, limit: tier.recommended, hint: STORED_UNCOMPRESSED_HINT },
    );
  }
  if (standing === 'below') {
    return checkResult('memory-tier', 'fail', `${recommendation}; ${configured} is too low`, {
      actual,
      limit: tier.recommended,
      // Shrinking helps only into a tier this memory suits: 256 MiB suits none.
      hint: `give the function more than ${tier.memoryAboveMiB} MiB${lowerTierFits ? `, or shrink the image below ${formatSize(lowerTierFits.maxImageBytes)}, into tier ${lowerTierFits.level}` : ''}`,
    });
  }
  const note = standing === 'above' ? ' is above the range (allowed; it costs more)' : ' fits';
  return checkResult('memory-tier', 'pass', `${recommendation}; ${configured}${note}`, {
    actual,
    limit: tier.recommended,
  });
};
