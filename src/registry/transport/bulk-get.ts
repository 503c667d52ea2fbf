import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { PIECE_BYTES, releasePiece, takePiece } from '../../oci/pieces.js';
import {
  BulkConnection,
  type BulkConnections,
  type BulkTls,
  type ConnectionUser,
  connectionKey,
} from './bulk-connections.js';
import type { Timeouts } from './http.js';
import { prematureEnd } from './network-errors.js';
import type { HttpRequest, HttpResponse } from './types.js';

/** Status line and headers, and a chunked body's trailers, may not exceed this. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface BulkGetOptions {
  timeouts: Timeouts;
  /** Extra TLS settings: a private CA, or no certificate check (a registry that docker calls insecure). */
  tls?: BulkTls;
  /**
   * Idle connections to send the GET on, and to give the connection back to once its response was read
   * to the end. Without them, every GET opens a connection and asks the server to close it.
   */
  connections?: BulkConnections;
}

/** A bulk response, and whether it came on a connection an earlier GET had opened. */
export type BulkResponse = HttpResponse & { reusedConnection: boolean };

/**
 * A GET of one large body (a layer blob) over a connection no other request shares meanwhile, read
 * without a copy in between.
 *
 * The keep-alive pool (undici) reads 64 KiB at a time and hands every piece through its parser and a
 * stream before imgscope sees it; on a fast registry that is about 1 CPU-second per GB on the main
 * thread, which then cannot keep node:zlib fed. Here the socket reads into 1 MiB pieces (`onread`,
 * oci/pieces.ts) and only the response head and chunk framing are parsed: receiving 1.18 GB from a
 * loopback registry took 0.35 CPU-seconds instead of 1.2. Each piece is handed on when full.
 *
 * HTTP/1.1 as far as a blob download needs it: Content-Length, chunked and read-until-close bodies, 1xx
 * interim responses skipped, `Connection: close`, and keep-alive through `BulkConnections` (a response
 * with a Content-Length read to its end leaves its connection for the next blob; a reused connection
 * the server closed meanwhile is replaced once, before any response byte). Redirects, retries and auth
 * stay in the layers above, which see the same `HttpResponse` as from the pool.
 */
export function bulkGet(request: HttpRequest, options: BulkGetOptions): Promise<BulkResponse> {
  return new Promise((resolve, reject) => {
    new BulkExchange(request, options, resolve, reject).start();
  });
}

type Framing =
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked'; decoder: ChunkedDecoder }
  | { kind: 'close' }
  | { kind: 'none' };

