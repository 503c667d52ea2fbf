import { ImgscopeError } from '../errors.js';
import { PLATFORM_PART_SYNTAX, type Platform, parsePlatform } from '../oci/platform.js';
import type { FailOn } from './policy.js';
import { isProfileName, PROFILE_NAMES, type ProfileName } from './profiles.js';
import { isSizeTooLarge, parseMemoryMiB, parseSize, SIZE_SYNTAX, whyNotASize } from './sizes.js';

/**
 * Readers for one configured value, shared by flags, `imgscope.config.json` and `.dive-ci`. Each takes
 * the raw value and `where` it came from (`--max-layers`, `imgscope.config.json:5:5: "budgets.maxLayers"`)
 * and returns the value or throws a one-line BAD_INPUT error naming both.
 */

function shown(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) ?? String(value));
}

function bad(where: string, value: unknown, expected: string, hint: string): ImgscopeError {
  return new ImgscopeError('BAD_INPUT', `${where}: ${shown(value)} is not ${expected}`, { hint });
}

/** Bytes from a non-negative whole number or a size string (sizes.ts). */
function sizeOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  return typeof value === 'string' ? parseSize(value) : undefined;
}

export function readSize(value: unknown, where: string): number {
  const bytes = sizeOf(value);
  if (bytes === undefined && typeof value === 'string' && isSizeTooLarge(value)) {
    throw new ImgscopeError('BAD_INPUT', `${where}: ${shown(value)} ${whyNotASize(value)}`, {
      hint: 'write for example 300MB, 300MiB or 1GiB',
    });
  }
  if (bytes === undefined) throw bad(where, value, SIZE_SYNTAX, 'write for example 300MB, 300MiB or 1GiB');
  return bytes;
}

export function readCount(value: unknown, where: string): number {
  const count = typeof value === 'string' && /^\s*[0-9]+\s*$/.test(value) ? Number(value) : value;
  if (typeof count === 'number' && Number.isInteger(count) && !Number.isSafeInteger(count)) {
    throw new ImgscopeError('BAD_INPUT', `${where}: ${shown(value)} is too large`, {
      hint: 'write for example 20',
    });
  }
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
    throw bad(where, value, 'a whole number, 0 or more', 'write for example 20');
  }
  return count;
}

/** Function memory in whole MiB: `512`, `"512MiB"`, `"1GiB"` (sizes.ts, parseMemoryMiB). */
export function readMemory(value: unknown, where: string): number {
  const mib =
    typeof value === 'number'
      ? Number.isSafeInteger(value) && value > 0
        ? value
        : undefined
      : typeof value === 'string'
        ? parseMemoryMiB(value)
        : undefined;
  if (mib === undefined) {
    throw bad(
      where,
      value,
      'a memory size in MiB',
      'write the function memory in MiB, for example 512 or 1GiB',
    );
  }
  return mib;
}

export function readProfile(value: unknown, where: string): ProfileName {
  if (typeof value === 'string' && isProfileName(value)) return value;
  throw bad(where, value, 'a profile', `use one of ${PROFILE_NAMES.join(', ')}`);
}

export function readFailOn(value: unknown, where: string): FailOn {
  if (value === 'fail' || value === 'warn') return value;
  throw bad(
    where,
    value,
    '"fail" or "warn"',
    'use fail (only failed checks fail) or warn (warnings fail too)',
  );
}

export function readPlatform(value: unknown, where: string): Platform {
  if (typeof value === 'string') {
    try {
      return parsePlatform(value);
    } catch {
      // parsePlatform names the flag; say where this value came from instead.
    }
  }
  throw bad(
    where,
    value,
    'os/arch[/variant]',
    `${PLATFORM_PART_SYNTAX}, for example linux/amd64 or linux/arm64/v8`,
  );
}

/** dive's three CI rules. */
export type DiveRuleKey = 'lowestEfficiency' | 'highestWastedBytes' | 'highestUserWastedPercent';

export const DIVE_RULE_KEYS: readonly DiveRuleKey[] = [
  'lowestEfficiency',
  'highestWastedBytes',
  'highestUserWastedPercent',
];

/** A decimal number as Go's strconv.ParseFloat reads one (no hex, no Inf/NaN: they make no threshold). */
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

type RatioRuleKey = Exclude<DiveRuleKey, 'highestWastedBytes'>;

/** dive's defaults: an example that reads as what the rule means (0.9 would let 90 % waste pass). */
const RATIO_EXAMPLES: Readonly<Record<RatioRuleKey, string>> = {
  lowestEfficiency: '0.9',
  highestUserWastedPercent: '0.1',
};

function readRatio(value: unknown, where: string, key: RatioRuleKey): number {
  const ratio =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && DECIMAL.test(value.trim())
        ? Number(value)
        : NaN;
  // dive's validators: both ratios must lie in 0–1 (highestUserWastedPercent too, despite its name).
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    // A percentage written as one (20 for 20 %) is the likely slip: name the ratio it meant, exactly
    // (the decimal point moved, not ratio / 100 rounded: 99.999 % is no 1). Below 100, String() has no exponent.
    const fix =
      ratio > 1 && ratio <= 100
        ? `write ${Number(`${ratio}e-2`)} for ${ratio} %`
        : `for example ${RATIO_EXAMPLES[key]}`;
    throw bad(where, value, `a ratio from 0 to 1 or "disabled"`, `${key} is a ratio as in dive: ${fix}`);
  }
  return ratio;
}

/** A dive rule value with dive's validation: `disabled`, a 0–1 ratio, or (highestWastedBytes) a size. */
export function readRule(key: DiveRuleKey, value: unknown, where: string): number | 'disabled' {
  if (value === 'disabled') return 'disabled';
  if (key === 'highestWastedBytes') {
    const bytes = sizeOf(value);
    if (bytes === undefined) {
      throw bad(where, value, `${SIZE_SYNTAX}, or "disabled"`, 'write for example 20MB, as in dive');
    }
    return bytes;
  }
  return readRatio(value, where, key);
}
