import { describe, expect, it } from 'vitest';
import {
  formatSize,
  formatSizeBeside,
  GiB,
  KiB,
  MiB,
  parseMemoryMiB,
  parseSize,
  whyNotASize,
} from './sizes.js';

describe('parseSize', () => {
  it('reads SI units as powers of 1000 and IEC units as powers of 1024', () => {
    expect(parseSize('300MB')).toBe(300_000_000);
    expect(parseSize('300MiB')).toBe(300 * MiB);
    expect(parseSize('1GiB')).toBe(GiB);
    expect(parseSize('1.5GB')).toBe(1_500_000_000);
    expect(parseSize('2KiB')).toBe(2048);
  });

  it('takes raw bytes, with or without B', () => {
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('42B')).toBe(42);
    expect(parseSize('0')).toBe(0);
  });

  // go-humanize's ParseBytes table (what dive uses for highestWastedBytes).
  it.each([
    ['42MB', 42000000],
    ['42MiB', 44040192],
    ['42mb', 42000000],
    ['42mib', 44040192],
    ['42MIB', 44040192],
    ['42 MB', 42000000],
    ['42 MiB', 44040192],
    ['42.5MB', 42500000],
    ['42.5MiB', 44564480],
    ['42M', 42000000],
    ['42Mi', 44040192],
    ['42 mi', 44040192],
    ['42.5 Mi', 44564480],
    ['20Mb', 20000000],
    ['1,000', 1000],
    ['2PB', 2e15],
    ['2 PiB', 2 * 1024 ** 5],
    ['2p', 2e15],
    ['2pi', 2 * 1024 ** 5],
  ])('parses %s as humanize does (%d)', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it('refuses a fraction of a byte in a number of bytes, where a unit was surely left out', () => {
    for (const text of ['1.5', '0.5', '1.5B', '1,000.25', '.5', '1.5 b'])
      expect(parseSize(text)).toBeUndefined();
    expect(parseSize('1.0')).toBe(1);
    expect(parseSize('42.B')).toBe(42);
  });

  it('drops the fraction of a byte a larger unit leaves, as humanize does', () => {
    expect(parseSize('1.5KB')).toBe(1500);
    expect(parseSize('1.0000001KB')).toBe(1000);
    expect(parseSize('1.3GiB')).toBe(1_395_864_371);
  });

  it('is exact where a floating-point product falls a hair short of a whole byte', () => {
    expect(parseSize('2.01GB')).toBe(2_010_000_000);
    expect(parseSize('2.01MB')).toBe(2_010_000);
    expect(parseSize('4.35MB')).toBe(4_350_000);
    expect(parseSize('0.29KB')).toBe(290);
    expect(parseSize('1,234.5KB')).toBe(1_234_500);
    expect(parseSize('.5KiB')).toBe(512);
    expect(parseSize('8PiB')).toBeUndefined(); // 2^53: past what a number holds exactly
  });

  it.each(['', 'MB', '84 JB', '-1MB', 'ten', '1e3', '1MB extra', 'disabled'])('refuses %j', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe('whyNotASize', () => {
  it('tells a size past 8 PiB from text that is no size', () => {
    expect(parseSize('10PB')).toBeUndefined();
    expect(whyNotASize('10PB')).toBe('is too large (at most 8 PiB)');
    expect(whyNotASize('99999999999999999999')).toBe('is too large (at most 8 PiB)');
    expect(parseSize('8PB')).toBe(8e15);
    expect(whyNotASize('10XB')).toBe('is not a size');
  });
});

describe('formatSize', () => {
  it('uses binary units with three significant digits, exact sizes bare', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1536)).toBe('1.50 KiB');
    expect(formatSize(30 * MiB)).toBe('30 MiB');
    expect(formatSize(30.5 * MiB)).toBe('30.5 MiB');
    expect(formatSize(255 * MiB)).toBe('255 MiB');
    expect(formatSize(GiB)).toBe('1 GiB');
    expect(formatSize(1.3671875 * GiB)).toBe('1.37 GiB');
  });

  it('rounds to the nearest, never truncates', () => {
    expect(formatSize(6000)).toBe('5.86 KiB');
    expect(formatSize(8405)).toBe('8.21 KiB');
    expect(formatSize(10 * MiB - 1)).toBe('10.0 MiB');
    expect(formatSize(100 * KiB - 1)).toBe('100 KiB');
    expect(formatSize(GiB - 1)).toBe('1.00 GiB');
    expect(formatSize(-1536)).toBe('-1.50 KiB');
  });

  it('beside a limit, says a size that rounds to the limit in exact bytes', () => {
    expect(formatSizeBeside(256 * MiB - 1, 256 * MiB)).toBe('268,435,455 B');
    expect(formatSizeBeside(256 * MiB, 256 * MiB)).toBe('256 MiB');
    expect(formatSizeBeside(200 * MiB + 1, 256 * MiB)).toBe('200 MiB');
    // Rounded into the next unit, 1 GiB − 1 B reads "1.00 GiB": still the limit to a reader.
    expect(formatSizeBeside(GiB - 1, GiB)).toBe('1,073,741,823 B');
  });
});

describe('parseMemoryMiB', () => {
  it('reads MiB, and the platform\'s "MB", which means MiB', () => {
    expect(parseMemoryMiB('512')).toBe(512);
    expect(parseMemoryMiB('512MiB')).toBe(512);
    expect(parseMemoryMiB('512MB')).toBe(512);
    expect(parseMemoryMiB('1GiB')).toBe(1024);
    expect(parseMemoryMiB('1.5GB')).toBe(1536);
  });

  it.each(['0', '', 'lots', '0.5MiB', '512KB', '-256', '99999999999999999999'])('refuses %j', (text) => {
    expect(parseMemoryMiB(text)).toBeUndefined();
  });
});
