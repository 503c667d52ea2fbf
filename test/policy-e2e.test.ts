import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Digest, sha256Digest } from '../src/oci/digest.js';
import { MediaType } from '../src/oci/media-types.js';
import type { Platform } from '../src/oci/platform.js';
import { pushImage, pushIndex, RegistryClient } from '../src/registry/index.js';
import { parseReference } from '../src/registry/reference.js';
import type { Report } from '../src/report/report.js';
import { type CliResult, runCli } from './helpers/cli.js';
import { schemaErrorsOf } from './policy/report-schema.js';
import { registryUnavailable, startRegistry, type TestRegistry } from './registry/harness.js';
import { buildImage, buildIndex, tarOf } from './registry/images.js';
import { signedSchema1 } from './registry/schema1.js';

/**
 * `imgscope check` end to end: the built CLI against a real Distribution registry, on images made for
 * each check. Every JSON report is validated against schema/report.schema.json.
 */

const GiB = 1024 ** 3;

/** An image whose config the test writes (buildImage's config is fixed), pushed under `target`. */
async function pushConfigured(
  target: string,
  options: { config: Record<string, unknown>; platform?: Platform; files?: Record<string, string>[] },
): Promise<void> {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers = await Promise.all(
    (options.files ?? [{ 'app/server.js': 'listen(9000)\n' }]).map(async (files) => {
      const tar = await tarOf(files);
      const bytes = gzipSync(tar);
      return {
        tar,
        bytes,
        descriptor: { mediaType: MediaType.OciLayerGzip, digest: sha256Digest(bytes), size: bytes.length },
      };
    }),
  );
  const config = Buffer.from(
    JSON.stringify({
      ...platform,
      config: options.config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256Digest(l.tar)) },
      history: layers.map((_, i) => ({ created_by: `/bin/sh -c step-${i}` })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: sha256Digest(config), size: config.length },
      layers: layers.map((l) => l.descriptor),
    }),
  );
  const blobs = new Map(layers.map((l) => [l.descriptor.digest, l.bytes]));
  await pushImage(
    target,
    { manifest, config, blobs: (d) => Readable.from([blobs.get(d.digest)!]) },
    { env: {} },
  );
}

/**
 * A layer blob of `size` zero bytes written straight into the registry's storage as a sparse file (no
 * disk used, nothing sent over HTTP), linked into `repository` so a manifest may reference it.
 */
function sparseBlob(registry: TestRegistry, repository: string, size: number): Digest {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let left = size; left > 0; left -= chunk.length)
    hash.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  const digest: Digest = `sha256:${hash.digest('hex')}`;
  const data = registry.blobDataPath(digest);
  mkdirSync(dirname(data), { recursive: true });
  const fd = openSync(data, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
  const link = join(
    registry.storageDir,
    'docker/registry/v2/repositories',
    repository,
    '_layers/sha256',
    digest.slice('sha256:'.length),
    'link',
  );
  mkdirSync(dirname(link), { recursive: true });
  writeFileSync(link, digest);
  return digest;
}

async function pushSchema1(registry: TestRegistry, repository: string, tag: string): Promise<void> {
  const base = gzipSync(await tarOf({ 'etc/os-release': 'ID=old\n' }));
  const client = new RegistryClient(parseReference(`${registry.host}/${repository}`), { env: {} });
  try {
    await client.uploadBlob(
      repository,
      { mediaType: MediaType.DockerLayerGzip, digest: sha256Digest(base), size: base.length },
      base,
    );
    const manifest = signedSchema1(repository, tag, [
      {
        digest: sha256Digest(base),
        v1: {
          id: '1'.repeat(64),
          created: '2016-01-01T00:00:00Z',
          architecture: 'amd64',
          os: 'linux',
          config: { Cmd: ['/app'], ExposedPorts: { '9000/tcp': {} } },
        },
      },
    ]);
    await client.putManifest(repository, tag, manifest.bytes, MediaType.DockerManifestSchema1Signed);
  } finally {
    await client.close();
  }
}

