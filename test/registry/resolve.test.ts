import { readFileSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgscopeError, PlatformNotFoundError } from '../../src/errors.js';
import { MediaType } from '../../src/oci/media-types.js';
import { parsePlatform } from '../../src/oci/platform.js';
import { openRegistryImage, pushImage, pushIndex, type RegistryOptions } from '../../src/registry/index.js';
import { registryUnavailable, startRegistry, type TestRegistry } from './harness.js';
import { type BuiltImage, buildImage, buildIndex, noise, readAll } from './images.js';

const options: RegistryOptions = { env: {}, retries: { baseDelayMs: 10, maxDelayMs: 50 } };

async function failure(promise: Promise<unknown>): Promise<ImgscopeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImgscopeError);
  expect((error as ImgscopeError).exitCode).toBe(2);
  return error as ImgscopeError;
}

describe.skipIf(registryUnavailable)('resolving images in a real registry', () => {
  let registry: TestRegistry;
  let v1: BuiltImage;
  let v2: BuiltImage;
  let amd64: BuiltImage;
  let arm64: BuiltImage;
  let armv7: BuiltImage;
  let indexDigest: string;
  let name: string;

  beforeAll(async () => {
    registry = await startRegistry();
    name = `${registry.host}/acme/app`;
    v1 = await buildImage({ label: 'v1', layers: [{ 'a.txt': 'a' }, { 'b.txt': 'b' }] });
    v2 = await buildImage({ label: 'v2', format: 'docker' });
    await pushImage(`${name}:v1`, v1.content, options);
    await pushImage(`${name}:v2`, v2.content, options);
    amd64 = await buildImage({ label: 'amd64', platform: { os: 'linux', architecture: 'amd64' } });
    arm64 = await buildImage({
      label: 'arm64',
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    });
    armv7 = await buildImage({
      label: 'armv7',
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    });
    const index = buildIndex([amd64, arm64, armv7]);
    indexDigest = (await pushIndex(`${name}:multi`, index, options)).digest;
  });
  afterAll(() => registry?.stop());

  it('resolves a tag to the digest of its manifest, with config and layers', async () => {
    const source = await openRegistryImage(`${name}:v1`, options);
    await source.close();
    expect(source.kind).toBe('registry');
    expect(source.reference).toBe(`${name}:v1`);
    expect(source.digest).toBe(v1.digest);
    expect(source.mediaType).toBe(MediaType.OciManifest);
    expect(source.schema).toBe('oci-v1');
    expect(Buffer.from(source.rawManifest).equals(v1.manifest)).toBe(true);
    expect(source.configDescriptor).toEqual(v1.configDescriptor);
    expect(source.layers).toEqual(v1.layers.map((layer) => layer.descriptor));
    expect(source.config.config?.Labels).toEqual({ 'org.opencontainers.image.title': 'v1' });
    expect(source.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(source.index).toBeUndefined();
  });

  it('reads a Docker schema 2 image', async () => {
    const source = await openRegistryImage(`docker://${name}:v2`, options);
    await source.close();
    expect(source.schema).toBe('docker-v2s2');
    expect(source.mediaType).toBe(MediaType.DockerManifest);
  });

  it('opens by digest, and a digest wins over a tag that points elsewhere', async () => {
    const byDigest = await openRegistryImage(`${name}@${v2.digest}`, options);
    await byDigest.close();
    expect(byDigest.digest).toBe(v2.digest);
    const both = await openRegistryImage(`${name}:v1@${v2.digest}`, options);
    await both.close();
    expect(both.digest).toBe(v2.digest);
  });

  it('streams every layer verified, byte for byte', async () => {
    const source = await openRegistryImage(`${name}:v1`, options);
    try {
      for (const [i, layer] of source.layers.entries()) {
        expect((await readAll(await source.openBlob(layer))).equals(v1.layers[i]!.bytes)).toBe(true);
      }
    } finally {
      await source.close();
    }
  });

  it('selects linux/amd64 from an index by default and lists every platform', async () => {
    const source = await openRegistryImage(`${name}:multi`, options);
    await source.close();
    expect(source.digest).toBe(amd64.digest);
    expect(source.index?.digest).toBe(indexDigest);
    expect(source.index?.mediaType).toBe(MediaType.OciIndex);
    expect(source.index?.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ]);
  });

  it('selects the requested platform, arm64/v8 normalised to arm64', async () => {
    for (const [platform, expected] of [
      ['linux/arm64/v8', arm64],
      ['linux/aarch64', arm64],
      ['linux/arm/v7', armv7],
    ] as const) {
      const source = await openRegistryImage(`${name}:multi`, {
        ...options,
        platform: parsePlatform(platform),
      });
      await source.close();
      expect(source.digest, platform).toBe(expected.digest);
    }
  });

  it('names the platforms an index has when the wanted one is missing', async () => {
    const error = await failure(
      openRegistryImage(`${name}:multi`, { ...options, platform: parsePlatform('linux/s390x') }),
    );
    expect(error.code).toBe('PLATFORM');
    expect(error.message).toBe(
      `${name}:multi: no linux/s390x image; the index has linux/amd64, linux/arm64, linux/arm/v7`,
    );
    expect((error as PlatformNotFoundError).index.digest).toBe(indexDigest);
  });

  it('refuses a single-platform image for another requested platform', async () => {
    const error = await failure(
      openRegistryImage(`${name}:v1`, { ...options, platform: parsePlatform('linux/arm64') }),
    );
    expect(error.code).toBe('PLATFORM');
    expect(error.message).toBe(`${name}:v1: the image is linux/amd64, not the requested linux/arm64`);
    expect(error).toBeInstanceOf(PlatformNotFoundError);
    expect((error as PlatformNotFoundError).index.manifests.map((m) => m.platform)).toEqual([
      { os: 'linux', architecture: 'amd64' },
    ]);
  });

  it('reports an unknown tag and an unknown repository as NOT_FOUND', async () => {
    const tag = await failure(openRegistryImage(`${name}:nope`, options));
    expect(tag.code).toBe('NOT_FOUND');
    expect(tag.message).toBe(
      `${name}:nope: no such tag or digest in ${name} (404 MANIFEST_UNKNOWN: manifest unknown)`,
    );
    const repository = await failure(openRegistryImage(`${registry.host}/acme/missing:v1`, options));
    expect(repository.code).toBe('NOT_FOUND');
    expect(repository.message).toMatch(
      /^127\.0\.0\.1:\d+\/acme\/missing:v1: (no such tag or digest|repository .* does not exist)/,
    );
  });

  it('pushes in chunks and reads the result back', async () => {
    const big = await buildImage({ label: 'chunked', layers: [{ 'noise.bin': noise(300_000) }] });
    await pushImage(`${name}:chunked`, { ...big.content, chunkSize: 64 * 1024 }, options);
    const source = await openRegistryImage(`${name}:chunked`, options);
    try {
      expect((await readAll(await source.openBlob(source.layers[0]!))).equals(big.layers[0]!.bytes)).toBe(
        true,
      );
    } finally {
      await source.close();
    }
  });

  describe('tampered storage', () => {
    let image: BuiltImage;
    const flipLastByte = (path: string) => {
      const bytes = readFileSync(path);
      bytes[bytes.length - 1]! ^= 0xff;
      writeFileSync(path, bytes);
    };
    beforeAll(async () => {
      image = await buildImage({ label: 'tampered', layers: [{ 'x.txt': 'x' }, { 'y.txt': 'y' }] });
    });

    it('detects a layer whose bytes no longer match its digest, while streaming', async () => {
      await pushImage(`${registry.host}/tamper/layer:v1`, image.content, options);
      flipLastByte(registry.blobDataPath(image.layers[1]!.descriptor.digest));
      const source = await openRegistryImage(`${registry.host}/tamper/layer:v1`, options);
      try {
        await readAll(await source.openBlob(source.layers[0]!));
        const error = await failure(readAll(await source.openBlob(source.layers[1]!)));
        expect(error.code).toBe('DIGEST_MISMATCH');
        expect(error.message).toContain(image.layers[1]!.descriptor.digest);
        expect(error.hint).toBe('the blob was altered in storage or transit; re-push the image');
      } finally {
        await source.close();
      }
    });

    it('detects a tampered config before returning the image', async () => {
      const other = await buildImage({ label: 'tampered-config' });
      await pushImage(`${registry.host}/tamper/config:v1`, other.content, options);
      flipLastByte(registry.blobDataPath(other.configDescriptor.digest));
      const error = await failure(openRegistryImage(`${registry.host}/tamper/config:v1`, options));
      expect(error.code).toBe('DIGEST_MISMATCH');
    });

    it('detects a tampered manifest, by tag and by digest', async () => {
      const other = await buildImage({ label: 'tampered-manifest' });
      await pushImage(`${registry.host}/tamper/manifest:v1`, other.content, options);
      const path = registry.blobDataPath(other.digest);
      // A valid manifest of the same length that lies about the last layer's size.
      const text = readFileSync(path, 'utf8');
      const at = text.lastIndexOf('"size":') + '"size":'.length;
      writeFileSync(path, `${text.slice(0, at)}${(Number(text[at]) + 1) % 10}${text.slice(at + 1)}`);
      const byTag = await failure(openRegistryImage(`${registry.host}/tamper/manifest:v1`, options));
      expect(byTag.code).toBe('DIGEST_MISMATCH');
      expect(byTag.message).toContain(`the registry says ${other.digest}`);
      const byDigest = await failure(
        openRegistryImage(`${registry.host}/tamper/manifest@${other.digest}`, options),
      );
      expect(byDigest.code).toBe('DIGEST_MISMATCH');
    });
  });

  it('returns a readable stream that can be abandoned early without leaking', async () => {
    const source = await openRegistryImage(`${name}:chunked`, options);
    const stream = await source.openBlob(source.layers[0]!);
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    stream.destroy();
    await source.close();
    expect(stream.destroyed).toBe(true);
    expect(Readable.isDisturbed(stream)).toBe(true);
  });
});
