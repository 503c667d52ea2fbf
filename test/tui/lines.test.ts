import { describe, expect, it } from 'vitest';
import { fitLine, line, lineText, seg } from '../../src/tui/view-model/lines.js';

describe('fitLine', () => {
  it('ends a line cut just before a segment in …, so a count after its label does not vanish unseen', () => {
    const size = line(seg('  size ', 'dim'), '2.32 MiB → 181 MiB', seg(' files ', 'dim'), '200200');
    expect(lineText(fitLine(size, 32))).toBe('  size 2.32 MiB → 181 MiB files…');
    expect(lineText(fitLine(size, 31))).toBe('  size 2.32 MiB → 181 MiB file…');
    expect(lineText(fitLine(size, 38))).toBe('  size 2.32 MiB → 181 MiB files 200200');
  });

  it('leaves a line whose rest is only spaces as it is', () => {
    expect(lineText(fitLine(line('verdict PASS', ' '), 12))).toBe('verdict PASS');
  });
});
