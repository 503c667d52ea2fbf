import { describe, expect, it } from 'vitest';
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
});
