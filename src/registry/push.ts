import type { Readable } from 'node:stream';
import { ImgscopeError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { RegistryClient } from './client.js';
import type { RegistryOptions } from './options.js';
import { type ImageReference, parseReference } from './reference.js';
import { manifestDigestOf } from './schema1.js';

export interface PushImageContent {
  /** Exact manifest bytes (OCI or Docker schema 2); its config and layers are uploaded first. */
  manifest: Uint8Array;
  config: Uint8Array;
  /** Opens a layer's bytes; called only for layers the registry does not have yet. */
  blobs: (descriptor: Descriptor) => Readable;
  /** Upload blobs in PATCH chunks of this many bytes instead of one PUT each. */
  chunkSize?: number;
}

export interface PushIndexContent {
  /** Exact index bytes; every image it lists must be among `images`. */
  index: Uint8Array;
  images: PushImageContent[];
}

export interface PushedImage {
  digest: Digest;
  /** `registry/repository@sha256:…` */
  reference: string;
}

/** Pushes one image: blobs it lacks (monolithic or chunked), then the manifest under the target's tag or digest. */
export async function pushImage(
  target: string,
  content: PushImageContent,
  options: RegistryOptions = {},
): Promise<PushedImage> {
  const ref = parseReference(target);
  const client = new RegistryClient(ref, options);
  try {
    const digest = await pushOne(client, ref, content, identifierOf(ref));
    return { digest, reference: `${ref.registry}/${ref.repository}@${digest}` };
  } finally {
    await client.close();
  }
}

/** Pushes every image of an index by digest, then the index under the target's tag or digest. */
export async function pushIndex(
  target: string,
  content: PushIndexContent,
  options: RegistryOptions = {},
): Promise<PushedImage> {
  const ref = parseReference(target);
  const parsed = parseManifest(content.index, `${target}: index`);
  if (parsed.kind !== 'index') {
    throw new ImgscopeError('BAD_INPUT', `${target}: pushIndex was given a ${parsed.kind}, not an index`, {
      hint: 'use pushImage for a single image',
    });
  }
  const client = new RegistryClient(ref, options);
  try {
    for (const image of content.images) await pushOne(client, ref, image, manifestDigestOf(image.manifest));
    const mediaType = parsed.index.mediaType ?? MediaType.OciIndex;
    const digest = await client.putManifest(ref.repository, identifierOf(ref), content.index, mediaType);
    return { digest, reference: `${ref.registry}/${ref.repository}@${digest}` };
  } finally {
    await client.close();
  }
}

function identifierOf(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

async function pushOne(
  client: RegistryClient,
  ref: ImageReference,
  content: PushImageContent,
  identifier: string,
) {
  const label = `${ref.registry}/${ref.repository}:${identifier}`;
  const parsed = parseManifest(content.manifest, `${label}: manifest`);
  if (parsed.kind !== 'manifest') {
    throw new ImgscopeError(
      'UNSUPPORTED',
      `${label}: only OCI and Docker schema 2 image manifests can be pushed`,
      {
        hint: 'push indexes with pushIndex',
      },
    );
  }
  const { config, layers } = parsed.manifest;
  const { repository } = ref;
  if (!(await client.hasBlob(repository, config.digest))) {
    await client.uploadBlob(repository, config, content.config);
  }
  for (const layer of layers) {
    if (await client.hasBlob(repository, layer.digest)) continue;
    await client.uploadBlob(repository, layer, content.blobs(layer), content.chunkSize);
  }
  return client.putManifest(repository, identifier, content.manifest, parsed.mediaType);
}
