import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { zstd } from './testing.js';
import { ZstdWindowError, ZstdWorkerDecoder } from './zstd-worker.js';

const MiB = 1024 * 1024;

/** 256 MiB of zeros in a few kilobytes: what a zstd bomb looks like. */
const bomb = execFileSync('sh', ['-c', 'head -c 268435456 /dev/zero | zstd -q -c -3'], {
  maxBuffer: 64 * MiB,
});

async function decodeAll(decoder: ZstdWorkerDecoder, input: Buffer): Promise<Buffer> {
  decoder.end(input);
  const chunks: Buffer[] = [];
  for await (const chunk of decoder) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('ZstdWorkerDecoder', () => {
  it('holds a bounded amount of output while nobody reads, however much the input inflates', async () => {
    expect(bomb.length).toBeLessThan(64 * 1024);
    const decoder = new ZstdWorkerDecoder();
    decoder.end(bomb);
    // Let the worker run as far ahead as it can.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(decoder.readableLength).toBeLessThanOrEqual(16 * MiB);
    let total = 0;
    for await (const chunk of decoder) {
      total += (chunk as Buffer).length;
      if ((chunk as Buffer).some((byte) => byte !== 0)) throw new Error('not zeros');
    }
    expect(total).toBe(256 * MiB);
  });

  it('decodes many streams at once, and again after a stream was destroyed midway', async () => {
    const payloads = Array.from({ length: 5 }, (_, index) =>
      Buffer.from(`layer ${index} `.repeat(50_000 + index)),
    );
    const decoded = await Promise.all(
      payloads.map((payload) => decodeAll(new ZstdWorkerDecoder(), zstd(payload))),
    );
    expect(decoded.map((bytes, index) => bytes.equals(payloads[index]!))).toEqual(payloads.map(() => true));

    const abandoned = new ZstdWorkerDecoder();
    abandoned.write(bomb);
    await once(abandoned, 'readable');
    abandoned.destroy();
    await once(abandoned, 'close');

    const after = await decodeAll(new ZstdWorkerDecoder(), zstd(payloads[0]!));
    expect(after.equals(payloads[0]!)).toBe(true);
  });

  it('refuses a frame whose window is over the limit before decoding it, in any frame', async () => {
    const first = zstd(Buffer.from('a'.repeat(1000)));
    const long = execFileSync('zstd', ['-q', '-c', '--long=30'], { input: Buffer.from('b'.repeat(1000)) });
    const started = performance.now();
    const decoding = decodeAll(new ZstdWorkerDecoder(), Buffer.concat([first, long]));
    await expect(decoding).rejects.toBeInstanceOf(ZstdWindowError);
    await expect(decoding).rejects.toThrow(
      `the zstd frame at byte ${first.length} needs a 1024 MiB window; imgscope decodes windows up to 128 MiB`,
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('fails frames that decode to more or fewer bytes than their headers declare, as reference zstd does', async () => {
    const payload = Buffer.from('imgscope '.repeat(2000));
    // A frame whose header declares its content size (2 bytes, minus 256) beside a 1 KiB window.
    const good = execFileSync('zstd', ['-q', '-c', '--zstd=wlog=10', `--stream-size=${payload.length}`], {
      input: payload,
    });
    expect(good[4]).toBe(0x44);
    expect(good.readUInt16LE(6) + 256).toBe(payload.length);
    const declaring = (size: number) => {
      const bytes = Buffer.from(good);
      bytes.writeUInt16LE(size - 256, 6);
      return bytes;
    };
    await expect(decodeAll(new ZstdWorkerDecoder(), declaring(payload.length + 100))).rejects.toThrow(
      `invalid zstd data (the frames declare ${payload.length + 100} bytes of content but decode to ${payload.length})`,
    );
    await expect(decodeAll(new ZstdWorkerDecoder(), declaring(payload.length - 100))).rejects.toThrow(
      `invalid zstd data (the frames declare ${payload.length - 100} bytes of content but decode to more)`,
    );
    const frames = await decodeAll(new ZstdWorkerDecoder(), Buffer.concat([good, zstd(payload), good]));
    expect(frames.length).toBe(3 * payload.length);
  });

  it('fails a stream that ends inside a frame, naming zstd', async () => {
    const truncated = zstd(Buffer.from('x'.repeat(10_000) + 'y'.repeat(10_000))).subarray(0, 20);
    await expect(decodeAll(new ZstdWorkerDecoder(), truncated)).rejects.toThrow(/invalid zstd data/);
  });
});
