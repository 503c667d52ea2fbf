import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { zstd } from './testing.js';
import { type ZstdFrame, ZstdFrameWalker } from './zstd-frames.js';

const MAGIC = [0x28, 0xb5, 0x2f, 0xfd];
const RAW = 0;
const RLE = 1;
const COMPRESSED = 2;

function blockHeader(type: number, size: number, last: boolean): number[] {
  const header = (size << 3) | (type << 1) | (last ? 1 : 0);
  return [header & 0xff, (header >> 8) & 0xff, header >> 16];
}

/** A frame: magic, `header` (descriptor first), then blocks; contents are filler the walker must jump. */
function frame(header: number[], options: { blocks?: 'all-types' | 'one'; checksum?: boolean } = {}): Buffer {
  const blocks =
    options.blocks === 'all-types'
      ? [
          ...blockHeader(RAW, 5, false),
          ...[1, 2, 3, 4, 5],
          ...blockHeader(RLE, 1000, false),
          0x41,
          ...blockHeader(COMPRESSED, 7, false),
          ...[9, 9, 9, 9, 9, 9, 9],
          ...blockHeader(RAW, 0, true),
        ]
      : [...blockHeader(RAW, 3, true), 0x61, 0x62, 0x63];
  const checksum = options.checksum ? [0xde, 0xad, 0xbe, 0xef] : [];
  return Buffer.from([...MAGIC, ...header, ...blocks, ...checksum]);
}

function skippable(size: number, variant = 0): Buffer {
  const bytes = Buffer.alloc(8 + size, 0xaa);
  bytes.writeUInt32LE(0x184d2a50 + variant, 0);
  bytes.writeUInt32LE(size, 4);
  return bytes;
}

function walk(...chunks: Uint8Array[]): ZstdFrame[] {
  const frames: ZstdFrame[] = [];
  const walker = new ZstdFrameWalker((found) => frames.push(found));
  for (const chunk of chunks) walker.push(chunk);
  return frames;
}

/** Frames whose headers have every optional field, each with the window and content size it declares. */
const headers: [number[], number, number?][] = [
  [[0x00, 0x00], 1024], // window descriptor only: the smallest window
  [[0x04, 0x58], 2 * 1024 * 1024], // with a checksum
  [[0x00, 0xa7], 1024 ** 3 + 7 * 128 * 1024 ** 2], // 1.875 GiB
  [[0x81, 0x50, 0x07, 0x10, 0x27, 0x00, 0x00], 1024 ** 2, 10_000], // 1-byte dictionary id, 4-byte content size
  [[0x20, 200], 200, 200], // single segment: the content size (1 byte) is the window
  [[0x60, 0x00, 0x01], 256 + 256, 256 + 256], // 2-byte content size, stored minus 256
  [[0xa3, 1, 2, 3, 4, 0x00, 0x00, 0x00, 0x08], 128 * 1024 ** 2, 128 * 1024 ** 2], // 4-byte dictionary id, 4-byte size
  [[0xe0, 0, 0, 0, 0, 2, 0, 0, 0], 2 ** 33, 2 ** 33], // 8-byte content size
];

const parts = headers.map(([header], index) =>
  frame(header, { blocks: index % 2 ? 'all-types' : 'one', checksum: (header[0]! & 4) !== 0 }),
);
const stream = Buffer.concat(parts);

function expectedFrames(parts: Buffer[]): ZstdFrame[] {
  const frames: ZstdFrame[] = [];
  let offset = 0;
  for (const part of parts) {
    if (part.readUInt32LE(0) === 0xfd2fb528) frames.push({ offset, window: 0, contentSize: undefined });
    offset += part.length;
  }
  return frames;
}

