import { describe, expect, it } from 'vitest';
import { fakeFacts } from '../../../test/policy/fakes.js';
import { type Policy, profilePolicy } from '../policy.js';
import { GiB, MiB } from '../sizes.js';
import { compressedSize } from './compressed-size.js';
import { manifestFormat } from './manifest-format.js';
import { maxCompressed } from './max-compressed.js';
import { maxLayers } from './max-layers.js';
import { memoryTier, tierOf } from './memory-tier.js';
import { pinned } from './pinned.js';
import { platformCheck } from './platform.js';
import { startup } from './startup.js';

const scf = profilePolicy('scf');
const cloudbase = profilePolicy('cloudbase');
const none = profilePolicy('none');

function withMemory(mib: number): Policy {
  return { ...scf, memoryMiB: { value: mib, origin: '--memory' } };
}

describe('manifest-format', () => {
  it('passes OCI v1 and Docker v2 schema 2', () => {
    expect(manifestFormat(fakeFacts({ schema: 'oci-v1' }), scf)?.status).toBe('pass');
    expect(manifestFormat(fakeFacts({ schema: 'docker-v2s2' }), scf)?.status).toBe('pass');
  });

  it('fails schema 1 for scf with the re-push fix', () => {
    const result = manifestFormat(
      fakeFacts({
        schema: 'docker-v2s1',
        mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
      }),
      scf,
    );
    expect(result).toMatchObject({ status: 'fail', actual: 'docker-v2s1' });
    expect(result?.message).toContain('Docker image manifest v2 schema 1');
    expect(result?.hint).toContain('skopeo copy --format v2s2');
  });

  it('warns on schema 1 where the profile states no formats', () => {
    expect(manifestFormat(fakeFacts({ schema: 'docker-v2s1' }), cloudbase)?.status).toBe('warn');
    expect(manifestFormat(fakeFacts({ schema: 'docker-v2s1' }), none)?.status).toBe('warn');
    // imgscope reads schema 1 layers (the report shows them): the warning must not say it cannot.
    expect(manifestFormat(fakeFacts({ schema: 'docker-v2s1' }), none)?.message).not.toMatch(/cannot/);
  });
});

