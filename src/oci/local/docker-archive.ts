import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { ImgscopeError } from '../../errors.js';
import { type Digest, sha256Digest } from '../digest.js';
import { assembleImage, type BlobReader, remedyFor, requireDiffIdPerLayer, verifyBytes } from '../image.js';
import { MAX_MANIFEST_BYTES, parseConfig, parsedOnDisk, parseJsonDocument } from '../manifest.js';
import { MediaType } from '../media-types.js';
import type { ImageSource } from '../source.js';
import type { Descriptor } from '../types.js';
import { holdsNoImage, type LocalFiles, missingFile, normalizeMemberPath, notAnImage } from './files.js';
import { detectCompression, shellQuoted } from './magic.js';

export interface DockerArchiveOptions {
  reference: string;
  /** `NAME:TAG` from the reference, matched against RepoTags. */
  ref: string | undefined;
  signal?: AbortSignal;
}

/** One image of manifest.json, as `docker save`, kaniko and crane write it. */
interface ArchiveImage {
  config: string;
  layers: string[];
  repoTags: string[];
}

const HEX_NAME = /^(?:sha256:)?([a-f0-9]{64})(?:\.json|\.tar|\.tar\.gz|\.tgz|\.tar\.zst)?$/;

/** Whether the files hold a docker-archive (`manifest.json`). */
export async function isDockerArchive(files: LocalFiles): Promise<boolean> {
  return (await files.size('manifest.json')) !== undefined;
}

/**
 * Whether the files hold a `docker save` from before Docker 1.10 (2016): a `repositories` file and
 * `<id>/json` + `<id>/layer.tar` per layer, but no manifest.json and no image config to read.
 */
export async function isPre110DockerSave(files: LocalFiles): Promise<boolean> {
  if ((await files.size('repositories')) === undefined || (await isDockerArchive(files))) return false;
  return (await files.size('oci-layout')) === undefined;
}

/** A pre-1.10 save has no image config (no diff_ids) to verify layers against; docker can convert it. */
export function pre110DockerSave(location: string, path: string, isDirectory: boolean): ImgscopeError {
  const load = isDirectory
    ? `tar -C ${shellQuoted(path)} -c . | docker load`
    : `docker load -i ${shellQuoted(path)}`;
  return new ImgscopeError(
    'UNSUPPORTED',
    `${location} is a docker save from before Docker 1.10 (a repositories file, no manifest.json), which imgscope cannot read`,
    {
      hint: `convert it with a Docker engine that still loads such saves (Docker dropped them in 2025; skopeo never read them): ${load}, then docker save -o image.tar NAME`,
    },
  );
}

/**
 * Opens one image of a `docker save`, kaniko or crane tarball. These carry no manifest, so one is
 * synthesised (Docker v2 schema 2) from the stored files: each layer described by the digest and size
 * of the file as stored and a media type from its magic bytes. The image digest is that manifest's.
 */
export async function openDockerArchive(
  files: LocalFiles,
  options: DockerArchiveOptions,
): Promise<ImageSource> {
  const { location } = files;
  if (!(await isDockerArchive(files))) throw notAnImage(location, 'no manifest.json');
  const images = parseArchiveManifest(
    await files.read('manifest.json', MAX_MANIFEST_BYTES),
    files,
    options.ref,
  );
  const image = chooseImage(images, options, location);

  const configPath = normalizeMemberPath(image.config);
  const rawConfig = await files.read(image.config, MAX_MANIFEST_BYTES);
  const configLabel = `${location}: config ${configPath}`;
  const namedConfigDigest = digestFromName(configPath);
  if (namedConfigDigest) {
    verifyBytes(
      rawConfig,
      { digest: namedConfigDigest },
      { label: configLabel, remedy: remedyFor('docker-archive') },
    );
  }
  const config = parsedOnDisk(remedyFor('docker-archive'), () => parseConfig(rawConfig, configLabel));
  const configDescriptor: Descriptor = {
    mediaType: MediaType.DockerConfig,
    size: rawConfig.byteLength,
    digest: namedConfigDigest ?? sha256Digest(rawConfig),
  };

  const members = new Map<Digest, string>([[configDescriptor.digest, image.config]]);
  const layers: Descriptor[] = [];
  // diff ids name the uncompressed layers; they only line up with Layers when the counts agree.
  const diffIds = config.rootfs.diff_ids.length === image.layers.length ? config.rootfs.diff_ids : [];
  for (const [position, path] of image.layers.entries()) {
    const descriptor = await describeLayer(files, path, diffIds[position], options.signal);
    layers.push(descriptor);
    members.set(descriptor.digest, path);
  }

  // Key order is fixed by construction, so the same archive always yields the same manifest digest.
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: configDescriptor,
    layers: layers.map(({ mediaType, size, digest }) => ({ mediaType, size, digest })),
  };
  const blobs: BlobReader = {
    async open(descriptor, openOptions) {
      const path = members.get(descriptor.digest);
      if (path === undefined) {
        throw new ImgscopeError('NOT_FOUND', `${location} has no blob ${descriptor.digest}`, {
          hint: 'only the config and layers named in manifest.json can be read from a docker-archive',
        });
      }
      return files.open(path, openOptions);
    },
    async locate(descriptor) {
      const path = members.get(descriptor.digest);
      return path === undefined ? undefined : files.locate(path);
    },
    close: async () => files.close?.(),
  };
  return requireDiffIdPerLayer(
    await assembleImage({
      reference: options.reference,
      kind: 'docker-archive',
      dockerSave: true,
      rawManifest: Buffer.from(JSON.stringify(manifest)),
      manifestMediaType: MediaType.DockerManifest,
      rawConfig,
      blobs,
      signal: options.signal,
    }),
  );
}

