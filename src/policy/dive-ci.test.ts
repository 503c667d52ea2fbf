import { describe, expect, it } from 'vitest';
import { isImgscopeError } from '../errors.js';
import { parseDiveCi } from './dive-ci.js';

/** wagoodman/dive's own example, .data/.dive-ci. */
const DIVE_EXAMPLE = `---
plugins:
  - plugin1

rules:
  # If the efficiency is measured below X%, mark as failed. (expressed as a percentage between 0-1)
  lowestEfficiency: 0.95

  # If the amount of wasted space is at least X or larger than X, mark as failed. (expressed in B, KB, MB, and GB)
  highestWastedBytes: 20Mb

  # If the amount of wasted space makes up for X% of the image, mark as failed. (fail if the threshold is met or crossed; expressed as a percentage between 0-1)
  highestUserWastedPercent: 0.10

  plugin1/rule1: error
`;

/** The README's example. */
const README_EXAMPLE = `rules:
  # If the efficiency is measured below X%, mark as failed.
  # Expressed as a ratio between 0-1.
  lowestEfficiency: 0.95

  # If the amount of wasted space is at least X or larger than X, mark as failed.
  # Expressed in B, KB, MB, and GB.
  highestWastedBytes: 20MB

  # If the amount of wasted space makes up for X% or more of the image, mark as failed.
  # Note: the base image layer is NOT included in the total image size.
  # Expressed as a ratio between 0-1; fails if the threshold is met or crossed.
  highestUserWastedPercent: 0.20
`;

function errorOf(run: () => unknown): { message: string; code: string } {
  try {
    run();
  } catch (error) {
    if (isImgscopeError(error)) return { message: error.message, code: error.code };
    throw error;
  }
  throw new Error('expected an error');
}

describe('parseDiveCi', () => {
  it("reads dive's own example, ignoring plugins and unknown rules", () => {
    expect(parseDiveCi(DIVE_EXAMPLE, '.dive-ci')).toEqual({
      lowestEfficiency: '0.95',
      highestWastedBytes: '20Mb',
      highestUserWastedPercent: '0.10',
    });
  });

  it("reads the README's example", () => {
    expect(parseDiveCi(README_EXAMPLE, '.dive-ci')).toEqual({
      lowestEfficiency: '0.95',
      highestWastedBytes: '20MB',
      highestUserWastedPercent: '0.20',
    });
  });

  it('reads disabled, quoted values, trailing comments, CRLF and keys in any case', () => {
    const text =
      'rules:\r\n    LowestEfficiency: "0.9"   # tight\r\n    highestWastedBytes: disabled\r\n    highestUserWastedPercent: \'0.2\'\r\n';
    expect(parseDiveCi(text, '.dive-ci')).toEqual({
      lowestEfficiency: '0.9',
      highestWastedBytes: 'disabled',
      highestUserWastedPercent: '0.2',
    });
  });

  it('returns nothing for a file without rules', () => {
    expect(parseDiveCi('# nothing yet\n', '.dive-ci')).toEqual({});
    expect(parseDiveCi('plugins:\n- a\n- b\n', '.dive-ci')).toEqual({});
  });

  it('reads the rules written as a one-line flow mapping, as YAML (and so dive) allows', () => {
    const text =
      'rules: {lowestEfficiency: 0.5, \'highestWastedBytes\': "20MB, or so", plugin1/rule1: error}\n';
    expect(parseDiveCi(text, '.dive-ci')).toEqual({
      lowestEfficiency: '0.5',
      highestWastedBytes: '20MB, or so',
    });
    expect(parseDiveCi('rules: {}\nplugins:\n  - a\n', '.dive-ci')).toEqual({});
  });

  it('skips nested content under unknown keys', () => {
    const text =
      'rules:\n  custom:\n    nested: 1\n  lowestEfficiency: 0.5\nother:\n  lowestEfficiency: 0.1\n';
    expect(parseDiveCi(text, '.dive-ci')).toEqual({ lowestEfficiency: '0.5' });
  });

  it('reads a document indented as a whole, as YAML does (the first key sets the top level)', () => {
    const indented =
      '  plugins:\n    - plugin1\n  rules:\n    lowestEfficiency: 0.95\n    highestUserWastedPercent: 0.5\n';
    expect(parseDiveCi(indented, '.dive-ci')).toEqual({
      lowestEfficiency: '0.95',
      highestUserWastedPercent: '0.5',
    });
    expect(parseDiveCi(`---\n${indented}`, '.dive-ci').lowestEfficiency).toBe('0.95');
  });

  it('reads the first YAML document only, as dive does', () => {
    const two = 'rules:\n  lowestEfficiency: 0.9\n---\nrules:\n  highestWastedBytes: 1MB\n';
    expect(parseDiveCi(two, '.dive-ci')).toEqual({ lowestEfficiency: '0.9' });
  });

  it.each([
    [
      '  plugins: x\nrules:\n  lowestEfficiency: 0.9\n',
      '.dive-ci:2: indentation does not match the lines above',
    ],
    ['rules: 0.9\n', '.dive-ci:1: "rules:" must be followed by an indented block of rules'],
    [
      'rules: {lowestEfficiency: 0.9\n  }\n',
      '.dive-ci:1: "rules:" must be followed by an indented block of rules',
    ],
    [
      'rules: {lowestEfficiency}\n',
      '.dive-ci:1: expected "key: value" in the rules, found "lowestEfficiency"',
    ],
    ['rules:\n  lowestEfficiency: [0.9]\n', '.dive-ci:2: lowestEfficiency: unsupported YAML value "[0.9]"'],
    ['rules:\n\tlowestEfficiency: 0.9\n', '.dive-ci:2: tabs are not allowed in YAML indentation'],
    [
      'rules:\n  lowestEfficiency: 0.9\nrules:\n  highestWastedBytes: 1MB\n',
      '.dive-ci:3: "rules" is given twice',
    ],
    ['rules:\n  lowestEfficiency: 0.9\n    highestWastedBytes: 1\n', '.dive-ci:3: unexpected indentation'],
    [
      'rules:\n  lowestEfficiency:\n',
      '.dive-ci:2: lowestEfficiency has no value (use a threshold or "disabled")',
    ],
    [
      'rules:\n  lowestEfficiency: 0.9\n  lowestEfficiency: 0.8\n',
      '.dive-ci:3: lowestEfficiency is set twice',
    ],
    ['rules:\n- lowestEfficiency: 0.9\n', '.dive-ci:2: "rules" must be a mapping, not a list'],
    ['just text\n', '.dive-ci:1: expected "key: value", found "just text"'],
    [`${'x'.repeat(5000)}\n`, `.dive-ci:1: expected "key: value", found "${'x'.repeat(59)}…"`],
    [
      `rules:\n  lowestEfficiency: [${'9'.repeat(5000)}]\n`,
      `.dive-ci:2: lowestEfficiency: unsupported YAML value "[${'9'.repeat(58)}…"`,
    ],
  ])('refuses %j with the line named', (text, message) => {
    expect(errorOf(() => parseDiveCi(text, '.dive-ci'))).toEqual({ code: 'BAD_INPUT', message });
  });
});
