import { describe, expect, it, vi } from 'vitest';
import { truncate } from './format.js';

describe('truncate', () => {
  it('keeps text that fits, and cuts longer text to the width with an ellipsis', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdefg', 6)).toBe('abcde…');
  });

  it('never cuts a character in half: a surrogate pair, a flag, a ZWJ sequence, an accent', () => {
    expect(truncate('abcd😀xyz', 6)).toBe('abcd…');
    expect(truncate('abc🇩🇪xyz', 6)).toBe('abc…');
    expect(truncate('ab👩‍💻xyz', 6)).toBe('ab…');
    expect(truncate('abcde\u0301xyz', 6)).toBe('abcd…');
  });

  it('keeps a character that ends exactly at the cut', () => {
    expect(truncate('abc😀xyz', 6)).toBe('abc😀…');
  });

  it('builds its grapheme segmenter only for a cut: ICU sets it up in ~10 ms, on every run if built at load', async () => {
    const Original = Intl.Segmenter;
    let built = 0;
    class Counting extends Original {
      constructor(...args: ConstructorParameters<typeof Original>) {
        super(...args);
        built++;
      }
    }
    Object.defineProperty(Intl, 'Segmenter', { value: Counting, configurable: true, writable: true });
    try {
      vi.resetModules();
      const fresh = await import('./format.js');
      expect(fresh.truncate('abcdef', 6)).toBe('abcdef');
      expect(fresh.shortCommand('/bin/sh -c apt-get update')).toBe('RUN apt-get update');
      expect(built).toBe(0);
      expect(fresh.truncate('abc🇩🇪xyz', 6)).toBe('abc…');
      expect(fresh.truncate('abcdefgh', 6)).toBe('abcde…');
      expect(built).toBe(1);
    } finally {
      Object.defineProperty(Intl, 'Segmenter', { value: Original, configurable: true, writable: true });
    }
  });
});
