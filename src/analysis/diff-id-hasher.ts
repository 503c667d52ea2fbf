/**
 * The sha256 of layers' uncompressed tar streams — their diff_ids — computed on the main thread or on a
 * worker, whichever leaves the decoder a core.
 *
 * The main thread already hashes every compressed byte (the blob digest) and parses the tar. Where the
 * decoder works hard (compressible data), it and the main thread keep both cores busy: the tar's hash goes
 * on the main thread too, in slices so the decoder's next buffer is never late, since a third busy thread
 * would take turns with the decoder. Where the decoder has little to do (stored deflate blocks, zstd raw
 * blocks: incompressible data expands 1:1 at memcpy speed), a core would sit idle while the main thread
 * hashed everything twice: the tar's hash goes on a worker. Which one a layer is shows only once its
 * decoder has run for a while, so a big layer's first bytes are held until then (`PlacedOnSample`).
 *
 * On the worker, each open hash has a ring of shared memory: the main thread copies a chunk in (memcpy,
 * far cheaper than the hash) and posts where it is; the worker hashes it there and frees the space through
 * an Atomics counter. The ring bounds how far the main thread may run ahead: `update` returns a promise to
 * wait on when it is full, so a slow worker holds back the parse instead of queueing the layer in memory.
 *
 * One worker serves every layer of the process and is unref'd while no hash is open, so it never keeps
 * the process alive. Small layers are hashed inline at once: the worker would cost more than it saves.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { type Digest, hashInSlices } from '../oci/digest.js';
import { ThreadDiedError } from './thread-died.js';

/** Each open hash's ring of shared memory: how far the main thread may copy ahead of the worker. */
const RING_BYTES = 4 * 1024 * 1024;

type ToWorker =
  | { type: 'begin'; id: number; ring: SharedArrayBuffer; inFlight: SharedArrayBuffer }
  | { type: 'update'; id: number; offset: number; length: number }
  | { type: 'digest'; id: number }
  | { type: 'drop'; id: number };

type FromWorker = { type: 'digest'; id: number; digest: string };

/**
 * The worker's whole program, serialised with `Function.prototype.toString` (as zstd-worker.ts's): it
 * must reference nothing from this module's scope.
 */
function hashWorkerMain(): void {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const { createHash } = process.getBuiltinModule('node:crypto');
  const port = parentPort!;
  const open = new Map<
    number,
    { ring: Uint8Array; inFlight: Int32Array; hash: ReturnType<typeof createHash> }
  >();
  port.on('message', (message: ToWorker) => {
    if (message.type === 'begin') {
      const ring = new Uint8Array(message.ring);
      open.set(message.id, { ring, inFlight: new Int32Array(message.inFlight), hash: createHash('sha256') });
    } else if (message.type === 'update') {
      const entry = open.get(message.id);
      if (!entry) return;
      const { ring, inFlight, hash } = entry;
      hash.update(ring.subarray(message.offset, message.offset + message.length));
      // Frees the bytes in shared memory, not by message: a message each way per MiB cost more than the copy.
      Atomics.sub(inFlight, 0, message.length);
      Atomics.notify(inFlight, 0);
    } else if (message.type === 'digest') {
      const hash = open.get(message.id)?.hash;
      if (!hash) return;
      open.delete(message.id);
      port.postMessage({ type: 'digest', id: message.id, digest: hash.digest('hex') } satisfies FromWorker);
    } else {
      open.delete(message.id);
    }
  });
}

const WORKER_SOURCE = `(${hashWorkerMain.toString()})()`;

/** One stream's hash, fed in order. */
export interface StreamHash {
  /** Which thread hashes the bytes; undefined while a big layer's first bytes are held to decide. */
  readonly thread: 'main' | 'worker' | undefined;
  /**
   * Hashes `chunk` (copied: the caller keeps it). Returns a promise to wait on when the worker is a ring
   * behind, and the rest of the chunk is copied when it resolves.
   */
  update(chunk: Uint8Array): Promise<void> | undefined;
  /** The digest of everything fed so far; the hash is closed. */
  digest(): Promise<Digest>;
  /** Closes the hash without a digest (the stream failed). */
  discard(): void;
}

