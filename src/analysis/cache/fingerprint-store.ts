import { join } from 'node:path';
import type { Digest } from '../../oci/digest.js';
import type { FileStamp, StoredBlob } from '../../oci/source.js';
import { BackgroundWrites, CacheWriteFailure } from './background-writes.js';
import { UnusableEntryError } from './entry-format.js';
import { describeError, errorCode, makeDirectories, readCacheFile, writeAtomically } from './files.js';
import { decodeRecord, encodeRecord, recordFileName, sameStamp } from './fingerprint-format.js';
import { FINGERPRINTS_FOLDER } from './location.js';

/**
 * A file changed shortly before its stat was taken may change again within the same tick of its
 * filesystem's clock and keep every field of its stat (git's "racily clean" files): its fingerprint is not
 * recorded, so the next run hashes it again. How shortly depends on the timestamps' granularity: whole
 * seconds (FAT's mtime counts two) need RACY_WINDOW_MS; finer ones (ext4, xfs, btrfs, tmpfs, APFS, NTFS,
 * exFAT's 10 ms) need only cover the kernel's clock tick, which file times lag by up to 10 ms.
 */
export const RACY_WINDOW_MS = 2000;
export const FINE_RACY_WINDOW_MS = 100;
const SECOND_NS = 1_000_000_000n;

/** What the local blobs behind cached analyses are checked against (local-blobs.ts). */
export interface FingerprintStore {
  /** Whether these bytes were verified against `digest` while their file's stat was what it is now. */
  vouchesFor(blob: StoredBlob, digest: Digest): Promise<boolean>;
  /**
   * Records, in the background, that the bytes were verified against `digest`. `statTakenAt` is when
   * `blob.stamp` was taken (ms since the epoch): before the bytes were read.
   */
  remember(blob: StoredBlob, digest: Digest, statTakenAt: number): void;
}

export interface DiskFingerprintStoreOptions {
  /** The cache root (see `cacheRoot`); records live in its versioned fingerprints folder. */
  root: string;
  /** Told once when writing fails (read-only or full disk); the store then stops writing. */
  warn?: (message: string) => void;
  /** Shared by a command's caches: one failure stops them all, with its one warning (not `warn`'s). */
  writeFailure?: CacheWriteFailure;
  /** Hits, misses and stores, one line each. */
  debug?: (line: string) => void;
}

/**
 * One small file per verified local blob, written atomically (temp file, fsync, rename) like every cache
 * entry. A record that cannot be read, or whose stat no longer matches, is a miss: the blob is hashed
 * again and the record replaced. Nothing here throws into a check: it degrades to hashing every time.
 */
export class DiskFingerprintStore implements FingerprintStore {
  readonly directory: string;
  private readonly writes: BackgroundWrites;

  constructor(private readonly options: DiskFingerprintStoreOptions) {
    this.directory = join(options.root, FINGERPRINTS_FOLDER);
    this.writes = new BackgroundWrites(
      options.writeFailure ?? new CacheWriteFailure(options.root, options.warn),
    );
  }

  async vouchesFor(blob: StoredBlob, digest: Digest): Promise<boolean> {
    const miss = (why: string) => {
      this.debug(`blob fingerprint miss ${digest}${why ? ` (${why})` : ''}`);
      return false;
    };
    let bytes: Buffer;
    try {
      bytes = await readCacheFile(join(this.directory, recordFileName(blob, digest)));
    } catch (error) {
      return miss(errorCode(error) === 'ENOENT' ? '' : describeError(error));
    }
    try {
      const record = decodeRecord(bytes);
      const same =
        record.digest === digest &&
        record.blob.file === blob.file &&
        record.blob.offset === blob.offset &&
        record.blob.length === blob.length;
      if (!same) return miss('the record is of other bytes');
      if (!sameStamp(record.blob.stamp, blob.stamp)) return miss(`${blob.file} changed since`);
    } catch (error) {
      return miss(
        error instanceof UnusableEntryError ? error.message : `unreadable: ${describeError(error)}`,
      );
    }
    this.debug(`blob fingerprint hit ${digest}`);
    return true;
  }

  remember(blob: StoredBlob, digest: Digest, statTakenAt: number): void {
    if (this.writes.failed) return;
    if (changedWithinRacyWindow(blob.stamp, statTakenAt)) {
      this.debug(`blob fingerprint not stored ${digest} (${blob.file} changed just before it was read)`);
      return;
    }
    const bytes = encodeRecord({ blob, digest });
    this.writes.track(
      this.write(recordFileName(blob, digest), bytes).then(
        () => this.debug(`blob fingerprint stored ${digest}`),
        (error: unknown) => this.writes.fail(error),
      ),
    );
  }

  /** Resolves once every write started so far has finished (they never reject). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  private async write(name: string, bytes: Buffer): Promise<void> {
    await makeDirectories(this.directory, this.options.root);
    try {
      await writeAtomically(this.directory, name, [bytes]);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      // `cache prune` removes the folder when it empties it: make it again, once.
      await makeDirectories(this.directory, this.options.root);
      await writeAtomically(this.directory, name, [bytes]);
    }
  }

  private debug(line: string): void {
    this.options.debug?.(line);
  }
}

/**
 * Whether the file changed too shortly before `statTakenAt` (ms) for its stamp to be trusted. The ctime is
 * what a change always moves (it cannot be set back); a timestamp of whole seconds marks coarse ones.
 */
function changedWithinRacyWindow(stamp: FileStamp, statTakenAt: number): boolean {
  const wholeSeconds = stamp.mtimeNs % SECOND_NS === 0n || stamp.ctimeNs % SECOND_NS === 0n;
  const window = wholeSeconds ? RACY_WINDOW_MS : FINE_RACY_WINDOW_MS;
  return stamp.ctimeNs > BigInt(statTakenAt - window) * 1_000_000n;
}
