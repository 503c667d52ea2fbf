import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleMetafile, EXPLORER_MODULE, modulesLoaded } from '../../bench/bundle-modules.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared.js';

const work = mkdtempSync(join(tmpdir(), 'imgscope-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The modules a CLI run loads: every file it resolves, a bundle chunk counting as the modules in it. */
async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const list = join(work, `modules-${args.join('-').replace(/\W+/g, '_')}.txt`);
  const result = await runCli(args, {
    env: {
      NODE_OPTIONS: `--import ${pathToFileURL(join(projectRoot, 'bench', 'probe.js')).href}`,
      IMGSCOPE_BENCH_MODULES: list,
      IMGSCOPE_NO_CACHE: '1',
    },
  });
  expect(result.stderr).toBe('');
  return modulesLoaded(readFileSync(list, 'utf8').split('\n'), projectRoot);
}

describe('the bundled CLI (dist/bundle)', () => {
  it('prints the version of package.json, which the bundle carries as a constant', async () => {
    const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`imgscope ${version}`);
  });

  it('runs `check` from bundle files, and loads none of the explorer (Ink, React) for it', async () => {
    const modules = await modulesLoadedBy(['check', '--json', '--profile', 'none', 'fixtures/demo']);
    expect(modules).toContain('dist/cli/commands/check.js');
    expect(modules).toContain('dist/analysis/analyze.js');
    expect(modules.filter((path) => EXPLORER_MODULE.test(path))).toEqual([]);
    expect(modules.filter((path) => path.includes('render-table'))).toEqual([]);
  });

  it('keeps the explorer in chunks of its own, out of the entry every command loads', () => {
    const withExplorer = Object.entries(bundleMetafile(projectRoot).outputs)
      .filter(([, output]) => Object.keys(output.inputs).some((path) => EXPLORER_MODULE.test(path)))
      .map(([path]) => path);
    expect(withExplorer).toEqual(expect.arrayContaining([expect.stringMatching(/^dist\/bundle\/chunks\//)]));
    expect(withExplorer).not.toContain('dist/bundle/main.js');
  });

  it('with --debug, prints a stack trace that names the TypeScript sources, through the source maps', async () => {
    const result = await runCli(['check', '--debug', 'fixtures/no-such-layout']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^imgscope: .*no-such-layout/m);
    expect(result.stderr).toMatch(/\bat .*src\/[\w/-]+\.ts:\d+:\d+/);
    expect(result.stderr).not.toContain('dist/bundle/');
  });

  it('without --debug, prints one line and no stack', async () => {
    const result = await runCli(['check', 'fixtures/no-such-layout']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('says how to build when a checkout was never built, with exit 2', () => {
    const checkout = join(work, 'unbuilt');
    mkdirSync(join(checkout, 'bin'), { recursive: true });
    copyFileSync(join(projectRoot, 'bin', 'imgscope'), join(checkout, 'bin', 'imgscope'));
    const result = spawnSync(process.execPath, [join(checkout, 'bin', 'imgscope'), '--version'], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `imgscope: ${join(checkout, 'dist', 'bundle', 'main.js')} is missing — run npm install (or npm run build) in ${checkout}/\n`,
    );
  });
});
