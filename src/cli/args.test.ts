import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { decompressionLimit, imageArgument, parseCommandLine, positiveInteger } from './args.js';

describe('parseCommandLine', () => {
  it('routes commands, and a bare image to the explorer', () => {
    expect(parseCommandLine(['check', '--json', 'alpine']).command).toBe('check');
    expect(parseCommandLine(['cache', 'prune', '--max-size', '1GB']).positionals).toEqual(['prune']);
    expect(parseCommandLine(['--profile', 'scf', 'alpine'])).toMatchObject({
      command: 'tui',
      positionals: ['alpine'],
    });
  });

  it("refuses another command's option instead of ignoring it", () => {
    expect(() => parseCommandLine(['check', '--max-size', '300MB', 'alpine'])).toThrow(
      expect.objectContaining({
        code: 'BAD_INPUT',
        message: 'check does not take --max-size',
        hint: '--max-size is for cache prune; image budgets are --max-compressed and --max-uncompressed',
      }),
    );
    expect(() => parseCommandLine(['inspect', '--profile', 'scf', 'alpine'])).toThrow(
      expect.objectContaining({ hint: '--profile is for check and the explorer' }),
    );
    expect(() => parseCommandLine(['alpine', '--json'])).toThrow(
      expect.objectContaining({ message: 'the explorer (imgscope IMAGE) does not take --json' }),
    );
    expect(() => parseCommandLine(['cache', 'ls', '--no-cache'])).toThrow(/cache does not take --no-cache/);
  });

  it('refuses options of check that contradict each other, naming both', () => {
    expect(() => parseCommandLine(['check', '--json', '--format', 'markdown', 'alpine'])).toThrow(
      expect.objectContaining({
        message: '--json contradicts --format markdown',
        hint: '--json is short for --format json; keep one of the two',
      }),
    );
    expect(parseCommandLine(['check', '--json', '--format', 'json', 'alpine']).command).toBe('check');
    expect(() => parseCommandLine(['check', '--no-layers', '--full', 'alpine'])).toThrow(
      expect.objectContaining({ message: '--full contradicts --no-layers' }),
    );
    for (const budget of ['--max-uncompressed', '--highest-wasted-bytes', '--lowestEfficiency']) {
      expect(() => parseCommandLine(['check', '--no-layers', budget, '1', 'alpine'])).toThrow(
        expect.objectContaining({
          message: `${budget} cannot be checked with --no-layers`,
          hint: `it needs the layers analysed: drop --no-layers to enforce it, or drop ${budget}`,
        }),
      );
    }
    // A rule switched off asks nothing of the layers.
    const disabled = ['check', '--no-layers', '--lowestEfficiency', 'disabled', '--highest-wasted-bytes'];
    expect(parseCommandLine([...disabled, 'disabled', 'alpine']).command).toBe('check');
    // Manifest-level budgets are what --no-layers is for.
    const manifestOnly = ['check', '--no-layers', '--max-compressed', '1GB', '--max-layers', '20', 'alpine'];
    expect(parseCommandLine(manifestOnly).command).toBe('check');
  });

  it("refuses dive's spelling and imgscope's of one rule with different values", () => {
    for (const command of [['check'], []]) {
      expect(() =>
        parseCommandLine([...command, '--lowest-efficiency', '0.1', '--lowestEfficiency', '0.99', 'alpine']),
      ).toThrow(
        expect.objectContaining({
          message: '--lowest-efficiency 0.1 contradicts --lowestEfficiency 0.99',
          hint: "--lowestEfficiency is dive's spelling of --lowest-efficiency; keep one of the two",
        }),
      );
    }
    const same = ['check', '--highest-wasted-bytes', '20MB', '--highestWastedBytes', '20MB', 'alpine'];
    expect(parseCommandLine(same).command).toBe('check');
  });

  it('refuses an option given twice with different values instead of keeping the last', () => {
    for (const command of [['check'], []]) {
      expect(() =>
        parseCommandLine([...command, '--max-compressed', '100MB', '--max-compressed', '1GB', 'alpine']),
      ).toThrow(
        expect.objectContaining({
          code: 'BAD_INPUT',
          message: '--max-compressed is given twice: 100MB and 1GB',
          hint: 'keep one --max-compressed',
        }),
      );
    }
    expect(() =>
      parseCommandLine(['check', '--lowestEfficiency', '0.99', '--lowestEfficiency=0.5', 'alpine']),
    ).toThrow(/--lowestEfficiency is given twice: 0.99 and 0.5/);
    expect(() => parseCommandLine(['inspect', '-u', 'a', '--username', 'b', 'alpine'])).toThrow(
      /--username is given twice: a and b/,
    );
    const same = ['check', '--memory', '512', '--memory', '512', 'alpine'];
    expect(parseCommandLine(same).options.memory).toBe('512');
    const repeatable = ['check', '--insecure-registry', 'a', '--insecure-registry', 'b', 'alpine'];
    expect(parseCommandLine(repeatable).options['insecure-registry']).toEqual(['a', 'b']);
  });

  it("words parseArgs' complaints as one line naming the option", () => {
    const complaint = (argv: string[]) => {
      try {
        parseCommandLine(argv);
      } catch (error) {
        const { message, hint } = error as { message: string; hint: string };
        return `${message} — ${hint}`;
      }
      throw new Error(`${argv.join(' ')} was accepted`);
    };
    expect(complaint(['check', '--bogus', 'alpine'])).toBe(
      'unknown option --bogus — run imgscope --help for the options each command takes',
    );
    expect(complaint(['check', '-z', 'alpine'])).toMatch(/^unknown option -z — /);
    expect(complaint(['inspect', 'alpine', '-u'])).toMatch(/^--username needs a value — /);
    expect(complaint(['inspect', '-u', '-x', 'alpine'])).toBe(
      `-u needs a value, but "-x" follows it — write --username VALUE, or --username=VALUE for a value that starts with '-'`,
    );
    expect(parseCommandLine(['check', '--max-layers', '-1', 'alpine']).options['max-layers']).toBe('-1');
    expect(complaint(['check', '--json=1', 'alpine'])).toBe(
      '--json takes no value — write --json alone to turn it on',
    );
  });

  it('asks about a mistyped command followed by more arguments, and keeps a lone word an image', () => {
    for (const [typo, command] of [
      ['chek', 'check'],
      ['chekc', 'check'],
      ['inspct', 'inspect'],
      ['cach', 'cache'],
      ['hlep', 'help'],
    ]) {
      expect(() => parseCommandLine([typo!, 'fixtures/demo']), typo).toThrow(
        expect.objectContaining({ message: `unknown command "${typo}"`, hint: `did you mean "${command}"?` }),
      );
    }
    expect(() => parseCommandLine(['chek', '--json', 'alpine'])).toThrow(/unknown command "chek"/);
    expect(parseCommandLine(['chek'])).toMatchObject({ command: 'tui', positionals: ['chek'] });
    expect(parseCommandLine(['cache'])).toMatchObject({ command: 'cache' });
    expect(parseCommandLine(['alpine', 'extra'])).toMatchObject({ command: 'tui' }); // imageArgument refuses it
    expect(parseCommandLine(['check:1', 'extra'])).toMatchObject({ command: 'tui' });
  });

  it('refuses a help topic it does not know, and keeps the help of each command', () => {
    expect(() => parseCommandLine(['help', 'bogus'])).toThrow(
      expect.objectContaining({
        message: 'unknown help topic "bogus"',
        hint: 'imgscope help COMMAND takes one of check, inspect, cache; imgscope --help shows them all',
      }),
    );
    expect(parseCommandLine(['help', 'check'])).toMatchObject({ command: 'help', positionals: ['check'] });
    expect(parseCommandLine(['help'])).toMatchObject({ command: 'help', positionals: [] });
    expect(parseCommandLine(['alpine', '--help'])).toMatchObject({
      command: 'help',
      positionals: ['alpine'],
    });
  });

  it('takes --debug, --help and --version with any command', () => {
    expect(parseCommandLine(['inspect', '--debug', 'alpine']).command).toBe('inspect');
    expect(parseCommandLine(['cache', '--help']).command).toBe('help');
  });
});

