import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';
import type { IndexProgress } from './local/compressed-tar.js';
import { isNonDistributableMediaType, type ManifestSchema } from './media-types.js';
import type { Platform } from './platform.js';
import type { Descriptor, ImageConfig, ImageManifest, UnusableEntry } from './types.js';

/** An index the image was selected from, with every platform it offers. */
export interface ResolvedIndex {
  digest: Digest;
  mediaType: string;
  manifests: Descriptor[];
  /** Entries named by a digest of another algorithm (sha512), listed but never read. */
  unusable?: UnusableEntry[];
  annotations?: Record<string, string>;
  /** The entry of `manifests` picked for the platform: the image, or the index nested in this one that holds it. */
  selected?: Descriptor;
  /**
   * The platforms the search for the wanted one found, those of the indexes without a platform it looked in
   * included (attestations left out); absent, those `manifests` name.
   */
  platforms?: Platform[];
}

/**
 * One image, wherever it lives. Registry, OCI layout, oci-archive and docker-archive all implement this;
 * nothing above `src/oci` and `src/registry` branches on where an image came from.
 *
 * Opening a source resolves the reference all the way to one platform's manifest and config, so the
 * manifest-level facts are known before any layer byte is read.
 */
export interface ImageSource {
  /** The reference as the user gave it, normalised (`docker.io/library/alpine:3.20`, `oci:fixtures/x`). */
  readonly reference: string;
  /** Where the image came from, for messages and reports. */
  readonly kind: 'registry' | 'oci-layout' | 'oci-archive' | 'docker-archive';
  /**
   * The image is in a `docker save` (manifest.json beside or instead of an OCI layout), whichever reader
   * opened it: its layers are as the docker engine stores them, often uncompressed.
   */
  readonly dockerSave?: boolean;
  /** Digest of the selected image manifest (the line to deploy with). */
  readonly digest: Digest;
  /** Media type of the selected image manifest. */
  readonly mediaType: string;
  readonly schema: ManifestSchema;
  readonly platform: Platform;
  /** Set when the reference pointed at an index (manifest list) and a platform was picked from it. */
  readonly index: ResolvedIndex | undefined;
  readonly manifest: ImageManifest;
  /** Exact manifest bytes as stored (their sha256 is `digest`). */
  readonly rawManifest: Uint8Array;
  readonly config: ImageConfig;
  readonly configDescriptor: Descriptor;
  /** Layer descriptors in application order (base first). */
  readonly layers: readonly Descriptor[];
  /**
   * Opens a blob as a stream that errors (before it ends) when the bytes do not match the descriptor's
   * digest or size. Callers must consume or destroy it.
   */
  openBlob(descriptor: Descriptor, options?: { signal?: AbortSignal }): Promise<Readable>;
  /**
   * Where a blob's bytes lie on this machine and the stat of the file holding them, or undefined when the
   * blob is missing. Only images on disk have it: a file can change after its bytes were verified, a
   * registry's blob cannot (it is served by digest, and verified whenever it is downloaded).
   */
  locateBlob?(descriptor: Descriptor): Promise<StoredBlob | undefined>;
  /** Releases files and connections. Safe to call twice. */
  close(): Promise<void>;
}

/** Config + layer blobs as a registry stores them, and what of the manifest's listing that leaves out. */
export interface StoredSize {
  /** What the platform limits ("before decompression", platform-limits.md "image size"). */
  bytes: number;
  /** Foreign (non-distributable) layers: listed, but no registry holds them. */
  foreignBytes: number;
  /** Blobs listed again after their first listing: a registry stores a blob once. */
  repeatedBytes: number;
}

/**
 * Config + layer blobs as a registry stores them ("before decompression"): each blob once however often
 * the manifest lists it, and no foreign layer. A schema 1 image has no config blob (imgscope makes one up
 * to read it), so only its layers count.
 */
export function storedSize(source: Pick<ImageSource, 'schema' | 'configDescriptor' | 'layers'>): StoredSize {
  const counted = new Set<string>();
  const size: StoredSize = { bytes: 0, foreignBytes: 0, repeatedBytes: 0 };
  if (source.schema !== 'docker-v2s1') {
    counted.add(source.configDescriptor.digest);
    size.bytes += source.configDescriptor.size;
  }
  for (const layer of source.layers) {
    if (isNonDistributableMediaType(layer.mediaType)) size.foreignBytes += layer.size;
    else if (counted.has(layer.digest)) size.repeatedBytes += layer.size;
    else {
      counted.add(layer.digest);
      size.bytes += layer.size;
    }
  }
  return size;
}

/** `storedSize(source).bytes`: the image's compressed size. */
export function storedSizeOf(source: Pick<ImageSource, 'schema' | 'configDescriptor' | 'layers'>): number {
  return storedSize(source).bytes;
}

/** A local blob's place: a file of its own, or a member of an archive. */
export interface StoredBlob {
  /** Absolute path of the file that holds the bytes: the blob itself, or the archive it is a member of. */
  file: string;
  /** Where the blob's bytes start in the file (0 unless it is an archive) and how many there are. */
  offset: number;
  length: number;
  /** The file's stat when it was located: see FileStamp. */
  stamp: FileStamp;
}

/**
 * What a file's stat says about its identity and last change, to the nanosecond. Writing to the file, or
 * replacing it, changes at least one field (the ctime cannot be set back), so while the stamp is the same
 * the bytes are the ones last read — as far as a stat can tell: see RACY_WINDOW_MS in
 * analysis/cache/fingerprint-store.ts.
 */
export interface FileStamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export interface OpenOptions {
  /** Platform to select from an index; default linux/amd64. */
  platform?: Platform;
  /** Where `platform` was asked for, named in errors: `--platform` (the default) or a config file. */
  platformOrigin?: string;
  signal?: AbortSignal;
  /** The decompression guard for the pass that indexes a compressed archive on disk (default 64 GiB). */
  maxUncompressedBytes?: number;
  /** Told how far that pass has read the archive (bytes of the file, and decompressed); it may take minutes. */
  onIndexProgress?: (location: string, progress: IndexProgress) => void;
  /** Receives one-line warnings about an image read anyway (an OCI layout without its oci-layout file). */
  warn?: (message: string) => void;
}
