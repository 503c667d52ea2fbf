import { Readable, type TransformOptions, Writable } from 'node:stream';
import type { ZlibOptions } from 'node:zlib';
import { ImgscopeError } from '../errors.js';
import { detectCompression as detectMagic } from '../oci/local/magic.js';
import { releasePiece } from '../oci/pieces.js';
import { GzipDecoder } from './gzip-decoder.js';
import { DEFAULT_LAYER_REMEDY } from './tar-entries.js';
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
  return detectMagic(head) ?? 'none';
}

export interface DecodedLayer {
  compression: Compression;
  /** The uncompressed tar stream. Errors of the blob stream and the decoder surface here. */
  tar: Readable;
  /** Whether the layer is eStargz (gzip ending with its footer); asked once `tar` has ended. */
  isEstargz: () => boolean;
  /**
   * Uncompressed bytes the decoder has produced per compressed byte it has consumed, so far: near 1 for
   * incompressible data, which decodes at memcpy speed, higher where decoding is real work.
   */
  expansion: () => number;
}

/**
 * Reads the first bytes of a layer blob, picks the decoder they name and returns the uncompressed tar
 * stream. Both decoders run off the main thread: gzip in node:zlib (libuv's pool; gzip-decoder.ts reads
 * the framing; multi-member streams such as estargz included), zstd in fzstd (pure JavaScript) on a
 * worker thread.
 */
export async function decodeLayer(
  blob: Readable,
  label: string,
  remedy: string = DEFAULT_LAYER_REMEDY,
  { checkCrc = false }: { checkCrc?: boolean } = {},
): Promise<DecodedLayer> {
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
      hint: `OCI layers are gzip, zstd or plain tar; ${remedy} with one of those`,
    });
  }
  const source = ended ? Readable.from(head.length > 0 ? [head] : []) : blob;
  if (!ended && head.length > 0) blob.unshift(head);
  if (detected === 'none')
    return { compression: 'none', tar: source, isEstargz: () => false, expansion: () => 1 };
  const gzip = detected === 'gzip' ? new GzipDecoder(GUNZIP_OPTIONS, { checkCrc }) : undefined;
  const decoder = gzip ?? new ZstdWorkerDecoder();
  const feed = new DecoderFeed(decoder);
  source.on('error', (error) => decoder.destroy(error));
  feed.on('error', (error) => decoder.destroy(error));
  decoder.on('error', () => {
    source.destroy();
    feed.destroy();
  });
  source.pipe(feed);
  return {
    compression: detected,
    tar: decoder,
    isEstargz: () => gzip?.estargz === true,
    expansion: () => decoder.expansion,
  };
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

/** A decoder's input side, as DecoderFeed writes to it. */
export interface DecoderInput {
  write(chunk: Buffer, callback: (error?: Error | null) => void): unknown;
  end(): unknown;
}

/** Decoder writes queued or in progress at once: the decoder never waits for the main thread's next one. */
const WRITES_AHEAD = 3;

/**
 * Feeds a layer's decoder writes of at least JOIN_BYTES (all but the last), a few ahead, and gives each
 * downloaded piece back (oci/pieces.ts) once the decoder is done with it.
 *
 * Network bodies may arrive in 16–64 KiB chunks, and every decoder write is a round trip to another
 * thread: on a 1.2 GB layer from a registry, writing each chunk as it came made gunzip 2× slower than
 * joining them. A chunk that is already big enough (a 1 MiB piece, a local read) goes through without a
 * copy. With only one write outstanding, the decoder sat idle whenever the main thread was busy hashing
 * or parsing as its write finished.
 */
export class DecoderFeed extends Writable {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private writesAhead = 0;
  private waiting: (() => void) | undefined;

  constructor(private readonly decoder: DecoderInput) {
    super({ highWaterMark: JOIN_BYTES });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= JOIN_BYTES) this.submit(this.joinPending(), callback);
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.pendingBytes > 0) this.submit(this.joinPending(), () => {});
    this.decoder.end();
    callback();
  }

  private submit(chunk: Buffer, callback: () => void): void {
    this.writesAhead++;
    this.decoder.write(chunk, (error) => {
      this.writesAhead--;
      // After an error the decoder may still be reading it on its thread: let the piece be collected.
      if (!error) releasePiece(chunk);
      const resume = this.waiting;
      this.waiting = undefined;
      resume?.();
    });
    if (this.writesAhead < WRITES_AHEAD) callback();
    else this.waiting = callback;
  }

  private joinPending(): Buffer {
    const { pending } = this;
    this.pending = [];
    const bytes = this.pendingBytes;
    this.pendingBytes = 0;
    if (pending.length === 1) return pending[0]!;
    const joined = Buffer.concat(pending, bytes);
    for (const piece of pending) releasePiece(piece);
    return joined;
  }
}