const env = {
  HOME: '/nonexistent',
  DOCKER_CONFIG: '/nonexistent',
  XDG_RUNTIME_DIR: '',
  REGISTRY_AUTH_FILE: '',
};
let scratch: string;

function check(args: string[], cwd?: string): Promise<CliResult> {
  return runCli(['check', ...args], { env, cwd: cwd ?? scratch, timeoutMs: 120_000 });
}

async function checkJson(args: string[], cwd?: string): Promise<{ code: number | null; report: Report }> {
  const result = await check(['--json', ...args], cwd);
  expect(result.stderr).toBe('');
  const report = JSON.parse(result.stdout) as Report;
  expect(schemaErrorsOf(report)).toEqual([]);
  return { code: result.code, report };
}

const statuses = (report: Report) => Object.fromEntries((report.checks ?? []).map((c) => [c.id, c.status]));
const checkOf = (report: Report, id: string) => report.checks?.find((c) => c.id === id);

describe.skipIf(registryUnavailable)('imgscope check against a real registry', () => {
  let registry: TestRegistry;
  let ref: (name: string) => string;
  let hugeConfigSize: number;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'imgscope-policy-e2e-'));
    registry = await startRegistry();
    ref = (name) => `${registry.host}/${name}`;
    const serving = { Cmd: ['node', 'server.js'], ExposedPorts: { '9000/tcp': {} } };
    await pushConfigured(ref('policy/good:1'), { config: serving });
    await pushConfigured(ref('policy/noport:1'), { config: { Cmd: ['node', 'server.js'] } });
    await pushConfigured(ref('policy/arm:1'), {
      config: serving,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    const arm64 = await buildImage({ label: 'arm64', platform: { os: 'linux', architecture: 'arm64' } });
    const armv7 = await buildImage({
      label: 'armv7',
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    });
    await pushIndex(ref('policy/armonly:1'), buildIndex([arm64, armv7]), { env: {} });
    await pushSchema1(registry, 'policy/legacy', '1');

    // 3 GiB listed, 1.5 GiB stored "before decompression": one 1.5 GiB sparse blob listed twice, never
    // sent over the wire. The registry stores it once, and so the size counts it once.
    const big = sparseBlob(registry, 'policy/huge', 1.5 * GiB);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['/app'] },
        rootfs: { type: 'layers', diff_ids: [big, big] },
      }),
    );
    hugeConfigSize = config.length;
    const layer = { mediaType: MediaType.OciLayer, digest: big, size: 1.5 * GiB };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: sha256Digest(config), size: config.length },
        layers: [layer, layer],
      }),
    );
    await pushImage(
      ref('policy/huge:1'),
      {
        manifest,
        config,
        blobs: () => Readable.from([]),
      },
      { env: {} },
    );
  });
  afterAll(async () => {
    await registry?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('passes an amd64 image that serves on 9000 and names the digest to deploy (exit 0)', async () => {
    const { code, report } = await checkJson([ref('policy/good:1')]);
    expect(code).toBe(0);
    expect(report).toMatchObject({ profile: 'scf', verdict: 'pass', layersAnalyzed: true });
    expect(report.tier).toMatchObject({
      name: 'tier 1 (image < 256 MiB)',
      recommendedMemory: '256 MiB < memory < 512 MiB',
    });
    expect(statuses(report)).toEqual({
      'manifest-format': 'pass',
      platform: 'pass',
      'compressed-size': 'pass',
      'memory-tier': 'pass',
      startup: 'pass',
      pinned: 'pass',
      hints: 'pass',
    });
    expect(checkOf(report, 'pinned')?.actual).toBe(report.pinnedReference);
    expect(report.pinnedReference).toMatch(/\/policy\/good@sha256:[a-f0-9]{64}$/);
  });

  it('warns without failing when 9000/tcp is not exposed; --fail-on warn makes that exit 1', async () => {
    const { code, report } = await checkJson([ref('policy/noport:1')]);
    expect([code, report.verdict, checkOf(report, 'startup')?.status]).toEqual([0, 'warn', 'warn']);
    const strict = await checkJson(['--fail-on', 'warn', ref('policy/noport:1')]);
    expect([strict.code, strict.report.verdict]).toEqual([1, 'fail']);
  });

  it('fails an arm64 image and explains the --platform linux/amd64 build (exit 1)', async () => {
    const { code, report } = await checkJson([ref('policy/arm:1')]);
    expect(code).toBe(1);
    expect(checkOf(report, 'platform')).toMatchObject({
      status: 'fail',
      actual: 'linux/arm64',
      limit: 'linux/amd64',
    });
    expect(checkOf(report, 'platform')?.hint).toContain('--platform linux/amd64');
    expect(report.layersAnalyzed).toBe(false); // the verdict was already decided
  });

  it('fails an index without linux/amd64 and lists what it has (exit 1)', async () => {
    const { code, report } = await checkJson([ref('policy/armonly:1')]);
    expect(code).toBe(1);
    expect(checkOf(report, 'platform')).toMatchObject({
      status: 'fail',
      message: 'the index has no linux/amd64 image; it has linux/arm64, linux/arm/v7',
    });
  });

  it('fails a schema 1 image from a registry that still serves them, with the re-push fix (exit 1)', async () => {
    const { code, report } = await checkJson([ref('policy/legacy:1')]);
    expect(code).toBe(1);
    expect(report.schema).toBe('docker-v2s1');
    expect(checkOf(report, 'manifest-format')).toMatchObject({ status: 'fail', actual: 'docker-v2s1' });
    expect(checkOf(report, 'manifest-format')?.hint).toContain('skopeo copy --format v2s2');
  });

  it('fails a 1.5 GiB image on its manifest alone, without reading a layer, counting a repeated blob once', async () => {
    const started = performance.now();
    const { code, report } = await checkJson([ref('policy/huge:1')]);
    const elapsed = performance.now() - started;
    expect(code).toBe(1);
    expect(report).toMatchObject({
      compressedSize: 1.5 * GiB + hugeConfigSize,
      layersAnalyzed: false,
      tier: null,
    });
    expect(statuses(report)).toMatchObject({
      'compressed-size': 'fail',
      'memory-tier': 'skip',
      hints: 'skip',
    });
    expect(checkOf(report, 'compressed-size')?.message).toContain(
      'not counted: 1.50 GiB of layers listed again, stored once',
    );
    console.info(`check of a 1.5 GiB image, manifest-only, whole CLI process: ${Math.round(elapsed)} ms`);
    // Streaming 1.5 GiB would take many seconds; the CLI process itself (node start-up included) stays small.
    expect(elapsed).toBeLessThan(5_000);
  });

  it('fails memory below the tier (--memory) and budgets the user set', async () => {
    const memory = await checkJson(['--memory', '256', ref('policy/good:1')]);
    expect([memory.code, checkOf(memory.report, 'memory-tier')?.status]).toEqual([1, 'fail']);
    const layers = await checkJson(['--max-layers', '0', '--max-compressed', '1GiB', ref('policy/good:1')]);
    expect(statuses(layers.report)).toMatchObject({ 'max-layers': 'fail', 'max-compressed': 'pass' });
    expect(layers.code).toBe(1);
  });

  it('matches overrides against the normalised reference: an untagged image is :latest', async () => {
    await pushConfigured(ref('policy/good:latest'), {
      config: { Cmd: ['node', 'server.js'], ExposedPorts: { '9000/tcp': {} } },
    });
    const dir = mkdtempSync(join(scratch, 'override-'));
    writeFileSync(
      join(dir, 'imgscope.config.json'),
      JSON.stringify({ overrides: [{ match: 'policy/good:latest', memory: 384 }] }),
    );
    const { report } = await checkJson(['--no-layers', ref('policy/good')], dir);
    expect(checkOf(report, 'memory-tier')?.message).toContain(
      'memory 384 MiB (from imgscope.config.json overrides[0]) fits',
    );
  });

  it('reads imgscope.config.json and .dive-ci from the working directory; flags win', async () => {
    const dir = mkdtempSync(join(scratch, 'config-'));
    writeFileSync(
      join(dir, 'imgscope.config.json'),
      JSON.stringify({ budgets: { maxLayers: 0 }, overrides: [{ match: 'policy/good:*', memory: 384 }] }),
    );
    writeFileSync(
      join(dir, '.dive-ci'),
      'rules:\n  lowestEfficiency: 0.99\n  highestWastedBytes: disabled\n',
    );
    const fromFiles = await checkJson([ref('policy/good:1')], dir);
    expect(fromFiles.code).toBe(1);
    expect(checkOf(fromFiles.report, 'max-layers')?.message).toBe(
      '1 layer, budget 0 (from imgscope.config.json)',
    );
    expect(checkOf(fromFiles.report, 'memory-tier')?.message).toContain(
      'memory 384 MiB (from imgscope.config.json overrides[0]) fits',
    );
    // The manifest-level budget already failed: layers were not read, so dive's rules could not run.
    expect(checkOf(fromFiles.report, 'lowestEfficiency')?.message).toBe(
      'not evaluated: the manifest-level checks already failed the verdict (use --full); threshold 0.99 (from .dive-ci)',
    );
    const flagged = await checkJson(['--max-layers', '5', ref('policy/good:1')], dir);
    expect([flagged.code, checkOf(flagged.report, 'max-layers')?.status]).toEqual([0, 'pass']);
    expect(statuses(flagged.report)).toMatchObject({
      lowestEfficiency: 'pass',
      highestWastedBytes: 'skip',
      highestUserWastedPercent: 'pass', // dive's default (0.1), as .dive-ci does not set it
    });
    expect(checkOf(flagged.report, 'highestUserWastedPercent')?.message).toContain(
      "(from dive's default, as .dive-ci does not set it)",
    );
  });

  it('prints every format with the same exit code', async () => {
    const image = ref('policy/arm:1');
    const table = await check([image]);
    expect([table.code, table.stderr]).toEqual([1, '']);
    expect(table.stdout).toMatch(/FAIL {2}platform: linux\/arm64 image/);
    expect(table.stdout).toMatch(/Verdict: FAIL/);
    const markdown = await check(['--format', 'markdown', image]);
    expect(markdown.code).toBe(1);
    expect(markdown.stdout).toMatch(/^### ❌ imgscope: fail — `127\.0\.0\.1:\d+\/policy\/arm:1`$/m);
    expect(markdown.stdout).toContain('| ❌ | `platform` | linux/arm64 image');
    const github = await check(['--format', 'github', image]);
    expect(github.code).toBe(1);
    expect(github.stdout).toMatch(
      /^::error title=imgscope platform \(127\.0\.0\.1%3A\d+\/policy\/arm%3A1\)::linux\/arm64 image/m,
    );
    expect(github.stdout).toMatch(/^::notice title=imgscope verdict%3A fail::/m);
    const json = await check(['--format', 'json', image]);
    expect(json.code).toBe(1);
    expect(schemaErrorsOf(JSON.parse(json.stdout))).toEqual([]);
  });

  it('exits 2 on errors: a bad flag, a bad config file, an image that does not exist', async () => {
    const flag = await check(['--max-compressed', 'lots', ref('policy/good:1')]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--max-compressed: "lots" is not a size');
    expect(flag.stdout).toBe('');
    const dir = mkdtempSync(join(scratch, 'bad-config-'));
    writeFileSync(join(dir, 'imgscope.config.json'), JSON.stringify({ budgets: { maxLayer: 3 } }));
    const config = await check([ref('policy/good:1')], dir);
    expect(config.code).toBe(2);
    expect(config.stderr).toContain(
      `${join(dir, 'imgscope.config.json')}:1:13: unknown key "budgets.maxLayer"`,
    );
    const missing = await check([ref('policy/missing:1')]);
    expect(missing.code).toBe(2);
  });
});
