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
  x86: '386',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
};

/** One place for platform aliases: aarch64 and arm64/v8 → arm64, x86_64 and amd64/v1 → amd64, armhf → arm/v7. */
export function normalizePlatform(platform: Platform): Platform {
  const os = platform.os.toLowerCase();
  const rawArch = platform.architecture.toLowerCase();
  const architecture = ARCH_ALIASES[rawArch] ?? rawArch;
  let variant = platform.variant?.toLowerCase() || undefined;
  if (rawArch === 'armhf' && !variant) variant = 'v7';
  if (rawArch === 'armel' && !variant) variant = 'v6';
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined; // x86-64 baseline, as containerd
  if (architecture === 'arm' && !variant) variant = 'v7';
  const normalized: Platform = { os, architecture };
  if (variant) normalized.variant = variant;
  if (platform['os.version']) normalized['os.version'] = platform['os.version'];
  return normalized;
}

/** Parses `os/arch[/variant]` as given to `--platform`. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => part === '')) {
    throw new ImgscopeError('BAD_INPUT', `--platform "${text}" is not os/arch[/variant]`, {
      hint: 'use for example --platform linux/amd64 or --platform linux/arm64/v8',
    });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

export function formatPlatform(platform: Platform): string {
  const p = normalizePlatform(platform);
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Whether an index entry's platform satisfies the wanted one (variant only compared when wanted). */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  const c = normalizePlatform(candidate);
  const w = normalizePlatform(wanted);
  if (c.os !== w.os || c.architecture !== w.architecture) return false;
  if (w.variant && c.variant !== w.variant) return false;
  return true;
}

/**
 * Of the entries that satisfy `wanted`, the one docker and containerd pick: the exact variant first (an
 * index may list linux/amd64/v3 before linux/amd64, which a plain linux/amd64 host needs), else the first.
 */
export function closestPlatform<T extends { platform?: Platform }>(
  entries: T[],
  wanted: Platform,
): T | undefined {
  const w = normalizePlatform(wanted);
  const matching = entries.filter((entry) => entry.platform && platformMatches(entry.platform, w));
  return matching.find((entry) => normalizePlatform(entry.platform!).variant === w.variant) ?? matching[0];
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
