import { ImgscopeError, PlatformNotFoundError } from '../errors.js';
import { isOtherAlgorithmDigest, parseDigest, sha256Digest } from './digest.js';
import {
  baseMediaType,
  isImageManifestMediaType,
  isIndexMediaType,
  isSchema1MediaType,
  MediaType,
} from './media-types.js';
import {
  closestPlatform,
  formatPlatform,
  normalizePlatform,
  type Platform,
  platformsText,
} from './platform.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, UnusableEntry } from './types.js';

const PLACEHOLDER_DIGEST = sha256Digest('');

/** Manifests and configs above this size are refused: real ones are a few KiB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_JSON_DEPTH = 64;

export type ParsedManifest =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'schema1'; mediaType: string; raw: Schema1Manifest };

/** Docker image manifest v2 schema 1: recognised so it can be reported, never analysed. */
export interface Schema1Manifest {
  schemaVersion: 1;
  name?: string;
  tag?: string;
  architecture?: string;
  fsLayers?: { blobSum: string }[];
  history?: { v1Compatibility: string }[];
}

const MALFORMED_HINT = 'the image metadata is corrupt or not an OCI/Docker image';

/** A manifest, index, config or other image document that does not parse as one. */
class MalformedDocumentError extends ImgscopeError {
  constructor(message: string, remedy = 'rebuild or re-push it', cause?: unknown) {
    super('MALFORMED', message, { hint: `${MALFORMED_HINT}; ${remedy}`, cause });
  }
}

function malformed(label: string, what: string): ImgscopeError {
  return new MalformedDocumentError(`${label}: ${what}`);
}

/**
 * Runs `parse` of a document read from a file on disk (a layout's index.json, an archive's
 * manifest.json): a document that does not parse is then fixed by writing the image again, as `remedy`
 * says, not by pushing it again.
 */
export function parsedOnDisk<T>(remedy: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof MalformedDocumentError)) throw error;
    throw new MalformedDocumentError(error.message, remedy, error);
  }
}

