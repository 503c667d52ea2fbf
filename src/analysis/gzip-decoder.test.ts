import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GzipDecoder, gzipHeaderLength } from './gzip-decoder.js';

const OPTIONS = { chunkSize: 64 * 1024 };
const payload = Buffer.concat([Buffer.from('layer bytes '.repeat(20_000)), randomBytes(150_000)]);

function split(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/**
 * Writes every chunk up to `ahead` at a time, as DecoderFeed does, and reads the output; resolves with
 * the output and how many writes were called back, or rejects with the decoder's error.
 */
async function decode(
  chunks: Buffer[],
  ahead = 3,
  checkCrc = false,
): Promise<{ output: Buffer; calledBack: number }> {
  const decoder = new GzipDecoder(OPTIONS, { checkCrc });
  const output: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of decoder) output.push(chunk as Buffer);
  })();
  reading.catch(() => {}); // awaited below, once every chunk is written
  let calledBack = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  decoder.on('close', () => wake?.());
  for (const chunk of chunks) {
    while (inFlight >= ahead && !decoder.destroyed) await new Promise<void>((resolve) => (wake = resolve));
    if (decoder.destroyed) break;
    inFlight++;
    decoder.write(chunk, () => {
      inFlight--;
      calledBack++;
      wake?.();
    });
  }
  decoder.end();
  await reading;
  return { output: Buffer.concat(output), calledBack };
}

/** A gzip member with the optional header fields set (FEXTRA, FNAME, FCOMMENT, FHCRC). */
function memberWithHeaderFields(data: Buffer): Buffer {
  const plain = gzipSync(data);
  const header = Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3]),
    Buffer.from([5, 0]),
    Buffer.from('extra'),
    Buffer.from('layer.tar\0'),
    Buffer.from('a comment\0'),
  ]);
  const headerCrc = Buffer.alloc(2);
  headerCrc.writeUInt16LE(crc32(header) & 0xffff);
  return Buffer.concat([header, headerCrc, plain.subarray(10)]);
}

