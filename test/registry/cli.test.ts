import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSize } from '../../src/policy/sizes.js';
import { pushImage, pushIndex } from '../../src/registry/index.js';
import { runCli } from '../helpers/cli.js';
import { registryUnavailable, startRegistry, TEST_USER, type TestRegistry } from './harness.js';
import { type BuiltImage, buildImage, buildIndex, noise } from './images.js';

/**
 * The built CLI against a real token-auth registry: what a user meets. Each run gets an empty HOME so
 * no credential store of the machine is read.
 */
describe.skipIf(registryUnavailable)('imgscope against a real registry', () => {
  let registry: TestRegistry;
  let amd64: BuiltImage;
  let arm64: BuiltImage;
  let indexDigest: string;
  const env = {
    HOME: '/nonexistent',
    DOCKER_CONFIG: '/nonexistent',
    XDG_RUNTIME_DIR: '',
    REGISTRY_AUTH_FILE: '',
  };
  const login = ['--username', TEST_USER.username, '--password-stdin'];

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    amd64 = await buildImage({ label: 'cli-amd64', layers: [{ 'a.txt': 'a' }, { 'b.txt': 'b' }] });
    arm64 = await buildImage({ label: 'cli-arm64', platform: { os: 'linux', architecture: 'arm64' } });
    const credentials = { credentials: { ...TEST_USER }, env: {} };
    indexDigest = (
      await pushIndex(`${registry.host}/private/app:multi`, buildIndex([amd64, arm64]), credentials)
    ).digest;
  });
  afterAll(() => registry?.stop());

  it('inspect --json resolves an index with --password-stdin credentials, reading no layer', async () => {
    const result = await runCli(['inspect', '--json', ...login, `${registry.host}/private/app:multi`], {
      env,
      input: `${TEST_USER.password}\n`,
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info).toMatchObject({
      reference: `${registry.host}/private/app:multi`,
      digest: amd64.digest,
      platform: 'linux/amd64',
      index: { digest: indexDigest },
    });
    expect(info.index.manifests.map((m: { platform: string }) => m.platform)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(info.layers.map((l: { size: number }) => l.size)).toEqual(
      amd64.layers.map((l) => l.descriptor.size),
    );
  });

  it('selects --platform from the index', async () => {
    const result = await runCli(
      ['inspect', '--json', '--platform', 'linux/arm64/v8', `${registry.host}/private/app:multi`],
      {
        env: { ...env, IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password },
      },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).digest).toBe(arm64.digest);
  });

  it('inspect lists every platform of an index without linux/amd64 (exit 0) rather than refusing it', async () => {
    const windows = await buildImage({
      label: 'cli-windows',
      platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.2340' },
    });
    const credentials = { credentials: { ...TEST_USER }, env: {} };
    const reference = `${registry.host}/private/app:no-amd64`;
    const pushed = await pushIndex(reference, buildIndex([arm64, windows]), credentials);
    const run = (...args: string[]) =>
      runCli(['inspect', ...args, reference], {
        env: { ...env, IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password },
      });
    const json = await run('--json');
    expect([json.code, json.stderr]).toEqual([0, '']);
    const info = JSON.parse(json.stdout);
    expect(info).toMatchObject({
      reference,
      digest: pushed.digest,
      platform: null,
      config: null,
      layers: [],
      compressedSize: null,
      index: { digest: pushed.digest, wantedPlatform: 'linux/amd64' },
    });
    const entry = (image: BuiltImage, platform: string, osVersion: string | null) => ({
      digest: image.digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: image.manifest.length,
      platform,
      osVersion,
      annotations: {},
      selected: false,
    });
    expect(info.index.manifests).toEqual([
      entry(arm64, 'linux/arm64', null),
      entry(windows, 'windows/amd64', '10.0.20348.2340'),
    ]);
    const text = await run();
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Platform {4}none: the index has no linux\/amd64 image for check to take/m);
    expect(text.stdout).toContain(
      `windows/amd64 10.0.20348.2340  ${formatSize(windows.manifest.length).padStart(9)}  ${windows.digest}\n`,
    );
    const picked = JSON.parse((await run('--json', '--platform', 'linux/arm64')).stdout);
    expect(picked.index.manifests.map((m: { selected: boolean }) => m.selected)).toEqual([true, false]);
  });

  it('refuses a single-platform image for another --platform, exit 2, and takes it for its own', async () => {
    const credentials = { credentials: { ...TEST_USER }, env: {} };
    await pushImage(`${registry.host}/private/app:amd64`, amd64.content, credentials);
    await pushImage(`${registry.host}/private/app:arm64`, arm64.content, credentials);
    const run = (...args: string[]) =>
      runCli(args, {
        env: { ...env, IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password },
      });

    for (const command of ['check', 'inspect']) {
      const refused = await run(command, '--platform', 'linux/arm64', `${registry.host}/private/app:amd64`);
      expect(refused.code, command).toBe(2);
      expect(refused.stdout, command).toBe('');
      expect(refused.stderr, command).toBe(
        `imgscope: ${registry.host}/private/app:amd64: the image is linux/amd64, not the requested linux/arm64 — ` +
          'drop --platform to take the image as it is, or pick a tag built for linux/arm64\n',
      );
    }
    const own = await run(
      'inspect',
      '--json',
      '--platform',
      'linux/arm64/v8',
      `${registry.host}/private/app:arm64`,
    );
    expect(own.code).toBe(0);
    expect(JSON.parse(own.stdout)).toMatchObject({ digest: arm64.digest, platform: 'linux/arm64' });
  });

  it('says in one line which registry and repository refused access, exit 2', async () => {
    const result = await runCli(['inspect', `${registry.host}/private/app:multi`], { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^imgscope: registry ${registry.host} refused pull access to repository private/app \\(401 .*IMGSCOPE_USERNAME`,
      ),
    );
  });

  it('says in one line that a tag does not exist, exit 2', async () => {
    const result = await runCli(['inspect', `${registry.host}/private/app:nope`], {
      env: { ...env, IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^imgscope: 127\.0\.0\.1:\d+\/private\/app:nope: no such tag or digest in .*\n$/,
    );
  });

  it('--debug logs every exchange to stderr with credentials and tokens redacted', async () => {
    const result = await runCli(
      ['inspect', '--json', '--debug', ...login, `${registry.host}/private/app:multi`],
      {
        env,
        input: TEST_USER.password,
      },
    );
    expect(result.code).toBe(0);
    const debug = result.stderr.split('\n').filter((line) => line.startsWith('debug: '));
    // ping, token, index, manifest, config
    expect(debug.length).toBeGreaterThanOrEqual(5);
    expect(result.stderr).toMatch(
      /debug: GET http:\/\/127\.0\.0\.1:\d+\/token\?.* → 200 .*auth Basic \*\*\*/,
    );
    expect(result.stderr).toMatch(
      new RegExp(`debug: GET http://${registry.host}/v2/private/app/manifests/multi → 200`),
    );
    expect(result.stderr).not.toContain(TEST_USER.password);
    expect(result.stderr).not.toContain(
      Buffer.from(`${TEST_USER.username}:${TEST_USER.password}`).toString('base64'),
    );
    expect(result.stderr).not.toMatch(/eyJ/);
  });

  it('check --json streams and verifies the layers of a registry image', async () => {
    const result = await runCli(['check', '--json', `${registry.host}/private/app:multi`], {
      env: { ...env, IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password },
    });
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ digest: amd64.digest, layerCount: 2, layersAnalyzed: true });
  });

  it('check refuses an image whose config names its layers by the wrong diff_ids, exit 2 in one line', async () => {
    const image = await buildImage({
      label: 'cli-diff-ids',
      layers: [{ 'a.txt': 'a' }, { 'b.txt': 'b' }],
      diffIds: (real) => [real[0]!, real[0]!],
    });
    await pushImage(`${registry.host}/private/diff-ids:v1`, image.content, {
      credentials: { ...TEST_USER },
      env: {},
    });
    const result = await runCli(['check', '--no-cache', `${registry.host}/private/diff-ids:v1`], {
      env: { ...env, IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password },
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `imgscope: layer 2 of ${registry.host}/private/diff-ids:v1 (${image.layers[1]!.descriptor.digest}): its uncompressed content is sha256:`,
    );
    expect(lines[0]).toContain("but the config's rootfs.diff_ids[1] is");
    expect(lines[0]).toContain('docker and containerd refuse to unpack this layer');
  });

  it('says a layer is shorter than its manifest says, rather than that the registry refused a request', async () => {
    const image = await buildImage({ label: 'cli-short-blob' });
    const credentials = { credentials: { ...TEST_USER }, env: {} };
    await pushImage(`${registry.host}/private/short:real`, image.content, credentials);
    const manifest = JSON.parse(image.manifest.toString());
    const realSize = manifest.layers[0].size;
    manifest.layers[0].size = realSize + 1_000_000;
    await pushImage(
      `${registry.host}/private/short:v1`,
      { ...image.content, manifest: Buffer.from(JSON.stringify(manifest)) },
      credentials,
    );
    const result = await runCli(
      ['check', '--no-cache', '--profile', 'none', `${registry.host}/private/short:v1`],
      {
        env: { ...env, IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password },
      },
    );
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `: the blob ends after ${realSize} bytes, but the manifest gives its size as ${realSize + 1_000_000} — the manifest describes this blob wrongly`,
    );
  });

  it('fetches a layer of 1 MiB or more over a connection of its own, kept for the next one, and smaller blobs through the pool', async () => {
    const image = await buildImage({
      label: 'cli-bulk',
      layers: [{ 'big.bin': noise(1_500_000) }, { 'small.txt': 'small' }, { 'next.bin': noise(1_200_000) }],
    });
    await pushImage(`${registry.host}/private/bulk:v1`, image.content, {
      credentials: { ...TEST_USER },
      env: {},
    });
    const [big, small, next] = image.layers.map((layer) => layer.descriptor.digest);
    const result = await runCli(
      ['check', '--json', '--no-cache', '--profile', 'none', '--debug', '--concurrency', '1'].concat(
        `${registry.host}/private/bulk:v1`,
      ),
      { env: { ...env, IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password } },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
    const blobLine = (digest: string | undefined) =>
      result.stderr.split('\n').find((line) => line.includes(`/blobs/${digest} → 200`));
    expect(blobLine(big)).toMatch(/\(own connection, auth Bearer \*\*\*\)$/);
    expect(blobLine(next)).toMatch(/\(own connection, reused, auth Bearer \*\*\*\)$/);
    expect(blobLine(small)).toBeDefined();
    expect(blobLine(small)).not.toContain('own connection');
  });
});
