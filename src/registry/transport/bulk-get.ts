import type { IncomingHttpHeaders } from 'node:http';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { PIECE_BYTES, takePiece } from '../../oci/pieces.js';
import type { Timeouts } from './http.js';
import { prematureEnd } from './network-errors.js';
import type { HttpRequest, HttpResponse } from './types.js';

/** Status line and headers, and a chunked body's trailers, may not exceed this. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface BulkGetOptions {
  timeouts: Timeouts;
  /** Extra TLS settings: a private CA, or no certificate check (a registry that docker calls insecure). */
  tls?: Pick<ConnectionOptions, 'ca' | 'rejectUnauthorized'>;
}

/**
 * A GET of one large body (a layer blob) over its own connection, read without a copy in between.
 *
 * The keep-alive pool (undici) reads 64 KiB at a time and hands every piece through its parser and a
 * stream before imgscope sees it; on a fast registry that is about 1 CPU-second per GB on the main
 * thread, which then cannot keep node:zlib fed. Here the socket reads into 1 MiB pieces (`onread`,
 * oci/pieces.ts) and only the response head and chunk framing are parsed: receiving 1.18 GB from a
 * loopback registry took 0.35 CPU-seconds instead of 1.2. Each piece is handed on when full.
 *
 * HTTP/1.1 as far as a blob download needs it: Content-Length, chunked and read-until-close bodies, 1xx
 * interim responses skipped, `Connection: close`. Redirects, retries and auth stay in the layers above,
 * which see the same `HttpResponse` as from the pool.
 */
export function bulkGet(request: HttpRequest, options: BulkGetOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    new BulkExchange(request, options, resolve, reject).start();
  });
}

type Framing =
  | { kind: 'length'; remaining: number }
  | { kind: 'chunked'; decoder: ChunkedDecoder }
  | { kind: 'close' }
  | { kind: 'none' };

class BulkExchange {
  private socket: Socket | undefined;
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
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly request: HttpRequest,
    private readonly options: BulkGetOptions,
    private readonly resolve: (response: HttpResponse) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  start(): void {
    const { request } = this;
    if (request.signal?.aborted) {
      this.reject(abortReason(request.signal));
      return;
    }
    let text: string;
    try {
      text = requestHead(request);
    } catch (error) {
      this.reject(error);
      return;
    }
    const { url } = request;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const secure = url.protocol === 'https:';
    const port = Number(url.port) || (secure ? 443 : 80);
    const onread = {
      buffer: () => this.piece.subarray(this.filled),
      callback: (bytes: number) => this.onRead(bytes),
    };
    const socket = secure
      ? connectTls({
          host,
          port,
          ...(isIP(host) ? {} : { servername: host }),
          ALPNProtocols: ['http/1.1'],
          ...this.options.tls,
          onread,
        } as ConnectionOptions)
      : connectTcp({ host, port, onread });
    this.socket = socket;
    this.arm(this.options.timeouts.connectMs, 'CONNECT_TIMEOUT', 'connect timed out');
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      this.arm(this.options.timeouts.headersMs, 'HEADERS_TIMEOUT', 'no response headers in time');
    });
    socket.on('end', () => this.onEnd());
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => {
      if (!this.settled) this.fail(codedError('CLOSED_EARLY', 'the connection closed early'));
    });
    request.signal?.addEventListener('abort', this.onAbort, { once: true });
    socket.write(text);
  }

  private readonly onAbort = () => this.fail(abortReason(this.request.signal!));

  /** Bytes landed at `piece[filled…]`; returning false pauses the socket (the body's reader is full). */
  private onRead(bytes: number): boolean {
    if (this.settled) return false;
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
      if (end < 0) {
        if (this.filled > MAX_HEAD_BYTES) throw badResponse(`headers larger than ${MAX_HEAD_BYTES} bytes`);
        return;
      }
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
      this.resolve({ status: head.status, headers: head.headers, body: this.body, url: this.request.url });
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

  private onEnd(): void {
    if (this.settled) return;
    if (!this.body)
      this.fail(codedError('CLOSED_EARLY', 'the connection closed before the response headers'));
    else if (this.framing.kind === 'close') this.finish();
    else if (this.framing.kind === 'length')
      this.fail(prematureEnd(this.received, this.received + this.framing.remaining));
    else this.fail(codedError('PREMATURE_END', `chunked body ended after ${this.received} bytes`));
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanUp();
    if (this.filled > 0) this.body!.push(this.piece.subarray(0, this.filled));
    this.body!.push(null);
  }

  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.cleanUp();
    if (!this.resolved) {
      this.body?.destroy();
      this.reject(error);
      return;
    }
    const body = this.body!;
    // Hand on what did arrive: a download resumed from there need not fetch it again.
    if (this.filled > 0) body.push(this.piece.subarray(0, this.filled));
    body.destroy(error as Error);
  }

  private cleanUp(): void {
    clearTimeout(this.timer);
    this.request.signal?.removeEventListener('abort', this.onAbort);
    this.socket?.destroy();
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
    this.socket!.resume();
  }

  private armBodyIdle(): void {
    this.arm(this.options.timeouts.bodyIdleMs, 'BODY_TIMEOUT', 'the response body stalled');
  }

  private arm(ms: number, code: string, message: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(codedError(code, message)), ms);
  }
}

function requestHead(request: HttpRequest): string {
  const lines = [`GET ${request.url.pathname}${request.url.search} HTTP/1.1`, `host: ${request.url.host}`];
  for (const [name, value] of Object.entries(request.headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`header ${name} contains a line break`);
    if (name === 'host' || name === 'connection') continue;
    lines.push(`${name}: ${value}`);
  }
  lines.push('connection: close', '', '');
  return lines.join('\r\n');
}

function parseHead(text: string): { status: number; headers: IncomingHttpHeaders } {
  const lines = text.split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
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
  return { status: Number(statusLine[1]), headers: headers as IncomingHttpHeaders };
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