class BulkExchange implements ConnectionUser {
  private connection: BulkConnection | undefined;
  /** The request head, kept to send again if a reused connection turns out closed. */
  private head = '';
  private reused = false;
  private piece = takePiece();
  /** Bytes at the start of `piece` that are head (before the body starts) or body data. */
  private filled = 0;
  private framing: Framing = { kind: 'none' };
  /** Created once the response head is read: until then the socket's bytes are head. */
  private body: Readable | undefined;
  private received = 0;
  private paused = false;
  private settled = false;
  /** The response (head and body stream) was handed to the caller. */
  private resolved = false;
  /** Any response byte arrived: from then on a failure is the server's, not a stale connection's. */
  private answered = false;
  /** The response lets the connection carry another request once its body is read. */
  private keepAlive = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly request: HttpRequest,
    private readonly options: BulkGetOptions,
    private readonly resolve: (response: BulkResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  start(): void {
    const { request } = this;
    if (request.signal?.aborted) {
      this.reject(abortReason(request.signal));
      return;
    }
    try {
      this.head = requestHead(request, this.options.connections !== undefined);
    } catch (error) {
      this.reject(error);
      return;
    }
    request.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.send(this.head, this.options.connections?.take(this.key));
  }

  private get key(): string {
    return connectionKey(this.request.url, this.options.tls);
  }

  /** Writes the request head on `idle`, or on a new connection. */
  private send(text: string, idle: BulkConnection | undefined): void {
    const connection = idle ?? new BulkConnection(this.request.url, this.options.tls);
    this.connection = connection;
    this.reused = idle !== undefined;
    connection.attach(this);
    if (idle) this.arm(this.options.timeouts.headersMs, 'HEADERS_TIMEOUT', 'no response headers in time');
    else {
      this.arm(this.options.timeouts.connectMs, 'CONNECT_TIMEOUT', 'connect timed out');
      const secure = this.request.url.protocol === 'https:';
      connection.socket.once(secure ? 'secureConnect' : 'connect', () => {
        if (this.connection !== connection || this.settled) return;
        this.arm(this.options.timeouts.headersMs, 'HEADERS_TIMEOUT', 'no response headers in time');
      });
    }
    connection.socket.write(text);
  }

  readBuffer(): Buffer {
    return this.piece.subarray(this.filled);
  }

  onEnd(): void {
    if (this.settled) return;
    if (!this.body)
      this.fail(codedError('CLOSED_EARLY', 'the connection closed before the response headers'));
    else if (this.framing.kind === 'close') this.finish();
    else if (this.framing.kind === 'length')
      this.fail(prematureEnd(this.received, this.received + this.framing.remaining));
    else this.fail(codedError('PREMATURE_END', `chunked body ended after ${this.received} bytes`));
  }

  onError(error: Error): void {
    this.fail(error);
  }

  onClose(): void {
    if (!this.settled) this.fail(codedError('CLOSED_EARLY', 'the connection closed early'));
  }

  private readonly onAbort = () => this.fail(abortReason(this.request.signal!));

  /** Bytes landed at `piece[filled…]`; returning false pauses the socket (the body's reader is full). */
  onRead(bytes: number): boolean {
    if (this.settled) return false;
    this.answered = true;
    try {
      if (!this.body) this.readHead(bytes);
      else this.readBody(this.filled, bytes);
    } catch (error) {
      this.fail(error);
      return false;
    }
    return !this.paused;
  }

  private readHead(bytes: number): void {
    let searchFrom = Math.max(0, this.filled - 3);
    this.filled += bytes;
    for (;;) {
      const end = this.piece.subarray(0, this.filled).indexOf('\r\n\r\n', searchFrom, 'latin1');
      // Whether the head's end came in this read or not: a read can bring up to a piece.
      if ((end < 0 ? this.filled : end) > MAX_HEAD_BYTES)
        throw badResponse(`headers larger than ${MAX_HEAD_BYTES} bytes`);
      if (end < 0) return;
      const head = parseHead(this.piece.toString('latin1', 0, end));
      const rest = this.filled - (end + 4);
      this.piece.copyWithin(0, end + 4, this.filled);
      this.filled = 0;
      if (head.status >= 100 && head.status < 200) {
        this.filled = rest;
        searchFrom = 0;
        continue; // 100 Continue, 103 Early Hints: the real response follows
      }
      this.framing = framingOf(head);
      this.keepAlive = head.keepAlive && this.framing.kind === 'length';
      this.body = this.createBody();
      this.armBodyIdle();
      // Body bytes that came with the head are read before the body is handed out, so that a failure
      // among them rejects the exchange instead of erroring a stream nobody listens to yet.
      if (rest > 0) this.readBody(0, rest);
      else if (
        this.framing.kind === 'none' ||
        (this.framing.kind === 'length' && this.framing.remaining === 0)
      )
        this.finish();
      this.resolved = true;
      this.resolve({
        status: head.status,
        headers: head.headers,
        body: this.body,
        url: this.request.url,
        reusedConnection: this.reused,
      });
      return;
    }
  }

  private createBody(): Readable {
    return new Readable({
      highWaterMark: 2 * PIECE_BYTES,
      read: () => this.resumeReading(),
      destroy: (error, callback) => {
        this.settled = true;
        this.cleanUp();
        callback(error);
      },
    });
  }

  /** Body bytes at `piece[at, at + bytes)`: unframed in place, handed on a piece at a time. */
  private readBody(at: number, bytes: number): void {
    if (!this.paused) this.timer?.refresh();
    const { framing } = this;
    let data = bytes;
    let complete = false;
    if (framing.kind === 'length') {
      data = Math.min(bytes, framing.remaining);
      framing.remaining -= data;
      // Bytes past the body: the server sent more than one response, and the connection is not reused.
      if (bytes > data) this.keepAlive = false;
      complete = framing.remaining === 0;
    } else if (framing.kind === 'chunked') {
      data = framing.decoder.decode(this.piece, at, bytes);
      complete = framing.decoder.done;
    } else if (framing.kind === 'none') {
      data = 0;
      complete = true;
    }
    this.filled = at + data;
    this.received += data;
    if (complete) {
      this.finish();
      return;
    }
    if (this.filled === this.piece.length) {
      const full = this.piece;
      this.piece = takePiece();
      this.filled = 0;
      if (!this.body!.push(full)) this.pauseReading();
    }
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanUp(this.keepAlive);
    this.pushRest(this.body!);
    this.body!.push(null);
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    if (this.reused && !this.answered && isStaleConnection(error)) {
      // The server closed this idle connection as the request went out: send it once more, on a new one.
      this.connection?.destroy();
      this.send(this.head, undefined);
      return;
    }
    this.settled = true;
    this.cleanUp();
    if (!this.resolved) {
      this.body?.destroy();
      releasePiece(this.piece);
      this.reject(error);
      return;
    }
    const body = this.body!;
    // Hand on what did arrive: a download resumed from there need not fetch it again.
    this.pushRest(body);
    body.destroy(error as Error);
  }

  /** The bytes read into the current piece, handed on; a piece nothing was read into goes back at once. */
  private pushRest(body: Readable): void {
    if (this.filled > 0) body.push(this.piece.subarray(0, this.filled));
    else releasePiece(this.piece);
  }

  /** Ends the exchange's hold on its connection: kept for the next GET (`reuse`), or closed. */
  private cleanUp(reuse = false): void {
    clearTimeout(this.timer);
    this.request.signal?.removeEventListener('abort', this.onAbort);
    const { connection, options } = this;
    if (!connection) return;
    // Once given back the connection is another exchange's: the body's own destroy must not close it.
    this.connection = undefined;
    if (reuse && options.connections) options.connections.give(this.key, connection);
    else connection.destroy();
  }

  private pauseReading(): void {
    // The body's reader is behind: a slow reader is not a stalled server, so the idle timer rests too.
    this.paused = true;
    clearTimeout(this.timer);
  }

  private resumeReading(): void {
    if (!this.paused || this.settled) return;
    this.paused = false;
    this.armBodyIdle();
    this.connection!.socket.resume();
  }

  private armBodyIdle(): void {
    this.arm(this.options.timeouts.bodyIdleMs, 'BODY_TIMEOUT', 'the response body stalled');
  }

  private arm(ms: number, code: string, message: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(codedError(code, message)), ms);
  }
}

