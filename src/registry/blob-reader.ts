import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isAbortError,
  isTransientNetworkError,
  networkFailure,
  prematureEnd,
  underlyingFailure,
} from './transport/network-errors.js';

export interface BodyAtOffset {
  body: Readable;
  /** Bytes at the start of `body` that precede the wanted offset (a server that ignored `Range`). */
  skip: number;
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
  request: { method: 'GET'; url: URL };
  signal?: AbortSignal;
}

/**
 * A blob download that survives broken connections: when the body fails with a network error or ends
 * early, it asks again from the offset already delivered (the caller's `open` sends `Range`), so the
 * consumer — and the VerifyingStream after it, which hashes every byte once — sees one continuous stream.
 */
export function resumableDownload(options: ResumableOptions): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    let delivered = 0;
    for (let resume = 0; ; resume++) {
      // Opening is retried by the transport; only a body that breaks after its headers is resumed here.
      const { body, skip } = await options.open(delivered);
      let failure: unknown;
      try {
        let toSkip = skip;
        for await (const raw of body as AsyncIterable<Buffer>) {
          let chunk = raw;
          if (toSkip > 0) {
            const dropped = Math.min(toSkip, chunk.length);
            toSkip -= dropped;
            chunk = chunk.subarray(dropped);
            if (chunk.length === 0) continue;
          }
          delivered += chunk.length;
          yield chunk;
        }
        if (options.size === undefined || delivered >= options.size) return;
        failure = prematureEnd(delivered, options.size);
      } catch (error) {
        if (options.signal?.aborted || isAbortError(error) || !isTransientNetworkError(error)) throw error;
        // Everything promised arrived before the connection broke: the verifier has the final word.
        if (options.size !== undefined && delivered >= options.size) return;
        failure = error;
      }
      if (resume >= options.maxResumes)
        throw networkFailure(options.request, underlyingFailure(failure), resume + 1);
      await sleep(
        options.delayMs(resume + 1),
        undefined,
        options.signal ? { signal: options.signal } : undefined,
      );
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 });
}
