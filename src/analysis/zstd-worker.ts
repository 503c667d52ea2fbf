/**
 * zstd decoding in a worker thread, so the main thread (the TUI, hashing, tar parsing) stays free while a
 * JavaScript decoder (fzstd) inflates. node:zlib needs none of this: it already runs in libuv's pool.
 *
 * The decoder is a Duplex: compressed bytes in, tar bytes out. Output is bounded in both directions:
 * - the worker blocks (Atomics.wait) once MAX_UNCLAIMED bytes it sent have not been taken by the stream's
 *   consumer, so a small input that inflates hugely (a zstd bomb) cannot pile up in memory;
 * - at most MAX_INPUTS_IN_FLIGHT compressed chunks wait in the worker's queue.
 * Input is bounded too: fzstd allocates each frame's whole declared window (up to 2 GiB) and copies all of
 * it for every block, so frame headers are read on this side (zstd-frames.ts) and a frame whose window is
 * over MAX_ZSTD_WINDOW fails the stream before the worker sees it.
 * Workers are pooled (spawning one costs tens of milliseconds) and unref'd while idle, so they never keep
 * the process alive; a decoder that fails or is destroyed terminates its worker instead of returning it.
 */
import { createRequire } from 'node:module';
import { Duplex } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { ThreadDiedError } from './thread-died.js';
import { type ZstdFrame, ZstdFrameWalker, zstdError } from './zstd-frames.js';

/** Decoded bytes the worker gathers into one message. */
const OUTPUT_BATCH = 1024 * 1024;
/** Decoded bytes sent but not yet taken by the consumer, past which the worker waits. */
const MAX_UNCLAIMED = 8 * 1024 * 1024;
const MAX_INPUTS_IN_FLIGHT = 4;
const MAX_IDLE_WORKERS = 2;
const MiB = 1024 * 1024;
/** Reference zstd's default limit (without --long); image builders use windows of a few MiB. */
export const MAX_ZSTD_WINDOW = 128 * MiB;

/** Slots of the Int32Array shared with the worker. */
const UNCLAIMED = 0;

type ToWorker =
  | { type: 'start'; state: SharedArrayBuffer; batch: number; maxUnclaimed: number }
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'end' };

type FromWorker =
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'taken' }
  | { type: 'end' }
  | { type: 'error'; message: string };

/**
 * The worker's whole program. It is serialised with `Function.prototype.toString` and evaluated in the
 * worker (so it runs the same from the build, the bundle and TypeScript sources under test): it must
 * reference nothing from this module's scope, and gets fzstd's path through workerData.
 */
