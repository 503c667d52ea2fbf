import { Readable } from 'node:stream';
import { ImgscopeError, isImgscopeError, namingImage, PlatformNotFoundError } from '../errors.js';
import { type Digest, sha256Digest } from '../oci/digest.js';
import { assembleImage, type BlobReader, requireDiffIdPerLayer } from '../oci/image.js';
import {
  indexPlatforms,
  matchPlatform,
  type ParsedManifest,
  parseManifest,
  platformlessIndexes,
  platformNotFound,
  type Schema1Manifest,
} from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { DEFAULT_PLATFORM, formatPlatform, type Platform, platformMismatch } from '../oci/platform.js';
import type { ImageSource, OpenOptions, ResolvedIndex } from '../oci/source.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/types.js';
import { type FetchedManifest, RegistryClient } from './client.js';
import type { RegistryOptions } from './options.js';
import { type ImageReference, manifestIdentifier, parseReference } from './reference.js';
import { convertSchema1 } from './schema1.js';

/** An index may point at another index (rare, legal); deeper nesting or a loop is refused. */
const MAX_INDEX_DEPTH = 3;
/** Nested indexes fetched in search of a platform: a hostile index cannot make it fetch without end. */
const MAX_INDEXES_SEARCHED = 16;

interface IndexSearch {
  /** Digests of the indexes and manifests already fetched. */
  seen: Set<Digest>;
  /** Every platform the indexes searched name, for the report and for the error when none is the one wanted. */
  platforms: Platform[];
  fetches: number;
  /** The nested indexes fetched, by digest. */
  indexes: Map<Digest, ImageIndex>;
}

/**
 * Opens an image in a registry: resolves the tag to a digest, verifies the manifest, selects a platform
 * from an index, reads the config, and returns an ImageSource whose blobs stream verified.
 */
export async function openRegistryImage(
  reference: string,
  options: RegistryOptions & OpenOptions = {},
): Promise<ImageSource> {
  const ref = parseReference(reference);
  const client = new RegistryClient(ref, options);
  try {
    return await resolve(ref, client, options).catch(
      namingImage({ reference: ref.toString(), kind: 'registry' }),
    );
  } catch (error) {
    await client.close();
    throw error;
  }
}

