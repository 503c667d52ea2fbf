import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { parseCommandLine } from '../args.js';
import type { Output } from '../output.js';

// A uid without an account entry, HOME unset: no home folder to put ~/.cache in.
vi.mock('../../home.js', async (original) => ({
  ...(await original<typeof import('../../home.js')>()),
  homeDirectory: () => undefined,
}));

const { analysisCachesOf, runCache } = await import('./cache.js');

function output(env: NodeJS.ProcessEnv): Output {
  return {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    env,
    cwd: '/work',
  };
}

describe('the cache folder without a home folder', () => {
  it('is no cache for an analysis, with one warning saying how to name one', () => {
    const lines: string[] = [];
    const args = parseCommandLine(['check', 'fixtures/demo']);
    expect(analysisCachesOf(args.options, output({}), (line) => lines.push(line))).toBeUndefined();
    expect(lines).toEqual([
      expect.stringMatching(/^imgscope: warning: no folder for the layer cache: .*--cache-dir DIR/),
    ]);
    expect(lines[0]!.trimEnd().split('\n')).toHaveLength(1);
  });

  it('is found from XDG_CACHE_HOME or --cache-dir all the same', () => {
    const args = parseCommandLine(['check', 'fixtures/demo']);
    expect(analysisCachesOf(args.options, output({ XDG_CACHE_HOME: '/x' }))?.layers.directory).toMatch(
      /^\/x\/imgscope\//,
    );
    const flagged = parseCommandLine(['check', '--cache-dir', '/c', 'fixtures/demo']);
    expect(analysisCachesOf(flagged.options, output({}))?.layers.directory).toMatch(/^\/c\//);
  });

  it('refuses cache ls and prune as bad input naming the fix', async () => {
    for (const action of ['ls', 'prune']) {
      await expect(runCache(parseCommandLine(['cache', action]), output({}))).rejects.toMatchObject({
        message: expect.stringContaining('no folder for the layer cache'),
        hint: expect.stringContaining('XDG_CACHE_HOME'),
      });
    }
  });
});
