import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PIECE_BYTES, takePiece } from '../oci/pieces.js';
import { DecoderFeed, decodeLayer, detectCompression, JOIN_BYTES } from './compression.js';
import { gzip, zstd } from './testing.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size)
    chunks.push(bytes.subarray(offset, offset + size));
  return Readable.from(chunks);
}

const payload = Buffer.concat([Buffer.from('hello layer '.repeat(5000)), randomBytes(100_000)]);

describe('detectCompression', () => {
  it('names the encoding from magic bytes only', () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0x50, 0x2a, 0x4d, 0x18]))).toBe('zstd'); // skippable frame
    expect(detectCompression(Buffer.from([0x5f, 0x2a, 0x4d, 0x18]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0x60, 0x2a, 0x4d, 0x18]))).toBe('none');
    expect(detectCompression(Buffer.from('BZh91AY'))).toBe('bzip2');
    expect(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toBe('xz');
    expect(detectCompression(Buffer.from('etc/passwd\0'))).toBe('none');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
  });
});

describe('decodeLayer', () => {
  it.each([
    ['gzip', gzip],
    ['zstd', zstd],
  ])(
    'reports how much %s expands its input: about 1 for incompressible data, more for text',
    async (_, compress) => {
      const text = Buffer.from('usr/share/doc/copyright '.repeat(40_000));
      const noise = randomBytes(text.length);
      const expansions: number[] = [];
      for (const data of [text, noise, Buffer.concat([text, noise])]) {
        const decoded = await decodeLayer(chunked(compress(data), 64 * 1024), 'layer');
        expect(decoded.expansion()).toBe(1); // nothing decoded yet
        expect(await collect(decoded.tar)).toEqual(data);
        expansions.push(decoded.expansion());
      }
      const [ofText, ofNoise, ofBoth] = expansions as [number, number, number];
      expect(ofText).toBeGreaterThan(20);
      expect(ofNoise).toBeGreaterThan(0.99);
      expect(ofNoise).toBeLessThan(1.01);
      expect(ofBoth).toBeGreaterThan(1.9);
      expect(ofBoth).toBeLessThan(2.1);
    },
  );

  it('gunzips, reporting gzip', async () => {
    const { compression, tar } = await decodeLayer(chunked(gzip(payload), 4096), 'layer');
    expect(compression).toBe('gzip');
    expect((await collect(tar)).equals(payload)).toBe(true);
  });

  it('reads every member of a multi-member gzip stream (as estargz writes)', async () => {
    const half = payload.length >> 1;
    const members = Buffer.concat([
      gzip(payload.subarray(0, half)),
      gzip(payload.subarray(half)),
      gzip(Buffer.alloc(0)),
    ]);
    const { tar } = await decodeLayer(chunked(members, 1000), 'layer');
    expect((await collect(tar)).equals(payload)).toBe(true);
  });

  it('decodes zstd made by the zstd CLI, multiple frames included', async () => {
    const frames = Buffer.concat([zstd(payload.subarray(0, 1000)), zstd(payload.subarray(1000), 19)]);
    const { compression, tar } = await decodeLayer(chunked(frames, 777), 'layer');
    expect(compression).toBe('zstd');
    expect((await collect(tar)).equals(payload)).toBe(true);
  });

  it('decodes zstd that starts with a skippable frame, as pzstd writes it', async () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
    const frames = Buffer.concat([
      skippable,
      zstd(payload.subarray(0, 1000)),
      skippable,
      zstd(payload.subarray(1000)),
    ]);
    const { compression, tar } = await decodeLayer(chunked(frames, 5), 'layer');
    expect(compression).toBe('zstd');
    expect((await collect(tar)).equals(payload)).toBe(true);
  });

  it('passes a plain tar through, even when the magic arrives one byte at a time', async () => {
    const { compression, tar } = await decodeLayer(chunked(payload, 1), 'layer');
    expect(compression).toBe('none');
    expect((await collect(tar)).equals(payload)).toBe(true);
  });

  it('handles blobs shorter than the magic', async () => {
    const { compression, tar } = await decodeLayer(Readable.from([Buffer.from('ab')]), 'layer');
    expect(compression).toBe('none');
    expect((await collect(tar)).toString()).toBe('ab');
    expect((await collect((await decodeLayer(Readable.from([]), 'layer')).tar)).length).toBe(0);
  });

  it('refuses bzip2 and xz with an UNSUPPORTED error naming the layer', async () => {
    await expect(
      decodeLayer(Readable.from([Buffer.from('BZh91AY&SY')]), 'layer 2 of x'),
    ).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringContaining('layer 2 of x: bzip2'),
    });
  });

  it('surfaces corrupt gzip and zstd data as stream errors', async () => {
    const corruptGzip = gzip(payload);
    corruptGzip.fill(0x55, 20, 200);
    await expect(collect((await decodeLayer(chunked(corruptGzip, 4096), 'l')).tar)).rejects.toThrow();
    const corruptZstd = zstd(payload).subarray(0, 5000);
    await expect(collect((await decodeLayer(chunked(corruptZstd, 4096), 'l')).tar)).rejects.toThrow(/zstd/);
  });

  it('fails with the blob’s error when a small blob fails verification while its magic is read', async () => {
    const failing = new Readable({
      read() {
        this.push(gzip(Buffer.from('x')));
        this.destroy(new Error('digest mismatch'));
      },
    });
    await expect(decodeLayer(failing, 'l').then(({ tar }) => collect(tar))).rejects.toThrow(
      'digest mismatch',
    );
  });

  it('propagates an error of the blob stream (a digest mismatch) through the decoder', async () => {
    const failing = new Readable({ read() {} });
    const decoded = decodeLayer(failing, 'l');
    failing.push(gzip(payload).subarray(0, 100));
    const { tar } = await decoded;
    const reading = collect(tar);
    failing.destroy(new Error('digest mismatch'));
    await expect(reading).rejects.toThrow('digest mismatch');
  });
});