class RingHash implements StreamHash {
  readonly thread = 'worker';
  private readonly view: Uint8Array;
  /** Bytes copied into the ring and not yet hashed; the worker subtracts what it hashed. */
  readonly inFlight = new Int32Array(new SharedArrayBuffer(4));
  private writeAt = 0;
  private result: { resolve: (digest: Digest) => void; reject: (error: Error) => void } | undefined;

  constructor(
    private readonly owner: HashWorker,
    readonly id: number,
    readonly ring: SharedArrayBuffer,
  ) {
    this.view = new Uint8Array(ring);
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    for (let at = 0; at < chunk.length; ) {
      const inFlight = Atomics.load(this.inFlight, 0);
      const free = RING_BYTES - inFlight;
      if (free === 0) {
        const rest = chunk.subarray(at);
        return this.owner.whenFreed(this.inFlight, inFlight).then(() => this.update(rest));
      }
      const length = Math.min(chunk.length - at, free, RING_BYTES - this.writeAt);
      this.view.set(chunk.subarray(at, at + length), this.writeAt);
      Atomics.add(this.inFlight, 0, length);
      this.owner.post({ type: 'update', id: this.id, offset: this.writeAt, length });
      this.writeAt = (this.writeAt + length) % RING_BYTES;
      at += length;
    }
    return undefined;
  }

  digest(): Promise<Digest> {
    return new Promise<Digest>((resolve, reject) => {
      this.result = { resolve, reject };
      this.owner.post({ type: 'digest', id: this.id });
    });
  }

  discard(): void {
    this.owner.drop(this);
  }

  finished(digest: string): void {
    this.result?.resolve(`sha256:${digest}`);
  }

  failed(error: Error): void {
    this.result?.reject(error);
  }
}

const HASHING = 'hashing its uncompressed content';

class HashWorker {
  private readonly worker: Worker;
  private readonly open = new Map<number, RingHash>();
  private readonly spareRings: SharedArrayBuffer[] = [];
  private nextId = 0;
  private failure: Error | undefined;
  private failedNow: () => void = () => {};
  /** Settles when the worker fails: a caller waiting for ring space must not wait forever. */
  private readonly failed = new Promise<void>((resolve) => {
    this.failedNow = resolve;
  });

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (message: FromWorker) => this.onMessage(message));
    this.worker.on('error', (error) => this.fail(new ThreadDiedError(HASHING, error.message)));
    this.worker.on('exit', (code) => this.fail(new ThreadDiedError(HASHING, `it exited with code ${code}`)));
  }

  get usable(): boolean {
    return this.failure === undefined;
  }

  begin(): StreamHash {
    const hash = new RingHash(
      this,
      this.nextId++,
      this.spareRings.pop() ?? new SharedArrayBuffer(RING_BYTES),
    );
    this.open.set(hash.id, hash);
    if (this.open.size === 1) this.worker.ref();
    this.post({
      type: 'begin',
      id: hash.id,
      ring: hash.ring,
      inFlight: hash.inFlight.buffer as SharedArrayBuffer,
    });
    return hash;
  }

  /** Resolves once the worker has hashed some of a full ring, failed, or a second has passed. */
  async whenFreed(inFlight: Int32Array, full: number): Promise<void> {
    const wait = waitAsync(inFlight, 0, full, 1000);
    if (wait.async) await Promise.race([wait.value, this.failed]);
    if (this.failure) throw this.failure;
  }

  post(message: ToWorker): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(message);
  }

  drop(hash: RingHash): void {
    if (!this.open.has(hash.id)) return;
    this.close(hash);
    if (!this.failure) this.worker.postMessage({ type: 'drop', id: hash.id } satisfies ToWorker);
  }

  private onMessage(message: FromWorker): void {
    const hash = this.open.get(message.id);
    if (!hash) return;
    this.close(hash);
    this.spareRings.push(hash.ring);
    hash.finished(message.digest);
  }

  private close(hash: RingHash): void {
    this.open.delete(hash.id);
    if (this.open.size === 0) this.worker.unref();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.failedNow();
    for (const hash of this.open.values()) {
      this.close(hash);
      hash.failed(error);
    }
  }
}

