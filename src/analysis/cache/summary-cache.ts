import { mkdir, readFile, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../../oci/digest.js';
import type { Descriptor } from '../../oci/types.js';
import type { AnalysisSummary } from '../summary.js';
import { BackgroundWrites, cannotWriteWarning } from './background-writes.js';
import { UnusableEntryError } from './entry-format.js';
import { describeError, errorCode, settled, writeAtomically } from './files.js';
import { entryFileName, IMAGES_FOLDER, LAYERS_FOLDER, SUMMARY_VERSION } from './location.js';
import { decodeSummary, encodeSummary } from './summary-format.js';

/** The image a summary is looked up for: its manifest digest and the layers that manifest lists. */
export interface SummaryKey {
  digest: Digest;
  layers: readonly Descriptor[];
}

export interface DiskSummaryCacheOptions {
  /** The cache root (see `cacheRoot`); summaries live in its versioned images folder. */
  root: string;
  /** Told once when writing fails (read-only or full disk); the cache then stops writing. */
  warn?: (message: string) => void;
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
  private readonly removals = new Map<Digest, Promise<void>>();

  constructor(private readonly options: DiskSummaryCacheOptions) {
    this.directory = join(options.root, IMAGES_FOLDER);
    this.layersDirectory = join(options.root, LAYERS_FOLDER);
    this.analyser = options.analyser ?? SUMMARY_VERSION;
    this.writes = new BackgroundWrites((error) =>
      options.warn?.(cannotWriteWarning('image summary cache', this.directory, describeError(error))),
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
  ): Promise<AnalysisSummary | undefined> {
    const { digest } = image;
    const file = join(this.directory, entryFileName(digest));
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      const code = errorCode(error);
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
      this.removals.set(digest, removal);
      this.track(removal);
      return undefined;
    }
    const uncompressed = summary.layers.reduce((sum, layer) => sum + layer.uncompressedSize, 0);
    if (uncompressed > maxUncompressedBytes) {
      this.debug(`image summary ${digest} not used (its layers exceed the decompression guard)`);
      return undefined;
    }
    this.debug(`image summary hit ${digest}`);
    // Last use is the mtime, for `cache prune --max-size`. The image's layer entries count as used too:
    // prune drops a summary with any of its layers, so an image checked daily keeps both.
    const now = new Date();
    const touched = [
      file,
      ...image.layers.map((layer) => join(this.layersDirectory, entryFileName(layer.digest))),
    ];
    for (const path of new Set(touched)) this.track(settled(utimes(path, now, now)));
    return summary;
  }

  /** Stores the image's summary in the background; call it only once the analysis succeeded. */
  put(digest: Digest, summary: AnalysisSummary): void {
    if (this.writes.failed) return;
    const chunks = encodeSummary(digest, this.analyser, summary);
    this.track(
      this.write(digest, chunks).then(
        (bytes) => this.debug(`image summary stored ${digest} (${bytes} bytes)`),
        (error: unknown) => this.writes.fail(error),
      ),
    );
  }

  /** Resolves once every write, touch and removal started so far has finished (they never reject). */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  private async write(digest: Digest, chunks: Uint8Array[]): Promise<number> {
    const name = entryFileName(digest);
    await mkdir(this.directory, { recursive: true });
    try {
      return await writeAtomically(this.directory, name, chunks, this.removals.get(digest));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      // `cache prune` removes the folder when it empties it: make it again, once.
      await mkdir(this.directory, { recursive: true });
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
