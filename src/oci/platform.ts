import { ImgscopeError } from '../errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  x86: '386',
  i386: '386',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
};

/** One place for platform aliases: aarch64 and arm64/v8 (or v8.0) → arm64, x86_64 and amd64/v1 → amd64, armhf → arm/v7. */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase();
  const rawArch = platform.architecture.toLowerCase();
  const architecture = ARCH_ALIASES[rawArch] ?? rawArch;
  let variant = platform.variant?.toLowerCase() || undefined;
  if (rawArch === 'armhf' && !variant) variant = 'v7';
  if (rawArch === 'armel' && !variant) variant = 'v6';
  // containerd's spellings of the arm64 baseline and of v9: v8.0 is arm64 itself, 9.0 is v9.
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8' || variant === 'v8.0'))
    variant = undefined;
  if (architecture === 'arm64' && (variant === '9' || variant === '9.0' || variant === 'v9.0'))
    variant = 'v9';
  if (architecture === 'arm' && (variant === '5' || variant === '6' || variant === '7' || variant === '8'))
    variant = `v${variant}`;
  if (architecture === '386') variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined; // x86-64 baseline, as containerd
  if (architecture === 'arm' && !variant) variant = 'v7';
  const normalized: Platform = { os, architecture };
  if (variant) normalized.variant = variant;
  if (platform['os.version']) normalized['os.version'] = platform['os.version'];
  return normalized;
}

/**
 * One part of `os/arch[/variant]`, as containerd's platforms.Parse allows it: letters, digits, `_`, `-`.
 * A variant may also hold a dot: arm64's `v8.2` is one, which closestPlatforms matches.
 */
const PLATFORM_PART = /^[A-Za-z0-9_-]+$/;
const VARIANT_PART = /^[A-Za-z0-9_.-]+$/;

/** What a part of a platform may hold, for error messages. */
export const PLATFORM_PART_SYNTAX = 'use letters, digits, _ or - between the slashes';

/** Parses `os/arch[/variant]` as given to `--platform`. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/');
  const wellFormed =
    parts.length >= 2 &&
    parts.length <= 3 &&
    parts.every((part, i) => (i === 2 ? VARIANT_PART : PLATFORM_PART).test(part));
  if (!wellFormed) {
    throw new ImgscopeError('BAD_INPUT', `--platform "${text}" is not os/arch[/variant]`, {
      hint: `${PLATFORM_PART_SYNTAX}, for example --platform linux/amd64 or --platform linux/arm64/v8`,
    });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

export function formatPlatform(platform: Platform): string {
  const p = normalizePlatform(platform);
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Platforms named in one message at most: an index may list thousands, and an error stays one readable line. */
const MESSAGE_PLATFORMS = 20;

/** The platforms of index entries for a message: each once, in index order, the first 20 and how many more. */
export function platformsText(platforms: Platform[]): string {
  const distinct = [...new Set(platforms.map(formatPlatform))];
  const named = distinct.slice(0, MESSAGE_PLATFORMS).join(', ');
  const more = distinct.length - MESSAGE_PLATFORMS;
  return more > 0 ? `${named} and ${more} more` : named;
}

/** 3 for `v3`; NaN for no variant or another form, which has no lower variants. */
function level(variant: string | undefined): number {
  const match = /^v(\d+)$/.exec(variant ?? '');
  return match ? Number(match[1]) : Number.NaN;
}

/**
 * What a host of platform `w` runs, best first: containerd's `platforms.Only`. amd64/vN also runs
 * amd64/vN-1 … v1, and 386; arm/vN runs arm/vN-1 … v5; arm64 runs the arm64 minor versions below it and
 * 32-bit arm/v8 … v5. Never a higher variant than the one asked for.
 */
function compatible(w: Platform): Platform[] {
  const vector: Platform[] = [w];
  const of = (architecture: string, variant?: string): Platform =>
    normalizePlatform(variant ? { os: w.os, architecture, variant } : { os: w.os, architecture });
  if (w.architecture === 'amd64') {
    for (let v = level(w.variant) - 1; v >= 1; v--) vector.push(of('amd64', `v${v}`));
    vector.push(of('386'));
  } else if (w.architecture === 'arm') {
    for (let v = level(w.variant) - 1; v >= 5; v--) vector.push(of('arm', `v${v}`));
  } else if (w.architecture === 'arm64') {
    const variant = w.variant ?? 'v8';
    const parts = /^v(\d+)(?:\.(\d))?$/.exec(variant);
    let major = parts ? Number(parts[1]) : Number.NaN;
    let minor = parts?.[2] ? Number(parts[2]) : 0;
    if (major >= 8) {
      const push = (maj: number, min: number) => vector.push(of('arm64', min ? `v${maj}.${min}` : `v${maj}`));
      if (major === 9) {
        for (let m = minor - 1; m >= 0; m--) push(9, m);
        // v9.0 diverged from v8.5: v9.x runs v8.{x+5}, up to v8.9.
        minor = Math.min(minor + 5, 9);
        major = 8;
        push(8, minor);
      }
      for (let m = minor - 1; m >= 0; m--) push(major, m);
    }
    const arm = variant.startsWith('v8.') || variant.startsWith('v9.') ? 'v8' : variant;
    vector.push(...compatible(of('arm', arm)));
  }
  return vector;
}

function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && a.variant === b.variant;
}

/**
 * Whether an index entry's platform runs where `wanted` does, by containerd's `platforms.Only`: the exact
 * platform or a lower variant of it (linux/arm/v7 takes arm/v6), never a higher one.
 */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  const c = normalizePlatform(candidate);
  return compatible(normalizePlatform(wanted)).some((p) => samePlatform(p, c));
}

/**
 * The entries docker and containerd prefer for `wanted`: those of the exact platform, else of the closest
 * lower variant (an index may list linux/amd64/v3 before linux/amd64, which a plain linux/amd64 host needs).
 */
export function closestPlatforms<T extends { platform?: Platform }>(entries: T[], wanted: Platform): T[] {
  for (const p of compatible(normalizePlatform(wanted))) {
    const matching = entries.filter(
      (entry) => entry.platform && samePlatform(normalizePlatform(entry.platform), p),
    );
    if (matching.length > 0) return matching;
  }
  return [];
}

/** The entry docker and containerd pick for `wanted`: of the closest platform, the first listed. */
export function closestPlatform<T extends { platform?: Platform }>(
  entries: T[],
  wanted: Platform,
): T | undefined {
  return closestPlatforms(entries, wanted)[0];
}

/**
 * Why a single-manifest image does not satisfy a platform asked for by name (undefined when it does), by
 * the rules an index entry is matched with: `docker pull --platform` refuses such an image too.
 */
export function platformMismatch(
  label: string,
  actual: Platform,
  wanted: Platform,
  origin = '--platform',
): { message: string; hint: string } | undefined {
  if (platformMatches(actual, wanted)) return undefined;
  const requested = formatPlatform(wanted);
  const drop = origin === '--platform' ? 'drop --platform' : `remove "platform" from ${origin}`;
  return {
    message: `${label}: the image is ${formatPlatform(actual)}, not the requested ${requested}`,
    hint: `${drop} to take the image as it is, or pick a tag built for ${requested}`,
  };
}