describe('ZstdFrameWalker', () => {
  it('reports the window and content size of every frame, whatever optional header fields and blocks it has', () => {
    const offsets = expectedFrames(parts).map(({ offset }) => offset);
    expect(walk(stream)).toStrictEqual(
      headers.map(([, window, contentSize], index) => ({ offset: offsets[index], window, contentSize })),
    );
  });

  it('gives the same frames however the stream is split', () => {
    const whole = walk(stream);
    for (let at = 0; at <= stream.length; at++)
      expect(walk(stream.subarray(0, at), stream.subarray(at))).toEqual(whole);
    const bytes = Array.from(stream, (byte) => Uint8Array.of(byte));
    expect(walk(...bytes)).toEqual(whole);
  });

  it('reports a frame as soon as its header is complete, before any of its blocks', () => {
    const frames: ZstdFrame[] = [];
    const walker = new ZstdFrameWalker((found) => frames.push(found));
    const first = frame([0x00, 0x00], { blocks: 'all-types' });
    walker.push(Buffer.concat([first, Buffer.from([...MAGIC, 0x00])]));
    expect(frames).toHaveLength(1);
    walker.push(Uint8Array.of(0xa7));
    expect(frames).toEqual([
      { offset: 0, window: 1024 },
      { offset: first.length, window: 1024 ** 3 + 7 * 128 * 1024 ** 2 },
    ]);
  });

  it('passes over skippable frames first, in the middle and last, with any of their 16 magic numbers', () => {
    const a = frame([0x00, 0x50], { blocks: 'all-types' });
    const b = frame([0x04, 0x58], { checksum: true });
    const parts = [skippable(4), a, skippable(0, 0xf), skippable(70_000, 7), b, skippable(10, 3)];
    const bytes = Buffer.concat(parts);
    const windows = [1024 ** 2, 2 * 1024 ** 2];
    const expected = expectedFrames(parts).map((found, index) => ({ ...found, window: windows[index] }));
    expect(walk(bytes)).toEqual(expected);
    for (let at = 0; at <= 40; at++)
      expect(walk(bytes.subarray(0, at), bytes.subarray(at))).toEqual(expected);
  });

  it('follows real zstd output: checksums, several frames, a --long window', () => {
    const payload = Buffer.from('imgscope '.repeat(100_000));
    const long = execFileSync('zstd', ['-q', '-c', '--long=30'], { input: payload });
    const parts = [zstd(payload), skippable(12), zstd(payload.subarray(0, 1000), 19), long];
    const frames = walk(Buffer.concat(parts));
    expect(frames.map(({ offset }) => offset)).toEqual(expectedFrames(parts).map(({ offset }) => offset));
    expect(frames.at(-1)!.window).toBe(1024 ** 3);
    expect(frames.slice(0, -1).every(({ window }) => window <= 8 * 1024 ** 2)).toBe(true);
  });

  it('stops at the header of a frame its callback refuses, not the frames before it', () => {
    const small = frame([0x00, 0x00], { blocks: 'all-types' });
    const big = frame([0x00, 0xa7]);
    const seen: ZstdFrame[] = [];
    const walker = new ZstdFrameWalker((found) => {
      seen.push(found);
      if (found.window > 128 * 1024 ** 2) throw new Error(`window ${found.window} at ${found.offset}`);
    });
    expect(() => walker.push(Buffer.concat([small, big]))).toThrow(`window 2013265920 at ${small.length}`);
    expect(seen.map(({ offset }) => offset)).toEqual([0, small.length]);
  });

  it('throws on framing no decoder accepts, naming the byte', () => {
    const good = frame([0x00, 0x00]);
    expect(() => walk(Buffer.from('not zstd at all'))).toThrow(
      /invalid zstd data \(no frame magic at byte 0\)/,
    );
    expect(() => walk(good, Buffer.alloc(8))).toThrow(`no frame magic at byte ${good.length}`);
    expect(() => walk(good, Buffer.from([...MAGIC, 0x08, 0x00]))).toThrow(
      `reserved bit set in the frame header at byte ${good.length + 4}`,
    );
    expect(() => walk(Buffer.from([...MAGIC, 0x00, 0x00, ...blockHeader(3, 0, true)]))).toThrow(
      'reserved block type at byte 6',
    );
  });
});
