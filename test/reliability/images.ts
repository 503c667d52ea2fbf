import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type Digest, sha256Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import type { PushImageContent } from '../../src/registry/index.js';

/**
 * Images assembled from raw blobs, so a test can make any part of one hostile: layers of any bytes and
 * media type, configs that are not JSON or not configs, manifests with extra (deep) fields.
 */

export interface LayerBlob {
  bytes: Buffer;
  mediaType: string;
  /** Digest of the uncompressed tar, for the config's rootfs. */
  diffId: Digest;
  /** Length of the uncompressed tar: the `uncompressedSize` a report must give. */
  tarBytes: number;
}

export function gzipLayer(tar: Buffer, mediaType: string = MediaType.OciLayerGzip): LayerBlob {
  return { bytes: gzipSync(tar), mediaType, diffId: sha256Digest(tar), tarBytes: tar.length };
}

/** A layer generated already compressed (the bomb, the million entries), its tar hashed as it was made. */
export function precompressedLayer(layer: { gzip: Buffer; tarBytes: number; diffId: Digest }): LayerBlob {
  return {
    bytes: layer.gzip,
    mediaType: MediaType.OciLayerGzip,
    diffId: layer.diffId,
    tarBytes: layer.tarBytes,
  };
}

export interface AssembledImage {
  manifest: Buffer;
  digest: Digest;
  config: Buffer;
  layers: (LayerBlob & { descriptor: Descriptor })[];
  content: PushImageContent;
}

export interface AssembleOptions {
  layers: LayerBlob[];
  /** Config bytes as stored; default a valid OCI config for the layers. */
  config?: Buffer;
  configMediaType?: string;
  /** Raw JSON members appended to the manifest object (`"x":[[[…]]]`): any depth, any size. */
  manifestTail?: string;
}

export function imageConfig(layers: LayerBlob[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00Z',
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
      history: layers.map((_, i) => ({ created_by: `layer ${i + 1}` })),
    }),
  );
}

export function assembleImage(options: AssembleOptions): AssembledImage {
  const config = options.config ?? imageConfig(options.layers);
  const layers = options.layers.map((layer) => ({
    ...layer,
    descriptor: { mediaType: layer.mediaType, digest: sha256Digest(layer.bytes), size: layer.bytes.length },
  }));
  const standard = JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: {
      mediaType: options.configMediaType ?? MediaType.OciConfig,
      digest: sha256Digest(config),
      size: config.length,
    },
    layers: layers.map((layer) => layer.descriptor),
  });
  const manifest = Buffer.from(
    options.manifestTail ? `${standard.slice(0, -1)},${options.manifestTail}}` : standard,
  );
  const byDigest = new Map(layers.map((layer) => [layer.descriptor.digest, layer.bytes]));
  return {
    manifest,
    digest: sha256Digest(manifest),
    config,
    layers,
    content: { manifest, config, blobs: (descriptor) => Readable.from([byDigest.get(descriptor.digest)!]) },
  };
}

export function indexOf(children: { digest: Digest; size: number; mediaType: string }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: children.map((child) => ({ ...child, platform: { os: 'linux', architecture: 'amd64' } })),
    }),
  );
}

/** `[[[…]]]` nested `depth` deep, as JSON text. */
export function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

export function tarLength(gzip: Buffer): number {
  return gunzipSync(gzip).length;
}
