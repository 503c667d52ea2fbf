import { ImgscopeError, namingImage, PlatformNotFoundError } from '../../errors.js';
import { type Digest, digestHex, isDigest, sha256Digest } from '../digest.js';
import {
  assembleImage,
  type BlobReader,
  readVerifiedDocument,
  remedyFor,
  requireDiffIdPerLayer,
} from '../image.js';
import {
  indexPlatforms,
  MAX_MANIFEST_BYTES,
  matchPlatform,
  parsedOnDisk,
  parseJsonDocument,
  parseManifest,
  platformlessIndexes,
  platformNotFound,
} from '../manifest.js';
import { MediaType } from '../media-types.js';
import { closestPlatforms, DEFAULT_PLATFORM, formatPlatform, type Platform } from '../platform.js';
import type { ImageSource, ResolvedIndex } from '../source.js';
import type { Descriptor, ImageIndex, UnusableEntry } from '../types.js';
import { holdsNoImage, type LocalFiles, missingFile, notAnImage } from './files.js';

export interface LayoutOptions {
  reference: string;
  kind: 'oci-layout' | 'oci-archive';
  /** A modern `docker save` (Docker 25+) writes its OCI layout beside manifest.json. */
  dockerSave?: boolean;
  /** `:REF` from the reference: an `org.opencontainers.image.ref.name` or `io.containerd.image.name`. */
  ref: string | undefined;
  platform?: Platform;
  signal?: AbortSignal;
  warn?: (message: string) => void;
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';
/** Indexes nested deeper than this below index.json are refused (real images nest one level). */
const MAX_INDEX_DEPTH = 4;
/** Nested indexes without a platform read in search of one: a hostile layout cannot fan out without end. */
const MAX_INDEXES_SEARCHED = 16;

export function blobPath(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/** Blobs of an OCI layout by digest, whether the layout is a directory or inside an archive. */
export function layoutBlobs(files: LocalFiles): BlobReader {
  return {
    async open(descriptor, options) {
      const path = blobPath(descriptor.digest);
      if ((await files.size(path)) === undefined) {
        if (descriptor.urls?.length) {
          // skopeo and containerd leave a foreign (non-distributable) layer out of a layout: copying
          // again would not bring it, so say what it is, as the registry source does.
          throw new ImgscopeError(
            'UNSUPPORTED',
            `${files.location}: blob ${descriptor.digest} is a non-distributable (foreign) layer the layout does not hold; it is downloaded from the URLs in its descriptor`,
            {
              hint: 'imgscope reads layers from the layout only: use --no-layers for the manifest-level checks',
            },
          );
        }
        throw new ImgscopeError(
          'NOT_FOUND',
          `${files.location}: blob ${descriptor.digest} is missing (${path})`,
          {
            hint: 'the layout is incomplete; copy the image again (skopeo copy copies every blob)',
          },
        );
      }
      return files.open(path, options);
    },
    locate: (descriptor) => files.locate(blobPath(descriptor.digest)),
    close: async () => files.close?.(),
  };
}

/** Whether the files hold an OCI image layout (`oci-layout` and `index.json`). */
export async function isLayout(files: LocalFiles): Promise<boolean> {
  return (await files.size('oci-layout')) !== undefined && (await files.size('index.json')) !== undefined;
}

/**
 * Opens one image of an OCI image layout. index.json lists the layout's images — it is not a platform
 * choice — so an image is chosen by `ref`, or is the only one, or else by platform; an image that is
 * itself an index (multi-platform) then selects the platform.
 */
export async function openLayout(files: LocalFiles, options: LayoutOptions): Promise<ImageSource> {
  const { location } = files;
  const remedy = remedyFor(options.kind);
  if ((await files.size('oci-layout')) !== undefined) {
    const raw = await files.read('oci-layout', MAX_MANIFEST_BYTES);
    parsedOnDisk(remedy, () => parseJsonDocument(raw, `${location}: oci-layout`));
  } else if ((await files.size('index.json')) !== undefined) {
    // The spec requires oci-layout, but skopeo and crane read a layout from index.json alone.
    options.warn?.(
      `${location} has no oci-layout file, which the OCI layout spec requires; reading it from index.json, as skopeo and crane do`,
    );
  } else {
    throw notAnImage(location, 'no oci-layout or index.json file');
  }
  if ((await files.size('index.json')) === undefined) throw missingFile(location, 'index.json');
  const rawIndex = await files.read('index.json', MAX_MANIFEST_BYTES);
  const parsed = parsedOnDisk(remedy, () =>
    parseManifest(rawIndex, `${location}: index.json`, MediaType.OciIndex),
  );
  if (parsed.kind !== 'index') throw notAnImage(location, 'index.json is not an image index');

  const blobs = layoutBlobs(files);
  const indexDigest = sha256Digest(rawIndex);
  const entry = chooseEntry(parsed.index, indexDigest, options, files);
  const wanted = options.platform ?? DEFAULT_PLATFORM;
  const seen = new Set<Digest>();
  let descriptor = entry;
  let index = options.ref === undefined ? flatIndex(parsed.index, indexDigest, entry) : undefined;
  /**
   * The entry of `nestedIndex` for the wanted platform: the one naming it, else the first index without a
   * platform that holds it (as containerd searches them), with every platform seen; else an error listing them.
   */
  async function entryFor(
    nestedIndex: ImageIndex,
    digest: Digest,
    depth: number,
  ): Promise<{ entry: Descriptor; platforms: Platform[] }> {
    const label = `${location}: index ${digest}`;
    const platforms: Platform[] = [];
    /** The nested indexes read, by digest (undefined: not an index). */
    const read = new Map<Digest, ImageIndex | undefined>();
    let searched = 0;
    const nestedIndexOf = async (nested: Descriptor): Promise<ImageIndex | undefined> => {
      const names = { label: `${location}: manifest ${nested.digest}`, remedy: remedyFor(options.kind) };
      const raw = await readVerifiedDocument(blobs, nested, names, { signal: options.signal });
      const document = parsedOnDisk(remedy, () => parseManifest(raw, names.label, nested.mediaType));
      const index = document.kind === 'index' ? document.index : undefined;
      read.set(nested.digest, index);
      if (index) platforms.push(...indexPlatforms(index));
      return index;
    };
    const search = async (index: ImageIndex, level: number): Promise<Descriptor | undefined> => {
      const match = matchPlatform(index, wanted, label);
      if (match || level >= MAX_INDEX_DEPTH) return match;
      for (const nested of platformlessIndexes(index)) {
        if (++searched > MAX_INDEXES_SEARCHED) {
          throw malformedLayout(location, `more than ${MAX_INDEXES_SEARCHED} nested indexes to search`);
        }
        const document = await nestedIndexOf(nested);
        if (document && (await search(document, level + 1))) return nested;
      }
      return undefined;
    };
    /**
     * Once the image is found, the platforms of the indexes without a platform the search did not reach:
     * the report lists every platform the index has, not those met before the match. Best effort: a
     * missing or broken document, or the search's limit, ends it.
     */
    const listUnsearched = async (
      index: ImageIndex,
      level: number,
      listed: Set<Digest>,
    ): Promise<boolean> => {
      if (level >= MAX_INDEX_DEPTH) return true;
      for (const nested of platformlessIndexes(index)) {
        if (listed.has(nested.digest)) continue;
        listed.add(nested.digest);
        let document = read.get(nested.digest);
        if (!read.has(nested.digest)) {
          if (++searched > MAX_INDEXES_SEARCHED) return false;
          try {
            document = await nestedIndexOf(nested);
          } catch (error) {
            if (options.signal?.aborted) throw error;
            return false;
          }
        }
        if (document && !(await listUnsearched(document, level + 1, listed))) return false;
      }
      return true;
    };
    platforms.push(...indexPlatforms(nestedIndex));
    const found = await search(nestedIndex, depth);
    if (!found) throw platformNotFound(nestedIndex, wanted, label, digest, platforms);
    await listUnsearched(nestedIndex, depth, new Set());
    return { entry: found, platforms };
  }

  for (let depth = 1; ; depth++) {
    if (seen.has(descriptor.digest)) {
      throw malformedLayout(location, `index ${descriptor.digest} refers back to itself`);
    }
    seen.add(descriptor.digest);
    const label = `${location}: manifest ${descriptor.digest}`;
    const names = { label, remedy: remedyFor(options.kind) };
    const raw = await readVerifiedDocument(blobs, descriptor, names, { signal: options.signal });
    const document = parsedOnDisk(remedy, () => parseManifest(raw, label, descriptor.mediaType));
    if (document.kind !== 'index') {
      return requireDiffIdPerLayer(
        await assembleImage({
          reference: options.reference,
          kind: options.kind,
          dockerSave: options.dockerSave,
          rawManifest: raw,
          manifestMediaType: descriptor.mediaType,
          index,
          blobs,
          signal: options.signal,
        }),
      );
    }
    if (depth > MAX_INDEX_DEPTH) {
      throw malformedLayout(location, `indexes nest deeper than ${MAX_INDEX_DEPTH} levels`);
    }
    const nestedDigest = descriptor.digest;
    let platforms: Platform[] = [];
    try {
      ({ entry: descriptor, platforms } = await entryFor(document.index, nestedDigest, depth));
    } catch (error) {
      namingImage({ reference: options.reference, kind: options.kind })(error);
    }
    // The outermost index is shown, as for a registry image (and by skopeo and crane): its digest is what
    // the layout's ref names and a registry tag would resolve to.
    index ??= {
      digest: nestedDigest,
      mediaType: document.mediaType,
      manifests: document.index.manifests,
      ...(document.index.unusable ? { unusable: document.index.unusable } : {}),
      ...(document.index.annotations ? { annotations: document.index.annotations } : {}),
      selected: descriptor,
      platforms,
    };
    await requirePresent(files, document.index, descriptor, wanted);
  }
}

function malformedLayout(location: string, what: string): ImgscopeError {
  return new ImgscopeError('MALFORMED', `${location}: ${what}`, {
    hint: 'the layout is corrupt; copy the image again',
  });
}

function matchesRef(descriptor: Pick<Descriptor, 'annotations'>, ref: string): boolean {
  const names = [descriptor.annotations?.[REF_NAME], descriptor.annotations?.[CONTAINERD_NAME]];
  return names.includes(ref) || names.includes(dockerCanonicalName(ref));
}

/** `alpine` → `docker.io/library/alpine:latest`, as containerd records image names. */
function dockerCanonicalName(name: string): string {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  let canonical = hasRegistry ? name : slash === -1 ? `docker.io/library/${name}` : `docker.io/${name}`;
  const lastPart = canonical.slice(canonical.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !lastPart.includes('@')) canonical += ':latest';
  return canonical;
}

/**
 * An entry's name, as the user can write it. `docker save a:latest b:latest` gives both the ref name
 * `latest`, so a ref name other entries share is replaced by the containerd image name, which tells
 * them apart; undefined when only `@N` can.
 */
function entryName(descriptor: Descriptor, entries: readonly Descriptor[]): string | undefined {
  const refName = descriptor.annotations?.[REF_NAME];
  const shared =
    refName !== undefined &&
    entries.some((other) => other.digest !== descriptor.digest && other.annotations?.[REF_NAME] === refName);
  const containerdName = descriptor.annotations?.[CONTAINERD_NAME];
  return shared ? containerdName : (refName ?? containerdName);
}

function describeEntry(descriptor: Descriptor, entries: readonly Descriptor[], position: number): string {
  const name = entryName(descriptor, entries);
  const refName = descriptor.annotations?.[REF_NAME];
  const unnamed = refName === undefined ? descriptor.digest.slice(0, 19) : refName;
  const platform = descriptor.platform ? formatPlatform(descriptor.platform) : 'no platform';
  // Docker 25+ saves `app:1 other:2` as ref names `1` and `2`: the image name says which is which.
  const containerdName = descriptor.annotations?.[CONTAINERD_NAME];
  const image = containerdName !== undefined && containerdName !== name ? `${containerdName}, ` : '';
  return `${name ?? `@${position} ${unnamed}`} (${image}${platform})`;
}

/**
 * `@N` selects the Nth entry of index.json (from 0), as skopeo's `oci:DIR:@N`: untagged images have no other
 * name. A negative N is matched too, so it is answered as a position there is none at, not as a name.
 */
const POSITION_REF = /^@(-?\d+)$/;

/** Entries of index.json a message names at most: a layout may list thousands, and an error stays one line. */
const LISTED_ENTRIES = 20;

function chooseEntry(
  index: ImageIndex,
  indexDigest: Digest,
  options: LayoutOptions,
  files: LocalFiles,
): Descriptor {
  const { location } = files;
  const entries = index.manifests;
  const other = index.unusable?.[0];
  if (entries.length === 0 && other) {
    throw new ImgscopeError(
      'UNSUPPORTED',
      `${location}: index.json names its images by digests such as ${other.digest.slice(0, 200)}, which imgscope cannot verify (it reads sha256 only)`,
      { hint: 'write the layout with sha256 digests, the default of docker, buildx, crane and skopeo' },
    );
  }
  if (entries.length === 0)
    throw holdsNoImage(files, options.kind === 'oci-archive' ? 'oci-archive' : 'oci', options.ref);
  const { ref } = options;
  // The input with its transport and without its :REF, as the hints name it (a bare PATH takes no :REF).
  const base = ref === undefined ? options.reference : options.reference.slice(0, -(ref.length + 1));
  const position = ref === undefined ? null : POSITION_REF.exec(ref);
  if (position) return entryAt(index, position[0], location, base);
  // Positions count the entries of other digest algorithms too, as @N does.
  const skipped = index.unusable ?? [];
  const listed = entries
    .slice(0, LISTED_ENTRIES)
    .map((entry, i) => describeEntry(entry, entries, i + skipped.filter((u) => u.position <= i).length));
  const unlisted = entries.length - listed.length;
  const listing = `${listed.join(', ')}${unlisted > 0 ? ` and ${unlisted} more` : ''}`;
  const candidates = ref === undefined ? entries : entries.filter((entry) => matchesRef(entry, ref));
  const unreadable = ref === undefined ? undefined : skipped.find((entry) => matchesRef(entry, ref));
  if (candidates.length === 0 && unreadable) {
    throw unverifiableEntry(location, `image "${ref}"`, unreadable.digest);
  }
  if (candidates.length === 0) {
    throw new ImgscopeError('NOT_FOUND', `${location} has no image named "${ref}"; it has ${listing}`, {
      hint: `name one of them: ${base}:REF, or ${base}:@N for the Nth (from @0)`,
    });
  }
  const distinct = new Map(candidates.map((entry) => [entry.digest, entry]));
  if (distinct.size === 1) return candidates[0]!;

  const wanted = options.platform ?? DEFAULT_PLATFORM;
  const matching = closestPlatforms([...distinct.values()], wanted);
  if (matching.length === 1) return matching[0]!;
  const what = ref === undefined ? `${distinct.size} images` : `${distinct.size} images named "${ref}"`;
  // A bare PATH takes no :REF (PATH:REF would be read as a registry image), so the hint names the transport.
  const unnamed = entries.some((entry) => entryName(entry, entries) === undefined);
  const byRef =
    ref === undefined
      ? `name one with ${options.reference}:${unnamed ? '@N for the Nth (from @0)' : 'REF'}`
      : undefined;
  if (![...distinct.values()].some((entry) => entry.platform)) {
    // --platform cannot choose among entries that carry no platform (docker save, skopeo write none).
    throw new ImgscopeError('BAD_INPUT', `${location} holds ${what}: ${listing}`, {
      hint: byRef ?? 'name one by a name listed',
    });
  }
  const byPlatform = 'choose with --platform os/arch[/variant]';
  const message = `${location} holds ${what} and ${matching.length === 0 ? 'none' : 'several'} for ${formatPlatform(wanted)}: ${listing}`;
  const hint = byRef ? `${byRef}, or ${byPlatform}` : byPlatform;
  if (matching.length === 0 && [...distinct.values()].every((entry) => entry.platform)) {
    // Platform images listed straight in index.json (go-containerregistry's layout.Write of an index):
    // a multi-platform index like a nested one, so a profile's platform check reports it as for one.
    const error = new PlatformNotFoundError(message, hint, {
      digest: indexDigest,
      mediaType: index.mediaType ?? MediaType.OciIndex,
      manifests: [...distinct.values()],
      ...(index.annotations ? { annotations: index.annotations } : {}),
    });
    error.image = { reference: options.reference, kind: options.kind };
    throw error;
  }
  throw new ImgscopeError(matching.length === 0 ? 'PLATFORM' : 'BAD_INPUT', message, { hint });
}

/** index.json listing the platform images of one image itself (go-containerregistry's layout.Write of an index) is its index. */
function flatIndex(index: ImageIndex, digest: Digest, selected: Descriptor): ResolvedIndex | undefined {
  const digests = new Set(index.manifests.map((entry) => entry.digest));
  if (digests.size < 2 || !index.manifests.every((entry) => entry.platform)) return undefined;
  return {
    digest,
    mediaType: index.mediaType ?? MediaType.OciIndex,
    manifests: index.manifests,
    ...(index.annotations ? { annotations: index.annotations } : {}),
    selected,
  };
}

/** The entry at `position` in index.json, counting entries of other digest algorithms as skopeo does. */
function entryAt(index: ImageIndex, ref: string, location: string, base: string): Descriptor {
  const all: Array<Descriptor | UnusableEntry> = [...index.manifests];
  for (const entry of [...(index.unusable ?? [])].reverse()) all.splice(entry.position, 0, entry);
  // `ref` is echoed as given: a number past 2^53 would print rounded.
  const entry = ref.startsWith('@-') ? undefined : all[Number(ref.slice(1))];
  if (entry === undefined) {
    throw new ImgscopeError(
      'NOT_FOUND',
      `${location} has no image ${ref}: index.json lists ${all.length} (@0 to @${all.length - 1})`,
      { hint: `name one of them: ${base}:@N` },
    );
  }
  if (!isDigest(entry.digest)) throw unverifiableEntry(location, `image ${ref}`, entry.digest);
  return entry as Descriptor;
}

/** The image chosen is named by a digest of another algorithm (sha512), so its bytes cannot be checked. */
function unverifiableEntry(location: string, image: string, digest: string): ImgscopeError {
  return new ImgscopeError(
    'UNSUPPORTED',
    `${location}: ${image} is named by the digest ${digest.slice(0, 200)}, which imgscope cannot verify (it reads sha256 only)`,
    { hint: 'write the layout with sha256 digests, the default of docker, buildx, crane and skopeo' },
  );
}

/**
 * `docker save` from a containerd store keeps the whole index but only the blobs of the platforms it
 * pulled; say which platforms are actually there rather than reporting a bare missing blob.
 */
async function requirePresent(
  files: LocalFiles,
  index: ImageIndex,
  chosen: Descriptor,
  wanted: Platform,
): Promise<void> {
  if ((await files.size(blobPath(chosen.digest))) !== undefined) return;
  const present: string[] = [];
  for (const entry of index.manifests) {
    // An attestation (unknown/unknown) is no platform --platform can pick.
    const pickable = entry.platform && entry.platform.os !== 'unknown';
    if (pickable && (await files.size(blobPath(entry.digest))) !== undefined) {
      present.push(formatPlatform(entry.platform!));
    }
  }
  throw new ImgscopeError(
    'NOT_FOUND',
    `${files.location}: the ${formatPlatform(wanted)} image (${chosen.digest}) is listed but its blobs are missing; present: ${present.join(', ') || 'none'}`,
    {
      hint: 'pick a present platform with --platform os/arch[/variant], or save the image for this platform',
    },
  );
}
