/**
 * The sha256 of layers' uncompressed tar streams — their diff_ids — computed on a worker thread.
 *
 * The main thread already hashes every compressed byte (the blob digest) and parses the tar: hashing the
 * uncompressed bytes there too made a 1.2 GB layer 0.6 s slower. On a worker the hash runs on the core the
 * main thread leaves to the inflater. Each open hash has a ring of shared memory: the main thread copies a
 * chunk in (memcpy, far cheaper than the hash) and posts where it is; the worker hashes it there and frees
 * the space through an Atomics counter. The ring bounds how far the main thread may run ahead: `update`
 * returns a promise to wait on when it is full, so a slow worker holds back the parse instead of queueing
 * the layer in memory.
 *
 * One worker serves every layer of the process and is unref'd while no hash is open, so it never keeps
 * the process alive. Smaller layers are hashed inline: the worker would cost more than it saves.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { Digest } from '../oci/digest.js';

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
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the hashing worker exited (code ${code})`)));
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

/** Hashes on the calling thread. */
class InlineHash implements StreamHash {
  private readonly hash = createHash('sha256');

  update(chunk: Uint8Array): undefined {
    this.hash.update(chunk);
  }

  async digest(): Promise<Digest> {
    return `sha256:${this.hash.digest('hex')}`;
  }

  discard(): void {}
}

/**
 * Layers smaller than this (compressed) are hashed on the main thread. The worker pays where one layer is
 * big enough for its hash to hold the main thread for a long stretch: the bench's 1.15 GB layer took 1.59 s
 * against 1.75 s inline, its 216 MB layer (bench/analysis.js) 1.29× gunzip against 1.34×. Below that its
 * start-up (~25 ms) and the copies cost more than they save: the 74 MB base image took 0.47 s against
 * 0.44 s inline. Interleaved medians of 4 to 7.
 */
const INLINE_BELOW_BYTES = 128 * 1024 * 1024;

let shared: HashWorker | undefined;

/**
 * A hash for the uncompressed stream of a layer of `compressedSize` bytes: on the process's hashing
 * worker (started on first use, replaced if it died), or inline for a small layer.
 */
export function beginDiffIdHash(compressedSize: number): StreamHash {
  if (compressedSize < INLINE_BELOW_BYTES) return new InlineHash();
  if (!shared?.usable) shared = new HashWorker();
  return shared.begin();
}
