import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { charactersOf, truncateEnd, truncateMiddle, wrapToWidth } from './fit-table.js';

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

  it('wraps a path of a megabyte in one pass', () => {
    const path = `/${'b'.repeat(1_000_000)}`;
    const started = performance.now();
    const lines = wrapToWidth(path, 90);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(lines.join('')).toBe(path);
    expect(lines).toHaveLength(Math.ceil(path.length / 90));
  });

  it('wraps and cuts a megabyte of CJK in one pass too', () => {
    // A command from a hostile image's config: Node's segmenter took 19 s for 128,000 such characters.
    const command = '中文字符'.repeat(250_000);
    const started = performance.now();
    const lines = wrapToWidth(command, 90);
    expect(truncateEnd(command, 40)).toBe(`${command.slice(0, 19)}…`);
    expect(truncateMiddle(command, 41)).toBe(`${command.slice(0, 8)}…${command.slice(-12)}`);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(lines.join('')).toBe(command);
  });

  it('splits long text into the same characters as short text, across its pieces', () => {
    const unit = 'a👨‍👩‍👧‍👦🇯🇵e\u0301中';
    const text = unit.repeat(300);
    const characters = charactersOf(text);
    expect(characters.join('')).toBe(text);
    expect(characters).toEqual(Array.from({ length: 300 }, () => charactersOf(unit)).flat());
  });

  it('gives a character wider than the line a line of its own instead of looping', () => {
    expect(wrapToWidth('a 中文 b', 1)).toEqual(['a', '中', '文', 'b']);
  });
});
