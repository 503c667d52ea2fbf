import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolvePolicy } from './resolve.js';
import { SIZE_SYNTAX } from './sizes.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgscope-policy-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => writeFile(join(dir, name), text);
const json = (doc: unknown) => write('imgscope.config.json', JSON.stringify(doc));

describe('resolvePolicy', () => {
  it('names a flag as the user spelled it (dive spells the rules in camelCase)', async () => {
    const flags = { lowestEfficiency: '0.5', spelled: { lowestEfficiency: '--lowestEfficiency' } };
    const policy = await resolvePolicy({ cwd: dir, flags });
    expect(policy.rules.lowestEfficiency).toEqual({ value: 0.5, origin: '--lowestEfficiency' });
  });

  it('is the scf profile with nothing configured', async () => {
    const policy = await resolvePolicy({ cwd: dir });
    expect(policy).toEqual({
      profile: expect.objectContaining({ name: 'scf' }),
      failOn: 'fail',
      budgets: {},
      rules: {},
      files: [],
    });
  });

  it('lets flags override the config file, which overrides .dive-ci, which overrides dive defaults', async () => {
    await write('.dive-ci', 'rules:\n  lowestEfficiency: 0.8\n  highestWastedBytes: 20MB\n');
    await json({ memory: 512, budgets: { maxLayers: 10 }, rules: { lowestEfficiency: 0.85 } });
    const policy = await resolvePolicy({ cwd: dir, flags: { maxLayers: '12', profile: 'cloudbase' } });
    expect(policy.profile.name).toBe('cloudbase');
    expect(policy.memoryMiB).toEqual({ value: 512, origin: 'imgscope.config.json' });
    expect(policy.budgets.maxLayers).toEqual({ value: 12, origin: '--max-layers' });
    expect(policy.rules).toEqual({
      lowestEfficiency: { value: 0.85, origin: 'imgscope.config.json' },
      highestWastedBytes: { value: 20_000_000, origin: '.dive-ci' },
      highestUserWastedPercent: { value: 0.1, origin: "dive's default, as .dive-ci does not set it" },
    });
    expect(policy.files).toEqual([join(dir, '.dive-ci'), join(dir, 'imgscope.config.json')]);
  });

  it("applies dive's defaults (0.9, disabled, 0.1) to rules a .dive-ci leaves out, as dive does", async () => {
    await write('.dive-ci', 'plugins:\n  - x\n');
    const { rules } = await resolvePolicy({ cwd: dir });
    expect([
      rules.lowestEfficiency?.value,
      rules.highestWastedBytes?.value,
      rules.highestUserWastedPercent?.value,
    ]).toEqual([0.9, 'disabled', 0.1]);
  });

  it('applies the overrides whose pattern matches the reference, later ones winning', async () => {
    await json({
      memory: 256,
      failOn: 'fail',
      overrides: [
        { match: 'team/*', memory: 1024, failOn: 'warn' },
        { match: 'team/api:*', memory: 2048 },
        { match: 'other/*', memory: 4096 },
      ],
    });
    const api = await resolvePolicy({ cwd: dir, reference: 'registry.test/team/api:1.0' });
    expect(api.memoryMiB).toEqual({ value: 2048, origin: 'imgscope.config.json overrides[1]' });
    expect(api.failOn).toBe('warn');
    const web = await resolvePolicy({ cwd: dir, reference: 'registry.test/team/web:1.0' });
    expect(web.memoryMiB?.value).toBe(1024);
    const elsewhere = await resolvePolicy({ cwd: dir, reference: 'registry.test/x/y:1' });
    expect(elsewhere.memoryMiB?.value).toBe(256);
    const flagged = await resolvePolicy({
      cwd: dir,
      reference: 'registry.test/team/api:1.0',
      flags: { memory: '3072' },
    });
    expect(flagged.memoryMiB).toEqual({ value: 3072, origin: '--memory' });
  });

  it('reads --config and --ci-config instead of the conventional files', async () => {
    await json({ memory: 256 });
    await write('.dive-ci', 'rules:\n  lowestEfficiency: 0.5\n');
    await mkdir(join(dir, 'ci'));
    await write('ci/policy.json', JSON.stringify({ memory: 768 }));
    await write('ci/dive.yaml', 'rules:\n  lowestEfficiency: disabled\n');
    const policy = await resolvePolicy({
      cwd: dir,
      flags: { config: 'ci/policy.json', ciConfig: 'ci/dive.yaml' },
    });
    expect(policy.memoryMiB?.value).toBe(768);
    expect(policy.rules.lowestEfficiency).toEqual({ value: 'disabled', origin: 'dive.yaml' });
  });

  it('names the flag in flag errors', async () => {
    await expect(resolvePolicy({ cwd: dir, flags: { maxCompressed: 'big' } })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message:
        '--max-compressed: "big" is not a size such as 300MB, 300MiB, 1.5GB, 1GiB or a whole number of bytes',
    });
    for (const [flag, name] of [
      ['maxCompressed', '--max-compressed'],
      ['maxUncompressed', '--max-uncompressed'],
      ['highestWastedBytes', '--highest-wasted-bytes'],
    ] as const) {
      // A fraction of a byte: 1.5 is not 1 byte but a unit left out.
      await expect(resolvePolicy({ cwd: dir, flags: { [flag]: '1.5' } })).rejects.toMatchObject({
        code: 'BAD_INPUT',
        message: `${name}: "1.5" is not a size such as 300MB, 300MiB, 1.5GB, 1GiB or a whole number of bytes${flag === 'highestWastedBytes' ? ', or "disabled"' : ''}`,
      });
    }
    // More than a number holds exactly: too large, not malformed.
    await expect(resolvePolicy({ cwd: dir, flags: { maxCompressed: '10PB' } })).rejects.toMatchObject({
      message: '--max-compressed: "10PB" is too large (at most 8 PiB)',
    });
    await expect(
      resolvePolicy({ cwd: dir, flags: { maxLayers: '99999999999999999999' } }),
    ).rejects.toMatchObject({ message: '--max-layers: "99999999999999999999" is too large' });
    await expect(resolvePolicy({ cwd: dir, flags: { failOn: 'never' } })).rejects.toMatchObject({
      message: '--fail-on: "never" is not "fail" or "warn"',
    });
    await expect(
      resolvePolicy({ cwd: dir, flags: { highestUserWastedPercent: '20' } }),
    ).rejects.toMatchObject({
      message: '--highest-user-wasted-percent: "20" is not a ratio from 0 to 1 or "disabled"',
    });
  });

  it("names the file, line and key in .dive-ci errors, with dive's validation and the fix", async () => {
    await write(
      '.dive-ci',
      'rules:\n  # efficiency\n  lowestEfficiency: 0.9\n\n  HighestWastedBytes: 20 megs\n',
    );
    await expect(resolvePolicy({ cwd: dir })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: `${join(dir, '.dive-ci')}:5: "rules.highestWastedBytes": "20 megs" is not ${SIZE_SYNTAX}, or "disabled"`,
      hint: 'write for example 20MB, as in dive',
    });
    await write(
      '.dive-ci',
      'plugins:\n  - x\nrules: {lowestEfficiency: 0.9, highestUserWastedPercent: 20}\n',
    );
    await expect(resolvePolicy({ cwd: dir })).rejects.toMatchObject({
      message: `${join(dir, '.dive-ci')}:3: "rules.highestUserWastedPercent": "20" is not a ratio from 0 to 1 or "disabled"`,
      hint: 'highestUserWastedPercent is a ratio as in dive: write 0.2 for 20 %',
    });
  });

  it('names the ratio a percentage meant, and gives each rule an example that reads as it means', async () => {
    const hintFor = (flags: Parameters<typeof resolvePolicy>[0]['flags']) =>
      resolvePolicy({ cwd: dir, flags }).then(
        () => undefined,
        (error: { hint?: string }) => error.hint,
      );
    expect(await hintFor({ lowestEfficiency: '95' })).toBe(
      'lowestEfficiency is a ratio as in dive: write 0.95 for 95 %',
    );
    expect(await hintFor({ highestUserWastedPercent: '-1' })).toBe(
      'highestUserWastedPercent is a ratio as in dive: for example 0.1',
    );
    expect(await hintFor({ lowestEfficiency: 'high' })).toBe(
      'lowestEfficiency is a ratio as in dive: for example 0.9',
    );
  });

  it('names the exact ratio of a percentage with more decimals, not a rounded one', async () => {
    const hintFor = (flags: Parameters<typeof resolvePolicy>[0]['flags']) =>
      resolvePolicy({ cwd: dir, flags }).then(
        () => undefined,
        (error: { hint?: string }) => error.hint,
      );
    // Rounded to 4 places, 99.999 % read as 1: a threshold no image with any waste passes.
    expect(await hintFor({ lowestEfficiency: '99.999' })).toBe(
      'lowestEfficiency is a ratio as in dive: write 0.99999 for 99.999 %',
    );
    expect(await hintFor({ highestUserWastedPercent: '33.3' })).toBe(
      'highestUserWastedPercent is a ratio as in dive: write 0.333 for 33.3 %',
    );
    expect(await hintFor({ highestUserWastedPercent: '12.34567' })).toBe(
      'highestUserWastedPercent is a ratio as in dive: write 0.1234567 for 12.34567 %',
    );
  });

  it('fails with NOT_FOUND for a --ci-config file that does not exist', async () => {
    await expect(resolvePolicy({ cwd: dir, flags: { ciConfig: 'nope.yaml' } })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `--ci-config ${join(dir, 'nope.yaml')}: does not exist`,
    });
  });
});
