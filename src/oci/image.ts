import { pipeline, type Readable, Writable } from 'node:stream';
import { pipeline as pipelineSettled } from 'node:stream/promises';
import { ImgscopeError, isImgscopeError } from '../errors.js';
import { type Digest, sha256Digest, VerifyingStream } from './digest.js';
import { MAX_MANIFEST_BYTES, parseConfig, parsedOnDisk, parseManifest } from './manifest.js';
import { baseMediaType, MediaType, manifestSchemaOf } from './media-types.js';
import { normalizePlatform, type Platform } from './platform.js';
import type { ImageSource, ResolvedIndex, StoredBlob } from './source.js';
import type { Descriptor, ImageConfig, ImageManifest } from './types.js';

/**
 * The small core a transport implements — raw bytes of a blob by descriptor — from which
 * `assembleImage` derives a whole `ImageSource`. Streams from here are unverified; nothing outside this
 * module hands them to a caller without a `VerifyingStream` in front.
 */
export interface BlobReader {
  /** Opens the stored bytes of a blob; throws an ImgscopeError NOT_FOUND when there are none. */
  open(descriptor: Descriptor, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** Local transports: where the blob's bytes lie (see `ImageSource.locateBlob`). */
  locate?(descriptor: Descriptor): Promise<StoredBlob | undefined>;
  /** Releases files or connections; called once by `ImageSource.close()`. */
  close?(): Promise<void>;
}

/**
 * What to do about a blob whose bytes do not match its descriptor: make the copy again where it was
 * made — a registry's image is pushed, a local one written by the tool that made it.
 */
export function remedyFor(kind: ImageSource['kind']): string {
  switch (kind) {
    case 'registry':
      return 're-push the image';
    case 'oci-layout':
      return 'write the layout again with the tool that made it (skopeo copy, docker buildx --output type=oci)';
    case 'oci-archive':
      return 'export the archive again with the tool that made it (skopeo copy, docker buildx --output type=oci)';
    case 'docker-archive':
      return 'save the archive again with the tool that made it (docker save)';
  }
}

/** Names a blob in errors and says what to do when its bytes do not match (see `remedyFor`). */
export interface BlobNames {
  label: string;
  remedy: string;
}

/** Opens a blob behind a `VerifyingStream`: the stream errors before it ends unless digest and size match. */
export async function openVerifiedBlob(
  reader: BlobReader,
  descriptor: Descriptor,
  { label, remedy }: BlobNames,
  options: { signal?: AbortSignal } = {},
): Promise<Readable> {
  const raw = await reader.open(descriptor, options);
  const verifier = new VerifyingStream({ digest: descriptor.digest, size: descriptor.size, label, remedy });
  // pipeline forwards a read error to the verifier and destroys the file stream if the caller stops early.
  pipeline(raw, verifier, () => {});
  return verifier;
}

/** Reads a small document (manifest, index, config) through verification, refusing oversized ones. */
export async function readVerifiedDocument(
  reader: BlobReader,
  descriptor: Descriptor,
  names: BlobNames,
  options: { signal?: AbortSignal } = {},
): Promise<Buffer> {
  if (descriptor.size > MAX_MANIFEST_BYTES) {
    throw new ImgscopeError(
      'LIMIT',
      `${names.label}: ${descriptor.size} bytes is larger than the ${MAX_MANIFEST_BYTES}-byte limit`,
      {
        hint: 'manifests and configs are a few KiB; this one is not an image document',
      },
    );
  }
  const raw = await reader.open(descriptor, options);
  const chunks: Buffer[] = [];
  const collect = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const verifier = new VerifyingStream({ digest: descriptor.digest, size: descriptor.size, ...names });
  // Resolves once every stream has closed too: a file's descriptor is released when this returns.
  await pipelineSettled(raw, verifier, collect);
  return Buffer.concat(chunks);
}

/** Checks bytes already in memory against what they were promised to be. */
export function verifyBytes(
  bytes: Uint8Array,
  expected: { digest: Digest; size?: number },
  { label, remedy }: BlobNames,
): void {
  if (expected.size !== undefined && bytes.byteLength !== expected.size) {
    throw new ImgscopeError(
      'SIZE_MISMATCH',
      `${label}: ${bytes.byteLength} bytes, but ${expected.size} were promised`,
      {
        hint: `the blob is truncated or the manifest is wrong; ${remedy}`,
      },
    );
  }
  const actual = sha256Digest(bytes);
  if (actual !== expected.digest) {
    throw new ImgscopeError(
      'DIGEST_MISMATCH',
      `${label}: content is ${actual}, expected ${expected.digest}`,
      {
        hint: `the blob was altered in storage or transit; ${remedy}`,
      },
    );
  }
}

export interface ImageParts {
  reference: string;
  kind: ImageSource['kind'];
  /** See `ImageSource.dockerSave`. */
  dockerSave?: boolean;
  /** Exact bytes of one platform's image manifest (an index must be resolved before this point). */
  rawManifest: Uint8Array;
  /** Media type the manifest was described or served under, when known. */
  manifestMediaType?: string;
  /** Set when the image was picked from an index. */
  index?: ResolvedIndex;
  /** Config bytes the transport already holds; verified against the manifest, else read through `blobs`. */
  rawConfig?: Uint8Array;
  blobs: BlobReader;
  signal?: AbortSignal;
}

/** Turns a manifest and a blob reader into an `ImageSource`: parses, reads and verifies the config. */
export async function assembleImage(parts: ImageParts): Promise<ImageSource> {
  const { reference } = parts;
  // A document read from disk is fixed by writing the image again there, not by pushing it.
  const parse = <T>(document: () => T): T =>
    parts.kind === 'registry' ? document() : parsedOnDisk(remedyFor(parts.kind), document);
  const parsed = parse(() =>
    parseManifest(parts.rawManifest, `${reference}: manifest`, parts.manifestMediaType),
  );
  if (parsed.kind === 'schema1') {
    throw new ImgscopeError(
      'UNSUPPORTED',
      `${reference} uses Docker manifest schema 1, which has no image config`,
      {
        hint: 'rebuild or re-push the image with a current Docker or buildkit (schema 2 or OCI)',
      },
    );
  }
  if (parsed.kind === 'index') {
    throw new ImgscopeError('UNSUPPORTED', `${reference}: an index reached the image reader unresolved`, {
      hint: 'select a platform from the index before assembling the image',
    });
  }
  const { manifest } = parsed;
  const configNames = { label: `config of ${reference}`, remedy: remedyFor(parts.kind) };
  let rawConfig: Uint8Array;
  if (parts.rawConfig) {
    verifyBytes(parts.rawConfig, manifest.config, configNames);
    rawConfig = parts.rawConfig;
  } else {
    rawConfig = await readVerifiedDocument(parts.blobs, manifest.config, configNames, {
      signal: parts.signal,
    });
  }
  const config = parse(() => parseImageConfig(rawConfig, manifest, reference, configNames.label));
  return new AssembledImage(parts, parsed.mediaType, manifest, config);
}

/**
 * Refuses an image whose config does not name one diff_id per layer, closing it first: docker and
 * containerd refuse to unpack such an image, and its layers could not be checked against their diff_ids.
 */
export async function requireDiffIdPerLayer(source: ImageSource): Promise<ImageSource> {
  const diffIds = source.config.rootfs.diff_ids.length;
  if (diffIds === source.layers.length) return source;
  await source.close();
  throw new ImgscopeError(
    'MALFORMED',
    `${source.reference}: the manifest has ${source.layers.length} layers but the config's rootfs.diff_ids has ${diffIds}`,
    {
      hint: `docker and containerd refuse to unpack such an image; ${source.kind === 'registry' ? 'rebuild and re-push it' : 'rebuild it'}`,
    },
  );
}

const IMAGE_CONFIG_MEDIA_TYPES = new Set<string>([MediaType.OciConfig, MediaType.DockerConfig]);

/**
 * The config of an image. A config that is not one, under a media type no image config has (a Helm chart,
 * an SBOM, a signature: OCI artifacts), is reported as an artifact rather than as a corrupt image.
 */
function parseImageConfig(
  rawConfig: Uint8Array,
  manifest: ImageManifest,
  reference: string,
  label: string,
): ImageConfig {
  try {
    return parseConfig(rawConfig, label);
  } catch (error) {
    const configType = baseMediaType(manifest.config.mediaType);
    if (IMAGE_CONFIG_MEDIA_TYPES.has(configType) || !isImgscopeError(error) || error.code !== 'MALFORMED') {
      throw error;
    }
    const kind = manifest.artifactType ? `artifact of type ${manifest.artifactType}` : `artifact`;
    throw new ImgscopeError(
      'UNSUPPORTED',
      `${reference} is an OCI ${kind} (config ${configType}), not a container image`,
      {
        hint: 'imgscope reads container images; name the image itself, not a chart, SBOM, signature or other artifact',
      },
    );
  }
}

class AssembledImage implements ImageSource {
  readonly reference: string;
  readonly kind: ImageSource['kind'];
  readonly dockerSave: boolean;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly schema: ImageSource['schema'];
  readonly platform: Platform;
  readonly index: ResolvedIndex | undefined;
  readonly manifest: ImageManifest;
  readonly rawManifest: Uint8Array;
  readonly config: ImageConfig;
  readonly configDescriptor: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly locateBlob: ((descriptor: Descriptor) => Promise<StoredBlob | undefined>) | undefined;
  private readonly blobs: BlobReader;
  private closed = false;