describe('imageArgument', () => {
  it('never quotes an extra argument when --password-stdin is given: it may be the password', () => {
    for (const argv of [
      ['inspect', 'registry.example/app', '--username', 'a', '--password-stdin', 'hunter2X'],
      ['check', '-u', 'a', '--password-stdin', 'hunter2X', 'registry.example/app'],
      ['registry.example/app', '--username', 'a', '--password-stdin', 'hunter2X'],
    ]) {
      expect(() => imageArgument(parseCommandLine(argv)), argv.join(' ')).toThrow(
        expect.objectContaining({
          message: expect.not.stringContaining('hunter2X'),
          hint: expect.stringContaining('echo "$TOKEN" |'),
        }),
      );
    }
    expect(() => imageArgument(parseCommandLine(['inspect', 'alpine', 'extra']))).toThrow(
      expect.objectContaining({
        message: 'unexpected argument "extra" after the image',
        hint: 'put options before or after the image; give one image per run',
      }),
    );
    // A docker habit: the first word is no command of imgscope's, so the explorer took it for the image.
    expect(() => imageArgument(parseCommandLine(['pull', 'alpine']))).toThrow(
      expect.objectContaining({
        message: 'unexpected argument "alpine" after the image',
        hint: 'put options before or after the image; give one image per run; "pull" was read as the image: imgscope\'s commands are check, inspect and cache',
      }),
    );
  });
});

