/**
 * Byte sizes as people write them in flags, `imgscope.config.json` and dive's `.dive-ci`.
 *
 * Parsing follows dive, which reads `highestWastedBytes` with go-humanize's `ParseBytes`: a decimal
 * number (commas allowed as thousands separators) then an optional, case-insensitive unit, optionally
 * after spaces. `KB`/`MB`/`GB`… and the bare `K`/`M`/`G`… are SI (powers of 1000); `KiB`/`MiB`/`GiB`…
 * and `Ki`/`Mi`/`Gi`… are IEC (powers of 1024); no unit or `B` means bytes. Units run to peta; humanize's
 * exa and above exceed the bytes a number holds exactly, so they are refused. A number of bytes (no unit,
 * or `B`) must be whole: humanize reads `1.5` as 1 byte, but a budget of 1 byte is a unit left out, so
 * it is refused. A larger unit's fraction of a byte (`1.3GiB`) is dropped, as humanize does. So a
 * `.dive-ci` that says `20MB` means 20,000,000 bytes here as in dive.
 *
 * The platform document's "MB" is a different matter, settled in `profiles.ts`.
 */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

const UNIT_FACTORS: ReadonlyMap<string, number> = new Map([
  ['', 1],
  ['b', 1],
  ['k', 1e3],
  ['kb', 1e3],
  ['ki', KiB],
  ['kib', KiB],
  ['m', 1e6],
  ['mb', 1e6],
  ['mi', MiB],
  ['mib', MiB],
  ['g', 1e9],
  ['gb', 1e9],
  ['gi', GiB],
  ['gib', GiB],
  ['t', 1e12],
  ['tb', 1e12],
  ['ti', 1024 * GiB],
  ['tib', 1024 * GiB],
  ['p', 1e15],
  ['pb', 1e15],
  ['pi', 1024 ** 5],
  ['pib', 1024 ** 5],
]);

const SIZE_PATTERN = /^([0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)\s*([a-z]*)$/i;

/** Bytes for `300MB`, `300MiB`, `1GiB`, `1.5GB`, `20Mb`, `1,000`, `42`; undefined when it is not a size (`1.5`). */
export function parseSize(text: string): number | undefined {
  const bytes = exactBytes(text);
  return bytes !== undefined && bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : undefined;
}

/** A size written as one, but past what a number holds exactly (2^53 − 1 bytes, about 8 PiB). */
export function isSizeTooLarge(text: string): boolean {
  const bytes = exactBytes(text);
  return bytes !== undefined && bytes > BigInt(Number.MAX_SAFE_INTEGER);
}

/** Why parseSize refused `text`, to follow the text in a message. */
export function whyNotASize(text: string): string {
  return isSizeTooLarge(text) ? 'is too large (at most 8 PiB)' : 'is not a size';
}

function exactBytes(text: string): bigint | undefined {
  const match = SIZE_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, number, unit] = match as unknown as [string, string, string];
  const factor = UNIT_FACTORS.get(unit.toLowerCase());
  if (factor === undefined) return undefined;
  // In exact decimal arithmetic: as a double, 2.01 × 1e9 is 2,009,999,999.9999998, one byte short.
  const [whole = '', fraction = ''] = number.replaceAll(',', '').split('.');
  if (factor === 1 && /[1-9]/.test(fraction)) return undefined;
  const scale = 10n ** BigInt(fraction.length);
  return ((BigInt(whole || '0') * scale + BigInt(fraction || '0')) * BigInt(factor)) / scale;
}

/** What a size should look like, for error messages. */
export const SIZE_SYNTAX = 'a size such as 300MB, 300MiB, 1.5GB, 1GiB or a whole number of bytes';

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * Every size imgscope prints: `512 B`, `1.50 KiB`, `30.5 MiB`, `255 MiB`, binary units with three
 * significant digits, rounded. Exact sizes (limits, mostly) print bare: `1 GiB`, `16 KiB`. A size that
 * rounds up to 1024 of a unit is said in the next one (1 GiB − 1 B is `1.00 GiB`).
 */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  if (value < KiB) return `${sign}${value} B`;
  let unit = -1;
  while (value >= KiB && unit < UNITS.length - 1) {
    value /= KiB;
    unit++;
  }
  if (Number.isInteger(value)) return `${sign}${value} ${UNITS[unit]}`;
  let digits = threeDigits(value);
  if (Number(digits) >= 1024 && unit < UNITS.length - 1) {
    unit++;
    digits = threeDigits(value / KiB);
  }
  return `${sign}${digits} ${UNITS[unit]}`;
}

/** 1.23, 12.3, 123: as many decimals as leave three digits once rounded (9.996 is 10.0, not 10.00). */
function threeDigits(value: number): string {
  for (const decimals of [2, 1]) {
    const text = value.toFixed(decimals);
    if (Number(text) < 10 ** (3 - decimals)) return text;
  }
  return value.toFixed(0);
}

/** The bytes a printed size reads as: `1.00 GiB` and `1 GiB` read the same. */
function readAs(bytes: number): number | undefined {
  return parseSize(formatSize(bytes));
}

/**
 * `actual` and `limit` for a message that shows them side by side: rounded like every size, unless
 * rounding makes them read the same when they are not (256 MiB − 1 B beside a 256 MiB limit, a budget
 * of 299,999,999 B beside 300,000,000 B) — then in exact bytes, the limit too unless it prints exactly.
 */
export function formatSizePair(actual: number, limit: number): { actual: string; limit: string } {
  if (actual === limit || readAs(actual) !== readAs(limit)) {
    return { actual: formatSize(actual), limit: formatSize(limit) };
  }
  const exact = (bytes: number) =>
    readAs(bytes) === bytes ? formatSize(bytes) : `${bytes.toLocaleString('en-US')} B`;
  return { actual: `${actual.toLocaleString('en-US')} B`, limit: exact(limit) };
}

/** `actual` beside a limit printed exactly (`1 GiB`): formatSizePair's `actual`. */
export function formatSizeBeside(actual: number, limit: number): string {
  return formatSizePair(actual, limit).actual;
}

/**
 * What a compressed size leaves out of the manifest's listing, said beside it (empty when nothing): the
 * size is what the registry stores, as the platform measures it (see `storedSize`).
 */
export function uncountedNote(uncounted: { foreign: number; repeated: number } | undefined): string {
  const { foreign = 0, repeated = 0 } = uncounted ?? {};
  const parts = [
    ...(foreign > 0 ? [`${formatSize(foreign)} of foreign layers the registry does not store`] : []),
    ...(repeated > 0 ? [`${formatSize(repeated)} of layers listed again, stored once`] : []),
  ];
  return parts.length > 0 ? `; not counted: ${parts.join(', ')}` : '';
}

/** Function memory as SCF configures it, in MiB: `512`, `512MiB`, `1GiB`, `1024MB` (see profiles.ts). */
export function parseMemoryMiB(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^[0-9]+$/.test(trimmed)) {
    const mib = Number(trimmed);
    return Number.isSafeInteger(mib) && mib > 0 ? mib : undefined;
  }
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*(mb|mib|m|mi|gb|gib|g|gi)$/i.exec(trimmed);
  if (!match) return undefined;
  const value = Number(match[1]);
  // The platform names memory in "MB" meaning MiB (profiles.ts); a user echoing it means the same.
  const mib = /^g/i.test(match[2]!) ? value * 1024 : value;
  return Number.isSafeInteger(mib) && mib > 0 ? mib : undefined;
}