async function resolve(
  ref: ImageReference,
  client: RegistryClient,
  options: OpenOptions,
): Promise<ImageSource> {
  const { signal } = options;
  const label = ref.toString();
  const blobs: BlobReader = {
    open: async (descriptor, blobOptions) => {
      // The config is a small document, read whole before anything else: a deadline, as manifests.
      const isConfig = parsed.kind === 'manifest' && descriptor.digest === parsed.manifest.config.digest;
      return client.openRawBlob(
        ref.repository,
        descriptor,
        `blob ${descriptor.digest} of ${label}`,
        blobOptions?.signal ?? signal,
        isConfig ? { document: `${label}: config ${descriptor.digest}` } : {},
      );
    },
    close: () => client.close(),
  };

  const wanted = options.platform ?? DEFAULT_PLATFORM;
  let fetched = await client.getManifest(ref.repository, manifestIdentifier(ref), label, signal);
  let parsed = parseManifest(fetched.bytes, `${label}: manifest`, fetched.mediaType);
  let index: ResolvedIndex | undefined;
  if (parsed.kind === 'index') {
    const outer = parsed.index;
    const search: IndexSearch = {
      seen: new Set([fetched.digest]),
      platforms: [],
      fetches: 0,
      indexes: new Map(),
    };
    const found = await imageUnder(outer, 0, search);
    if (!found) throw platformNotFound(outer, wanted, label, fetched.digest, search.platforms);
    await listUnsearched(outer, 0, search, new Set());
    index = {
      digest: fetched.digest,
      mediaType: parsed.mediaType,
      manifests: outer.manifests,
      ...(outer.unusable ? { unusable: outer.unusable } : {}),
      ...(outer.annotations ? { annotations: outer.annotations } : {}),
      selected: found.selected,
      platforms: search.platforms,
    };
    ({ fetched, parsed } = found);
  }

  /**
   * The image for the wanted platform under `nested`: the entry naming it, else the first found in an
   * index without a platform (as containerd searches them), each searched in turn.
   */
  async function imageUnder(
    nested: ImageIndex,
    depth: number,
    search: IndexSearch,
  ): Promise<{ fetched: FetchedManifest; parsed: ParsedManifest; selected: Descriptor } | undefined> {
    if (depth >= MAX_INDEX_DEPTH) {
      throw new ImgscopeError('MALFORMED', `${label}: indexes nested more than ${MAX_INDEX_DEPTH} deep`, {
        hint: 'the image index is malformed; rebuild and re-push it',
      });
    }
    search.platforms.push(...indexPlatforms(nested));
    const match = matchPlatform(nested, wanted, label);
    for (const chosen of match ? [match] : platformlessIndexes(nested)) {
      if (search.seen.has(chosen.digest)) {
        // An index listed twice, or under two others, was searched already.
        if (!match) continue;
        throw new ImgscopeError('MALFORMED', `${label}: the index refers to itself (${chosen.digest})`, {
          hint: 'the image index is malformed; rebuild and re-push it',
        });
      }
      search.seen.add(chosen.digest);
      if (++search.fetches > MAX_INDEXES_SEARCHED) {
        throw new ImgscopeError(
          'MALFORMED',
          `${label}: more than ${MAX_INDEXES_SEARCHED} nested indexes to search for ${formatPlatform(wanted)}`,
          { hint: 'the image index is malformed; rebuild and re-push it' },
        );
      }
      const image = await manifestOf(chosen);
      if (image.parsed.kind !== 'index') return { ...image, selected: chosen };
      search.indexes.set(chosen.digest, image.parsed.index);
      const found = await imageUnder(image.parsed.index, depth + 1, search);
      if (found) return { ...found, selected: chosen };
    }
    return undefined;
  }

  /**
   * Once the image is found, adds the platforms of the indexes without a platform the search did not reach:
   * the report and the platform check list every platform the index has, not those met before the match
   * (the index would seem to lack the profile's platform). Best effort: a failure, or the fetch limit, ends it.
   */
  async function listUnsearched(
    nested: ImageIndex,
    depth: number,
    search: IndexSearch,
    listed: Set<Digest>,
  ): Promise<boolean> {
    if (depth >= MAX_INDEX_DEPTH) return true;
    for (const entry of platformlessIndexes(nested)) {
      if (listed.has(entry.digest)) continue;
      listed.add(entry.digest);
      let index = search.indexes.get(entry.digest);
      if (!index) {
        // Fetched already and not an index, or else one fetch more, within the search's limit.
        if (search.seen.has(entry.digest)) continue;
        if (++search.fetches > MAX_INDEXES_SEARCHED) return false;
        search.seen.add(entry.digest);
        const document = await manifestOf(entry).catch((error: unknown) => {
          if (signal?.aborted) throw error;
          return undefined;
        });
        if (!document) return false;
        if (document.parsed.kind !== 'index') continue;
        index = document.parsed.index;
        search.platforms.push(...indexPlatforms(index));
      }
      if (!(await listUnsearched(index, depth + 1, search, listed))) return false;
    }
    return true;
  }

  /** The manifest (or index) an index entry names, checked against the entry. */
  async function manifestOf(
    chosen: Descriptor,
  ): Promise<{ fetched: FetchedManifest; parsed: ParsedManifest }> {
    const platform = formatPlatform(chosen.platform ?? wanted);
    const entry = await client
      .getManifest(ref.repository, chosen.digest, `${label} (${platform})`, signal)
      .catch((error: unknown) => {
        // The tag exists (its index was just read): what is missing is the manifest the index names.
        if (!isImgscopeError(error) || error.code !== 'NOT_FOUND') throw error;
        throw new ImgscopeError(
          'NOT_FOUND',
          `${label}: the index lists ${platform} as ${chosen.digest}, but the registry does not have that manifest`,
          {
            hint: 'the image is incomplete in the registry; push it again with all its platforms',
            cause: error,
          },
        );
      });
    if (entry.bytes.byteLength !== chosen.size) {
      // The digest matched, so the index is what is wrong; docker and containerd refuse the pull too.
      throw new ImgscopeError(
        'SIZE_MISMATCH',
        `${label}: manifest ${chosen.digest} is ${entry.bytes.byteLength} bytes, but the index says ${chosen.size}`,
        { hint: 'the image index is malformed; rebuild and re-push it' },
      );
    }
    return {
      fetched: entry,
      parsed: parseManifest(
        entry.bytes,
        `${label}: manifest ${chosen.digest}`,
        entry.mediaType || chosen.mediaType,
      ),
    };
  }

  let source: ImageSource;
  if (parsed.kind === 'schema1') {
    source = await openSchema1(
      ref,
      client,
      parsed.raw,
      fetched.bytes,
      fetched.digest,
      parsed.mediaType,
      blobs,
      signal,
    );
  } else {
    source = await assembleImage({
      reference: label,
      kind: 'registry',
      rawManifest: fetched.bytes,
      manifestMediaType: parsed.mediaType,
      ...(index ? { index } : {}),
      blobs,
      ...(signal ? { signal } : {}),
    });
    await requireDiffIdPerLayer(source);
  }
  const mismatch =
    index || !options.platform
      ? undefined
      : platformMismatch(label, source.platform, options.platform, options.platformOrigin);
  if (mismatch) {
    await source.close();
    const only: Descriptor = {
      mediaType: source.mediaType,
      digest: source.digest,
      size: source.rawManifest.byteLength,
      platform: source.platform,
    };
    throw new PlatformNotFoundError(mismatch.message, mismatch.hint, {
      digest: source.digest,
      mediaType: source.mediaType,
      manifests: [only],
    });
  }
  return source;
}

