import { describe, expect, it } from 'vitest';
import { announcePeerImages, hasPeerImages, peerImage } from '../../../test/helpers/shared.js';
import { sha256Digest } from '../digest.js';
import { MediaType } from '../media-types.js';
import type { ImageSource } from '../source.js';
import { openLocalImage } from './index.js';

announcePeerImages();

/** Reads every blob of the image to the end: each stream fails unless digest and size match. */
async function streamEveryBlob(source: ImageSource): Promise<number> {
  let bytes = 0;
  for (const descriptor of [source.configDescriptor, ...source.layers]) {
    for await (const chunk of await source.openBlob(descriptor)) bytes += (chunk as Buffer).length;
  }
  return bytes;
}

async function withImage<T>(spec: string, use: (source: ImageSource) => Promise<T>): Promise<T> {
  const source = await openLocalImage(spec);
  try {
    return await use(source);
  } finally {
    await source.close();
  }
}

describe.skipIf(!hasPeerImages)('peer images from the dive project', () => {
  it('reads the legacy docker save archive: 14 uncompressed layers named by their diff ids', async () => {
    await withImage(peerImage('test-docker-image.tar'), async (source) => {
      expect(source.kind).toBe('docker-archive');
      expect(source.reference).toBe(`docker-archive:${peerImage('test-docker-image.tar')}`);
      expect(source.schema).toBe('docker-v2s2');
      expect(source.mediaType).toBe(MediaType.DockerManifest);
      expect(source.platform).toEqual({ os: 'linux', architecture: 'amd64' });
      expect(source.layers.map((layer) => layer.size)).toEqual([
        1369600, 8192, 3072, 9216, 9216, 9216, 9216, 9728, 8704, 2048, 5632, 8704, 9216, 8704,
      ]);
      expect(source.layers.every((layer) => layer.mediaType === MediaType.DockerLayer)).toBe(true);
      expect(source.layers.map((layer) => layer.digest)).toEqual(source.config.rootfs.diff_ids);
      expect(source.layers[0]!.digest).toBe(
        'sha256:23bc2b70b2014dec0ac22f27bb93e9babd08cdd6f1115d0c955b9ff22b382f5a',
      );
      expect(source.configDescriptor.digest).toBe(
        'sha256:75ae28b8ebf89b203319069ddcbecdf5c3838503bbebc0d0d85e4b8589c5de3a',
      );
      expect(source.config.history?.at(-1)?.created_by).toBe('/bin/sh -c chmod +x /root/saved.txt');
      expect(source.digest).toBe(sha256Digest(source.rawManifest));
      // The synthesised manifest is deterministic, so the image digest is stable across runs and versions.
      expect(source.digest).toBe('sha256:f90222c4d2453772990ad46067710e35eb000c557c6910985636febfc8b683a2');
      expect(source.index).toBeUndefined();
      expect(await streamEveryBlob(source)).toBe(1474458);
    });
  });

  it('reads the kaniko tarball: gzip layers named by their digests, config named sha256:<hex>', async () => {
    await withImage(
      `docker-archive:${peerImage('test-kaniko-image.tar')}:dive-test:kaniko-latest`,
      async (source) => {
        expect(source.kind).toBe('docker-archive');
        expect(source.platform).toEqual({ os: 'linux', architecture: 'amd64' });
        expect(source.layers).toHaveLength(14);
        expect(source.layers.map((layer) => layer.size)).toEqual([
          764655, 3822, 181, 3878, 3878, 3879, 3879, 3915, 3851, 164, 1341, 3862, 3882, 3850,
        ]);
        expect(source.layers.every((layer) => layer.mediaType === MediaType.DockerLayerGzip)).toBe(true);
        expect(source.layers[1]!.digest).toBe(
          'sha256:5a99c1aa63bbf4de393361eb196b89853c13bb61dc276cc103587107f338b8a0',
        );
        expect(source.layers[13]!.digest).toBe(
          'sha256:2a4db5aee2ae5c7650725e171686fac3f9f2087568e679d5725932c8699e0c83',
        );
        expect(source.configDescriptor).toEqual({
          mediaType: MediaType.DockerConfig,
          digest: 'sha256:ae16a51058a758c7963b2f9b23d1acfa201ce9cbefc8cb93845f8cd934fb144d',
          size: 3136,
        });
        expect(source.config.config?.Cmd).toEqual(['sh']);
        expect(source.config.rootfs.diff_ids).toHaveLength(14);
        expect(await streamEveryBlob(source)).toBe(808173);
      },
    );
  });

  const ociImages = [
    {
      file: 'test-oci-gzip-image.tar',
      manifest: 'sha256:7d255e9e3d216a9a92a5c1ce0563a5ddd92f28a34a9df025d3cf8dfa5ea08366',
      config: 'sha256:3eaccc100f866490f00ae82727b459a737af031dcf44c791d8aa714a70f24959',
      layer: {
        mediaType: MediaType.OciLayerGzip,
        size: 4132,
        hex: '9aef42427209c9a180c61bb36b0b09681cbe3d3ff6409408bde0eb17ec1ba0cc',
      },
    },
    {
      file: 'test-oci-zstd-image.tar',
      manifest: 'sha256:f5e3515f39a16543547c03d03ec34faf9276742e6ce7c7dd6e467a14e90b29fc',
      config: 'sha256:3eaccc100f866490f00ae82727b459a737af031dcf44c791d8aa714a70f24959',
      layer: {
        mediaType: MediaType.OciLayerZstd,
        size: 4314,
        hex: '0308a5d81b28debb7e24a609dcdfca5fdb64c908bda38b0e4774a7d017a67297',
      },
    },
    {
      file: 'test-oci-estargz-image.tar',
      manifest: 'sha256:2e75eb783d1a845ce3846d1a7da4453f825886aab5b3ad03afcec7730a208c4d',
      config: 'sha256:5c153971f5feeb018fab88c379f94ef9171ba1990163d32852fd27bf55ed5b74',
      layer: {
        mediaType: MediaType.OciLayerGzip,
        size: 4496,
        hex: 'faae588a698ab938e22085e54a6ee1dcab88eca70618c8cca18cd1169ce7cb5a',
      },
    },
    {
      file: 'test-oci-uncompressed-image.tar',
      manifest: 'sha256:5cec6b4ce61c35c3a83e09d72d81a335b49fdcef727beee160d12eeaf066f11b',
      config: 'sha256:3eaccc100f866490f00ae82727b459a737af031dcf44c791d8aa714a70f24959',
      layer: {
        mediaType: MediaType.OciLayer,
        size: 12800,
        hex: '356d5e7f4012d87cb1078ac1f480e90528eec4940ce45c50380321436db38758',
      },
    },
  ];

  it.each(ociImages)(
    'reads $file as an oci-archive (linux/arm64, one layer)',
    async ({ file, manifest, config, layer }) => {
      // A bare path: index.json + oci-layout inside makes it an oci-archive. Its one entry is taken
      // whatever its platform, although the default platform is linux/amd64.
      await withImage(peerImage(file), async (source) => {
        expect(source.kind).toBe('oci-archive');
        expect(source.schema).toBe('oci-v1');
        expect(source.mediaType).toBe(MediaType.OciManifest);
        expect(source.digest).toBe(manifest);
        expect(sha256Digest(source.rawManifest)).toBe(manifest);
        expect(source.platform).toEqual({ os: 'linux', architecture: 'arm64' });
        expect(source.configDescriptor.digest).toBe(config);
        expect(source.config.history?.[0]?.created_by).toBe('COPY README.md /README.md # buildkit');
        expect(source.layers).toHaveLength(1);
        expect(source.layers[0]).toMatchObject({
          mediaType: layer.mediaType,
          size: layer.size,
          digest: `sha256:${layer.hex}`,
        });
        expect(source.index).toBeUndefined();
        expect(await streamEveryBlob(source)).toBe(source.configDescriptor.size + layer.size);
      });
    },
  );
});
