import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isAbortError,
  isTransientNetworkError,
  networkFailure,
  prematureEnd,
  underlyingFailure,
} from './transport/network-errors.js';
import type { HttpRequest } from './transport/types.js';

type HttpRequestSummary = Pick<HttpRequest, 'method' | 'url' | 'redirectedFrom'>;

export interface BodyAtOffset {
  body: Readable;
  /** Bytes at the start of `body` that precede the wanted offset (a server that ignored `Range`). */
  skip: number;
  /** Where the body came from, when a redirect sent the download elsewhere (storage, a CDN). */
  url?: URL;
}

export interface ResumableOptions {
  /** Opens the blob from `offset` (0 first, then the count of bytes already delivered). */
  open: (offset: number) => Promise<BodyAtOffset>;
  /** Expected total size: a body that ends before it is resumed like a broken one. */
  size: number | undefined;
  /** How many times a broken download may be resumed. */
  maxResumes: number;
  delayMs: (resume: number) => number;
  /** For the final error message. */
  request: HttpRequestSummary;
  signal?: AbortSignal;
}

/**
 * A blob download that survives broken connections: when the body fails with a network error or ends
 * early, it asks again from the offset already delivered (the caller's `open` sends `Range`), so the
 * consumer — and the VerifyingStream after it, which hashes every byte once — sees one continuous stream.
 *
 * Chunks are passed on one by one as they arrive ('data', not `read()`: reading a paused body whole
 * would join the 1 MiB pieces it buffered into a new, bigger copy).
 */
export function resumableDownload(options: ResumableOptions): Readable {
  return new ResumableDownload(options);
}

class ResumableDownload extends Readable {
  private body: Readable | undefined;
  private delivered = 0;
  private resumes = 0;
  /** Where the current body comes from, for the final error. */
  private source: URL | undefined;

  constructor(private readonly options: ResumableOptions) {
    super({ highWaterMark: 64 * 1024 });
    void this.openFrom(0);
  }

  override _read(): void {
    this.body?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.body?.destroy();
    this.body = undefined;
    callback(error);
  }

  private async openFrom(offset: number): Promise<void> {
    let opened: BodyAtOffset;
    try {
      // Opening is retried by the transport; only a body that breaks after its headers is resumed here.
      opened = await this.options.open(offset);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (this.destroyed) {
      opened.body.destroy();
      return;
    }
    const { body } = opened;
    this.body = body;
    this.source = opened.url;
    let toSkip = opened.skip;
    body.on('data', (raw: Buffer) => {
      let chunk = raw;
      if (toSkip > 0) {
        const dropped = Math.min(toSkip, chunk.length);
        toSkip -= dropped;
        chunk = chunk.subarray(dropped);
        if (chunk.length === 0) return;
      }
      this.delivered += chunk.length;
      if (!this.push(chunk)) body.pause();
    });
    body.once('end', () => {
      const { size } = this.options;
      if (size === undefined || this.delivered >= size) this.push(null);
      else this.broken(body, prematureEnd(this.delivered, size));
    });
    body.once('error', (error) => {
      const { signal, size } = this.options;
      if (signal?.aborted || isAbortError(error) || !isTransientNetworkError(error)) this.destroy(error);
      // Everything promised arrived before the connection broke: the verifier has the final word.
      else if (size !== undefined && this.delivered >= size) this.push(null);
      else this.broken(body, error);
    });
  }

  private broken(body: Readable, failure: unknown): void {
    body.removeAllListeners('data');
    body.on('error', () => {});
    body.destroy();
    this.body = undefined;
    const { options } = this;
    if (this.resumes >= options.maxResumes) {
      this.destroy(networkFailure(this.failedRequest(), underlyingFailure(failure), this.resumes + 1));
      return;
    }
    this.resumes++;
    sleep(
      options.delayMs(this.resumes),
      undefined,
      options.signal ? { signal: options.signal } : undefined,
    ).then(
      () => {
        if (!this.destroyed) void this.openFrom(this.delivered);
      },
      (error: unknown) => this.destroy(error as Error),
    );
  }

  /** The request whose body broke: the storage a redirect sent it to, named by host only. */
  private failedRequest(): HttpRequestSummary {
    const { request } = this.options;
    const source = this.source;
    return source && source.origin !== request.url.origin
      ? { ...request, url: source, redirectedFrom: request.url }
      : request;
  }
}
