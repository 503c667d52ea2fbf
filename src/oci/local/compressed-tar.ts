import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { addAbortSignal, Readable } from 'node:stream';
import { DEFAULT_MAX_UNCOMPRESSED_BYTES } from '../../analysis/analyze.js';
import { decodeLayer } from '../../analysis/compression.js';
import { ThreadDiedError } from '../../analysis/thread-died.js';
import { ZstdWindowError } from '../../analysis/zstd-worker.js';
import { ImgscopeError } from '../../errors.js';
import { MAX_MANIFEST_BYTES } from '../manifest.js';
import type { StoredBlob } from '../source.js';
import {
  BLOB_READ_CHUNK,
  type LocalFiles,
  missingFile,
  normalizeMemberPath,
  notAFile,
  readAt,
  tooLarge,
} from './files.js';
import { decompressCommand, detectCompression } from './magic.js';
import {
  type HeaderSource,
  indexEntries,
  openArchive,
  requireTarStart,
  type TarIndex,
  type TarMember,
} from './tar-index.js';

const BLOCK = 512;
/** Bytes kept of every member from the indexing pass: enough for the magic bytes a layer's type is read from. */
const HEAD_BYTES = 16;
/**
 * Small JSON members (manifest.json, index.json, configs, manifests) are kept from the indexing pass, so
 * reading them costs no second pass; up to this many bytes in all. A layer (tar, gzip or zstd) never
 * starts with `{` or `[`, so none is held.
 */
const MAX_KEPT_BYTES = 64 * 1024 * 1024;
/** Decompressors left paused where a layer ended, for the next layer further on to continue from. */
const MAX_IDLE_CURSORS = 3;
const REMEDY = 'save the image again';

function truncated(location: string): ImgscopeError {
  return new ImgscopeError('MALFORMED', `${location}: archive is truncated`, {
    hint: 'the archive is damaged or cut short; save the image again',
  });
}

/** How a compressed archive is read. */
export interface CompressedTarOptions {
  /** The decompression guard: past this many decompressed bytes, reading stops with a LIMIT error. */
  maxUncompressedBytes?: number;
  /** Stops the indexing pass (with the signal's reason) at its next chunk. */
  signal?: AbortSignal;
  /** Told, per chunk, how many bytes of the file the indexing pass has read, of how many, and what they decompressed to. */
  onProgress?: (progress: IndexProgress) => void;
}

export interface IndexProgress {
  bytesRead: number;
  totalBytes: number;
  decompressedBytes: number;
}

/** What every decompressed chunk is checked against; `onRead` gets the file's bytes read, and decompressed, so far. */
interface CursorWatch {
  limit: number;
  /**
   * Whether a gzip trailer's CRC-32 is checked: in the pass that indexes the archive, which reads it to
   * its end. No digest covers a docker save's manifest.json; the later passes read what the index found.
   */
  checkCrc?: boolean;
  signal?: AbortSignal;
  onRead?: (bytesRead: number, decompressedBytes: number) => void;
}

function limitError(location: string, limit: number): ImgscopeError {
  return new ImgscopeError(
    'LIMIT',
    `${location}: the archive decompresses to more than ${limit} bytes (the decompression guard)`,
    {
      hint: 'this looks like a decompression bomb; raise IMGSCOPE_DECOMPRESSION_LIMIT only if the image is trusted',
    },
  );
}

/** Whether the file is a gzip- or zstd-compressed archive, which `CompressedTarFiles` reads. */
export async function isCompressedArchive(file: string, location: string): Promise<boolean> {
  const handle = await openArchive(file, location);
  try {
    const compression = detectCompression(await readAt(handle, 0, 6));
    return compression === 'gzip' || compression === 'zstd';
  } finally {
    await handle.close();
  }
}

/** A forward-only position in the decompressed bytes of an archive. */
class Cursor {
  /** Offset, in the decompressed archive, of the next byte not yet consumed. */
  position = 0;
  /** Bytes decompressed so far, `pending` included: what the decompression guard counts. */
  private decompressed = 0;
  private pending: Buffer | undefined;
  private readonly chunks: AsyncIterator<Buffer>;

  private constructor(
    private readonly file: ReadStream,
    private readonly tar: Readable,
    private readonly path: string,
    private readonly location: string,
    private readonly watch: CursorWatch,
    readonly compression: 'gzip' | 'zstd',
  ) {
    this.chunks = tar[Symbol.asyncIterator]();
  }

  static async start(path: string, location: string, watch: CursorWatch): Promise<Cursor> {
    const file = createReadStream(path, { highWaterMark: BLOB_READ_CHUNK });
    const { tar, compression } = await decodeLayer(file, location, REMEDY, { checkCrc: watch.checkCrc });
    // Only compressed archives get a cursor: `isCompressedArchive` chose this reader.
    return new Cursor(file, tar, path, location, watch, compression === 'zstd' ? 'zstd' : 'gzip');
  }

