import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isImgscopeError } from '../errors.js';
import { findConfigFile, loadConfigFile, parseConfigFile } from './config-file.js';

const FILE = '/repo/imgscope.config.json';

function parse(doc: unknown) {
  return parseConfigFile(JSON.stringify(doc), FILE);
}

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isImgscopeError(error) && error.code === 'BAD_INPUT') return error.message;
    throw error;
  }
  throw new Error('expected an error');
}

describe('parseConfigFile', () => {
  it('reads every setting with its origin', () => {
    const config = parse({
      $schema: './schema/config.json',
      profile: 'cloudbase',
      failOn: 'warn',
      platform: 'linux/arm64/v8',
      memory: '1GiB',
      budgets: { maxCompressed: '300MB', maxUncompressed: 2_000_000_000, maxLayers: '20' },
      rules: { lowestEfficiency: 0.9, highestWastedBytes: '20MB', highestUserWastedPercent: 'disabled' },
    });
    const origin = 'imgscope.config.json';
    expect(config.settings).toEqual({
      profile: { value: 'cloudbase', origin },
      failOn: { value: 'warn', origin },
      platform: { value: { os: 'linux', architecture: 'arm64' }, origin },
      memoryMiB: { value: 1024, origin },
      maxCompressed: { value: 300_000_000, origin },
      maxUncompressed: { value: 2_000_000_000, origin },
      maxLayers: { value: 20, origin },
      lowestEfficiency: { value: 0.9, origin },
      highestWastedBytes: { value: 20_000_000, origin },
      highestUserWastedPercent: { value: 'disabled', origin },
    });
    expect(config.overrides).toEqual([]);
  });

  it('reads per-image overrides with one or several patterns', () => {
    const config = parse({
      overrides: [
        { match: 'registry.test/team/*', memory: 2048 },
        { match: ['a/*', 'b/*'], budgets: { maxLayers: 5 } },
      ],
    });
    expect(config.overrides).toEqual([
      {
        patterns: ['registry.test/team/*'],
        settings: { memoryMiB: { value: 2048, origin: 'imgscope.config.json overrides[0]' } },
      },
      {
        patterns: ['a/*', 'b/*'],
        settings: { maxLayers: { value: 5, origin: 'imgscope.config.json overrides[1]' } },
      },
    ]);
  });

  it.each([
    [{ profil: 'scf' }, `${FILE}:1:2: unknown key "profil"`],
    [{ budgets: { maxCompresed: 1 } }, `${FILE}:1:13: unknown key "budgets.maxCompresed"`],
    [
      { budgets: { maxCompressed: 'lots' } },
      `${FILE}:1:13: "budgets.maxCompressed": "lots" is not a size such as 300MB, 300MiB, 1.5GB, 1GiB or a whole number of bytes`,
    ],
    [
      { budgets: { maxLayers: 2.5 } },
      `${FILE}:1:13: "budgets.maxLayers": 2.5 is not a whole number, 0 or more`,
    ],
    [{ budgets: 3 }, `${FILE}:1:2: "budgets" must be an object`],
    [{ profile: 'aws' }, `${FILE}:1:2: "profile": "aws" is not a profile`],
    [{ failOn: 'error' }, `${FILE}:1:2: "failOn": "error" is not "fail" or "warn"`],
    [{ platform: 'amd64' }, `${FILE}:1:2: "platform": "amd64" is not os/arch[/variant]`],
    [{ platform: 'linux/amd 64' }, `${FILE}:1:2: "platform": "linux/amd 64" is not os/arch[/variant]`],
    [{ memory: 0 }, `${FILE}:1:2: "memory": 0 is not a memory size in MiB`],
    [
      { rules: { lowestEfficiency: 1.5 } },
      `${FILE}:1:11: "rules.lowestEfficiency": 1.5 is not a ratio from 0 to 1 or "disabled"`,
    ],
    [
      { rules: { highestWastedBytes: 'much' } },
      `${FILE}:1:11: "rules.highestWastedBytes": "much" is not a size such as 300MB, 300MiB, 1.5GB, 1GiB or a whole number of bytes, or "disabled"`,
    ],
    [{ rules: { lowestEfficency: 0.9 } }, `${FILE}:1:11: unknown key "rules.lowestEfficency"`],
    [{ overrides: {} }, `${FILE}:1:2: "overrides" must be an array`],
    [
      { overrides: [{ memory: 512 }] },
      `${FILE}:1:2: "overrides[0].match" must be a reference pattern or a list of them`,
    ],
    [{ overrides: [{ match: 'x', overrides: [] }] }, `${FILE}:1:28: unknown key "overrides[0].overrides"`],
    [
      { overrides: [{ match: 'x', budgets: { maxLayers: -1 } }] },
      `${FILE}:1:39: "overrides[0].budgets.maxLayers": -1 is not a whole number, 0 or more`,
    ],
    [[], `${FILE}: must hold a JSON object`],
  ])(
    'refuses %j with a one-line error naming the file, the line and column of the key, and the key',
    (doc, message) => {
      const error = errorOf(() => parse(doc));
      expect(error).toBe(message);
      expect(error).not.toContain('\n');
    },
  );

  it('names the line and column of the key whose value is refused, in an override too', () => {
    const text = [
      '{',
      '  "profile": "scf",',
      '  "budgets": {',
      '    "maxCompressed": "300MB",',
      '    "maxLayers": "twenty"',
      '  }',
      '}',
    ].join('\n');
    expect(errorOf(() => parseConfigFile(text, FILE))).toBe(
      `${FILE}:5:5: "budgets.maxLayers": "twenty" is not a whole number, 0 or more`,
    );
    const override =
      '{\n  "overrides": [\n    { "match": "a/*" },\n    { "match": "b/*", "memory": 0 }\n  ]\n}';
    expect(errorOf(() => parseConfigFile(override, FILE))).toBe(
      `${FILE}:4:23: "overrides[1].memory": 0 is not a memory size in MiB`,
    );
  });

  it('refuses invalid JSON naming the file', () => {
    expect(errorOf(() => parseConfigFile('{ "profile": ', FILE))).toMatch(
      /^\/repo\/imgscope\.config\.json:1:14: not valid JSON \(Unexpected end of JSON input\)/,
    );
  });

  it('names the line and column of a JSON syntax error, not only its position', () => {
    const text = '{\n  "profile": "scf",\n  "budgets": { "maxCompressed": 300MB }\n}\n';
    expect(errorOf(() => parseConfigFile(text, FILE))).toMatch(
      /^\/repo\/imgscope\.config\.json:3:36: not valid JSON/,
    );
    expect(errorOf(() => parseConfigFile(`\uFEFF${text}`, FILE))).toMatch(/json:3:36: not valid JSON/);
  });

  it('names the line and column of an unexpected token, which JSON.parse gives no position for', () => {
    expect(errorOf(() => parseConfigFile('{\r\n  "profile": \'scf\'\r\n}\r\n', FILE))).toMatch(
      /^\/repo\/imgscope\.config\.json:2:14: not valid JSON \(Unexpected token/,
    );
    expect(errorOf(() => parseConfigFile('{\n  "memory": 512,\n  "platform": linux\n}', FILE))).toMatch(
      /json:3:15: not valid JSON/,
    );
  });

  it.each([
    ['{ "budgets": { "maxCompressed": "300MB" }, "budgets": { "maxLayers": 20 } }', 'budgets'],
    ['{ "budgets": { "maxLayers": 20, "maxLayers": 30 } }', 'budgets.maxLayers'],
    [
      '{ "overrides": [{ "match": "a" }, { "match": "b", "memory": 1024, "memory": 512 }] }',
      'overrides[1].memory',
    ],
    ['{ "memory": 512, "\\u006demory": 1024 }', 'memory'],
  ])('refuses a key given twice, which JSON.parse would silently keep the last of: %s', (text, key) => {
    expect(errorOf(() => parseConfigFile(text, FILE))).toBe(`${FILE}: "${key}" is given twice`);
  });

  it('takes the same key in different objects, and quotes or braces inside strings', () => {
    const text =
      '{ "overrides": [{ "match": "a\\"}{,[", "memory": 512 }, { "match": ["b", "b"], "memory": 512 }], "memory": 256 }';
    expect(parseConfigFile(text, FILE).overrides).toHaveLength(2);
  });

  it('reads a file saved with a UTF-8 byte order mark (as .dive-ci is read)', () => {
    expect(parseConfigFile('\uFEFF{ "memory": 512 }', FILE).settings.memoryMiB?.value).toBe(512);
  });
});

describe('finding and loading the file', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'imgscope-config-'));
    await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
    await writeFile(join(root, 'a', 'imgscope.config.json'), JSON.stringify({ memory: 512 }));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('finds the nearest imgscope.config.json upward from the working directory', async () => {
    const found = await findConfigFile(join(root, 'a', 'b', 'c'));
    expect(found?.path).toBe(join(root, 'a', 'imgscope.config.json'));
    expect(found?.settings.memoryMiB?.value).toBe(512);
  });

  it('finds nothing when no directory above has one', async () => {
    expect(await findConfigFile(root)).toBeUndefined();
  });

  it('says a directory where a config file is expected is one, found or named', async () => {
    const dir = join(root, 'dir-config');
    await mkdir(join(dir, 'imgscope.config.json'), { recursive: true });
    await expect(findConfigFile(dir)).rejects.toMatchObject({
      message: `${join(dir, 'imgscope.config.json')}: is a directory, not a file`,
      hint: 'remove or rename that directory',
    });
    await expect(loadConfigFile(dir)).rejects.toMatchObject({
      message: `--config ${dir}: is a directory, not a file`,
      hint: 'check the path given to --config',
    });
  });

  it('refuses a FIFO found where a config file belongs at once, rather than wait for a writer', async () => {
    const dir = join(root, 'fifo');
    await mkdir(dir, { recursive: true });
    execFileSync('mkfifo', [join(dir, 'imgscope.config.json')]);
    await expect(findConfigFile(dir)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: `${join(dir, 'imgscope.config.json')}: is not a regular file`,
    });
  });

  it('stops reading a named config file past 1 MiB (--config /dev/zero)', async () => {
    await expect(loadConfigFile('/dev/zero')).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: '/dev/zero: more than 1048576 bytes, not a config file',
    });
  });

  it('refuses a config file that is a symbolic link to nothing rather than ignore it', async () => {
    const dir = join(root, 'dangling');
    await mkdir(dir, { recursive: true });
    await symlink(join('..', 'gone', 'imgscope.config.json'), join(dir, 'imgscope.config.json'));
    await expect(findConfigFile(dir)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: `${join(dir, 'imgscope.config.json')}: is a symbolic link to ../gone/imgscope.config.json, which does not exist`,
    });
  });

  // Making a file another user owns takes root (CI runs as root).
  it.skipIf(process.getuid?.() !== 0)(
    'refuses a config file another user put in a folder anyone may write to, as git refuses such a repository',
    async () => {
      const shared = join(root, 'shared');
      const below = join(shared, 'work');
      await mkdir(below, { recursive: true });
      await chmod(shared, 0o1777);
      const file = join(shared, 'imgscope.config.json');
      await writeFile(file, JSON.stringify({ profile: 'none' }));
      await chown(file, 12345, 12345);
      await expect(findConfigFile(below)).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: `${file}: found in a folder anyone may write to, and owned by another user (uid 12345)`,
        hint: expect.stringContaining(`--config ${file}`),
      });
      // Named on the command line, it is the user's choice.
      expect((await loadConfigFile(file)).settings.profile?.value).toBe('none');
      // Owned by root, or in a folder only its owner writes, it is read.
      await chown(file, 0, 0);
      expect((await findConfigFile(below))?.path).toBe(file);
      await chown(file, 12345, 12345);
      await chmod(shared, 0o755);
      expect((await findConfigFile(below))?.path).toBe(file);
    },
  );

  it('fails with NOT_FOUND for a --config file that does not exist', async () => {
    const missing = join(root, 'missing.json');
    await expect(loadConfigFile(missing)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `--config ${missing}: does not exist`,
    });
  });
});
