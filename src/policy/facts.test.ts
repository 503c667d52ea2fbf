import { describe, expect, it } from 'vitest';
import type { Digest } from '../oci/digest.js';
import type { ImageSource } from '../oci/source.js';
import { imageFactsOf, indexOnlyFacts, indexPlatformsOf, pinnedReferenceFor } from './facts.js';

const digest = (c: string): Digest => `sha256:${c.repeat(64)}`;

function source(overrides: Partial<ImageSource>): ImageSource {
  return {
    reference: 'localhost:5000/team/app:1.0',
    kind: 'registry',
    digest: digest('a'),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    schema: 'oci-v1',
    platform: { os: 'linux', architecture: 'amd64' },
    index: undefined,
    manifest: { schemaVersion: 2, config: { mediaType: 'c', digest: digest('c'), size: 100 }, layers: [] },
    rawManifest: new Uint8Array(),
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } },
    configDescriptor: { mediaType: 'c', digest: digest('c'), size: 100 },
    layers: [
      { mediaType: 'l', digest: digest('1'), size: 1000 },
      { mediaType: 'l', digest: digest('2'), size: 2000 },
    ],
    openBlob: () => Promise.reject(new Error('not in this test')),
    close: () => Promise.resolve(),
    ...overrides,
  };
}

describe('imageFactsOf', () => {
  it('sums config and layer blobs as the compressed size and pins tags', () => {
    const facts = imageFactsOf(source({}));
    expect(facts.compressedSize).toBe(3100);
    expect(facts.layerCount).toBe(2);
    expect(facts.referenceIsTag).toBe(true);
    expect(facts.pinnedReference).toBe(`localhost:5000/team/app@${digest('a')}`);
    expect(facts.indexPlatforms).toBeUndefined();
  });

  it('counts what the registry stores: a blob listed twice once, a foreign layer not at all', () => {
    const facts = imageFactsOf(
      source({
        layers: [
          {
            mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
            digest: digest('f'),
            size: 50_000,
            urls: ['https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:ff'],
          },
          {
            mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
            digest: digest('e'),
            size: 7000,
          },
          { mediaType: 'l', digest: digest('1'), size: 1000 },
          { mediaType: 'l', digest: digest('2'), size: 2000 },
          { mediaType: 'l', digest: digest('1'), size: 1000 },
        ],
      }),
    );
    expect(facts.compressedSize).toBe(3100);
    expect(facts.uncountedBytes).toEqual({ foreign: 57_000, repeated: 1000 });
  });

  it('knows a digest reference is not a tag, and local images have no pinned reference', () => {
    expect(imageFactsOf(source({ reference: `localhost:5000/team/app@${digest('a')}` })).referenceIsTag).toBe(
      false,
    );
    const local = imageFactsOf(source({ kind: 'oci-layout', reference: 'oci:fixtures/app' }));
    expect([local.referenceIsTag, local.pinnedReference]).toEqual([false, undefined]);
  });

  it('knows the layers of a docker save are stored uncompressed, read as docker-archive or as its OCI layout', () => {
    const uncompressed = (mediaType: string) => ({ mediaType, digest: digest('1'), size: 1000 });
    const savedByDocker25 = source({
      kind: 'oci-archive',
      dockerSave: true,
      layers: [uncompressed('application/vnd.oci.image.layer.v1.tar')],
    });
    expect(imageFactsOf(savedByDocker25).storedUncompressed).toBe(true);
    const savedByDocker24 = source({
      kind: 'docker-archive',
      dockerSave: true,
      layers: [uncompressed('application/vnd.docker.image.rootfs.diff.tar')],
    });
    expect(imageFactsOf(savedByDocker24).storedUncompressed).toBe(true);
    // An OCI layout of uncompressed layers that no docker save wrote: pushed as it is, by crane or oras.
    const layout = source({
      kind: 'oci-archive',
      layers: [uncompressed('application/vnd.oci.image.layer.v1.tar')],
    });
    expect(imageFactsOf(layout).storedUncompressed).toBe(false);
    const gzipSave = source({
      kind: 'oci-archive',
      dockerSave: true,
      layers: [uncompressed('application/vnd.oci.image.layer.v1.tar+gzip')],
    });
    expect(imageFactsOf(gzipSave).storedUncompressed).toBe(false);
  });

  it('lists the platforms of the index, leaving out attestations', () => {
    const facts = imageFactsOf(
      source({
        index: {
          digest: digest('i'),
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [
            {
              mediaType: 'm',
              digest: digest('1'),
              size: 1,
              platform: { os: 'linux', architecture: 'amd64' },
            },
            {
              mediaType: 'm',
              digest: digest('2'),
              size: 1,
              platform: { os: 'unknown', architecture: 'unknown' },
            },
          ],
        },
      }),
    );
    expect(facts.indexPlatforms).toEqual([{ os: 'linux', architecture: 'amd64' }]);
  });
});

describe('facts without an image source', () => {
  it('an index without the wanted platform: its platforms, no image', () => {
    const facts = indexOnlyFacts({
      reference: 'localhost:5000/multi:1',
      kind: 'registry',
      schema: 'oci-v1',
      index: {
        digest: digest('i'),
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { mediaType: 'm', digest: digest('1'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      },
    });
    expect(facts).toMatchObject({
      platform: undefined,
      config: undefined,
      indexPlatforms: [{ os: 'linux', architecture: 'arm64' }],
    });
  });
});

describe('pinnedReferenceFor', () => {
  it('drops the tag or digest, keeping a registry port', () => {
    expect(pinnedReferenceFor('localhost:5000/app', digest('a'))).toBe(`localhost:5000/app@${digest('a')}`);
    expect(pinnedReferenceFor('localhost:5000/app:1', digest('a'))).toBe(`localhost:5000/app@${digest('a')}`);
    expect(pinnedReferenceFor(`docker.io/library/alpine@${digest('b')}`, digest('a'))).toBe(
      `docker.io/library/alpine@${digest('a')}`,
    );
  });
});

describe('indexPlatformsOf', () => {
  it('names each platform once, in the order first met, when nested indexes offer the same one', () => {
    const platforms = indexPlatformsOf({
      manifests: [],
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64', variant: 'v8' },
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    expect(platforms).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
  });
});
