import { ImgscopeError } from '../errors.js';
import type { ManifestSchema } from '../oci/media-types.js';
import { GiB, MiB } from './sizes.js';

/**
 * Built-in profiles: the platform facts of /work/shared/docs/platform-limits.md ("platform-limits.md"
 * below), kept exactly as written there. Every number in this file cites a row of that document.
 *
 * How the document is read:
 * - "MB" is MiB (2^20 bytes). The memory-tier row runs "512 MB < X < 1 GiB", so its MB and GiB are one
 *   binary scale (1 GiB = 1024 MB), and SCF memory sizes (256, 512, 1024 MB) are the binary ones.
 * - "image size" is the compressed size: config + layer blobs as stored in the registry, the size the
 *   image-size row calls "before decompression". The tiers use the same figure as the limit.
 * - The tier bounds are strict ("X < 256 MB", "256 MB < X < 512 MB"), which leaves X = 256 MiB and
 *   X = 512 MiB in no tier. An image exactly on a bound goes to the larger tier, the side that asks for
 *   more memory: tiers are [0, 256 MiB), [256 MiB, 512 MiB), [512 MiB, 1 GiB). So 255 MiB is tier 1,
 *   256 and 257 MiB are tier 2, 511 MiB is tier 2, 512 and 513 MiB are tier 3, 1023 MiB is tier 3.
 * - The limit is "smaller than 1 GiB": 1024 MiB (1 GiB exactly) fails `compressed-size` and is in no
 *   tier (the document gives none at or above 1 GiB).
 * - The memory ranges are strict too ("256 MB < Y < 512 MB"): memory equal to the lower bound is below
 *   the range (256 MiB for a tier-1 image fails), again the side that asks for more memory. Memory above
 *   the range is allowed: the document recommends, it does not cap.
 */

export type ProfileName = 'scf' | 'cloudbase' | 'none';

export const PROFILE_NAMES: readonly ProfileName[] = ['scf', 'cloudbase', 'none'];

export const DEFAULT_PROFILE: ProfileName = 'scf';

export interface MemoryTier {
  /** 1-based, smallest images first. */
  level: number;
  /** Human name of the image-size range, e.g. `256 MiB ≤ image < 512 MiB`. */
  name: string;
  /** Image sizes in [minImageBytes, maxImageBytes). */
  minImageBytes: number;
  maxImageBytes: number;
  /** Recommended memory, exclusive bounds in MiB; no upper bound when `memoryBelowMiB` is absent. */
  memoryAboveMiB: number;
  memoryBelowMiB?: number;
  /** The recommendation as the report shows it, e.g. `256 MiB < memory < 512 MiB`. */
  recommended: string;
}

export interface Profile {
  name: ProfileName;
  /** What the profile models, for reports. */
  title: string;
  /** Manifest formats the platform accepts; absent when the platform states none. */
  acceptedSchemas?: readonly ManifestSchema[];
  /** Required operating system; absent when any is fine. */
  os?: string;
  /** Required architecture; absent when any is fine. */
  architecture?: string;
  /** The compressed image must be smaller than this (exclusive). */
  compressedLimitBytes?: number;
  memoryTiers?: readonly MemoryTier[];
  /** What the image's command must do at start-up; absent when the platform states nothing. */
  startup?: { needsCommand: boolean; port?: number; timeoutSeconds?: number };
  /** The platform pulls by digest, so a tag is resolved once and the digest is what runs. */
  pullsByDigest: boolean;
}

function tier(
  level: number,
  minMiB: number,
  maxMiB: number,
  memoryAboveMiB: number,
  memoryBelowMiB?: number,
) {
  const range = (mib: number) => (mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`);
  const name = minMiB === 0 ? `image < ${range(maxMiB)}` : `${range(minMiB)} ≤ image < ${range(maxMiB)}`;
  const recommended =
    memoryBelowMiB === undefined
      ? `memory > ${range(memoryAboveMiB)}`
      : `${range(memoryAboveMiB)} < memory < ${range(memoryBelowMiB)}`;
  const result: MemoryTier = {
    level,
    name,
    minImageBytes: minMiB * MiB,
    maxImageBytes: maxMiB * MiB,
    memoryAboveMiB,
    recommended,
  };
  if (memoryBelowMiB !== undefined) result.memoryBelowMiB = memoryBelowMiB;
  return result;
}

/** platform-limits.md, "SCF image functions", every row. */
const SCF: Profile = {
  name: 'scf',
  title: 'Tencent SCF image functions',
  // "manifest format": Docker image manifest V2 schema 2 or OCI image spec v1.0.0+; schema 1 not accepted.
  acceptedSchemas: ['docker-v2s2', 'oci-v1'],
  // "architecture": x86 only (linux/amd64).
  os: 'linux',
  architecture: 'amd64',
  // "image size": before decompression, smaller than 1 GiB.
  compressedLimitBytes: 1 * GiB,
  // "memory tiers": X < 256 MB → 256 MB < Y < 512 MB; 256 MB < X < 512 MB → 512 MB < Y < 1 GiB;
  // 512 MB < X < 1 GiB → Y > 1 GiB (MB read as MiB, bounds as in the comment at the top).
  memoryTiers: [tier(1, 0, 256, 256, 512), tier(2, 256, 512, 512, 1024), tier(3, 512, 1024, 1024)],
  // "start-up": an HTTP server on 0.0.0.0:9000, up within 30 s.
  startup: { needsCommand: true, port: 9000, timeoutSeconds: 30 },
  // "pulling": by digest, not by tag.
  pullsByDigest: true,
};

/** platform-limits.md, "CloudBase Run services": Linux containers serving HTTP; no size limit stated. */
const CLOUDBASE: Profile = {
  name: 'cloudbase',
  title: 'Tencent CloudBase Run services',
  // "operating system": Linux containers only.
  os: 'linux',
  // "protocol": the service must listen for HTTP (no port is fixed), so something must start.
  startup: { needsCommand: true },
  pullsByDigest: false,
};

/** No platform: only the user's own budgets and rules. */
const NONE: Profile = { name: 'none', title: 'no platform profile', pullsByDigest: false };

const PROFILES: Readonly<Record<ProfileName, Profile>> = { scf: SCF, cloudbase: CLOUDBASE, none: NONE };

export function isProfileName(name: string): name is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

/** The profile called `name`; `where` names the flag or file key it came from, for the error. */
export function profileNamed(name: string, where = '--profile'): Profile {
  if (!isProfileName(name)) {
    throw new ImgscopeError('BAD_INPUT', `${where}: unknown profile "${name}"`, {
      hint: `use one of ${PROFILE_NAMES.join(', ')}`,
    });
  }
  return PROFILES[name];
}

/** The tier an image of `imageBytes` (compressed) falls in; undefined at or above the last tier. */
export function memoryTierOf(profile: Profile, imageBytes: number): MemoryTier | undefined {
  return profile.memoryTiers?.find((t) => imageBytes >= t.minImageBytes && imageBytes < t.maxImageBytes);
}

/** Where memory stands against a tier's recommended range (bounds exclusive, see the top comment). */
export function memoryAgainstTier(tier: MemoryTier, memoryMiB: number): 'below' | 'within' | 'above' {
  if (memoryMiB <= tier.memoryAboveMiB) return 'below';
  if (tier.memoryBelowMiB !== undefined && memoryMiB >= tier.memoryBelowMiB) return 'above';
  return 'within';
}