  /**
   * The bytes in [start, end) as they decompress, those before `start` discarded; fewer at the end, or
   * once `abandoned()` says the reader has gone (checked per chunk, so a stream destroyed while its cursor
   * skips towards it does not decompress on, unseen, up to its member).
   */
  async *range(start: number, end: number, abandoned?: () => boolean): AsyncGenerator<Buffer> {
    while (this.position < end && !abandoned?.()) {
      const chunk = this.pending ?? (await this.next());
      this.pending = undefined;
      if (chunk === undefined) return;
      const from = Math.max(0, start - this.position);
      const to = Math.min(chunk.length, end - this.position);
      if (to < chunk.length) this.pending = chunk.subarray(to);
      this.position += to;
      if (to > from) yield chunk.subarray(from, to);
    }
  }

  /** Moves to `position`, discarding what lies before it; false when the archive ends first. */
  async skipTo(position: number): Promise<boolean> {
    for await (const _ of this.range(position, position)) break;
    return this.position >= position;
  }

  async read(start: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.range(start, start + length)) parts.push(part);
    return Buffer.concat(parts);
  }

  /**
   * Decompresses what is left, unparsed, under the same guard: data after the tar's end-of-archive
   * blocks (`cat a.tar b.tar | gzip`) would otherwise stop the read before the gzip trailer is checked.
   */
  async drain(): Promise<void> {
    this.pending = undefined;
    while ((await this.next()) !== undefined);
  }

  close(): void {
    this.tar.destroy();
    this.file.destroy();
  }

  private async next(): Promise<Buffer | undefined> {
    let chunk: Buffer | undefined;
    try {
      const { value, done } = await this.chunks.next();
      chunk = done ? undefined : (value as Buffer);
    } catch (error) {
      if (error instanceof ImgscopeError) throw error;
      throw this.cannotDecompress(error);
    }
    const { limit, signal, onRead } = this.watch;
    signal?.throwIfAborted();
    this.decompressed += chunk?.length ?? 0;
    if (this.decompressed > limit) throw limitError(this.location, limit);
    onRead?.(this.file.bytesRead, this.decompressed);
    return chunk;
  }

  /** A window too large or a dead decoding thread is not damage: the archive is fine, and saving it again would not help. */
  private cannotDecompress(error: unknown): ImgscopeError {
    const message = `${this.location}: cannot decompress the archive (${(error as Error).message})`;
    if (error instanceof ZstdWindowError) {
      return new ImgscopeError('UNSUPPORTED', message, {
        hint: `decompress it first: ${decompressCommand('zstd', this.path, '--long=31')}, or compress it with zstd --long=27 at most`,
        cause: error,
      });
    }
    if (error instanceof ThreadDiedError) {
      return new ImgscopeError('LIMIT', message, {
        hint: 'the image is not at fault; free some memory or lower --concurrency, and run again',
        cause: error,
      });
    }
    return new ImgscopeError('MALFORMED', message, {
      hint: 'the archive is damaged or cut short; save the image again',
      cause: error,
    });
  }
}

/**
 * The members of a gzip- or zstd-compressed tar (`docker save app | gzip > app.tar.gz`), read without
 * extracting or writing a temporary file. A compressed stream cannot be entered at an offset, so:
 * one pass at open indexes the members and keeps the small JSON ones; then each member opened is
 * decompressed from the nearest paused cursor before it (else from the start of the archive), and that
 * cursor is left paused after it. Layers read in archive order thus cost about one more pass each for
 * `--concurrency` cursors; out of order, at most one pass of the archive up to the member per layer.
 */
export class CompressedTarFiles implements LocalFiles {
  private readonly idle: Cursor[] = [];
  private closed = false;

  private constructor(
    readonly path: string,
    readonly location: string,
    readonly compression: 'gzip' | 'zstd',
    private readonly index: TarIndex,
    private readonly heads: Map<number, Buffer>,
    private readonly limit: number,
  ) {}

