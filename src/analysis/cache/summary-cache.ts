import { createHash } from 'node:crypto';
import { unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { type Digest, isDigest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/types.js';
import type { AnalysisSummary } from '../summary.js';
import { BackgroundWrites, CacheWriteFailure } from './background-writes.js';
import { UnusableEntryError } from './entry-format.js';
import {
  describeError,
  errorCode,
  makeDirectories,
  readCacheFile,
  settled,
  writeAtomically,
} from './files.js';
import { entryFileName, IMAGES_FOLDER, LAYERS_FOLDER, SUMMARY_VERSION, TWIN_PREFIX } from './location.js';
import { decodeSummary, encodeSummary } from './summary-format.js';

/** The image a summary is looked up for: its manifest digest and the layers that manifest lists. */
export interface SummaryKey {
  digest: Digest;
  layers: readonly Descriptor[];
  /**
   * The command that made each layer (the config's history). With them, a manifest seen for the first
   * time can still use the summary of another with the same layers and commands: a rebuild whose config
   * changed only in timestamps, labels or environment.
   */
  commands?: readonly string[];
  /**
   * The config's rootfs.diff_ids. They are part of the twin's key: a rebuild whose config names a layer by
   * another diff_id must be analysed, so the layer is checked against it.
   */
  diffIds?: readonly Digest[];
}

/** A stored summary that holds for the image. */
export interface CachedSummary {
  summary: AnalysisSummary;
  /**
   * The manifest whose summary it is, when not the image's own but found through its twin pointer: pass
   * it to `adopt` once the image's blobs are verified, to store it as the image's too.
   */
  twin?: Digest;
}

export interface DiskSummaryCacheOptions {
  /** The cache root (see `cacheRoot`); summaries live in its versioned images folder. */
  root: string;
  /** Told once when writing fails (read-only or full disk); the cache then stops writing. */
  warn?: (message: string) => void;
  /** Shared by a command's caches: one failure stops them all, with its one warning (not `warn`'s). */
  writeFailure?: CacheWriteFailure;
  /** Hits, misses, stores and discarded summaries, one line each. */
  debug?: (line: string) => void;
  /** What summaries must be written by (tests); default this imgscope's SUMMARY_VERSION. */
  analyser?: string;
}

/**
 * Image summaries by manifest digest: what a repeated `check` reads instead of streaming any layer.
 * Written atomically, only after the whole analysis succeeded (every blob verified); a summary that fails
 * any check is removed and treated as a miss. Nothing here throws into a check: it degrades to no cache.
 */
export class DiskSummaryCache {
  readonly directory: string;
  private readonly layersDirectory: string;
  private readonly analyser: string;
  private readonly writes: BackgroundWrites;
  /** Removals of discarded summaries by file name: a fresh write of the name waits for its removal. */
  private readonly removals = new Map<string, Promise<void>>();

  constructor(private readonly options: DiskSummaryCacheOptions) {
    this.directory = join(options.root, IMAGES_FOLDER);
    this.layersDirectory = join(options.root, LAYERS_FOLDER);
    this.analyser = options.analyser ?? SUMMARY_VERSION;
    this.writes = new BackgroundWrites(
      options.writeFailure ?? new CacheWriteFailure(options.root, options.warn),
    );
  }

  /**
   * The image's summary, or undefined to analyse it. A summary whose layers uncompress to more than
   * `maxUncompressedBytes` is not used (kept, though): the analysis then stops at the decompression
   * guard as it would without the cache.
   */
  async get(
    image: SummaryKey,
    maxUncompressedBytes = Number.POSITIVE_INFINITY,
  ): Promise<CachedSummary | undefined> {
    const { digest } = image;
    const file = join(this.directory, entryFileName(digest));
    let bytes: Buffer;
    try {
      bytes = await readCacheFile(file);
    } catch (error) {
      const code = errorCode(error);
      const twin = code === 'ENOENT' ? await this.twinOf(image) : undefined;
      if (twin && withinGuard(twin.summary, maxUncompressedBytes)) {
        this.debug(`image summary hit ${digest} (the layers and commands of ${twin.digest})`);
        this.touch(join(this.directory, entryFileName(twin.digest)), image);
        return { summary: twin.summary, twin: twin.digest };
      }
      this.debug(`image summary miss ${digest}${code === 'ENOENT' ? '' : ` (${describeError(error)})`}`);
      return undefined;
    }
    let summary: AnalysisSummary;
    try {
      summary = decodeSummary(bytes, { digest, analyser: this.analyser, layers: image.layers });
    } catch (error) {
      const reason =
        error instanceof UnusableEntryError ? error.message : `unreadable: ${describeError(error)}`;
      this.debug(`image summary ${digest} discarded (${reason})`);
      const removal = settled(unlink(file));
      this.removals.set(entryFileName(digest), removal);
      this.track(removal);
      return undefined;
    }
    if (!withinGuard(summary, maxUncompressedBytes)) {
      this.debug(`image summary ${digest} not used (its layers exceed the decompression guard)`);
      return undefined;
    }
    this.debug(`image summary hit ${digest}`);
    this.touch(file, image);
    return { summary };
  }

  /**
   * Last use is the mtime, for `cache prune --max-size`. The image's layer entries count as used too:
   * prune drops a summary with any of its layers, so an image checked daily keeps both.
   */
  private touch(file: string, image: SummaryKey): void {
    const now = new Date();
    const touched = [
      file,
      ...image.layers.map((layer) => join(this.layersDirectory, entryFileName(layer.digest))),
    ];
    for (const path of new Set(touched)) this.track(settled(utimes(path, now, now)));
  }

  /**
   * A summary stored for another manifest that lists the same layers, made by the same commands. The
   * analysis depends on nothing else (the rest of the report is drawn from the config anew), so it is
   * this image's too. Found through its twin pointer — one small file named by a hash of the layers and
   * commands, holding the manifest digest of the summary last analysed for them — so a miss costs two reads
   * however many summaries the cache holds.
   */
  private async twinOf(image: SummaryKey): Promise<{ digest: Digest; summary: AnalysisSummary } | undefined> {
    const { commands } = image;
    if (!commands) return undefined;
    const layers = image.layers.map((layer) => layer.digest);
    try {
      const pointer = join(
        this.directory,
        twinFileName(this.analyser, layers, commands, image.diffIds ?? []),
      );
      const digest = (await readCacheFile(pointer)).toString('utf8').trim();
      if (!isDigest(digest) || digest === image.digest) return undefined;
      const bytes = await readCacheFile(join(this.directory, entryFileName(digest)));
      const summary = decodeSummary(bytes, { digest, analyser: this.analyser, layers: image.layers });
      // The hash names them, but a pointer is no proof: compare what it stands for.
      if (summary.layers.every((layer, index) => layer.createdBy === commands[index]))
        return { digest, summary };
    } catch {
      // No pointer, or one to a summary pruned, half-written or unreadable: the check that owns it
      // discards it.
    }
    return undefined;
  }

  /**
   * Stores the image's summary in the background; call it only once the analysis succeeded, which verified
   * the layers against `diffIds` (the config's).
   */
  put(digest: Digest, summary: AnalysisSummary, diffIds: readonly Digest[] = []): void {
    this.store(digest, summary, { pointer: true, diffIds });
  }

  /**
   * Stores a summary `get` found through a twin as the image's own, in the background; call it only once
   * the image's blobs are verified. The pointer stays on the twin: were it moved here, losing this image's
   * summary would lose both.
   */
  adopt(digest: Digest, summary: AnalysisSummary): void {
    this.store(digest, summary, { pointer: false, diffIds: [] });
  }

  /** Resolves once every write, touch and removal started so far has finished (they never reject). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  /** Writes the summary, then (with `pointer`) the twin pointer of its layers and commands to it. */
  private store(
    digest: Digest,
    summary: AnalysisSummary,
    { pointer, diffIds }: { pointer: boolean; diffIds: readonly Digest[] },
  ): void {
    if (this.writes.failed) return;
    const chunks = encodeSummary(digest, this.analyser, summary);
    const twin = twinFileName(
      this.analyser,
      summary.layers.map((layer) => layer.digest),
      summary.layers.map((layer) => layer.createdBy),
      diffIds,
    );
    const store = async () => {
      const bytes = await this.write(entryFileName(digest), chunks);
      this.debug(`image summary stored ${digest} (${bytes} bytes)`);
      // Only once the summary is in place: a pointer never names a summary not yet written.
      if (pointer) await this.write(twin, [Buffer.from(`${digest}\n`)]);
    };
    this.track(store().catch((error: unknown) => this.writes.fail(error)));
  }

  private async write(name: string, chunks: Uint8Array[]): Promise<number> {
    await makeDirectories(this.directory, this.options.root);
    try {
      return await writeAtomically(this.directory, name, chunks, this.removals.get(name));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      // `cache prune` removes the folder when it empties it: make it again, once.
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

function withinGuard(summary: AnalysisSummary, maxUncompressedBytes: number): boolean {
  return summary.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0) <= maxUncompressedBytes;
}

/** `twin-<sha256 of the analyser, the layer digests, the commands and the diff_ids>`: see `twinOf`. */
function twinFileName(
  analyser: string,
  layers: readonly string[],
  commands: readonly string[],
  diffIds: readonly Digest[],
): string {
  const key = createHash('sha256')
    .update(JSON.stringify([analyser, layers, commands, diffIds]))
    .digest('hex');
  return `${TWIN_PREFIX}${key}`;
}