  constructor(parts: ImageParts, mediaType: string, manifest: ImageManifest, config: ImageConfig) {
    this.reference = parts.reference;
    this.kind = parts.kind;
    this.dockerSave = parts.dockerSave ?? false;
    this.digest = sha256Digest(parts.rawManifest);
    this.mediaType = mediaType;
    this.schema = manifestSchemaOf(mediaType);
    this.platform = normalizePlatform({
      os: config.os,
      architecture: config.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    });
    this.index = parts.index;
    this.manifest = manifest;
    this.rawManifest = parts.rawManifest;
    this.config = config;
    this.configDescriptor = manifest.config;
    this.layers = manifest.layers;
    this.blobs = parts.blobs;
    this.locateBlob = parts.blobs.locate?.bind(parts.blobs);
  }

  openBlob(descriptor: Descriptor, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const names = { label: this.describe(descriptor), remedy: remedyFor(this.kind) };
    return openVerifiedBlob(this.blobs, descriptor, names, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.blobs.close?.();
  }

  /** "layer 3/14 (sha256:0123456789ab) of docker-archive:app.tar" */
  private describe(descriptor: Descriptor): string {
    const short = descriptor.digest.slice(0, 19);
    const position = this.layers.findIndex((layer) => layer.digest === descriptor.digest);
    if (position >= 0) return `layer ${position + 1}/${this.layers.length} (${short}) of ${this.reference}`;
    if (descriptor.digest === this.configDescriptor.digest) return `config (${short}) of ${this.reference}`;
    return `blob ${short} of ${this.reference}`;
  }
}