  static async open(
    file: string,
    location: string,
    options: CompressedTarOptions = {},
  ): Promise<CompressedTarFiles> {
    const limit = options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES;
    const { signal, onProgress } = options;
    signal?.throwIfAborted();
    const totalBytes = onProgress ? (await stat(file)).size : 0;
    const onRead =
      onProgress &&
      ((bytesRead: number, decompressedBytes: number) =>
        onProgress({ bytesRead, totalBytes, decompressedBytes }));
    const cursor = await Cursor.start(file, location, { limit, signal, onRead, checkCrc: true });
    const heads = new Map<number, Buffer>();
    let keptBytes = 0;
    const source: HeaderSource = {
      async header(position) {
        if (!(await cursor.skipTo(position))) throw truncated(location);
        const block = await cursor.read(position, BLOCK);
        if (position === 0) requireTarStart(block, location, true);
        return block;
      },
      bytesAt: (position, length) => cursor.read(position, length),
      async onFile(offset, size) {
        const head = await cursor.read(offset, Math.min(size, HEAD_BYTES));
        if (head.length < Math.min(size, HEAD_BYTES)) throw truncated(location);
        const json = head[0] === 0x7b || head[0] === 0x5b;
        if (!json || size > MAX_MANIFEST_BYTES || keptBytes + size > MAX_KEPT_BYTES) {
          heads.set(offset, head);
          return;
        }
        const rest = await cursor.read(offset + head.length, size - head.length);
        if (rest.length < size - head.length) throw truncated(location);
        heads.set(offset, Buffer.concat([head, rest]));
        keptBytes += size;
      },
    };
    try {
      const index = await indexEntries(source, Infinity, location);
      await cursor.drain();
      return new CompressedTarFiles(file, location, cursor.compression, index, heads, limit);
    } finally {
      cursor.close();
    }
  }

  /** Normalised paths of every regular file (links included), in archive order. */
  paths(): string[] {
    return [...this.index.members.keys()];
  }

  async size(path: string): Promise<number | undefined> {
    const member = normalizeMemberPath(path);
    const found = this.index.notFiles.get(member);
    if (found !== undefined) throw notAFile(this.location, path, found);
    return this.index.members.get(member)?.size;
  }

  async head(path: string, length: number): Promise<Buffer> {
    const member = this.member(path);
    const held = this.heads.get(member.offset)!;
    if (length <= held.length || held.length === member.size) return held.subarray(0, length);
    return this.collect(member, Math.min(length, member.size));
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    const member = this.member(path);
    if (member.size > maxBytes) throw tooLarge(this.location, path, member.size, maxBytes);
    const held = this.heads.get(member.offset)!;
    return held.length === member.size ? held : this.collect(member, member.size);
  }

  async open(path: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    // Readable.from ends its generator only at the generator's next yield: told when the stream is destroyed.
    const stream: Readable = Readable.from(
      this.stream(this.member(path), () => stream.destroyed),
      { objectMode: false, highWaterMark: BLOB_READ_CHUNK },
    );
    return options.signal ? addAbortSignal(options.signal, stream) : stream;
  }

  /** A member's bytes lie inside compressed data: no file range stands for them. */
  async locate(): Promise<StoredBlob | undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const cursor of this.idle.splice(0)) cursor.close();
  }

  private async *stream(
    { offset, size }: TarMember,
    abandoned: () => boolean = () => false,
  ): AsyncGenerator<Buffer> {
    if (abandoned()) return;
    const cursor = await this.cursorBefore(offset);
    // A reader letting go early leaves the cursor at a known position too: only a failure spoils it.
    let failed = false;
    try {
      yield* cursor.range(offset, offset + size, abandoned);
      if (cursor.position < offset + size && !abandoned()) throw truncated(this.location);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (failed) cursor.close();
      else this.release(cursor);
    }
  }

  private async collect(member: TarMember, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let total = 0;
    for await (const part of this.stream(member)) {
      parts.push(part);
      total += part.length;
      if (total >= length) break;
    }
    return Buffer.concat(parts).subarray(0, length);
  }

  /** The paused cursor furthest along that has not passed `offset`, else a new one from the start. */
  private async cursorBefore(offset: number): Promise<Cursor> {
    let best = -1;
    for (const [i, cursor] of this.idle.entries()) {
      if (cursor.position <= offset && (best === -1 || cursor.position > this.idle[best]!.position)) best = i;
    }
    if (best !== -1) return this.idle.splice(best, 1)[0]!;
    return Cursor.start(this.path, this.location, { limit: this.limit });
  }

  private release(cursor: Cursor): void {
    if (this.closed) {
      cursor.close();
      return;
    }
    this.idle.push(cursor);
    if (this.idle.length <= MAX_IDLE_CURSORS) return;
    // The one least far along is the least likely to serve a later member.
    let least = 0;
    for (const [i, other] of this.idle.entries()) if (other.position < this.idle[least]!.position) least = i;
    this.idle.splice(least, 1)[0]!.close();
  }

  private member(path: string): TarMember {
    const normalized = normalizeMemberPath(path);
    const member = this.index.members.get(normalized);
    if (member) return member;
    const found = this.index.notFiles.get(normalized);
    throw found === undefined ? missingFile(this.location, path) : notAFile(this.location, path, found);
  }
}