/** The GET's head; without `keepAlive` it asks the server to close the connection after the response. */
function requestHead(request: HttpRequest, keepAlive: boolean): string {
  const lines = [`GET ${request.url.pathname}${request.url.search} HTTP/1.1`, `host: ${request.url.host}`];
  for (const [name, value] of Object.entries(request.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`header ${name} contains a line break`);
    if (name === 'host' || name === 'connection') continue;
    lines.push(`${name}: ${value}`);
  }
  if (!keepAlive) lines.push('connection: close');
  lines.push('', '');
  return lines.join('\r\n');
}

interface ResponseHead {
  status: number;
  headers: IncomingHttpHeaders;
  /** HTTP/1.1 without `Connection: close`: the connection may carry the next request. */
  keepAlive: boolean;
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!statusLine) throw badResponse(`status line "${(lines[0] ?? '').slice(0, 40)}"`);
  const headers: Record<string, string | string[]> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon)))
      throw badResponse(`header line "${line.slice(0, 40)}"`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else headers[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  const closes = String(headers.connection ?? '')
    .toLowerCase()
    .split(',')
    .some((option) => option.trim() === 'close');
  return {
    status: Number(statusLine[2]),
    headers: headers as IncomingHttpHeaders,
    keepAlive: statusLine[1] === '1' && !closes,
  };
}

/** A reused connection failing before any response byte was closed by the server while it idled. */
function isStaleConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'CLOSED_EARLY';
}