/** JSON.parse with a size cap and a nesting cap, so hostile documents fail fast and clearly. */
export function parseJsonDocument(
  bytes: Uint8Array | string,
  label: string,
  maxBytes = MAX_MANIFEST_BYTES,
): unknown {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > maxBytes) {
    throw new ImgscopeError('LIMIT', `${label}: ${size} bytes is larger than the ${maxBytes}-byte limit`, {
      hint: 'manifests and configs are a few KiB; this one is not an image document',
    });
  }
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  let depth = 0;
  let maxDepth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
      if (maxDepth > MAX_JSON_DEPTH)
        throw malformed(label, `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw malformed(label, `not valid JSON (${withoutExcerpt((error as Error).message)})`);
  }
}

/**
 * V8 quotes the document's first characters in some JSON errors (`Unexpected token 'r', "root:x:0:0"...
 * is not valid JSON`). A layout's file may be a symlink to any file on the machine (skopeo follows them
 * too), so a crafted layout could print the start of a secret: the excerpt is left out.
 */
function withoutExcerpt(message: string): string {
  return message.replace(/, ".*"(?:\.\.\.)? is not valid JSON$/s, '');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseDescriptor(value: unknown, label: string): Descriptor {
  if (!isObject(value)) throw malformed(label, 'descriptor is not an object');
  const { mediaType, digest, size, platform, annotations, urls } = value;
  if (typeof mediaType !== 'string') throw malformed(label, 'descriptor has no mediaType');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw malformed(label, 'descriptor size is not a non-negative integer');
  }
  const descriptor: Descriptor = { mediaType, digest: parseDigest(digest, label), size };
  if (isObject(platform) && typeof platform.os === 'string' && typeof platform.architecture === 'string') {
    // Like os and architecture, a variant or os.version that is no string is not a platform field.
    const { variant, 'os.version': osVersion } = platform;
    descriptor.platform = normalizePlatform({
      os: platform.os,
      architecture: platform.architecture,
      ...(typeof variant === 'string' ? { variant } : {}),
      ...(typeof osVersion === 'string' ? { 'os.version': osVersion } : {}),
    });
  }
  if (isObject(annotations)) descriptor.annotations = annotations as Record<string, string>;
  if (Array.isArray(urls)) descriptor.urls = urls.filter((u): u is string => typeof u === 'string');
  return descriptor;
}

/**
 * Classifies and validates a manifest-like document. The media type header (registry) wins over the
 * document's own field; either may be absent in old layouts, so the shape decides last.
 */
export function parseManifest(bytes: Uint8Array, label: string, headerMediaType?: string): ParsedManifest {
  const doc = parseJsonDocument(bytes, label);
  if (!isObject(doc)) throw malformed(label, 'manifest is not a JSON object');
  const declared = baseMediaType(
    (headerMediaType && baseMediaType(headerMediaType) !== 'application/json'
      ? headerMediaType
      : undefined) ?? (typeof doc.mediaType === 'string' ? doc.mediaType : ''),
  );

  if (doc.schemaVersion === 1 || isSchema1MediaType(declared)) {
    return {
      kind: 'schema1',
      mediaType: isSchema1MediaType(declared) ? declared : MediaType.DockerManifestSchema1,
      raw: doc as unknown as Schema1Manifest,
    };
  }
  if (doc.schemaVersion !== 2)
    throw malformed(label, `unsupported schemaVersion ${String(doc.schemaVersion)}`);

  const looksLikeIndex = Array.isArray(doc.manifests);
  const looksLikeManifest = doc.config !== undefined || doc.layers !== undefined;
  if (!declared && looksLikeIndex === looksLikeManifest) {
    // Served as a file (octet-stream, text/plain) without a mediaType field, only the shape can tell:
    // one of both shapes could be read as either by different tools, as containerd refuses to.
    throw malformed(
      label,
      looksLikeIndex
        ? 'no media type says whether it is an index or a manifest, and it has both manifests and config or layers'
        : 'no media type, and neither the manifests of an index nor the config and layers of a manifest',
    );
  }
  if (isIndexMediaType(declared) || (!declared && looksLikeIndex)) {
    if (!Array.isArray(doc.manifests)) throw malformed(label, 'index has no manifests array');
    const manifests: Descriptor[] = [];
    const unusable: UnusableEntry[] = [];
    doc.manifests.forEach((m, i) => {
      const where = `${label}: manifests[${i}]`;
      // As containerd and go-containerregistry, an entry of another digest algorithm only fails if selected.
      if (isObject(m) && isOtherAlgorithmDigest(m.digest)) {
        const checked = parseDescriptor({ ...m, digest: PLACEHOLDER_DIGEST }, where);
        unusable.push({ ...checked, digest: m.digest, position: manifests.length });
      } else manifests.push(parseDescriptor(m, where));
    });
    const index: ImageIndex = { schemaVersion: 2, manifests };
    if (unusable.length > 0) index.unusable = unusable;
    index.mediaType = declared || MediaType.OciIndex;
    if (isObject(doc.annotations)) index.annotations = doc.annotations as Record<string, string>;
    return { kind: 'index', mediaType: index.mediaType, index };
  }
  if (isImageManifestMediaType(declared) || (!declared && looksLikeManifest)) {
    if (!Array.isArray(doc.layers)) throw malformed(label, 'manifest has no layers array');
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: declared || MediaType.OciManifest,
      config: parseDescriptor(doc.config, `${label}: config`),
      layers: doc.layers.map((l, i) => parseDescriptor(l, `${label}: layers[${i}]`)),
    };
    if (typeof doc.artifactType === 'string') manifest.artifactType = doc.artifactType;
    if (isObject(doc.annotations)) manifest.annotations = doc.annotations as Record<string, string>;
    return { kind: 'manifest', mediaType: manifest.mediaType!, manifest };
  }
  throw new ImgscopeError(
    'UNSUPPORTED',
    `${label}: media type "${declared || 'none'}" is not an image manifest`,
    {
      hint: 'imgscope reads OCI v1 and Docker v2 schema 2 images (artifacts and other types are not images)',
    },
  );
}

/** Validates an image config (Docker image JSON or OCI config). */
export function parseConfig(bytes: Uint8Array, label: string): ImageConfig {
  const doc = parseJsonDocument(bytes, label);
  if (!isObject(doc)) throw malformed(label, 'config is not a JSON object');
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids))
    throw malformed(label, 'config has no rootfs.diff_ids');
  const diffIds = rootfs.diff_ids.map((d, i) => parseDigest(d, `${label}: rootfs.diff_ids[${i}]`));
  requireTypes(doc, { created: 'string', author: 'string' }, 'config', label);
  const history = Array.isArray(doc.history) ? doc.history.filter(isObject) : undefined;
  history?.forEach((entry, i) => {
    requireTypes(entry, HISTORY_FIELDS, `history[${i}]`, label);
  });
  return {
    ...(doc as object),
    architecture: typeof doc.architecture === 'string' && doc.architecture ? doc.architecture : 'unknown',
    os: typeof doc.os === 'string' && doc.os ? doc.os : 'unknown',
    variant: typeof doc.variant === 'string' ? doc.variant : undefined,
    config: containerConfig(doc.config, label),
    rootfs: { type: typeof rootfs.type === 'string' ? rootfs.type : 'layers', diff_ids: diffIds },
    history,
  } as ImageConfig;
}

const HISTORY_FIELDS = {
  created: 'string',
  created_by: 'string',
  author: 'string',
  comment: 'string',
  empty_layer: 'boolean',
} as const;

/**
 * Fields of the wrong JSON type fail the config, as they fail Go's decoding of it in docker and
 * containerd (null stands for absent there too).
 */
function requireTypes(
  owner: Record<string, unknown>,
  types: Record<string, 'string' | 'boolean'>,
  where: string,
  label: string,
): void {
  for (const [key, type] of Object.entries(types)) {
    const value = owner[key];
    if (value !== undefined && value !== null && typeof value !== type) {
      throw malformed(label, `${where}.${key} is not a ${type}`);
    }
  }
}

/** The container config imgscope reads, checked; Entrypoint and Cmd as Docker's StrSlice (a string is one). */
function containerConfig(value: unknown, label: string): ImageConfig['config'] {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw malformed(label, 'config.config is not an object');
  requireTypes(value, { User: 'string', WorkingDir: 'string', StopSignal: 'string' }, 'config.config', label);
  const isString = (v: unknown) => typeof v === 'string';
  const checked: Record<string, unknown> = { ...value };
  for (const key of ['Entrypoint', 'Cmd']) {
    const command = value[key];
    if (typeof command === 'string') checked[key] = [command];
    else if (command != null && !(Array.isArray(command) && command.every(isString))) {
      throw malformed(label, `config.config.${key} is neither a string nor a list of strings`);
    }
  }
  if (value.Env != null && !(Array.isArray(value.Env) && value.Env.every(isString))) {
    throw malformed(label, 'config.config.Env is not a list of strings');
  }
  if (value.Labels != null && !(isObject(value.Labels) && Object.values(value.Labels).every(isString))) {
    throw malformed(label, 'config.config.Labels is not an object of strings');
  }
  if (value.ExposedPorts != null && !isObject(value.ExposedPorts)) {
    throw malformed(label, 'config.config.ExposedPorts is not an object');
  }
  return checked as ImageConfig['config'];
}

/**
 * The entry of an index for `wanted` among those that name a platform (or its only image), undefined
 * when none is; an entry whose digest imgscope cannot verify is refused.
 */
export function matchPlatform(index: ImageIndex, wanted: Platform, label: string): Descriptor | undefined {
  const images = imageEntries(index);
  const candidates = platformCandidates(images);
  const match =
    closestPlatform(candidates, wanted) ??
    (candidates.length === 0 && images.length === 1 ? images[0] : undefined);
  if (match && 'position' in match) {
    const which = match.platform ? `the ${formatPlatform(match.platform)} image` : 'its image';
    throw new ImgscopeError(
      'UNSUPPORTED',
      `${label}: ${which} is named by the digest ${match.digest.slice(0, 200)}, which imgscope cannot verify (it reads sha256 only)`,
      { hint: 'push the image with sha256 digests, the default of docker, buildx, crane and skopeo' },
    );
  }
  return match;
}

/** The entries of an index that are images or indexes, those of unverifiable digests in their place. */
function imageEntries(index: ImageIndex): (Descriptor | UnusableEntry)[] {
  const entries: (Descriptor | UnusableEntry)[] = [...index.manifests];
  for (const entry of [...(index.unusable ?? [])].reverse()) entries.splice(entry.position, 0, entry);
  return entries.filter((m) => isImageManifestMediaType(m.mediaType) || isIndexMediaType(m.mediaType));
}

/** Attestation manifests (buildx) carry platform unknown/unknown; they are never candidates. */
function platformCandidates<T extends { platform?: Platform }>(entries: T[]): T[] {
  return entries.filter((m) => m.platform && m.platform.os !== 'unknown');
}

/** The platforms an index's entries name, attestations left out. */
export function indexPlatforms(index: ImageIndex): Platform[] {
  return platformCandidates(imageEntries(index)).map((m) => m.platform!);
}

/**
 * Nested indexes without a platform, in order: any may hold the wanted platform, and containerd searches
 * them after the entries that name one.
 */
export function platformlessIndexes(index: ImageIndex): Descriptor[] {
  return index.manifests.filter((m) => !m.platform && isIndexMediaType(m.mediaType));
}

/** No `wanted` image in `index`, whose entries (and nested indexes) name `platforms`. */
export function platformNotFound(
  index: ImageIndex,
  wanted: Platform,
  label: string,
  indexDigest: string,
  platforms: Platform[] = indexPlatforms(index),
): PlatformNotFoundError {
  const available = platformsText(platforms) || 'none';
  return new PlatformNotFoundError(
    `${label}: no ${formatPlatform(wanted)} image; the index has ${available}`,
    'pick one with --platform os/arch[/variant], or build the image for the platform you deploy to',
    {
      digest: indexDigest,
      mediaType: index.mediaType ?? MediaType.OciIndex,
      manifests: index.manifests,
      ...(index.unusable ? { unusable: index.unusable } : {}),
      ...(index.annotations ? { annotations: index.annotations } : {}),
      platforms,
    },
  );
}
