import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { wrapToWidth } from './fit-table.js';

describe('wrapToWidth', () => {
  it('breaks at spaces, and inside a word only when the word alone is too wide', () => {
    expect(wrapToWidth('one two three four', 9)).toEqual(['one two', 'three', 'four']);
    expect(wrapToWidth('/a/very/long/path x', 8)).toEqual(['/a/very/', 'long/pat', 'h x']);
    expect(wrapToWidth('fits', 10)).toEqual(['fits']);
  });

  it('counts display columns, so wide characters never overflow a line', () => {
    const lines = wrapToWidth('日本語のファイル名 /opt/データ/設定.json', 10);
    expect(lines.join('')).toBe('日本語のファイル名/opt/データ/設定.json');
    for (const line of lines) expect(stringWidth(line)).toBeLessThanOrEqual(10);
  });
});
