import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { storedSizeOf } from '../../src/oci/source.js';
import { openRegistryImage, RegistryClient } from '../../src/registry/index.js';
import { parseReference } from '../../src/registry/reference.js';
import { registryUnavailable, startRegistry, type TestRegistry } from './harness.js';
import { readAll, tarOf } from './images.js';
import { signedSchema1 } from './schema1.js';

describe.skipIf(registryUnavailable)('Docker manifest schema 1 from a real registry', () => {
  let registry: TestRegistry;
  let base: Buffer;
  let top: Buffer;
  let manifestDigest: string;

  beforeAll(async () => {
    registry = await startRegistry();
    base = gzipSync(await tarOf({ 'etc/os-release': 'ID=old\n' }));
    top = gzipSync(await tarOf({ 'app/run.sh': 'echo hi\n' }));
    const empty = gzipSync(await tarOf({}));
    const client = new RegistryClient(parseReference(`${registry.host}/legacy/app`), { env: {} });
    try {
      for (const blob of [base, top, empty]) {
        const descriptor = {
          mediaType: MediaType.DockerLayerGzip,
          digest: sha256Digest(blob),
          size: blob.length,
        };
        await client.uploadBlob('legacy/app', descriptor, blob);
      }
      const id = (n: number) => String(n).repeat(64);
      const manifest = signedSchema1('legacy/app', 'v1', [
        {
          digest: sha256Digest(empty),
          v1: { id: id(3), parent: id(2), throwaway: true, created: '2016-01-03T00:00:00Z' },
        },
        {
          digest: sha256Digest(top),
          v1: {
            id: id(2),
            parent: id(1),
            created: '2016-01-02T00:00:00Z',
            container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD run.sh'] },
          },
        },
        {
          digest: sha256Digest(base),
          v1: { id: id(1), created: '2016-01-01T00:00:00Z', architecture: 'amd64', os: 'linux' },
        },
      ]);
      // history[0] describes the image: give it the image's config
      const pushed = await client.putManifest(
        'legacy/app',
        'v1',
        manifest.bytes,
        MediaType.DockerManifestSchema1Signed,
      );
      expect(pushed).toBe(manifest.digest);
      manifestDigest = manifest.digest;
    } finally {
      await client.close();
    }
  });
  afterAll(() => registry?.stop());

  it('is recognised as docker-v2s1, with layers base first and its payload digest', async () => {
    const source = await openRegistryImage(`${registry.host}/legacy/app:v1`, { env: {} });
    try {
      expect(source.schema).toBe('docker-v2s1');
      expect(source.mediaType).toBe(MediaType.DockerManifestSchema1Signed);
      expect(source.digest).toBe(manifestDigest);
      expect(source.layers.map((layer) => layer.digest)).toEqual([sha256Digest(base), sha256Digest(top)]);
      expect(source.layers.map((layer) => layer.size)).toEqual([base.length, top.length]);
      // The registry stores no config for it: the size the platform judges is the layers' alone.
      expect(storedSizeOf(source)).toBe(base.length + top.length);
      expect(source.config.created).toBe('2016-01-03T00:00:00Z');
      expect(source.config.history?.map((entry) => entry.empty_layer)).toEqual([false, false, true]);
      expect(source.config.history?.[1]?.created_by).toBe('/bin/sh -c #(nop) ADD run.sh');
      expect((await readAll(await source.openBlob(source.layers[1]!))).equals(top)).toBe(true);
      expect(
        JSON.parse(Buffer.from(await readAll(await source.openBlob(source.configDescriptor))).toString()).os,
      ).toBe('linux');
    } finally {
      await source.close();
    }
  });

  it('opens by its payload digest', async () => {
    const source = await openRegistryImage(`${registry.host}/legacy/app@${manifestDigest}`, { env: {} });
    await source.close();
    expect(source.schema).toBe('docker-v2s1');
  });
});
