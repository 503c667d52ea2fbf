import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import type { Digest } from '../../src/oci/digest.js';

/**
 * A byte-level ustar writer for hostile layers: raw (non-UTF-8) names, `..` and absolute names, device
 * files, links to nowhere, duplicate entries, and streamed generators for the million-entry layer and the
 * gzip bomb. tar-stream validates what it writes; these tests need what it would refuse.
 */

const BLOCK = 512;
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

const TYPEFLAG = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'char-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
} as const;

export interface RawEntry {
  /** Up to 100 bytes, written as given: a Buffer may hold any bytes. */
  name: string | Buffer;
  type?: keyof typeof TYPEFLAG;
  content?: Buffer | string;
  /** Declared size when there is no content (a header that promises bytes it never carries). */
  size?: number;
  linkname?: string | Buffer;
  devmajor?: number;
  devminor?: number;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function writeField(block: Buffer, value: string | Buffer, offset: number, width: number): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.length > width) throw new Error(`tar field of ${bytes.length} bytes does not fit in ${width}`);
  bytes.copy(block, offset);
}

export function tarHeader(entry: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const type = entry.type ?? 'file';
  writeField(block, entry.name, 0, 100);
  writeField(block, octal(type === 'directory' ? 0o755 : 0o644, 8), 100, 8);
  writeField(block, octal(0, 8), 108, 8);
  writeField(block, octal(0, 8), 116, 8);
  writeField(block, octal(size, 12), 124, 12);
  writeField(block, octal(0, 12), 136, 12);
  block.write(TYPEFLAG[type], 156, 'latin1');
  if (entry.linkname !== undefined) writeField(block, entry.linkname, 157, 100);
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  writeField(block, octal(entry.devmajor ?? 0, 8), 329, 8);
  writeField(block, octal(entry.devminor ?? 0, 8), 337, 8);
  return withChecksum(block);
}

function withChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** A whole uncompressed tar of the entries, in order (duplicates and all). */
export function tarArchive(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content === undefined ? undefined : Buffer.from(entry.content);
    const size = content?.length ?? entry.size ?? 0;
    parts.push(tarHeader(entry, size));
    if (content) parts.push(content, padding(content.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** `d0000/f0000000` …: `count` empty files, 1024 to a directory, as header blocks in batches. */
function* tinyEntryBlocks(count: number): Generator<Buffer> {
  const template = tarHeader({ name: '' }, 0);
  template.fill(0x20, 148, 156);
  let templateSum = 0;
  for (let i = 0; i < BLOCK; i++) templateSum += template[i]!;
  const batch = 4096;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const out = Buffer.alloc(n * BLOCK);
    for (let k = 0; k < n; k++) {
      const i = start + k;
      const at = k * BLOCK;
      template.copy(out, at);
      const name = `d${String(i >> 10).padStart(4, '0')}/f${String(i).padStart(7, '0')}`;
      const length = out.write(name, at, 'latin1');
      let sum = templateSum;
      for (let j = 0; j < length; j++) sum += out[at + j]!;
      out.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1');
    }
    yield out;
  }
  yield END_OF_ARCHIVE;
}

/** A layer made here already compressed, with what its config must say of the tar. */
export interface GeneratedLayer {
  gzip: Buffer;
  tarBytes: number;
  diffId: Digest;
}

/** The gzip of a tar of `count` empty files, generated as a stream (about 7.6 bytes per entry). */
export async function gzippedTinyEntries(count: number): Promise<GeneratedLayer> {
  const chunks: Buffer[] = [];
  const tar = createHash('sha256');
  const blocks = function* () {
    for (const block of tinyEntryBlocks(count)) {
      tar.update(block);
      yield block;
    }
  };
  const gzip = Readable.from(blocks()).pipe(createGzip({ level: 1 }));
  for await (const chunk of gzip as AsyncIterable<Buffer>) chunks.push(chunk);
  return {
    gzip: Buffer.concat(chunks),
    tarBytes: (count + 2) * BLOCK,
    diffId: `sha256:${tar.digest('hex')}`,
  };
}

/**
 * A gzip bomb: one file of `bytes` zero bytes (a multiple of 16 MiB) in a tar, about 1/1000 of that when
 * compressed. Built as concatenated gzip members (legal; estargz does the same) so it costs milliseconds.
 */
export function gzipBomb(bytes: number): GeneratedLayer {
  const piece = 16 * 1024 * 1024;
  if (bytes % piece !== 0) throw new Error('gzipBomb: size must be a multiple of 16 MiB');
  const zeroPiece = Buffer.alloc(piece);
  const zeros = gzipSync(zeroPiece, { level: 9 });
  const header = tarHeader({ name: 'zeros.bin' }, bytes);
  const tar = createHash('sha256').update(header);
  const members = [gzipSync(header)];
  for (let i = 0; i < bytes / piece; i++) {
    members.push(zeros);
    tar.update(zeroPiece);
  }
  members.push(gzipSync(END_OF_ARCHIVE));
  tar.update(END_OF_ARCHIVE);
  return {
    gzip: Buffer.concat(members),
    tarBytes: BLOCK + bytes + END_OF_ARCHIVE.length,
    diffId: `sha256:${tar.digest('hex')}`,
  };
}
