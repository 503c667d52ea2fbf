import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';
import type { ManifestSchema } from './media-types.js';
import type { Platform } from './platform.js';
import type { Descriptor, ImageConfig, ImageManifest } from './types.js';

/** An index the image was selected from, with every platform it offers. */
export interface ResolvedIndex {
  digest: Digest;
  mediaType: string;
  manifests: Descriptor[];
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
  /** Releases files and connections. Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Platform to select from an index; default linux/amd64. */
  platform?: Platform;
  /** Where `platform` was asked for, named in errors: `--platform` (the default) or a config file. */
  platformOrigin?: string;
  signal?: AbortSignal;
}