describe('DecoderFeed', () => {
  async function joined(chunks: Buffer[]): Promise<Buffer[]> {
    const writes: Buffer[] = [];
    const decoder = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        writes.push(chunk);
        callback();
      },
    });
    const feed = new DecoderFeed(decoder);
    for (const chunk of chunks) feed.write(chunk);
    feed.end();
    await once(decoder, 'finish');
    return writes;
  }

  it('joins small chunks into writes of JOIN_BYTES, all but the last, keeping every byte in order', async () => {
    const chunks = Array.from({ length: 3000 }, (_, index) => Buffer.alloc(1024, index));
    const writes = await joined(chunks);
    expect(Buffer.concat(writes).equals(Buffer.concat(chunks))).toBe(true);
    expect(writes.map((write) => write.length)).toEqual([
      JOIN_BYTES,
      JOIN_BYTES,
      3000 * 1024 - 2 * JOIN_BYTES,
    ]);
  });

  it('passes a chunk that is big enough through as it is, without a copy', async () => {
    const big = Buffer.alloc(JOIN_BYTES + 1, 7);
    const small = Buffer.from('tail');
    const writes = await joined([big, small]);
    expect(writes[0]).toBe(big);
    expect(writes[1]!.equals(small)).toBe(true);
  });

  it('keeps three writes ahead of the decoder and recycles a piece only when the decoder is done with it', async () => {
    const finishWrite: (() => void)[] = [];
    const seen: Buffer[] = [];
    const decoder = new Writable({
      highWaterMark: JOIN_BYTES,
      write(chunk: Buffer, _encoding, callback) {
        seen.push(chunk);
        finishWrite.push(callback);
      },
    });
    const feed = new DecoderFeed(decoder);
    const pieces = Array.from({ length: 5 }, (_, index) => takePiece().fill(index));
    for (const piece of pieces) feed.write(piece);
    await new Promise(setImmediate);
    // The first write is being decoded and two more wait in the decoder. The feed holds the third's
    // callback (so it still counts it) and the last two.
    expect(seen).toEqual([pieces[0]]);
    expect(decoder.writableLength).toBe(3 * PIECE_BYTES);
    expect(feed.writableLength).toBe(3 * PIECE_BYTES);
    const whileBusy = takePiece();
    expect(pieces.some((piece) => piece.buffer === whileBusy.buffer)).toBe(false);

    finishWrite.shift()!();
    await new Promise(setImmediate);
    expect(seen).toHaveLength(2);
    expect(decoder.writableLength).toBe(3 * PIECE_BYTES);
    expect(feed.writableLength).toBe(2 * PIECE_BYTES);
    expect(takePiece().buffer).toBe(pieces[0]!.buffer);
  });
});
