import type { Readable } from 'node:stream';
import { ImgscopeError } from '../../errors.js';
import { TIMEOUT_VARIABLES } from '../timeout-variables.js';

/**
 * A small document (manifest, index, config, token) must arrive whole within `ms`: the idle timeout alone
 * lets a server that sends a byte every few seconds hold imgscope for hours. Layer blobs, which may take
 * that long, are never given one.
 */
export interface BodyDeadline {
  ms: number;
  /** Where the body comes from, when the label does not say: `https://…/manifests/v1`. */
  from?: string;
}

/** Destroys `body` with a one-line error unless it has ended within the deadline. */
export function withDeadline<T extends Readable>(body: T, label: string, deadline: BodyDeadline): T {
  const timer = setTimeout(() => {
    body.destroy(
      new ImgscopeError(
        'NETWORK',
        `${label}: not received in full within ${deadline.ms} ms${deadline.from ? ` from ${deadline.from}` : ''}`,
        {
          hint: `the registry or the network is very slow: raise ${TIMEOUT_VARIABLES.bodyIdleMs} (a manifest, config or token must arrive whole within twice it), or try again later`,
        },
      ),
    );
  }, deadline.ms);
  body.once('close', () => clearTimeout(timer));
  return body;
}

/**
 * Reads a small body (manifest, token, error document) whole, refusing more than `limit` bytes, or
 * taking longer than `deadline`.
 */
export async function readSmallBody(
  body: Readable,
  limit: number,
  label: string,
  deadline?: BodyDeadline,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (deadline) withDeadline(body, label, deadline);
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        throw new ImgscopeError('LIMIT', `${label}: more than the ${limit}-byte limit`, {
          hint: 'this is not an image document; check the reference and the registry',
        });
      }
      chunks.push(chunk);
    }
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks, size);
}

/** A body `drain` reads to its end: larger or slower ones are dropped, and their connection with them. */
const DRAIN_BYTES = 64 * 1024;
const DRAIN_MS = 1000;

/**
 * Reads a small body nobody needs to its end before the next request goes out. A keep-alive connection
 * is free again only once its response has ended: with the body still in flight (as after `discard`),
 * the pool opens another connection for the next request — one more TCP and TLS handshake.
 */
export async function drain(body: Readable): Promise<void> {
  body.on('error', () => {});
  const timer = setTimeout(() => body.destroy(), DRAIN_MS);
  let bytes = 0;
  try {
    for await (const chunk of body) {
      bytes += (chunk as Buffer).length;
      if (bytes > DRAIN_BYTES) break;
    }
  } catch {
    // A body that breaks costs only its connection.
  } finally {
    clearTimeout(timer);
  }
}
