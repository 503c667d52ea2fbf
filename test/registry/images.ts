import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { Digest } from '../../src/oci/digest.js';
import { sha256Digest } from '../../src/oci/digest.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Platform } from '../../src/oci/platform.js';
import type { Descriptor } from '../../src/oci/types.js';
import type { PushImageContent, PushIndexContent } from '../../src/registry/index.js';

/** Small images built in memory for pushing to the test registry. */
export interface BuiltImage {
  manifest: Buffer;
  digest: Digest;
  config: Buffer;
  configDescriptor: Descriptor;
  layers: { descriptor: Descriptor; bytes: Buffer }[];
  platform: Platform;
  content: PushImageContent;
}

export type LayerFiles = Record<string, string | Buffer>;

export async function tarOf(files: LayerFiles): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) {
    archive.entry(
      { name, mtime: new Date(0), mode: 0o644 },
      typeof content === 'string' ? Buffer.from(content) : content,
    );
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function buildImage(
  options: {
    layers?: LayerFiles[];
    platform?: Platform;
    format?: 'oci' | 'docker';
    label?: string;
    /** Rewrites the config's rootfs.diff_ids (an image built wrong). */
    diffIds?: (real: Digest[]) => Digest[];
  } = {},
): Promise<BuiltImage> {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const docker = options.format === 'docker';
  const layerFiles = options.layers ?? [{ 'etc/hello.txt': `hello from ${options.label ?? 'imgscope'}\n` }];
  const layers: BuiltImage['layers'] = [];
  const diffIds: Digest[] = [];
  for (const files of layerFiles) {
    const tar = await tarOf(files);
    diffIds.push(sha256Digest(tar));
    const bytes = gzipSync(tar);
    layers.push({
      bytes,
      descriptor: {
        mediaType: docker ? MediaType.DockerLayerGzip : MediaType.OciLayerGzip,
        digest: sha256Digest(bytes),
        size: bytes.length,
      },
    });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: '2024-01-01T00:00:00Z',
      config: {
        Env: ['PATH=/usr/bin'],
        Cmd: ['/bin/sh'],
        Labels: { 'org.opencontainers.image.title': options.label ?? 'test' },
      },
      rootfs: { type: 'layers', diff_ids: options.diffIds?.(diffIds) ?? diffIds },
      history: layerFiles.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'test' })),
    }),
  );
  const configDescriptor: Descriptor = {
    mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig,
    digest: sha256Digest(config),
    size: config.length,
  };
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
      config: configDescriptor,
      layers: layers.map((layer) => layer.descriptor),
    }),
  );
  const byDigest = new Map(layers.map((layer) => [layer.descriptor.digest, layer.bytes]));
  return {
    manifest,
    digest: sha256Digest(manifest),
    config,
    configDescriptor,
    layers,
    platform,
    content: {
      manifest,
      config,
      blobs: (descriptor) => Readable.from([byDigest.get(descriptor.digest)!]),
    },
  };
}

export function buildIndex(
  images: BuiltImage[],
  format: 'oci' | 'docker' = 'oci',
): PushIndexContent & { digest: Digest } {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: format === 'docker' ? MediaType.DockerManifestList : MediaType.OciIndex,
      manifests: images.map((image) => ({
        mediaType: format === 'docker' ? MediaType.DockerManifest : MediaType.OciManifest,
        digest: image.digest,
        size: image.manifest.length,
        platform: image.platform,
      })),
    }),
  );
  return { index, digest: sha256Digest(index), images: images.map((image) => image.content) };
}

/** Incompressible bytes, so a gzip layer is about as big as asked (for resume and stall tests). */
export function noise(bytes: number, seed = 1): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
