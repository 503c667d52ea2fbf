import { unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../../oci/digest.js';
import { NameBudgetExceeded } from '../name-budget.js';
import { BackgroundWrites, CacheWriteFailure } from './background-writes.js';
import {
  decodeEntry,
  encodeEntry,
  type InternTables,
  type LayerAnalysis,
  UnusableEntryError,
} from './entry-format.js';
import {
  errorCode as codeOf,
  describeError as describe,
  makeDirectories,
  readCacheFile,
  writeAtomically,
} from './files.js';
import { ANALYSER_VERSION, entryFileName, LAYERS_FOLDER } from './location.js';

/**
 * Layer analyses by layer digest: what `analyze` consults before streaming a layer. A layer's digest names
 * its bytes, and the bytes determine the analysis, so an entry is valid for every image that has the layer.
 */
export interface LayerCache {
  /** The layer's analysis interned into the image's tables, or undefined to analyse it afresh. */
  get(digest: Digest, tables: InternTables): Promise<LayerAnalysis | undefined>;
  /**
   * Stores a layer's analysis in the background. Call it only once the layer's blob stream has ended,
   * which is when its bytes were verified against `digest`.
   */
  put(digest: Digest, layer: LayerAnalysis, tables: InternTables): void;
}

export interface DiskLayerCacheOptions {
  /** The cache root (see `cacheRoot`); entries live in its versioned layers folder. */
  root: string;
  /** Told once when writing fails (read-only or full disk); the cache then stops writing. */
  warn?: (message: string) => void;
  /** Shared by a command's caches: one failure stops them all, with its one warning (not `warn`'s). */
  writeFailure?: CacheWriteFailure;
  /** Hits, misses, stores and discarded entries, one line each. */
  debug?: (line: string) => void;
  /** What entries must be written by (tests); default this imgscope's ANALYSER_VERSION. */
  analyser?: string;
}

/**
 * One file per layer digest. Writes are atomic — a temp file in the same folder, fsynced, then renamed
 * over the name — so a reader sees a whole entry or none, and concurrent writers of one digest simply
 * replace each other's identical bytes. An entry that fails any check is removed and treated as a miss.
 * Nothing here throws into the analysis: the cache degrades to no cache.
 */
export class DiskLayerCache implements LayerCache {
  readonly directory: string;
  private readonly analyser: string;
  private readonly writes: BackgroundWrites;
  private folderReady: Promise<void> | undefined;
  /** Discarded entries being removed: a fresh entry of the digest is renamed into place only after. */
  private readonly removals = new Map<Digest, Promise<void>>();

  constructor(private readonly options: DiskLayerCacheOptions) {
    this.directory = join(options.root, LAYERS_FOLDER);
    this.analyser = options.analyser ?? ANALYSER_VERSION;
    this.writes = new BackgroundWrites(
      options.writeFailure ?? new CacheWriteFailure(options.root, options.warn),
    );
  }

  async get(digest: Digest, tables: InternTables): Promise<LayerAnalysis | undefined> {
    const file = join(this.directory, entryFileName(digest));
    let bytes: Buffer;
    try {
      bytes = await readCacheFile(file);
    } catch (error) {
      this.debug(`cache miss ${digest}${codeOf(error) === 'ENOENT' ? '' : ` (${describe(error)})`}`);
      return undefined;
    }
    try {
      const layer = decodeEntry(bytes, { digest, analyser: this.analyser }, tables);
      this.debug(`cache hit ${digest}`);
      const now = new Date();
      // Last use is the file's mtime: `cache prune --max-size` drops the least recently used first.
      this.track(utimes(file, now, now).catch(() => {}));
      return layer;
    } catch (error) {
      // The image's budget, not the entry, is at fault: the entry stays.
      if (error instanceof NameBudgetExceeded) throw error;
      const reason = error instanceof UnusableEntryError ? error.message : `unreadable: ${describe(error)}`;
      this.debug(`cache entry ${digest} discarded (${reason})`);
      const removal = unlink(file).catch(() => {});
      this.removals.set(digest, removal);
      this.track(removal);
      return undefined;
    }
  }

  put(digest: Digest, layer: LayerAnalysis, tables: InternTables): void {
    if (this.writes.failed) return;
    let chunks: Uint8Array[] | undefined;
    try {
      chunks = encodeEntry(digest, this.analyser, layer, tables);
    } catch (error) {
      this.debug(`cache cannot encode ${digest} (${describe(error)})`);
      return;
    }
    if (!chunks) {
      this.debug(`cache skips ${digest} (a name is not valid Unicode)`);
      return;
    }
    const entry = chunks;
    this.track(
      this.write(digest, entry).then(
        (bytes) => this.debug(`cache stored ${digest} (${bytes} bytes)`),
        (error: unknown) => this.writes.fail(error),
      ),
    );
  }

  /** Resolves once every write and touch started so far has finished (they never reject). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  private async write(digest: Digest, chunks: Uint8Array[]): Promise<number> {
    this.folderReady ??= makeDirectories(this.directory, this.options.root);
    await this.folderReady;
    const name = entryFileName(digest);
    try {
      return await writeAtomically(this.directory, name, chunks, this.removals.get(digest));
    } catch (error) {
      if (codeOf(error) !== 'ENOENT') throw error;
      // Removed since it was made (another version's `cache prune` empties it): make it again, once.
      await makeDirectories(this.directory, this.options.root);
      return await writeAtomically(this.directory, name, chunks);
    }
  }

  private track(work: Promise<void>): void {
    this.writes.track(work);
  }

  private debug(line: string): void {
    this.options.debug?.(line);
  }
}
