import { Readable, Transform, type TransformCallback, type TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { ImgscopeError } from '../errors.js';
import type { Compression } from './types.js';
import { ZstdWorkerDecoder } from './zstd-worker.js';

const MAGIC_BYTES = 6;
/**
 * zlib defaults to 16 KiB chunks; 1 MiB ones more than halve gunzip time on big layers. Each chunk is a
 * round trip between the thread pool and the main thread, and fewer, longer ones let the main thread's
 * work (hashing, tar parsing) overlap with inflating instead of taking turns with it.
 */
const GUNZIP_CHUNK = 1024 * 1024;
/**
 * How far gunzip may run ahead of the tar parser, and the blob ahead of gunzip: with room on both sides
 * the thread pool inflates while the main thread parses and hashes, instead of taking turns.
 */
const GUNZIP_OPTIONS: ZlibOptions & TransformOptions = {
  chunkSize: GUNZIP_CHUNK,
  readableHighWaterMark: 4 * 1024 * 1024,
  writableHighWaterMark: 1024 * 1024,
};

/** Compressed bytes joined into one decoder write (at least; and buffered before the decoder). */
export const JOIN_BYTES = 1024 * 1024;

/** What a layer's first bytes say it is; media types lie or are absent (docker archives), magic does not. */
export function detectCompression(head: Uint8Array): Compression | 'bzip2' | 'xz' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a)
    return 'xz';
  return 'none';
}

export interface DecodedLayer {
  compression: Compression;
  /** The uncompressed tar stream. Errors of the blob stream and the decoder surface here. */
  tar: Readable;
}

/**
 * Reads the first bytes of a layer blob, picks the decoder they name and returns the uncompressed tar
 * stream. Both decoders run off the main thread: gzip in node:zlib (libuv's pool; multi-member streams
 * such as estargz included), zstd in fzstd (pure JavaScript) on a worker thread.
 */
export async function decodeLayer(blob: Readable, label: string): Promise<DecodedLayer> {
  // Small blobs can end, and fail verification, while their first bytes are being read: keep the error.
  let failure: Error | undefined;
  blob.on('error', (error) => {
    failure ??= error;
  });
  const { head, ended } = await peek(blob, MAGIC_BYTES);
  if (failure || blob.errored) throw failure ?? blob.errored;
  const detected = detectCompression(head);
  if (detected === 'bzip2' || detected === 'xz') {
    blob.destroy();
    throw new ImgscopeError('UNSUPPORTED', `${label}: ${detected}-compressed layers are not supported`, {
      hint: 'OCI layers are gzip, zstd or plain tar; rebuild or re-push the image with one of those',
    });
  }
  const source = ended ? Readable.from(head.length > 0 ? [head] : []) : blob;
  if (!ended && head.length > 0) blob.unshift(head);
  if (detected === 'none') return { compression: 'none', tar: source };
  const decoder = detected === 'gzip' ? createGunzip(GUNZIP_OPTIONS) : new ZstdWorkerDecoder();
  const joiner = new ChunkJoiner();
  source.on('error', (error) => decoder.destroy(error));
  joiner.on('error', (error) => decoder.destroy(error));
  decoder.on('error', () => {
    source.destroy();
    joiner.destroy();
  });
  source.pipe(joiner).pipe(decoder);
  return { compression: detected, tar: decoder };
}

/** Reads until `size` bytes are buffered or the stream ends; the caller puts them back. */
async function peek(stream: Readable, size: number): Promise<{ head: Buffer; ended: boolean }> {
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < size) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      length += chunk.length;
      continue;
    }
    if (stream.readableEnded) return { head: Buffer.concat(chunks), ended: true };
    if (stream.errored) throw stream.errored;
    if (stream.destroyed) throw new Error('layer stream closed before its first bytes');
    const ended = await nextReadable(stream);
    if (ended) return { head: Buffer.concat(chunks), ended: true };
  }
  return { head: Buffer.concat(chunks), ended: false };
}

/** Resolves true on 'end', false on 'readable'; rejects on 'error' or an early close. */
function nextReadable(stream: Readable): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    const onReadable = () => {
      cleanup();
      resolve(false);
    };
    const onEnd = () => {
      cleanup();
      resolve(true);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(stream.errored ?? new Error('layer stream closed before its first bytes'));
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

/**
 * Hands the decoder writes of at least JOIN_BYTES (all but the last). Network bodies arrive in 16–64 KiB
 * chunks and every decoder write is a round trip to another thread: on a 1.2 GB layer from a registry,
 * writing each chunk as it came made gunzip 2× slower than joining them. A chunk that is already big
 * enough (a local read) passes through without a copy.
 */
export class ChunkJoiner extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor() {
    // Nothing waits on the readable side, so chunks queue on the writable one while the decoder is busy.
    super({ writableHighWaterMark: JOIN_BYTES, readableHighWaterMark: 0 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= JOIN_BYTES) callback(null, this.joinPending());
    else callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pendingBytes > 0) callback(null, this.joinPending());
    else callback();
  }

  private joinPending(): Buffer {
    const joined =
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return joined;
  }
}
