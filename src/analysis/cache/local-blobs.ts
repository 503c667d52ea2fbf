import { finished } from 'node:stream/promises';
import type { ImageSource, StoredBlob } from '../../oci/source.js';
import type { Descriptor } from '../../oci/types.js';
import type { FingerprintStore } from './fingerprint-store.js';

/** A blob located just before its bytes are read: what to record once they have been verified. */
export interface WatchedBlob {
  /** Call once the blob's verifying stream has ended: its bytes matched the digest and size. */
  verified(): void;
}

/**
 * The blobs of an image on disk, behind cached analyses. A cached layer analysis or image summary stands
 * for bytes read earlier, and a file can change or vanish after that, so before one is used the blob's
 * bytes are verified again — hashed through the source's verifying stream, never decompressed — unless a
 * fingerprint records that they were verified while the file's stat was what it is now (as git's index
 * spares re-hashing unchanged files). A missing blob, or one of another size, is always read, and so fails
 * with the error an uncached check gives. Registry blobs need none of this: a registry serves them by
 * digest, and imgscope verifies them whenever it downloads them.
 */
export class LocalBlobs {
  constructor(
    private readonly source: ImageSource,
    private readonly fingerprints: FingerprintStore | undefined,
  ) {}

  /** Resolves once the blob's bytes are known to be its descriptor's; rejects as reading the blob would. */
  async confirm(descriptor: Descriptor, signal?: AbortSignal): Promise<void> {
    if (!this.source.locateBlob) return;
    const seen = await this.locate(descriptor);
    if (seen && (await this.fingerprints?.vouchesFor(seen.blob, descriptor.digest))) return;
    const stream = await this.source.openBlob(descriptor, { signal });
    stream.resume();
    await finished(stream);
    if (seen) this.fingerprints?.remember(seen.blob, descriptor.digest, seen.at);
  }

  /** Confirms each blob in turn, in order, so the error is the first bad one's. */
  async confirmAll(descriptors: readonly Descriptor[], signal?: AbortSignal): Promise<void> {
    for (const descriptor of descriptors) await this.confirm(descriptor, signal);
  }

  /**
   * Fails, with the error reading it would give, on the first of the blobs (in order) that is missing —
   * a stat each, so an incomplete layout is refused before any layer is decompressed, and always on the
   * same blob whichever concurrent layer would have reached its own missing blob first.
   */
  async requirePresent(descriptors: readonly Descriptor[]): Promise<void> {
    if (!this.source.locateBlob) return;
    for (const descriptor of descriptors) {
      if (await this.source.locateBlob(descriptor)) continue;
      (await this.source.openBlob(descriptor)).destroy();
    }
  }

  /**
   * Call just before the blob is streamed: its stream verifies the bytes as they are read, and once it has
   * ended `verified()` records the fingerprint, so the next cached run need not hash them.
   */
  async watch(descriptor: Descriptor): Promise<WatchedBlob | undefined> {
    const { fingerprints } = this;
    if (!fingerprints || !this.source.locateBlob) return undefined;
    const seen = await this.locate(descriptor);
    if (!seen) return undefined;
    return { verified: () => fingerprints.remember(seen.blob, descriptor.digest, seen.at) };
  }

  /** Where the blob lies, when it does and has its descriptor's size; stat taken after `at`. */
  private async locate(descriptor: Descriptor): Promise<{ blob: StoredBlob; at: number } | undefined> {
    const at = Date.now();
    const blob = await this.source.locateBlob?.(descriptor);
    return blob && blob.length === descriptor.size ? { blob, at } : undefined;
  }
}
