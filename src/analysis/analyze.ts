import { setMaxListeners } from 'node:events';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { ImgscopeError, isImgscopeError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { remedyFor } from '../oci/image.js';
import type { ImageSource } from '../oci/source.js';
import type { Descriptor, ImageConfig } from '../oci/types.js';
import type { FingerprintStore } from './cache/fingerprint-store.js';
import type { LayerCache } from './cache/layer-cache.js';
import { LocalBlobs } from './cache/local-blobs.js';
import { decodeLayer } from './compression.js';
import { beginDiffIdHash } from './diff-id-hasher.js';
import { WasteAccumulator } from './efficiency.js';
import { EventQueue } from './event-queue.js';
import { type LayerItems, StringTable } from './layer-items.js';
import { LayerSchedule } from './layer-schedule.js';
import { FileModelBuilder, HardlinkTargetMissing, type LayerMergeResult } from './model.js';
import { NameBudget, NameBudgetExceeded, nameBudgetError } from './name-budget.js';
import { PathTable } from './paths.js';
import { readLayerTar } from './tar-entries.js';
import { ThreadDiedError } from './thread-died.js';
import type { Analysis, AnalysisEvent, Compression, LayerSummary } from './types.js';
import { ZstdWindowError } from './zstd-worker.js';

export interface AnalyzeOptions {
  signal?: AbortSignal;
  /** Layers fetched, decompressed and parsed at once; default 3. */
  concurrency?: number;
  /**
   * Parsed layers wait in memory for the layers before them to be merged; no new layer starts while the
   * waiting ones hold this many entries between them. Default 100,000 (under 6 MB of typed arrays).
   */
  maxWaitingEntries?: number;
  /** Decompression guard over the whole image; default 64 GiB. */
  maxUncompressedBytes?: number;
  /** Memory the image's distinct names and link targets may take (name-budget.ts); default 512 MiB. */
  maxNameBytes?: number;
  /** How many distinct paths the image may have (name-budget.ts); default 16,000,000. */
  maxPaths?: number;
  /** Layer analyses by digest: hits skip the download, misses are stored once their bytes are verified. */
  cache?: LayerCache;
  /**
   * Fingerprints of verified local blobs. A cache hit for an image on disk is used only once its blob is
   * confirmed (cache/local-blobs.ts): by a fingerprint from here, else by hashing the blob. A streamed
   * local blob's fingerprint is recorded here.
   */
  fingerprints?: FingerprintStore;
}

export const DEFAULT_CONCURRENCY = 3;
export const DEFAULT_MAX_UNCOMPRESSED_BYTES = 64 * 1024 ** 3;
/** Compressed bytes between two layer-progress events of one layer. */
export const PROGRESS_INTERVAL = 256 * 1024;
/** How far past the merge, in multiples of `concurrency`, a layer may start. */
const LOOKAHEAD_PER_SLOT = 4;
export const DEFAULT_MAX_WAITING_ENTRIES = 100_000;
/** Layer indexes are stored in 16 bits. */
const MAX_LAYERS = 65_535;

interface ParsedLayer {
  items: LayerItems;
  compression: Compression;
  fileCount: number;
  contentSize: number;
  uncompressedSize: number;
  diffId: Digest;
  blobSize: number;
}

/**
 * Streams every layer of the image — `concurrency` layers at a time, in order, each starting as soon as a
 * slot frees (layer-schedule.ts) — and merges them in order into the file model and dive's waste figures.
 * Yields progress while it runs and ends with `done`. The first error (a digest mismatch, a corrupt layer,
 * the decompression guard, an abort) stops everything: open streams are destroyed and the iteration
 * throws it.
 */
export function analyze(source: ImageSource, options: AnalyzeOptions = {}): AsyncIterable<AnalysisEvent> {
  return {
    [Symbol.asyncIterator]: () => run(source, options),
  };
}

/** Runs `analyze` to the end and returns the Analysis; `onEvent` sees every event on the way. */
export async function analyzeImage(
  source: ImageSource,
  options: AnalyzeOptions = {},
  onEvent?: (event: AnalysisEvent) => void,
): Promise<Analysis> {
  for await (const event of analyze(source, options)) {
    onEvent?.(event);
    if (event.type === 'done') return event.analysis;
  }
  throw new Error('analysis ended without a result');
}

async function* run(source: ImageSource, options: AnalyzeOptions): AsyncGenerator<AnalysisEvent> {
  const controller = new AbortController();
  // Every layer in flight listens to it: more than ten (--concurrency 11 and up) is no leak.
  setMaxListeners(0, controller.signal);
  const forwardAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) forwardAbort();
  else options.signal?.addEventListener('abort', forwardAbort, { once: true });

  const events = new EventQueue<AnalysisEvent>();
  const work = new ImageAnalysis(source, options, controller.signal, (event) => events.push(event));
  work.run().then(
    (analysis) => {
      events.push({ type: 'done', analysis });
      events.end();
    },
    (error: unknown) => events.fail(error),
  );
  try {
    yield* events;
  } finally {
    options.signal?.removeEventListener('abort', forwardAbort);
    // Stops the work when the consumer leaves early; a no-op once it has finished.
    controller.abort(new Error('analysis abandoned'));
  }
}