function malformedArchive(location: string, what: string): ImgscopeError {
  return new ImgscopeError('MALFORMED', `${location}: ${what}`, {
    hint: 'manifest.json is not what docker save writes; save the image again',
  });
}

function parseArchiveManifest(bytes: Buffer, files: LocalFiles, ref: string | undefined): ArchiveImage[] {
  const { location } = files;
  const doc = parsedOnDisk(remedyFor('docker-archive'), () =>
    parseJsonDocument(bytes, `${location}: manifest.json`),
  );
  if (Array.isArray(doc) && doc.length === 0) throw holdsNoImage(files, 'docker-archive', ref);
  if (!Array.isArray(doc)) throw malformedArchive(location, 'manifest.json is not a list of images');
  return doc.map((item: unknown, i): ArchiveImage => {
    const entry = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const { Config, Layers, RepoTags } = entry;
    if (typeof Config !== 'string' || !Array.isArray(Layers) || !Layers.every((l) => typeof l === 'string')) {
      throw malformedArchive(location, `manifest.json entry ${i} needs a Config string and a Layers list`);
    }
    const repoTags = Array.isArray(RepoTags)
      ? RepoTags.filter((t): t is string => typeof t === 'string')
      : [];
    return { config: Config, layers: Layers as string[], repoTags };
  });
}

/** `alpine` and `docker.io/library/alpine:latest` name the same image; RepoTags use the short form. */
function shortDockerName(name: string): string {
  let short = name.replace(/^(?:docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
  const lastPart = short.slice(short.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !lastPart.includes('@')) short += ':latest';
  return short;
}

/** Images a message names at most: `docker save $(docker images -q)` may hold hundreds, and an error stays short. */
const LISTED_IMAGES = 20;

/** `@N` selects the Nth image of manifest.json (from 0), as skopeo's `docker-archive:FILE:@N` does; `@-1` is none. */
const POSITION_REF = /^@(-?\d+)$/;

function chooseImage(
  images: ArchiveImage[],
  { ref, reference }: DockerArchiveOptions,
  location: string,
): ArchiveImage {
  // An untagged image is named by its position: without it, several untagged images could not be read.
  // Each image by its position and its tags: one image's tags must not read as separate images.
  const names = images
    .slice(0, LISTED_IMAGES)
    .map(
      (image, position) =>
        `@${position} (${image.repoTags.length > 0 ? image.repoTags.join(', ') : 'untagged'})`,
    );
  const unlisted = images.length - names.length;
  const listing = `${names.join('; ')}${unlisted > 0 ? `; and ${unlisted} more` : ''}`;
  const base = ref === undefined ? reference : reference.slice(0, -(ref.length + 1));
  const choose = `name one: ${base}:NAME:TAG, or ${base}:@N for the Nth image (from @0)`;
  if (ref !== undefined) {
    const position = POSITION_REF.exec(ref);
    const positional = position && !ref.startsWith('@-') ? images[Number(position[1])] : undefined;
    if (positional) return positional;
    if (position) {
      throw new ImgscopeError('NOT_FOUND', `${location} has no image ${ref}; it has ${listing}`, {
        hint: choose,
      });
    }
    const wanted = shortDockerName(ref);
    const found = images.find((image) => image.repoTags.some((tag) => shortDockerName(tag) === wanted));
    if (found) return found;
    throw new ImgscopeError('NOT_FOUND', `${location} has no image tagged "${ref}"; it has ${listing}`, {
      hint: choose,
    });
  }
  if (images.length === 1) return images[0]!;
  throw new ImgscopeError('BAD_INPUT', `${location} holds ${images.length} images: ${listing}`, {
    hint: choose,
  });
}

/** The digest a member's name promises: `<hex>.tar.gz`, `sha256:<hex>`, `blobs/sha256/<hex>`, `<hex>.json`. */
function digestFromName(path: string): Digest | undefined {
  const base = posix.basename(path);
  const inBlobs = posix.dirname(path) === 'blobs/sha256' && /^[a-f0-9]{64}$/.test(base);
  const match = inBlobs ? [base, base] : HEX_NAME.exec(base);
  return match ? `sha256:${match[1]}` : undefined;
}

function layerMediaType(head: Buffer): string {
  const compression = detectCompression(head);
  if (compression === 'gzip') return MediaType.DockerLayerGzip;
  if (compression === 'zstd') return MediaType.OciLayerZstd;
  return MediaType.DockerLayer;
}

async function describeLayer(
  files: LocalFiles,
  path: string,
  diffId: Digest | undefined,
  signal: AbortSignal | undefined,
): Promise<Descriptor> {
  const size = await files.size(path);
  if (size === undefined) throw missingFile(files.location, normalizeMemberPath(path));
  const mediaType = layerMediaType(await files.head(path, 4));
  // Legacy `<id>/layer.tar` is named by an image id, not a digest; as an uncompressed tar its digest is
  // its diff id. Anything else unnamed is hashed once, here.
  const uncompressedDiffId = mediaType === MediaType.DockerLayer ? diffId : undefined;
  const digest =
    digestFromName(normalizeMemberPath(path)) ??
    uncompressedDiffId ??
    (await hashMember(files, path, signal));
  return { mediaType, size, digest };
}

async function hashMember(files: LocalFiles, path: string, signal: AbortSignal | undefined): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of await files.open(path, { signal })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