describe('imageArgument and spaces around IMAGE', () => {
  it('keeps them when a folder is named with them, behind a transport prefix or before :@N too', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'imgscope-args-'));
    onTestFinished(() => rmSync(scratch, { recursive: true, force: true }));
    const trailing = join(scratch, 'layout ');
    const leading = join(scratch, ' layout');
    mkdirSync(trailing);
    mkdirSync(leading);
    const image = (given: string) => imageArgument(parseCommandLine(['check', given]));
    for (const given of [
      trailing,
      `oci:${trailing}`,
      `${leading}:@0`,
      `oci:${leading}:@0`,
      `oci:${trailing}:v1`,
    ])
      expect(image(given), given).toBe(given);
    expect(image(' oci:fixtures/demo ')).toBe('oci:fixtures/demo');
    expect(image(' fixtures/demo:@0 ')).toBe('fixtures/demo:@0');
  });

  it('refuses a blank IMAGE as a missing one, not as an empty registry reference', () => {
    for (const argv of [['check', ' '], ['inspect', '\t'], ['  ']])
      expect(() => imageArgument(parseCommandLine(argv)), JSON.stringify(argv)).toThrow(
        expect.objectContaining({ message: expect.stringMatching(/needs an IMAGE$/) }),
      );
  });
});

describe('positiveInteger', () => {
  it('takes decimal digits only, as --max-layers does', () => {
    expect(positiveInteger(' 4 ', '--concurrency')).toBe(4);
    for (const value of ['1e2', '0x10', '0b11', '4.0', '+3', '', '0', '-1']) {
      expect(() => positiveInteger(value, '--concurrency'), value).toThrow('is not a positive whole number');
    }
  });

  it('says a number of more digits than it can hold is too large, not that it is no number', () => {
    expect(() => positiveInteger('99999999999999999999', '--concurrency')).toThrow(
      '--concurrency "99999999999999999999" is too large',
    );
  });
});

describe('decompressionLimit', () => {
  it('reads a size, and refuses a fraction of a byte as a unit left out', () => {
    expect(decompressionLimit({ IMGSCOPE_DECOMPRESSION_LIMIT: '256MiB' })).toBe(256 * 1024 * 1024);
    expect(decompressionLimit({})).toBeUndefined();
    expect(() => decompressionLimit({ IMGSCOPE_DECOMPRESSION_LIMIT: '1.5' })).toThrow(
      'IMGSCOPE_DECOMPRESSION_LIMIT="1.5" is not a size',
    );
  });

  it('says 0 does not turn the guard off, rather than that 0 is no size', () => {
    for (const value of ['0', ' 0MiB '])
      expect(() => decompressionLimit({ IMGSCOPE_DECOMPRESSION_LIMIT: value }), value).toThrow(
        expect.objectContaining({
          message: expect.stringMatching(
            /^IMGSCOPE_DECOMPRESSION_LIMIT="0(MiB)?" is 0 bytes — 0 does not turn the guard off$/,
          ),
          hint: expect.stringContaining('or unset it for the default (64GiB)'),
        }),
      );
  });
});