class ImageAnalysis {
  private readonly paths: PathTable;
  private readonly links: StringTable;
  private readonly nameBudget: NameBudget;
  private readonly concurrency: number;
  private readonly maxUncompressed: number;
  private readonly maxWaitingEntries: number;
  private readonly cache: LayerCache | undefined;
  private readonly localBlobs: LocalBlobs;
  private readonly remedy: string;
  private uncompressedTotal = 0;
  private firstError: { error: unknown } | undefined;
  /** One per layer being parsed, so the first failure can stop the others. */
  private readonly abortControllers = new Set<AbortController>();

  constructor(
    private readonly source: ImageSource,
    options: AnalyzeOptions,
    private readonly signal: AbortSignal,
    private readonly emit: (event: AnalysisEvent) => void,
  ) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
    this.maxUncompressed = options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES;
    this.nameBudget = new NameBudget(options.maxNameBytes, options.maxPaths);
    this.paths = new PathTable(this.nameBudget);
    this.links = new StringTable(this.nameBudget);
    this.maxWaitingEntries = options.maxWaitingEntries ?? DEFAULT_MAX_WAITING_ENTRIES;
    this.cache = options.cache;
    this.localBlobs = new LocalBlobs(source, options.fingerprints);
    // A layer that cannot be read was built so, or damaged since it was verified (its digest is checked
    // only once it has been read to the end): either fix may be the one.
    this.remedy = `rebuild the image, or ${remedyFor(source.kind)}`;
  }

  async run(): Promise<Analysis> {
    try {
      return await this.analyzeLayers();
    } catch (error) {
      this.fail(error);
      throw this.firstError?.error ?? error;
    }
  }

  private async analyzeLayers(): Promise<Analysis> {
    const { layers } = this.source;
    if (layers.length > MAX_LAYERS) {
      throw new ImgscopeError(
        'LIMIT',
        `${this.source.reference}: ${layers.length} layers, more than ${MAX_LAYERS}`,
        {
          hint: 'no runtime accepts an image like this; squash it',
        },
      );
    }
    this.signal.throwIfAborted();
    await this.localBlobs.requirePresent(layers);
    const createdBy = layerCommands(this.source.config, layers.length);
    const model = new FileModelBuilder(this.paths, this.links, this.nameBudget);
    const waste = new WasteAccumulator(this.paths);
    const summaries: LayerSummary[] = [];

    const schedule = new LayerSchedule(
      layers.length,
      (index) => this.parseLayer(index, layers[index]!),
      {
        concurrency: this.concurrency,
        lookahead: this.concurrency * LOOKAHEAD_PER_SLOT,
        maxWaitingEntries: this.maxWaitingEntries,
      },
      (error) => this.fail(error),
    );
    for (let index = 0; index < layers.length; index++) {
      const parsed = await schedule.take(index);
      const merged = this.merge(model, parsed, index);
      waste.addLayer(parsed.items, createdBy[index]!, parsed.contentSize);
      const descriptor = layers[index]!;
      const summary: LayerSummary = {
        index,
        digest: descriptor.digest,
        mediaType: descriptor.mediaType,
        compression: parsed.compression,
        compressedSize: descriptor.size,
        uncompressedSize: parsed.uncompressedSize,
        contentSize: parsed.contentSize,
        createdBy: createdBy[index]!,
        fileCount: parsed.fileCount,
        added: merged.added,
        modified: merged.modified,
        removed: merged.removed,
        wastedBytes: merged.wastedBytes,
      };
      summaries.push(summary);
      this.emit({ type: 'layer-done', layer: index, summary });
    }
    return { layers: summaries, waste: waste.result(), model: model.build() };
  }

  private merge(model: FileModelBuilder, parsed: ParsedLayer, index: number): LayerMergeResult {
    try {
      return model.applyLayer(parsed.items, parsed.fileCount);
    } catch (error) {
      let failure: ImgscopeError;
      if (error instanceof NameBudgetExceeded) failure = nameBudgetError(this.layerLabel(index), error);
      else if (error instanceof HardlinkTargetMissing) {
        failure = new ImgscopeError('UNSUPPORTED', `${this.layerLabel(index)}: ${error.message}`, {
          hint: 'the image cannot be pulled as it is; rebuild the layer with docker build, buildx or kaniko',
          cause: error,
        });
      } else throw error;
      // Read whole, the layer fails only as it is stacked on the others: it is still the one that failed.
      markFailedLayer(failure, index);
      throw failure;
    }
  }

  private layerLabel(index: number): string {
    return `layer ${index + 1} of ${this.source.reference} (${this.source.layers[index]!.digest})`;
  }

  private fail(error: unknown): void {
    if (this.firstError) return;
    this.firstError = { error };
    this.abortWork(error);
  }

  private abortWork(reason: unknown): void {
    for (const controller of this.abortControllers) controller.abort(reason);
  }

  private async parseLayer(index: number, descriptor: Descriptor): Promise<ParsedLayer> {
    const label = this.layerLabel(index);
    const controller = new AbortController();
    const onAbort = () => controller.abort(this.signal.reason);
    this.signal.addEventListener('abort', onAbort, { once: true });
    this.abortControllers.add(controller);
    const streams: Readable[] = [];
    const destroyAll = (reason?: Error) => {
      for (const stream of streams) stream.destroy(reason);
    };
    const onLayerAbort = () => destroyAll(abortError(controller.signal.reason));
    controller.signal.addEventListener('abort', onLayerAbort, { once: true });
    try {
      if (this.firstError) throw this.firstError.error;
      controller.signal.throwIfAborted();
      this.emit({ type: 'layer-start', layer: index, compressedSize: descriptor.size });
      const tables = { paths: this.paths, links: this.links };
      const cached = await this.cache?.get(descriptor.digest, tables);
      if (cached) {
        // Of an image on disk, the analysis stands only for bytes that are still there.
        await this.localBlobs.confirm(descriptor, controller.signal);
        // Read afresh, a blob of another size than its descriptor's is refused: so is a cached one.
        if (cached.blobSize !== descriptor.size)
          throw this.blobSizeError(label, cached.blobSize, descriptor.size);
        this.uncompressedTotal += cached.uncompressedSize;
        if (this.uncompressedTotal > this.maxUncompressed) throw this.limitError(label);
        this.checkDiffId(index, cached.diffId, label);
        return cached;
      }
      const watched = await this.localBlobs.watch(descriptor);
      const blob = await this.source.openBlob(descriptor, { signal: controller.signal });
      streams.push(blob);
      controller.signal.throwIfAborted();
      const counted = blob.pipe(new ProgressCounter(index, descriptor.size, this.emit));
      streams.push(counted);
      blob.on('error', (error) => counted.destroy(error));
      const { compression, tar, isEstargz, expansion } = await decodeLayer(counted, label, this.remedy);
      streams.push(tar);
      let layerBytes = 0;
      const result = await readLayerTar(tar, {
        paths: this.paths,
        links: this.links,
        label,
        remedy: this.remedy,
        hideEstargzMetadata: isEstargz,
        // A plain tar's blob digest is its diff_id, and the blob stream verifies it.
        ...(compression === 'none'
          ? { knownDiffId: descriptor.digest }
          : { hash: beginDiffIdHash(descriptor.size, expansion) }),
        onBytes: (bytes) => {
          this.uncompressedTotal += bytes - layerBytes;
          layerBytes = bytes;
          if (this.uncompressedTotal > this.maxUncompressed) throw this.limitError(label);
        },
      });
      // The blob stream refuses any other size than the descriptor's, so this is the blob's.
      const parsed = { ...result, compression, blobSize: descriptor.size };
      // The blob ends only after its digest and size were verified: never store what did not.
      if (blob.readableEnded && !blob.errored) {
        this.cache?.put(descriptor.digest, parsed, tables);
        watched?.verified();
      }
      this.checkDiffId(index, parsed.diffId, label);
      return parsed;
    } catch (error) {
      destroyAll();
      const failure = describeFailure(error, label, this.remedy, controller.signal);
      // Aborted, the layer was stopped (by a quit or another layer's failure): it did not fail itself.
      if (!controller.signal.aborted) markFailedLayer(failure, index);
      throw failure;
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      controller.signal.removeEventListener('abort', onLayerAbort);
      this.abortControllers.delete(controller);
    }
  }

  private blobSizeError(label: string, actual: number, promised: number): ImgscopeError {
    return new ImgscopeError(
      'SIZE_MISMATCH',
      `${label}: ${actual} bytes, but its descriptor promises ${promised}`,
      {
        hint: `the manifest describes this blob wrongly; ${this.remedy}`,
      },
    );
  }

  /**
   * docker and containerd refuse to unpack a layer whose uncompressed tar does not hash to the config's
   * diff_id. A config that does not count the layers (refused for registry images) names none to compare.
   */
  private checkDiffId(index: number, actual: Digest, label: string): void {
    const diffIds = this.source.config.rootfs.diff_ids;
    const expected = diffIds.length === this.source.layers.length ? diffIds[index] : undefined;
    if (expected === undefined || expected === actual) return;
    throw new ImgscopeError(
      'DIGEST_MISMATCH',
      `${label}: its uncompressed content is ${actual}, but the config's rootfs.diff_ids[${index}] is ${expected}`,
      { hint: 'docker and containerd refuse to unpack this layer; rebuild the image' },
    );
  }

  private limitError(label: string): ImgscopeError {
    return new ImgscopeError(
      'LIMIT',
      `${label}: uncompressed layers exceed ${this.maxUncompressed} bytes (the decompression guard)`,
      {
        hint: 'this looks like a decompression bomb; raise IMGSCOPE_DECOMPRESSION_LIMIT only if the image is trusted',
      },
    );
  }
}

