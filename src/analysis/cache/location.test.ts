import { describe, expect, it } from 'vitest';
import { ANALYSER_REVISION } from './location.js';

/**
 * Each parse rule that changed what a layer's bytes yield, with the revision that keeps entries parsed
 * before it apart. A cached analysis of an older rule would pass a layer the rule now fails.
 */
const PARSE_RULES: readonly [revision: number, rule: string][] = [
  [9, 'the layer entry format holds the blob size'],
  [
    10,
    'a stream ending inside a header block, PATH_MAX in bytes and a hardlink into aufs’s link folder fail',
  ],
];

describe('ANALYSER_REVISION', () => {
  it('is the revision of the latest parse rule, so no entry parsed under an older rule is read', () => {
    expect(ANALYSER_REVISION).toBe(Math.max(...PARSE_RULES.map(([revision]) => revision)));
  });
});