describe('platform', () => {
  it('passes linux/amd64 for scf', () => {
    expect(platformCheck(fakeFacts(), scf)).toMatchObject({ status: 'pass', actual: 'linux/amd64' });
  });

  it('fails an arm64 image for scf and explains the --platform build fix', () => {
    const result = platformCheck(fakeFacts({ platform: { os: 'linux', architecture: 'arm64' } }), scf);
    expect(result).toMatchObject({ status: 'fail', actual: 'linux/arm64', limit: 'linux/amd64' });
    expect(result?.hint).toContain('--platform linux/amd64');
  });

  it('quotes a platform name with a backtick as a code span, and reports it as it is', () => {
    const result = platformCheck(fakeFacts({ platform: { os: 'linux', architecture: 'arm`64' } }), scf);
    expect(result?.message).toBe('``linux/arm`64`` image: Tencent SCF image functions run linux/amd64 only');
    expect(result?.actual).toBe('linux/arm`64');
  });

  it('fails an index without linux/amd64 and lists what it has', () => {
    const result = platformCheck(
      fakeFacts({
        platform: undefined,
        config: undefined,
        indexPlatforms: [
          { os: 'linux', architecture: 'arm64' },
          { os: 'linux', architecture: 'arm', variant: 'v7' },
        ],
      }),
      scf,
    );
    expect(result?.status).toBe('fail');
    expect(result?.message).toBe('the index has no linux/amd64 image; it has linux/arm64, linux/arm/v7');
  });

  it("names at most 20 of an index's platforms, each once, and keeps them all in actual", () => {
    const indexPlatforms = Array.from({ length: 30 }, (_, i) => ({ os: 'linux', architecture: `arch${i}` }));
    const result = platformCheck(
      fakeFacts({
        platform: undefined,
        config: undefined,
        indexPlatforms: [...indexPlatforms, indexPlatforms[0]!],
      }),
      scf,
    );
    expect(result?.message).toMatch(/; it has linux\/arch0, linux\/arch1, .*, linux\/arch19 and 10 more$/);
    expect(result?.actual?.toString().split(', ')).toHaveLength(31);
  });

  it('fails an index whose only amd64 image needs a newer CPU than linux/amd64, as containerd picks none', () => {
    const result = platformCheck(
      fakeFacts({
        platform: undefined,
        config: undefined,
        indexPlatforms: [{ os: 'linux', architecture: 'amd64', variant: 'v2' }],
      }),
      scf,
    );
    expect(result?.status).toBe('fail');
    expect(result?.message).toBe('the index has no linux/amd64 image; it has linux/amd64/v2');
  });

  it('warns of a single image that needs a newer CPU than linux/amd64: docker runs it where the CPU has that level', () => {
    const v3 = { os: 'linux', architecture: 'amd64', variant: 'v3' };
    const result = platformCheck(fakeFacts({ platform: v3 }), scf);
    expect(result).toMatchObject({ status: 'warn', actual: 'linux/amd64/v3', limit: 'linux/amd64' });
    expect(result?.message).toBe(
      'linux/amd64/v3 image: Tencent SCF image functions promise linux/amd64; it runs only on hosts with that newer CPU level',
    );
    expect(result?.hint).toBe(
      'build for linux/amd64 without a CPU level: `docker buildx build --platform linux/amd64 …`',
    );
    // The x86-64 baseline is plain linux/amd64, as containerd reads it.
    const v1 = { os: 'linux', architecture: 'amd64', variant: 'v1' };
    expect(platformCheck(fakeFacts({ platform: v1 }), scf)?.status).toBe('pass');
    // linux/amd64 hosts run 386 images, but scf states linux/amd64.
    expect(platformCheck(fakeFacts({ platform: { os: 'linux', architecture: '386' } }), scf)?.status).toBe(
      'fail',
    );
  });

  it('fails a windows/amd64 image for scf: another OS, not a newer CPU level', () => {
    const windows = { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1234' };
    const result = platformCheck(fakeFacts({ platform: windows }), scf);
    expect(result).toMatchObject({ status: 'fail', actual: 'windows/amd64', limit: 'linux/amd64' });
    expect(result?.message).toBe('windows/amd64 image: Tencent SCF image functions run linux/amd64 only');
    expect(result?.hint).not.toContain('CPU level');
    expect(result?.hint).not.toContain('Apple silicon');
    const arm = platformCheck(fakeFacts({ platform: { os: 'linux', architecture: 'arm64' } }), scf);
    expect(arm?.hint).toContain('Apple silicon and other ARM hosts build arm64 by default');
  });

  it('names an arm/v7 image as 32-bit ARM in the build hint, not as the arm64 an ARM host builds', () => {
    const armv7 = { os: 'linux', architecture: 'arm', variant: 'v7' };
    const result = platformCheck(fakeFacts({ platform: armv7 }), scf);
    expect(result).toMatchObject({ status: 'fail', actual: 'linux/arm/v7', limit: 'linux/amd64' });
    expect(result?.hint).toBe(
      'build for linux/amd64: `docker buildx build --platform linux/amd64 …` (the image is linux/arm/v7; Tencent SCF image functions need linux/amd64)',
    );
    const arm64 = platformCheck(fakeFacts({ platform: { os: 'linux', architecture: 'arm64' } }), scf);
    expect(arm64?.hint).toBe(
      'build for linux/amd64: `docker buildx build --platform linux/amd64 …` (the image is linux/arm64; Tencent SCF image functions need linux/amd64; Apple silicon and other ARM hosts build arm64 by default)',
    );
    const index = platformCheck(
      fakeFacts({ platform: undefined, config: undefined, indexPlatforms: [armv7] }),
      scf,
    );
    expect(index?.hint).toBe(
      'build for linux/amd64: `docker buildx build --platform linux/amd64 …` and push it into the index',
    );
  });

  it('points at the amd64 image when the index has one but another was selected', () => {
    const result = platformCheck(
      fakeFacts({
        platform: { os: 'linux', architecture: 'arm64' },
        indexPlatforms: [
          { os: 'linux', architecture: 'amd64' },
          { os: 'linux', architecture: 'arm64' },
        ],
      }),
      scf,
    );
    expect(result?.status).toBe('fail');
    expect(result?.hint).toBe('the index also has linux/amd64: check that image with --platform linux/amd64');
  });

  it('lets cloudbase run any Linux architecture but not Windows', () => {
    expect(
      platformCheck(fakeFacts({ platform: { os: 'linux', architecture: 'arm64' } }), cloudbase)?.status,
    ).toBe('pass');
    expect(
      platformCheck(fakeFacts({ platform: { os: 'windows', architecture: 'amd64' } }), cloudbase)?.status,
    ).toBe('fail');
  });

  it('does not apply without a profile', () => {
    expect(
      platformCheck(fakeFacts({ platform: { os: 'linux', architecture: 'arm64' } }), none),
    ).toBeUndefined();
  });
});

describe('compressed-size', () => {
  it('passes below 1 GiB and fails at 1 GiB exactly (the image must be smaller)', () => {
    expect(compressedSize(fakeFacts({ compressedSize: 1023 * MiB }), scf)?.status).toBe('pass');
    expect(compressedSize(fakeFacts({ compressedSize: GiB - 1 }), scf)?.status).toBe('pass');
    const atLimit = compressedSize(fakeFacts({ compressedSize: 1024 * MiB }), scf);
    expect(atLimit).toMatchObject({ status: 'fail', actual: GiB, limit: GiB });
    expect(atLimit?.hint).toContain('support ticket');
  });

  it('says which listed bytes it leaves out: foreign layers and a layer listed again', () => {
    const facts = fakeFacts({
      compressedSize: 2 * MiB,
      uncountedBytes: { foreign: 300 * MiB, repeated: MiB },
    });
    expect(compressedSize(facts, scf)?.message).toBe(
      '2 MiB compressed (config + layers as stored; not counted: 300 MiB of foreign layers the registry does not store, 1 MiB of layers listed again, stored once), below 1 GiB',
    );
    expect(compressedSize(fakeFacts({ compressedSize: 2 * MiB }), scf)?.message).toBe(
      '2 MiB compressed (config + layers as stored), below 1 GiB',
    );
  });

  it('skips when the manifest carries no sizes, and does not apply to cloudbase', () => {
    expect(compressedSize(fakeFacts({ compressedSize: undefined }), scf)?.status).toBe('skip');
    expect(compressedSize(fakeFacts({ compressedSize: 5 * GiB }), cloudbase)).toBeUndefined();
  });
});

describe('memory-tier', () => {
  it.each([
    [255, 'tier 1 (image < 256 MiB)', '256 MiB < memory < 512 MiB'],
    [256, 'tier 2 (256 MiB ≤ image < 512 MiB)', '512 MiB < memory < 1 GiB'],
    [257, 'tier 2 (256 MiB ≤ image < 512 MiB)', '512 MiB < memory < 1 GiB'],
    [511, 'tier 2 (256 MiB ≤ image < 512 MiB)', '512 MiB < memory < 1 GiB'],
    [512, 'tier 3 (512 MiB ≤ image < 1 GiB)', 'memory > 1 GiB'],
    [513, 'tier 3 (512 MiB ≤ image < 1 GiB)', 'memory > 1 GiB'],
    [1023, 'tier 3 (512 MiB ≤ image < 1 GiB)', 'memory > 1 GiB'],
  ])('a %d MiB image is %s: %s', (mib, name, recommended) => {
    const facts = fakeFacts({ compressedSize: mib * MiB });
    expect(tierOf(facts, scf)).toEqual({ name, imageSize: mib * MiB, recommendedMemory: recommended });
    expect(memoryTier(facts, scf)).toMatchObject({ status: 'pass', limit: recommended });
  });

  it('a 1024 MiB image is in no tier', () => {
    const facts = fakeFacts({ compressedSize: 1024 * MiB });
    expect(tierOf(facts, scf)).toBeNull();
    expect(memoryTier(facts, scf)?.status).toBe('skip');
  });

  it('fails memory at or below the tier range and passes memory within or above it', () => {
    const tier2 = fakeFacts({ compressedSize: 300 * MiB });
    expect(memoryTier(tier2, withMemory(256))).toMatchObject({ status: 'fail', actual: 256 });
    expect(memoryTier(tier2, withMemory(512))?.status).toBe('fail');
    expect(memoryTier(tier2, withMemory(768))?.status).toBe('pass');
    const above = memoryTier(tier2, withMemory(2048));
    expect(above?.status).toBe('pass');
    expect(above?.message).toContain('above the range');
  });

  it('names where the memory came from', () => {
    const result = memoryTier(fakeFacts({ compressedSize: 600 * MiB }), withMemory(512));
    expect(result?.message).toContain('memory 512 MiB (from --memory) is too low');
    expect(result?.hint).toContain('more than 1024 MiB');
  });

  it('offers shrinking the image only into a lower tier the memory suits, naming it', () => {
    const tier1 = memoryTier(fakeFacts({ compressedSize: 100 * MiB }), withMemory(256));
    expect(tier1).toMatchObject({ status: 'fail', hint: 'give the function more than 256 MiB' });
    // 256 MiB is too low for tier 1 as well: shrinking would not help.
    const tier2 = memoryTier(fakeFacts({ compressedSize: 300 * MiB }), withMemory(256));
    expect(tier2?.hint).toBe('give the function more than 512 MiB');
    const tier2Fits = memoryTier(fakeFacts({ compressedSize: 300 * MiB }), withMemory(384));
    expect(tier2Fits?.hint).toBe(
      'give the function more than 512 MiB, or shrink the image below 256 MiB, into tier 1',
    );
    // 512 MiB is too low for tier 2 too, but suits tier 1 (above its range): the hint names tier 1.
    const tier3 = memoryTier(fakeFacts({ compressedSize: 600 * MiB }), withMemory(512));
    expect(tier3?.hint).toBe(
      'give the function more than 1024 MiB, or shrink the image below 256 MiB, into tier 1',
    );
    const tier3Fits = memoryTier(fakeFacts({ compressedSize: 600 * MiB }), withMemory(768));
    expect(tier3Fits?.hint).toBe(
      'give the function more than 1024 MiB, or shrink the image below 512 MiB, into tier 2',
    );
  });

  it('has no tier outside scf', () => {
    expect(memoryTier(fakeFacts(), cloudbase)).toBeUndefined();
    expect(tierOf(fakeFacts(), none)).toBeUndefined();
  });

  it.each([cloudbase, none])(
    'reports configured memory as not checked where the profile has no tiers ($profile.name)',
    (policy) => {
      const result = memoryTier(fakeFacts(), { ...policy, memoryMiB: { value: 512, origin: '--memory' } });
      expect(result).toMatchObject({ status: 'skip', actual: 512 });
      expect(result?.message).toBe(
        `memory 512 MiB (from --memory) is not checked: profile ${policy.profile.name} has no memory tiers`,
      );
    },
  );
});

describe('sizes of a docker-archive with uncompressed layers (a push compresses them)', () => {
  const saved = (compressedSize: number) => fakeFacts({ compressedSize, storedUncompressed: true });

  it('warn rather than fail: the pushed image is smaller than the saved one', () => {
    const over = compressedSize(saved(GiB), scf);
    expect(over).toMatchObject({ status: 'warn', actual: GiB, limit: GiB });
    expect(over?.message).toContain('this docker save archive stores its layers uncompressed');
    expect(memoryTier(saved(600 * MiB), withMemory(512))?.status).toBe('warn');
    const budget = { ...scf, budgets: { maxCompressed: { value: 100 * MiB, origin: '--max-compressed' } } };
    expect(maxCompressed(saved(200 * MiB), budget)?.status).toBe('warn');
  });

  it('still pass below the limits: compressing only shrinks them', () => {
    expect(compressedSize(saved(GiB - 1), scf)?.status).toBe('pass');
    expect(memoryTier(saved(600 * MiB), withMemory(2048))?.status).toBe('pass');
    // No tier, however small the image, suits 256 MiB.
    expect(memoryTier(saved(600 * MiB), withMemory(256))?.status).toBe('fail');
  });
});

describe('startup', () => {
  it('passes a command with 9000/tcp exposed', () => {
    expect(startup(fakeFacts(), scf)).toMatchObject({ status: 'pass', actual: 'node server.js' });
  });

  it('warns when there is neither Entrypoint nor Cmd', () => {
    const facts = fakeFacts({
      config: { ...fakeFacts().config!, config: { ExposedPorts: { '9000/tcp': {} } } },
    });
    const result = startup(facts, scf);
    expect(result?.status).toBe('warn');
    expect(result?.message).toContain('neither Entrypoint nor Cmd');
  });

  it('reads an Entrypoint of [""] as none, as docker resets it before it looks for a command', () => {
    const reset = (cmd?: string[]) =>
      fakeFacts({
        config: {
          ...fakeFacts().config!,
          config: { Entrypoint: [''], ...(cmd ? { Cmd: cmd } : {}), ExposedPorts: { '9000/tcp': {} } },
        },
      });
    const alone = startup(reset(), scf);
    expect(alone?.status).toBe('warn');
    expect(alone?.message).toContain('neither Entrypoint nor Cmd');
    expect(startup(reset(['/app']), scf)).toMatchObject({ status: 'pass', actual: '/app' });
  });

  it('warns for scf when 9000/tcp is not exposed, naming what is', () => {
    const facts = fakeFacts({
      config: { ...fakeFacts().config!, config: { Entrypoint: ['/app'], ExposedPorts: { '8080/tcp': {} } } },
    });
    const result = startup(facts, scf);
    expect(result?.status).toBe('warn');
    expect(result?.message).toContain('9000/tcp is not exposed (it exposes 8080/tcp)');
    expect(startup(facts, cloudbase)?.status).toBe('pass');
  });

  it('accepts a port exposed without protocol', () => {
    const facts = fakeFacts({
      config: { ...fakeFacts().config!, config: { Cmd: ['x'], ExposedPorts: { '9000': {} } } },
    });
    expect(startup(facts, scf)?.status).toBe('pass');
  });
});

describe('pinned', () => {
  it('reports the digest to deploy when the reference is a tag', () => {
    const result = pinned(fakeFacts(), scf);
    expect(result?.status).toBe('pass');
    expect(result?.actual).toBe(`registry.test/team/app@sha256:${'a'.repeat(64)}`);
    expect(result?.message).toContain('is a tag');
  });

  it('says so when the reference is already a digest', () => {
    const result = pinned(fakeFacts({ referenceIsTag: false }), scf);
    expect(result?.message).toMatch(/^pinned by digest/);
  });

  it('does not apply to local images or profiles that do not pull by digest', () => {
    expect(pinned(fakeFacts({ pinnedReference: undefined, referenceIsTag: false }), scf)).toBeUndefined();
    expect(pinned(fakeFacts(), cloudbase)).toBeUndefined();
  });
});

describe('user budgets', () => {
  const budget = (maxCompressedBytes: number, layers: number): Policy => ({
    ...none,
    budgets: {
      maxCompressed: { value: maxCompressedBytes, origin: '--max-compressed' },
      maxLayers: { value: layers, origin: 'imgscope.config.json' },
    },
  });

  it('pass at the budget and fail above it', () => {
    const facts = fakeFacts({ compressedSize: 300_000_000, layerCount: 5 });
    expect(maxCompressed(facts, budget(300_000_000, 5))?.status).toBe('pass');
    expect(maxLayers(facts, budget(300_000_000, 5))?.status).toBe('pass');
    const over = budget(299_999_999, 4);
    expect(maxCompressed(facts, over)).toMatchObject({
      status: 'fail',
      actual: 300_000_000,
      limit: 299_999_999,
    });
    expect(maxLayers(facts, over)).toMatchObject({ status: 'fail', actual: 5, limit: 4 });
    expect(maxLayers(facts, over)?.message).toBe('5 layers, budget 4 (from imgscope.config.json)');
  });

  it('say the size and the budget in exact bytes when both would read the same rounded', () => {
    const facts = fakeFacts({ compressedSize: 300_000_000 });
    expect(maxCompressed(facts, budget(299_999_999, 5))?.message).toBe(
      '300,000,000 B compressed, budget 299,999,999 B (from --max-compressed)',
    );
    expect(maxCompressed(facts, budget(300 * MiB, 5))?.message).toBe(
      '286 MiB compressed, budget 300 MiB (from --max-compressed)',
    );
  });

  it('skip, saying why, when the index has no image for the platform', () => {
    const facts = fakeFacts({
      compressedSize: undefined,
      config: undefined,
      platform: undefined,
      layerCount: 0,
    });
    const skipped = { status: 'skip', message: 'no image: the index has none for this platform' };
    expect(maxLayers(facts, budget(1, 3))).toMatchObject(skipped);
    expect(maxCompressed(facts, budget(1, 3))).toMatchObject(skipped);
    expect(compressedSize(facts, scf)).toMatchObject(skipped);
    expect(memoryTier(facts, scf)).toMatchObject(skipped);
  });

  it('are absent when not configured', () => {
    expect(maxCompressed(fakeFacts(), scf)).toBeUndefined();
    expect(maxLayers(fakeFacts(), scf)).toBeUndefined();
  });
});
