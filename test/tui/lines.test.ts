import { describe, expect, it } from 'vitest';
import { truncateMiddle } from '../../src/report/fit-table.js';
import { fitLine, line, lineText, seg } from '../../src/tui/view-model/lines.js';

describe('fitLine', () => {
  it('ends a line cut just before a segment in …, so a count after its label does not vanish unseen', () => {
    const size = line(seg('  size ', 'dim'), '2.32 MiB → 181 MiB', seg(' files ', 'dim'), '200200');
    expect(lineText(fitLine(size, 32))).toBe('  size 2.32 MiB → 181 MiB files…');
    expect(lineText(fitLine(size, 31))).toBe('  size 2.32 MiB → 181 MiB file…');
    expect(lineText(fitLine(size, 38))).toBe('  size 2.32 MiB → 181 MiB files 200200');
  });

  it('cuts a name between characters as a reader sees them: never inside a flag or an emoji sequence', () => {
    const family = '👨‍👩‍👧';
    expect(lineText(fitLine(line(`${family}${family}x`), 4))).toBe(`${family}…`);
    expect(lineText(fitLine(line('🇫🇷🇩🇪x'), 4))).toBe('🇫🇷…');
    expect(lineText(fitLine(line('/x/🇫🇷🇩🇪🇮🇹'), 6))).toBe('/x/🇫🇷…');
    // A letter keeps its combining marks (e + U+0301) whether cut at the end or from the middle.
    expect(lineText(fitLine(line('abcde\u0301fg'), 6))).toBe('abcde\u0301…');
    expect(truncateMiddle('ab/cd/e\u0301\u0301fgh', 6)).toBe('ab…fgh');
    expect(truncateMiddle('ab/cd/ee\u0301fgh', 7)).toBe('ab…e\u0301fgh');
  });

  it('leaves a line whose rest is only spaces as it is', () => {
    expect(lineText(fitLine(line('verdict PASS', ' '), 12))).toBe('verdict PASS');
  });
});