/**
 * Schema 1: layers from `fsLayers` (sizes from HEAD), a config synthesised from history, presented as an
 * ImageSource whose schema is `docker-v2s1` so the policy can fail it by name.
 */
async function openSchema1(
  ref: ImageReference,
  client: RegistryClient,
  raw: Schema1Manifest,
  rawManifest: Uint8Array,
  digest: Digest,
  mediaType: string,
  blobs: BlobReader,
  signal: AbortSignal | undefined,
): Promise<ImageSource> {
  const label = ref.toString();
  const converted = convertSchema1(raw, `${label}: manifest`);
  const layers: Descriptor[] = await Promise.all(
    converted.layerDigests.map(async (layerDigest) => ({
      mediaType: MediaType.DockerLayerGzip,
      digest: layerDigest,
      size: (await client.blobSize(ref.repository, layerDigest, signal)) ?? 0,
    })),
  );
  const configDescriptor: Descriptor = {
    mediaType: MediaType.DockerConfig,
    digest: sha256Digest(converted.configBytes),
    size: converted.configBytes.byteLength,
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: configDescriptor,
    layers,
  };
  const assembled = await assembleImage({
    reference: label,
    kind: 'registry',
    rawManifest: Buffer.from(JSON.stringify(manifest)),
    manifestMediaType: MediaType.DockerManifest,
    rawConfig: converted.configBytes,
    blobs: {
      open: async (descriptor, options) =>
        descriptor.digest === configDescriptor.digest
          ? bufferStream(converted.configBytes)
          : blobs.open(descriptor, options),
      close: () => client.close(),
    },
  });
  return {
    reference: assembled.reference,
    kind: 'registry',
    digest,
    mediaType,
    schema: 'docker-v2s1',
    platform: assembled.platform,
    index: undefined,
    manifest: assembled.manifest,
    rawManifest,
    config: assembled.config,
    configDescriptor: assembled.configDescriptor,
    layers: assembled.layers,
    openBlob: (descriptor, options) => assembled.openBlob(descriptor, options),
    close: () => assembled.close(),
  };
}

function bufferStream(bytes: Uint8Array): Readable {
  return Readable.from([Buffer.from(bytes)]);
}
