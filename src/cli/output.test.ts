import { describe, expect, it } from 'vitest';
import { colorEnabled } from './output.js';

describe('colorEnabled', () => {
  const terminal = { isTTY: true };
  const pipe = { isTTY: false };

  it('colours a terminal unless NO_COLOR is set or TERM is dumb, and never a pipe by itself', () => {
    expect(colorEnabled(terminal, {})).toBe(true);
    expect(colorEnabled(terminal, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled(terminal, { TERM: 'dumb' })).toBe(false);
    expect(colorEnabled(pipe, {})).toBe(false);
  });

  it('lets FORCE_COLOR decide first, as Node reads it', () => {
    for (const on of ['', '1', '2', '3', 'true']) {
      expect(colorEnabled(pipe, { FORCE_COLOR: on }), `FORCE_COLOR=${on}`).toBe(true);
      expect(colorEnabled(terminal, { FORCE_COLOR: on, NO_COLOR: '1' }), `FORCE_COLOR=${on}`).toBe(true);
    }
    for (const off of ['0', 'false', 'yes']) {
      expect(colorEnabled(terminal, { FORCE_COLOR: off }), `FORCE_COLOR=${off}`).toBe(false);
    }
  });
});
