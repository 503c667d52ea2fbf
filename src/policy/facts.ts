import { baseMediaType, type ManifestSchema, MediaType } from '../oci/media-types.js';
import { formatPlatform, type Platform, platformMatches } from '../oci/platform.js';
import { type ImageSource, type ResolvedIndex, storedSize } from '../oci/source.js';
import type { Descriptor, ImageConfig } from '../oci/types.js';

/**
 * What is known about an image before any layer byte is read: all the manifest-level checks need.
 * Built from an `ImageSource` (`imageFactsOf`; schema 1 images arrive as sources too), or from an
 * index without the wanted platform, which no source can open (`indexOnlyFacts`).
 */
export interface ImageFacts {
  /** The reference as the user gave it, normalised. */
  reference: string;
  /** Digest of the manifest (or of the index, when no image was selected). */
  digest: string;
  mediaType: string;
  schema: ManifestSchema;
  /** Platform of the selected image; undefined when none was selected. */
  platform: Platform | undefined;
  /** Every platform of the index the reference named; undefined when it named an image. */
  indexPlatforms: Platform[] | undefined;
  /** Undefined when no image was selected. */
  config: ImageConfig | undefined;
  /** Config + layer blobs as a registry stores them; undefined when no image was selected. */
  compressedSize: number | undefined;
  /** Listed bytes `compressedSize` leaves out: foreign layers, and blobs listed more than once. */
  uncountedBytes?: { foreign: number; repeated: number };
  /**
   * Layers stored uncompressed in a `docker save`, read as docker-archive or (Docker 25+) as its OCI
   * layout: every way of pushing one (docker load + push, skopeo, crane) compresses them, so
   * `compressedSize` is more than the registry will hold.
   */
  storedUncompressed: boolean;
  layerCount: number;
  /** The reference names a tag (not a digest) in a registry. */
  referenceIsTag: boolean;
  /** `name@sha256:…` to deploy with, for registry images. */
  pinnedReference: string | undefined;
}

const DIGEST_SUFFIX = /@sha256:[a-f0-9]{64}$/;

/** `name@digest` for a registry reference (tag and digest dropped from the name first). */
export function pinnedReferenceFor(reference: string, digest: string): string {
  const name = reference.replace(DIGEST_SUFFIX, '').replace(/:[^:/]+$/, '');
  return `${name}@${digest}`;
}

function isRegistryTag(kind: ImageSource['kind'], reference: string): boolean {
  return kind === 'registry' && !DIGEST_SUFFIX.test(reference);
}

/**
 * Platforms an index offers (its nested indexes' included), each once in the order first met, attestation
 * manifests (`unknown/unknown`) left out.
 */
export function indexPlatformsOf(index: Pick<ResolvedIndex, 'manifests' | 'platforms'>): Platform[] {
  const offered =
    index.platforms ??
    index.manifests.flatMap((m) => (m.platform && m.platform.os !== 'unknown' ? [m.platform] : []));
  const seen = new Set<string>();
  return offered.filter((platform) => {
    const name = formatPlatform(platform);
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}

/** Docker 25+ saves its layers as `application/vnd.oci.image.layer.v1.tar` in the OCI layout it writes. */
function isUncompressedLayer(layer: Descriptor): boolean {
  const type = baseMediaType(layer.mediaType);
  return type === MediaType.DockerLayer || type === MediaType.OciLayer;
}

export function imageFactsOf(source: ImageSource): ImageFacts {
  const stored = storedSize(source);
  return {
    reference: source.reference,
    digest: source.digest,
    mediaType: source.mediaType,
    schema: source.schema,
    platform: source.platform,
    indexPlatforms: source.index ? indexPlatformsOf(source.index) : undefined,
    config: source.config,
    compressedSize: stored.bytes,
    uncountedBytes: { foreign: stored.foreignBytes, repeated: stored.repeatedBytes },
    storedUncompressed: source.dockerSave === true && source.layers.some(isUncompressedLayer),
    layerCount: source.layers.length,
    referenceIsTag: isRegistryTag(source.kind, source.reference),
    pinnedReference:
      source.kind === 'registry' ? pinnedReferenceFor(source.reference, source.digest) : undefined,
  };
}

/**
 * Facts of an index that has no image for the wanted platform: the `platform` check fails and lists
 * what the index has; checks that need an image are skipped.
 */
export function indexOnlyFacts(options: {
  reference: string;
  kind: ImageSource['kind'];
  index: ResolvedIndex;
  schema: ManifestSchema;
}): ImageFacts {
  return {
    reference: options.reference,
    digest: options.index.digest,
    mediaType: options.index.mediaType,
    schema: options.schema,
    platform: undefined,
    indexPlatforms: indexPlatformsOf(options.index),
    config: undefined,
    compressedSize: undefined,
    storedUncompressed: false,
    layerCount: 0,
    referenceIsTag: isRegistryTag(options.kind, options.reference),
    pinnedReference: undefined,
  };
}

/** Whether the index offers `wanted` (always true when the reference named an image, not an index). */
export function indexOffers(facts: ImageFacts, wanted: Platform): boolean {
  return facts.indexPlatforms === undefined || facts.indexPlatforms.some((p) => platformMatches(p, wanted));
}