describe('GzipDecoder', () => {
  it('inflates one member however its bytes are split', async () => {
    const member = gzipSync(payload);
    for (const size of [13, 4096, 65_536, member.length]) {
      const { output, calledBack } = await decode(split(member, size));
      expect(output.equals(payload), `split into ${size}-byte chunks`).toBe(true);
      expect(calledBack).toBe(Math.ceil(member.length / size));
    }
    const small = Buffer.from('a small layer');
    expect((await decode(split(gzipSync(small), 1))).output.equals(small)).toBe(true);
  });

  it('skips every optional header field', async () => {
    const member = memberWithHeaderFields(payload);
    expect(gzipHeaderLength(member)).toBe(10 + 2 + 5 + 10 + 10 + 2);
    for (let cut = 0; cut < 39; cut++) expect(gzipHeaderLength(member.subarray(0, cut))).toBeUndefined();
    for (const size of [1000, member.length])
      expect((await decode(split(member, size))).output.equals(payload)).toBe(true);
    const small = Buffer.from('a small layer');
    expect((await decode(split(memberWithHeaderFields(small), 3))).output.equals(small)).toBe(true);
  });

  it('reads every member after the first, the boundary anywhere in a chunk', async () => {
    const third = payload.length / 3;
    const members = Buffer.concat([
      gzipSync(payload.subarray(0, third)),
      gzipSync(Buffer.alloc(0)),
      memberWithHeaderFields(payload.subarray(third, 2 * third)),
      gzipSync(payload.subarray(2 * third)),
    ]);
    for (const size of [11, 999, 65_536, members.length])
      expect((await decode(split(members, size))).output.equals(payload), `${size}-byte chunks`).toBe(true);
  });

  it('ignores zero padding after the last member, as gunzip does', async () => {
    const padded = Buffer.concat([gzipSync(payload), Buffer.alloc(4096)]);
    expect((await decode(split(padded, 1000))).output.equals(payload)).toBe(true);
  });

  it('fails on data after the zero padding, wherever the chunks split, as Go’s gzip reader fails it', async () => {
    const one = gzipSync(payload);
    const half = payload.length / 2;
    const two = Buffer.concat([gzipSync(payload.subarray(0, half)), gzipSync(payload.subarray(half))]);
    for (const members of [one, two]) {
      const padded = Buffer.concat([members, Buffer.alloc(600)]);
      for (const garbage of [Buffer.from('garbage'), gzipSync(Buffer.from('another member'))]) {
        const stream = Buffer.concat([padded, garbage]);
        for (const size of [stream.length, 4096, 1000, members.length, padded.length, 7]) {
          await expect(decode(split(stream, size)), `${size}-byte chunks`).rejects.toThrow(
            /^data follows the zero padding after the gzip stream$/,
          );
        }
        expect((await decode(split(padded, 1000))).output.equals(payload)).toBe(true);
      }
    }
  });

  it('tells zero padding from data after it at every split of small streams, the trailer cut anywhere', async () => {
    const data = Buffer.from('hello hello hello world');
    const members = [
      gzipSync(data),
      Buffer.concat([gzipSync(data.subarray(0, 5)), gzipSync(data.subarray(5))]),
    ];
    const zeros = (n: number) => Buffer.alloc(n);
    const tails: [Buffer, boolean][] = [
      [zeros(0), true],
      [zeros(1), true],
      [zeros(12), true],
      [Buffer.from('x'), false],
      [Buffer.concat([zeros(3), Buffer.from('x')]), false],
      [Buffer.concat([zeros(1), gzipSync(Buffer.from('more'))]), false],
      [Buffer.from([0, 0x1f, 0]), false],
    ];
    const wrong: string[] = [];
    for (const [m, head] of members.entries()) {
      for (const [t, [tail, valid]] of tails.entries()) {
        const stream = Buffer.concat([head, tail]);
        for (let cut = 0; cut <= stream.length; cut++) {
          for (const ahead of [1, 3]) {
            const chunks = [stream.subarray(0, cut), stream.subarray(cut)].filter(
              (chunk) => chunk.length > 0,
            );
            const outcome = await decode(chunks, ahead).then(
              ({ output }) => output.equals(data),
              () => false,
            );
            if (outcome !== valid) wrong.push(`members ${m} tail ${t} cut ${cut} ahead ${ahead}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('does not compute the CRC-32 (the digest covers the bytes) but checks the length', async () => {
    const member = gzipSync(payload);
    const wrongCrc = Buffer.from(member);
    wrongCrc.writeUInt32LE(~wrongCrc.readUInt32LE(member.length - 8) >>> 0, member.length - 8);
    expect((await decode(split(wrongCrc, 4096))).output.equals(payload)).toBe(true);

    const wrongLength = Buffer.from(member);
    wrongLength.writeUInt32LE(payload.length + 1, member.length - 4);
    await expect(decode(split(wrongLength, 4096))).rejects.toThrow(/length does not match/);
  });

  it('checks the CRC-32 when asked (a compressed archive, which no digest covers), however the chunks split', async () => {
    const member = gzipSync(payload);
    const wrongCrc = Buffer.from(member);
    wrongCrc.writeUInt32LE(~wrongCrc.readUInt32LE(member.length - 8) >>> 0, member.length - 8);
    for (const size of [1000, 4096, member.length]) {
      await expect(decode(split(wrongCrc, size), 3, true), `${size}-byte chunks`).rejects.toThrow(
        'gzip trailer CRC-32 does not match the inflated data',
      );
      expect((await decode(split(member, size), 3, true)).output.equals(payload)).toBe(true);
    }
    // Members after the first: gunzip checks theirs.
    const both = Buffer.concat([member, wrongCrc]);
    await expect(decode(split(both, 4096), 3, true)).rejects.toThrow(/check/i);
    expect((await decode(split(Buffer.concat([member, member]), 4096), 3, true)).output.length).toBe(
      2 * payload.length,
    );
  });

  it('fails on a stream cut short in the header, the deflate data or the trailer', async () => {
    const member = gzipSync(payload);
    for (const end of [5, 200, member.length - 3, member.length - 8])
      await expect(decode(split(member.subarray(0, end), 1000)), `cut at ${end}`).rejects.toThrow(
        /unexpected end of file/,
      );
  });

  it('fails on what is not gzip: a bad magic, a reserved flag, corrupt deflate data, garbage after a member', async () => {
    await expect(decode([Buffer.from('not gzip at all')])).rejects.toThrow(/incorrect header check/);
    const reserved = gzipSync(payload);
    reserved[3] = 0x20;
    await expect(decode([reserved])).rejects.toThrow(/unknown header flags/);
    const corrupt = gzipSync(payload);
    corrupt.fill(0x55, 20, 200);
    await expect(decode(split(corrupt, 4096))).rejects.toThrow();
    const garbage = Buffer.concat([gzipSync(payload), Buffer.from('trailing garbage')]);
    await expect(decode(split(garbage, 4096))).rejects.toThrow(/incorrect header check/);
  });

  it('stops taking input while nobody reads its output (a small blob that inflates hugely)', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const decoder = new GzipDecoder(OPTIONS);
    let calledBack = false;
    decoder.write(bomb, () => {
      calledBack = true;
    });
    decoder.end();
    await sleep(200);
    expect(calledBack).toBe(false);
    expect(decoder.readableLength).toBeLessThanOrEqual(OPTIONS.chunkSize);
    let inflated = 0;
    for await (const chunk of decoder) inflated += (chunk as Buffer).length;
    expect(calledBack).toBe(true);
    expect(inflated).toBe(64 * 1024 * 1024);
  });

  it('passes an error from destroy() to its reader and refuses later writes', async () => {
    const decoder = new GzipDecoder(OPTIONS);
    decoder.write(gzipSync(payload).subarray(0, 100), () => {});
    const reading = (async () => {
      for await (const _ of decoder);
    })();
    decoder.destroy(new Error('digest mismatch'));
    await expect(reading).rejects.toThrow('digest mismatch');
    const refused = await new Promise((resolve) => decoder.write(Buffer.from('x'), resolve));
    expect(refused).toBeInstanceOf(Error);
  });

  it('reads a raw deflate body that ends exactly where a write does', async () => {
    const header = gzipSync(Buffer.alloc(0)).subarray(0, 10);
    const body = deflateRawSync(payload);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(payload.length, 4);
    const { output } = await decode([header, body, trailer]);
    expect(output.equals(payload)).toBe(true);
  });
});
