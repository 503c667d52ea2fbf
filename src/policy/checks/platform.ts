import {
  closestPlatform,
  formatPlatform,
  normalizePlatform,
  type Platform,
  platformMatches,
  platformsText,
} from '../../oci/platform.js';
import { imageText } from '../../report/format.js';
import type { Profile } from '../profiles.js';
import { checkResult, type ManifestCheck } from './check.js';

function fits(profile: Profile, platform: Platform): boolean {
  const p = normalizePlatform(platform);
  if (profile.os && p.os !== profile.os) return false;
  if (!profile.architecture) return true;
  // A variant above the baseline (linux/amd64/v3) needs a newer CPU than the platform promises: in an
  // index a linux/amd64 host does not pick it (indexFits); alone it is pulled, and may not run.
  return (
    p.architecture === profile.architecture &&
    platformMatches(p, { os: p.os, architecture: profile.architecture })
  );
}

/**
 * Whether the index has an image the profile runs, as its host picks one: for scf, the entry
 * linux/amd64 selects (an index of linux/amd64/v2 alone has none, as containerd finds none).
 */
function indexFits(profile: Profile, platforms: Platform[]): boolean {
  if (!profile.architecture) return platforms.some((p) => fits(profile, p));
  const host = { os: profile.os ?? 'linux', architecture: profile.architecture };
  const chosen = closestPlatform(
    platforms.map((platform) => ({ platform })),
    host,
  );
  return chosen !== undefined && fits(profile, chosen.platform);
}

function wantedOf(profile: Profile): string {
  return profile.architecture ? `${profile.os ?? 'linux'}/${profile.architecture}` : (profile.os ?? 'any');
}

/**
 * Why the image is not what the profile needs: the image's own platform (arm/v7 is 32-bit ARM, not the
 * arm64 an ARM host builds by default) and the one the profile needs; for an index, whether it has arm64.
 */
function builtOn(found: Platform | Platform[] | undefined, profile: Profile, wanted: string): string {
  if (found === undefined) return '';
  const platforms = Array.isArray(found) ? found : [found];
  // The usual way to an arm64 image is building on an ARM host; a windows/amd64 image got there otherwise.
  const arm64 = platforms.some((platform) => normalizePlatform(platform).architecture === 'arm64');
  const armHost = arm64 ? 'Apple silicon and other ARM hosts build arm64 by default' : '';
  if (Array.isArray(found)) return armHost ? ` (${armHost})` : '';
  const image = imageText(formatPlatform(found));
  return ` (the image is ${image}; ${profile.title} need ${wanted}${armHost ? `; ${armHost}` : ''})`;
}

/**
 * The platform the profile runs (scf: linux/amd64, platform-limits.md "architecture"; cloudbase: any
 * Linux, "operating system"). Looks at the selected image and, when the reference named an index, at
 * every platform the index offers, so the fix can say whether the right image is already there.
 */
export const platformCheck: ManifestCheck = (facts, policy) => {
  const { profile } = policy;
  if (!profile.os && !profile.architecture) return undefined;
  const wanted = wantedOf(profile);
  const offered = facts.indexPlatforms?.map(formatPlatform) ?? [];
  // At most 20, each once: an index may list thousands (`actual` keeps them all).
  const offeredText = imageText(platformsText(facts.indexPlatforms ?? []));
  const offersFit = facts.indexPlatforms ? indexFits(profile, facts.indexPlatforms) : false;
  const buildHint = profile.architecture
    ? `build for ${wanted}: \`docker buildx build --platform ${wanted} …\`${builtOn(facts.platform ?? facts.indexPlatforms, profile, wanted)}`
    : `build a ${wanted} image`;

  if (!facts.platform) {
    if (facts.indexPlatforms && !offersFit) {
      return checkResult(
        'platform',
        'fail',
        `the index has no ${wanted} image; it has ${offeredText || 'none'}`,
        {
          actual: offered.join(', ') || null,
          limit: wanted,
          hint: `${buildHint} and push it into the index`,
        },
      );
    }
    return checkResult('platform', 'skip', 'the manifest names no platform', { limit: wanted });
  }

  const actual = formatPlatform(facts.platform);
  if (fits(profile, facts.platform)) {
    const from = facts.indexPlatforms ? ` (selected from an index of ${offeredText})` : '';
    return checkResult('platform', 'pass', `${imageText(actual)}${from}`, { actual, limit: wanted });
  }
  const runs = profile.architecture ? `run ${wanted} only` : `run ${wanted} containers only`;
  let message = `${imageText(actual)} image: ${profile.title} ${runs}`;
  const normalized = normalizePlatform(facts.platform);
  // Only a Linux image of the right architecture is a CPU-level question; windows/amd64 is another OS.
  const newerCpu =
    normalized.architecture === profile.architecture && normalized.os === (profile.os ?? 'linux');
  if (newerCpu && !facts.indexPlatforms) {
    // docker pulls and starts a lone image of a higher variant (with a warning); it then dies of an
    // illegal instruction on a host below that CPU level. Not a refusal, a risk.
    return checkResult(
      'platform',
      'warn',
      `${imageText(actual)} image: ${profile.title} promise ${wanted}; it runs only on hosts with that newer CPU level`,
      {
        actual,
        limit: wanted,
        hint: `build for ${wanted} without a CPU level: \`docker buildx build --platform ${wanted} …\``,
      },
    );
  }
  let hint = newerCpu
    ? `build for ${wanted} without a CPU level: \`docker buildx build --platform ${wanted} …\` (${imageText(actual)} needs a newer CPU than ${wanted} promises)`
    : buildHint;
  if (facts.indexPlatforms) {
    if (offersFit) hint = `the index also has ${wanted}: check that image with --platform ${wanted}`;
    else message += `; the index has no ${wanted} image (it has ${offeredText})`;
  }
  return checkResult('platform', 'fail', message, { actual, limit: wanted, hint });
};
