import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONCURRENCY } from '../../src/analysis/analyze.js';
import { COMMAND_OPTIONS } from '../../src/cli/args.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared.js';

/** The variables the README's Environment table names, in its first column. */
function readmeEnvironmentVariables(): string[] {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('\n## Environment\n')).split('\n## ')[1] ?? '';
  const firstColumns = table.split('\n').filter((line) => line.startsWith('| `'));
  return firstColumns.flatMap((line) =>
    [...line.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!),
  );
}

async function helpOf(...args: string[]): Promise<string> {
  const result = await runCli(args);
  expect(result.code, args.join(' ')).toBe(0);
  expect(result.stderr, args.join(' ')).toBe('');
  return result.stdout;
}

describe('imgscope help', () => {
  it('prints the global help for --help, help, no arguments and IMAGE --help', async () => {
    const global = await helpOf('--help');
    expect(global).toMatch(/^imgscope — will this image be accepted/);
    expect(global).toContain('  imgscope cache ls [--json]');
    for (const args of [['help'], [], ['-h'], ['fixtures/demo', '--help']]) {
      expect(await helpOf(...args), args.join(' ')).toBe(global);
    }
  });

  it.each(['check', 'inspect', 'cache'] as const)(
    'prints the usage, options and an example for `%s --help` (also -h and `help COMMAND`)',
    async (command) => {
      const help = await helpOf(command, '--help');
      expect(help).toMatch(new RegExp(`^imgscope ${command} — `));
      expect(help).toMatch(new RegExp(`\\nUsage\\n {2}imgscope ${command} `));
      expect(help).toMatch(new RegExp(`\\nExample\\n {2}imgscope ${command} \\S`));
      expect(help).not.toBe(await helpOf('--help'));
      expect(await helpOf(command, '-h')).toBe(help);
      expect(await helpOf('help', command)).toBe(help);
    },
  );

  it('gives the --concurrency default and names the environment variables the README documents', async () => {
    const global = await helpOf('--help');
    expect(global).toContain(`layers streamed at once (default ${DEFAULT_CONCURRENCY})`);
    expect(await helpOf('check', '--help')).toContain(
      `layers streamed at once (default ${DEFAULT_CONCURRENCY})`,
    );
    const environment = global.slice(global.indexOf('\nEnvironment\n'));
    const documented = readmeEnvironmentVariables();
    expect(documented).toContain('XDG_CACHE_HOME');
    expect(documented.filter((name) => !environment.includes(name))).toEqual([]);
  });

  it('says --no-cache wins over --cache-dir, since both are taken together', async () => {
    for (const args of [['--help'], ['check', '--help']]) {
      expect(await helpOf(...args), args.join(' ')).toContain(
        '--no-cache                     neither read nor write the layer cache (wins over --cache-dir)',
      );
    }
  });

  it('names every option of check the explorer refuses, and no other', async () => {
    const help = (await helpOf('--help')).replace(/\n\s+/g, ' ');
    const clause = /the explorer takes them all but ([^;]+);/.exec(help)?.[1] ?? '';
    const named = [...clause.matchAll(/--([\w-]+)/g)].map((m) => m[1]);
    const refused = [...COMMAND_OPTIONS.check].filter((option) => !COMMAND_OPTIONS.tui.has(option));
    expect(named.sort()).toEqual(refused.sort());
  });

  it.each(['check', 'inspect', 'cache'] as const)(
    'lists every option %s takes and none it refuses',
    async (command) => {
      const help = await helpOf(command, '--help');
      const taken = new Set<string>([...COMMAND_OPTIONS[command], 'help', 'debug']);
      const named = new Set([...help.matchAll(/(?<![\w-])--([a-zA-Z][\w-]*)/g)].map((m) => m[1]));
      expect([...taken].filter((option) => !named.has(option))).toEqual([]);
      expect([...named].filter((option) => !taken.has(option as never))).toEqual([]);
    },
  );
});