/** `created_by` per layer: history entries with `empty_layer` made no layer and are skipped. */
export function layerCommands(config: ImageConfig, layerCount: number): string[] {
  const commands = (config.history ?? [])
    .filter((entry) => !entry.empty_layer)
    .map((entry) => entry.created_by ?? '');
  return Array.from({ length: layerCount }, (_, index) => commands[index] ?? '');
}

const FAILED_LAYER = Symbol('failedLayer');

/** The index of the layer whose own reading failed with `error`; undefined for any other failure. */
export function failedLayerOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null
    ? (error as { [FAILED_LAYER]?: number })[FAILED_LAYER]
    : undefined;
}

/** The first layer to fail with an error keeps it: layers re-throwing that error did not fail too. */
function markFailedLayer(error: unknown, index: number): void {
  if (typeof error !== 'object' || error === null || FAILED_LAYER in error) return;
  Object.defineProperty(error, FAILED_LAYER, { value: index });
}

function abortError(reason: unknown): Error {
  return reason instanceof Error
    ? reason
    : new DOMException(String(reason ?? 'The operation was aborted'), 'AbortError');
}

/**
 * Keeps ImgscopeErrors and aborts as they are; names the layer in anything else (zlib, zstd), and says
 * which failures are not the blob's.
 */
function describeFailure(error: unknown, label: string, remedy: string, signal: AbortSignal): unknown {
  if (isImgscopeError(error) || signal.aborted) return error;
  if (error instanceof ThreadDiedError) {
    return new ImgscopeError('LIMIT', `${label}: ${error.message}`, {
      hint: 'the image is not at fault; free some memory or lower --concurrency, and run again',
      cause: error,
    });
  }
  if (error instanceof NameBudgetExceeded) return nameBudgetError(label, error);
  if (error instanceof ZstdWindowError) {
    return new ImgscopeError('UNSUPPORTED', `${label}: cannot decompress (${error.message})`, {
      hint: `recompress the layer with a zstd window of ${error.limit / 2 ** 20} MiB or less (zstd's default; --long=27 at most)`,
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ImgscopeError('MALFORMED', `${label}: cannot decompress (${message})`, {
    hint: `the layer blob is corrupt; ${remedy}`,
    cause: error,
  });
}

/** Counts compressed bytes and reports them every PROGRESS_INTERVAL. */
class ProgressCounter extends Transform {
  private bytes = 0;
  private reported = 0;

  constructor(
    private readonly layer: number,
    private readonly size: number,
    private readonly report: (event: AnalysisEvent) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes - this.reported >= PROGRESS_INTERVAL) {
      this.reported = this.bytes;
      this.report({
        type: 'layer-progress',
        layer: this.layer,
        compressedBytes: this.bytes,
        compressedSize: this.size,
      });
    }
    callback(null, chunk);
  }
}