/** Node 20 has Atomics.waitAsync; TypeScript's ES2023 lib does not declare it. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeout: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** Hashes on the calling thread: at once, or in slices between which the event loop turns. */
class InlineHash implements StreamHash {
  readonly thread = 'main';
  private readonly hash = createHash('sha256');

  constructor(private readonly sliced: boolean) {}

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.sliced) return hashInSlices(this.hash, chunk);
    this.hash.update(chunk);
    return undefined;
  }

  async digest(): Promise<Digest> {
    return `sha256:${this.hash.digest('hex')}`;
  }

  discard(): void {}
}

/**
 * Tar bytes of a big layer held before its hash is placed: enough for its decoder to show how it works
 * (8 MiB of tar is about 5 MiB of a typical gzip layer), little enough to hold per layer.
 */
const PLACEMENT_SAMPLE_BYTES = 8 * 1024 * 1024;
/**
 * Decoders that expand their input at least this much work hard enough for the tar's hash to go on the
 * main thread. Measured on one 379 MB tar, gzipped with more or less incompressible content, `check` of an
 * OCI layout (interleaved medians of 6 to 8): expanding 1.13× the worker was 8 % faster, 1.28× 2 %; at
 * 1.55× the main thread was 4 % faster, 1.75× 10 %. From a registry, the 1.15 GB bench layer (1.06×) took
 * 1.40 s with the worker against 1.64 s on the main thread, and the six-layer image, whose 260 MB layer
 * expands 1.6×, 1.34 s against 1.40 s.
 */
const MAIN_THREAD_FROM_EXPANSION = 1.4;

/** A big layer's hash, placed on a thread once its decoder has shown how much it expands its input. */
class PlacedOnSample implements StreamHash {
  private sample: Buffer[] = [];
  private sampled = 0;
  private placed: StreamHash | undefined;

  constructor(private readonly expansion: () => number) {}

  get thread(): 'main' | 'worker' | undefined {
    return this.placed?.thread;
  }

  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.placed) return this.placed.update(chunk);
    // A copy: the caller may reuse its buffer once update returns.
    this.sample.push(Buffer.from(chunk));
    this.sampled += chunk.length;
    if (this.sampled < PLACEMENT_SAMPLE_BYTES) return undefined;
    return this.place(this.expansion() >= MAIN_THREAD_FROM_EXPANSION ? new InlineHash(true) : workerHash());
  }

  async digest(): Promise<Digest> {
    // A stream that ended within the sample is short: hashing it here is quickest.
    if (!this.placed) await this.place(new InlineHash(false));
    return this.placed!.digest();
  }

  discard(): void {
    this.sample = [];
    this.placed?.discard();
  }

  private async place(hash: StreamHash): Promise<void> {
    this.placed = hash;
    const held = this.sample;
    this.sample = [];
    for (const chunk of held) await hash.update(chunk);
  }
}

/**
 * Layers smaller than this (compressed) are hashed inline at once: below it, the worker's start-up
 * (~25 ms) and copies cost more than they save (the 74 MB base image took 0.47 s against 0.44 s inline),
 * and no layer holds the main thread long. Interleaved medians of 4 to 7.
 */
const INLINE_BELOW_BYTES = 128 * 1024 * 1024;

let shared: HashWorker | undefined;

/** A hash on the process's hashing worker, started on first use and replaced if it died. */
function workerHash(): StreamHash {
  if (!shared?.usable) shared = new HashWorker();
  return shared.begin();
}

/**
 * A hash for the uncompressed stream of a layer of `compressedSize` bytes. A small layer's is inline. A
 * big layer's is placed by `expansion` (its decoder's uncompressed bytes per compressed byte so far) once
 * its first bytes have come; without `expansion` it goes to the worker.
 */
export function beginDiffIdHash(compressedSize: number, expansion?: () => number): StreamHash {
  if (compressedSize < INLINE_BELOW_BYTES) return new InlineHash(false);
  return expansion ? new PlacedOnSample(expansion) : workerHash();
}
