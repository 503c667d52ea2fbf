import type { Readable } from 'node:stream';
import { ImgscopeError } from '../../errors.js';

/** Reads a small body (manifest, token, error document) whole, refusing more than `limit` bytes. */
export async function readSmallBody(body: Readable, limit: number, label: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
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
