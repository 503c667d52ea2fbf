import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { resumableDownload } from './blob-reader.js';

const request = { method: 'GET' as const, url: new URL('http://registry.test/v2/x/blobs/sha256:abc') };

describe('resumableDownload', () => {
  it('passes on the chunks it is given one by one, never joined, even after its reader fell behind', async () => {
    const pieces = [Buffer.alloc(1 << 20, 1), Buffer.alloc(1 << 20, 2), Buffer.alloc(1 << 20, 3)];
    const body = new Readable({ read() {} });
    for (const piece of pieces) body.push(piece);
    body.push(null);
    const download = resumableDownload({
      open: async () => ({ body, skip: 0 }),
      size: 3 << 20,
      maxResumes: 0,
      delayMs: () => 0,
      request,
    });
    await sleep(20); // everything is buffered before the first read
    const seen: Buffer[] = [];
    for await (const chunk of download) seen.push(chunk as Buffer);
    expect(seen).toHaveLength(3);
    expect(seen.every((chunk, index) => chunk.buffer === pieces[index]!.buffer)).toBe(true);
  });

  it('asks again from the delivered offset when a body ends early, skipping what a server repeats', async () => {
    const blob = Buffer.from('0123456789abcdef');
    const opened: number[] = [];
    const download = resumableDownload({
      open: async (offset) => {
        opened.push(offset);
        // First a body cut after 6 bytes, then a server that ignores Range and sends it all again.
        return offset === 0
          ? { body: Readable.from([blob.subarray(0, 6)]), skip: 0 }
          : { body: Readable.from([blob]), skip: offset };
      },
      size: blob.length,
      maxResumes: 1,
      delayMs: () => 0,
      request,
    });
    const chunks: Buffer[] = [];
    for await (const chunk of download) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(blob.toString());
    expect(opened).toEqual([0, 6]);
  });

  it('names the storage host, not the registry nor the signed URL, when a redirected body breaks for good', async () => {
    const stalled = Object.assign(new Error('body stalled'), { code: 'BODY_TIMEOUT' });
    const download = resumableDownload({
      open: async () => ({
        body: new Readable({
          read() {
            this.destroy(stalled);
          },
        }),
        skip: 0,
        url: new URL('https://store.example/bucket/x?X-Amz-Signature=secret-signature'),
      }),
      size: 10,
      maxResumes: 0,
      delayMs: () => 0,
      request,
    });
    const error = await download.toArray().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'NETWORK',
      message:
        'GET http://registry.test/v2/x/blobs/sha256:abc, redirected to store.example: the response body stalled',
      hint: 'check that this machine may connect to store.example, where the registry sends blob downloads (its storage or CDN); if it is only slow, raise IMGSCOPE_TIMEOUT_IDLE_MS (in milliseconds)',
    });
  });
});