/** How the body ends (RFC 9112 §6.3, for a response to GET). */
function framingOf({ status, headers }: { status: number; headers: IncomingHttpHeaders }): Framing {
  if (status === 204 || status === 304) return { kind: 'none' };
  const transferEncoding = headers['transfer-encoding'];
  if (transferEncoding !== undefined) {
    const codings = String(transferEncoding).toLowerCase().split(',');
    return codings.at(-1)?.trim() === 'chunked'
      ? { kind: 'chunked', decoder: new ChunkedDecoder() }
      : { kind: 'close' };
  }
  const contentLength = headers['content-length'];
  if (contentLength === undefined) return { kind: 'close' };
  const values = new Set(
    String(contentLength)
      .split(',')
      .map((value) => value.trim()),
  );
  const length = Number([...values][0]);
  if (values.size !== 1 || !/^\d+$/.test([...values][0]!) || !Number.isSafeInteger(length))
    throw badResponse(`Content-Length "${String(contentLength).slice(0, 40)}"`);
  return { kind: 'length', remaining: length };
}

enum ChunkState {
  Size,
  Extension,
  Data,
  DataEnd,
  Trailer,
  Done,
}

/** Removes chunked transfer coding in place: chunk data moves down over the framing before it. */
export class ChunkedDecoder {
  private state = ChunkState.Size;
  private size = 0;
  private digits = 0;
  private trailerLine = 0;
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === ChunkState.Done;
  }

  /** Decodes `buffer[at, at + length)`; the data it holds ends up at `buffer[at, at + returned)`. */
  decode(buffer: Buffer, at: number, length: number): number {
    let write = at;
    let read = at;
    const end = at + length;
    while (read < end && this.state !== ChunkState.Done) {
      if (this.state === ChunkState.Data) {
        const take = Math.min(this.size, end - read);
        if (write !== read) buffer.copyWithin(write, read, read + take);
        write += take;
        read += take;
        this.size -= take;
        if (this.size === 0) this.state = ChunkState.DataEnd;
        continue;
      }
      const byte = buffer[read++]!;
      switch (this.state) {
        case ChunkState.Size: {
          const digit = hexValue(byte);
          if (digit >= 0) {
            if (++this.digits > 13) throw badResponse('chunk size too large');
            this.size = this.size * 16 + digit;
          } else if (byte === 0x0a) this.endSizeLine();
          else if (this.digits > 0) this.state = ChunkState.Extension;
          else throw badResponse('chunk size missing');
          break;
        }
        case ChunkState.Extension:
          if (byte === 0x0a) this.endSizeLine();
          break;
        case ChunkState.DataEnd:
          if (byte === 0x0a) this.state = ChunkState.Size;
          else if (byte !== 0x0d) throw badResponse('chunk data longer than its size');
          break;
        case ChunkState.Trailer:
          if (++this.trailerBytes > MAX_HEAD_BYTES) throw badResponse('trailers too large');
          if (byte === 0x0a) {
            if (this.trailerLine === 0) this.state = ChunkState.Done;
            this.trailerLine = 0;
          } else if (byte !== 0x0d) this.trailerLine++;
          break;
      }
    }
    return write - at;
  }

  private endSizeLine(): void {
    if (this.digits === 0) throw badResponse('chunk size missing');
    this.state = this.size === 0 ? ChunkState.Trailer : ChunkState.Data;
    this.digits = 0;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function badResponse(detail: string): Error {
  return codedError('BAD_RESPONSE', `the response is not valid HTTP/1.1 (${detail})`);
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : Object.assign(new Error('the operation was aborted'), { name: 'AbortError' });
}