function zstdWorkerMain(): void {
  // process.getBuiltinModule, not require: a bundler rewrites `require` calls into a helper of its own
  // scope, which this serialised function does not carry into the worker.
  const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
  const { createRequire } = process.getBuiltinModule('node:module');
  const { Decompress } = createRequire(workerData.fzstd)(workerData.fzstd) as typeof import('fzstd');
  const port = parentPort!;
  let state = new Int32Array(new SharedArrayBuffer(4));
  let batchSize = 0;
  let maxUnclaimed = 0;
  let batch = new Uint8Array(0);
  let batched = 0;
  let decoder: InstanceType<typeof Decompress> | undefined;

  const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

  const flush = () => {
    if (batched === 0) return;
    const chunk = batch.subarray(0, batched);
    Atomics.add(state, 0, batched);
    post({ type: 'data', chunk }, [batch.buffer as ArrayBuffer]);
    batch = new Uint8Array(batchSize);
    batched = 0;
    for (;;) {
      const unclaimed = Atomics.load(state, 0);
      if (unclaimed <= maxUnclaimed) break;
      Atomics.wait(state, 0, unclaimed);
    }
  };

  const onData = (block: Uint8Array) => {
    for (let at = 0; at < block.length; ) {
      const taken = Math.min(block.length - at, batchSize - batched);
      batch.set(block.subarray(at, at + taken), batched);
      batched += taken;
      at += taken;
      if (batched === batchSize) flush();
    }
  };

  port.on('message', (message: ToWorker) => {
    try {
      if (message.type === 'start') {
        state = new Int32Array(message.state);
        batchSize = message.batch;
        maxUnclaimed = message.maxUnclaimed;
        batch = new Uint8Array(batchSize);
        batched = 0;
        decoder = new Decompress(onData);
      } else if (message.type === 'data') {
        decoder!.push(message.chunk);
        flush();
        post({ type: 'taken' });
      } else {
        decoder!.push(new Uint8Array(0), true);
        flush();
        decoder = undefined;
        post({ type: 'end' });
      }
    } catch (error) {
      decoder = undefined;
      post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  });
}

const WORKER_SOURCE = `(${zstdWorkerMain.toString()})()`;

/** What a decoder needs from the worker it holds. */
interface WorkerClient {
  onMessage(message: FromWorker): void;
  onFailure(error: Error): void;
}

const DECODING = 'decoding its zstd content';

/** A worker thread and the decoder currently using it; its listeners stay for its whole life. */
class PooledWorker {
  client: WorkerClient | undefined;
  readonly thread: Worker;

  constructor(fzstd: string) {
    this.thread = new Worker(WORKER_SOURCE, { eval: true, workerData: { fzstd } });
    this.thread.on('message', (message: FromWorker) => this.client?.onMessage(message));
    this.thread.on('error', (error) => this.fail(new ThreadDiedError(DECODING, error.message)));
    this.thread.on('exit', (code) => this.fail(new ThreadDiedError(DECODING, `it exited with code ${code}`)));
  }

  private fail(error: Error): void {
    const at = idleWorkers.indexOf(this);
    if (at >= 0) idleWorkers.splice(at, 1);
    const client = this.client;
    this.client = undefined;
    client?.onFailure(error);
  }
}

const idleWorkers: PooledWorker[] = [];
let fzstdPath: string | undefined;

function acquireWorker(client: WorkerClient): PooledWorker {
  fzstdPath ??= createRequire(import.meta.url).resolve('fzstd');
  const worker = idleWorkers.pop() ?? new PooledWorker(fzstdPath);
  worker.client = client;
  worker.thread.ref();
  return worker;
}

/** Back to the pool after a clean end (unref'd: an idle worker never keeps the process alive). */
function releaseWorker(worker: PooledWorker): void {
  worker.client = undefined;
  if (idleWorkers.length >= MAX_IDLE_WORKERS) {
    void worker.thread.terminate();
    return;
  }
  worker.thread.unref();
  idleWorkers.push(worker);
}

/** A worker whose decoder failed or was destroyed mid-stream: its state is unknown, so it goes. */
function discardWorker(worker: PooledWorker): void {
  worker.client = undefined;
  void worker.thread.terminate();
}

/** A zstd stream (any number of frames) decoded in a worker thread. */
export class ZstdWorkerDecoder extends Duplex implements WorkerClient {
  private readonly worker: PooledWorker;
  private readonly shared = new SharedArrayBuffer(4);
  private readonly state = new Int32Array(this.shared);
  private readonly frames: ZstdFrameWalker;
  /** Bytes pushed while the readable side was full: handed back to the worker when it drains. */
  private held = 0;
  private inFlight = 0;
  private resumeWrite: (() => void) | undefined;
  private finish: ((error?: Error | null) => void) | undefined;
  private ended = false;
  /**
   * Σ Frame_Content_Size of the frames seen so far, undefined once one does not declare it; and the bytes
   * decoded. fzstd checks neither that nor the frame checksums: a corrupt frame may decode to other bytes
   * than its header declares, which reference zstd refuses (and docker's pull with it).
   */
  private declaredBytes: number | undefined = 0;
  private decodedBytes = 0;
  /** Sizes of the chunks sent to the worker and not yet taken, and the bytes of those it took. */
  private readonly sentSizes: number[] = [];
  private takenBytes = 0;

  constructor(maxWindow = MAX_ZSTD_WINDOW) {
    super({ readableHighWaterMark: OUTPUT_BATCH, writableHighWaterMark: OUTPUT_BATCH });
    this.frames = new ZstdFrameWalker((frame) => {
      if (frame.window > maxWindow) throw new ZstdWindowError(frame, maxWindow);
      if (this.declaredBytes !== undefined && frame.contentSize !== undefined)
        this.declaredBytes += frame.contentSize;
      else this.declaredBytes = undefined;
    });
    this.worker = acquireWorker(this);
    this.send({ type: 'start', state: this.shared, batch: OUTPUT_BATCH, maxUnclaimed: MAX_UNCLAIMED });
  }

  /** Uncompressed bytes decoded per compressed byte the worker has taken, so far (1 before any). */
  get expansion(): number {
    return this.takenBytes > 0 ? this.decodedBytes / this.takenBytes : 1;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      this.frames.push(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    // A copy of exactly the chunk's bytes, moved to the worker: cloning the view would copy the whole
    // buffer behind it (often a pooled or larger one).
    const copy = new Uint8Array(chunk.byteLength);
    copy.set(chunk);
    this.sentSizes.push(copy.byteLength);
    this.send({ type: 'data', chunk: copy }, [copy.buffer]);
    if (++this.inFlight < MAX_INPUTS_IN_FLIGHT) callback();
    else this.resumeWrite = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish = callback;
    this.send({ type: 'end' });
  }

  override _read(): void {
    if (this.held > 0) this.claim(this.held);
    this.held = 0;
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.ended) {
      this.ended = true;
      discardWorker(this.worker);
    }
    callback(error);
  }

  onFailure(error: Error): void {
    if (!this.ended) this.destroy(error);
  }

  onMessage(message: FromWorker): void {
    switch (message.type) {
      case 'data': {
        const { chunk } = message;
        this.decodedBytes += chunk.byteLength;
        // Frames are walked before the worker gets their bytes: output past what they declare is corrupt.
        if (this.declaredBytes !== undefined && this.decodedBytes > this.declaredBytes) {
          this.destroy(this.sizeMismatch('more'));
          return;
        }
        if (this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)))
          this.claim(chunk.byteLength);
        else this.held += chunk.byteLength;
        break;
      }
      case 'taken': {
        this.inFlight--;
        this.takenBytes += this.sentSizes.shift() ?? 0;
        const resume = this.resumeWrite;
        this.resumeWrite = undefined;
        resume?.();
        break;
      }
      case 'end':
        if (this.declaredBytes !== undefined && this.decodedBytes !== this.declaredBytes) {
          this.destroy(this.sizeMismatch(String(this.decodedBytes)));
          return;
        }
        this.ended = true;
        releaseWorker(this.worker);
        this.push(null);
        this.finish?.();
        break;
      case 'error':
        this.destroy(zstdError(message.message));
        break;
    }
  }

  private sizeMismatch(decoded: string): Error {
    return zstdError(`the frames declare ${this.declaredBytes} bytes of content but decode to ${decoded}`);
  }

  private claim(bytes: number): void {
    Atomics.sub(this.state, UNCLAIMED, bytes);
    Atomics.notify(this.state, UNCLAIMED);
  }

  private send(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.thread.postMessage(message, transfer);
  }
}

/** A frame the decoder refuses for its window, not for corrupt data: the layer needs recompressing. */
export class ZstdWindowError extends Error {
  constructor(
    readonly frame: ZstdFrame,
    readonly limit: number,
  ) {
    super(
      `the zstd frame at byte ${frame.offset} needs a ${Math.ceil(frame.window / MiB)} MiB window; ` +
        `imgscope decodes windows up to ${limit / MiB} MiB`,
    );
    this.name = 'ZstdWindowError';
  }
}
