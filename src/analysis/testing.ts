/**
 * Test support for the analysis: layers built in memory (tar-stream's packer, raw headers for what it
 * cannot write, gzip from node:zlib, zstd from the `zstd` CLI) and an in-memory ImageSource whose blobs
 * are verified like every real source's.
 */
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar, { type Header } from 'tar-stream';
import { type Digest, sha256Digest, VerifyingStream } from '../oci/digest.js';
import { MediaType } from '../oci/media-types.js';
import type { ImageSource } from '../oci/source.js';
import type { Descriptor, HistoryEntry, ImageConfig } from '../oci/types.js';

export interface EntrySpec {
  name: string;
  type?: Header['type'];
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  pax?: Record<string, string>;
}

/** A tar archive of the entries, in order (directories get mode 0755 and files 0644 unless given). */
export async function tarOf(entries: readonly (EntrySpec | string)[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const spec of entries) {
    const entry = typeof spec === 'string' ? specOf(spec) : spec;
    const type = entry.type ?? (entry.name.endsWith('/') ? 'directory' : 'file');
    const content = entry.content ?? '';
    const header = {
      name: entry.name,
      type,
      mode: entry.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: new Date(0),
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
      ...(entry.pax === undefined ? {} : { pax: entry.pax }),
    };
    await new Promise<void>((resolve, reject) => {
      if (type === 'file' || type === 'contiguous-file')
        pack.entry(header, content, (error) => (error ? reject(error) : resolve()));
      else pack.entry({ ...header, size: 0 }, (error) => (error ? reject(error) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** `name` or `name:SIZE` (a file of SIZE bytes of 'x'); a trailing `/` makes a directory. */
function specOf(spec: string): EntrySpec {
  const match = /^(.*):(\d+)$/.exec(spec);
  if (!match) return { name: spec };
  return { name: match[1]!, content: Buffer.alloc(Number(match[2]), 'x') };
}

/**
 * One raw 512-byte tar header (ustar or GNU magic), for names tar-stream's packer will not write: GNU
 * long-name records, bytes that are not UTF-8. Content follows, padded to 512.
 */
export function rawEntry(options: {
  name: Buffer | string;
  typeflag: string;
  content?: Buffer;
  linkname?: string;
  gnu?: boolean;
}): Buffer {
  const header = Buffer.alloc(512);
  const name = Buffer.isBuffer(options.name) ? options.name : Buffer.from(options.name);
  name.copy(header, 0, 0, Math.min(100, name.length));
  const content = options.content ?? Buffer.alloc(0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write(options.typeflag, 156);
  if (options.linkname) header.write(options.linkname, 157);
  if (options.gnu) header.write('ustar  \0', 257, 'latin1');
  else header.write('ustar\u000000', 257, 'latin1');
  header.write('        ', 148);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding]);
}

/** GNU long name ('L') or long link ('K') record preceding the entry it names. */
export function gnuLong(kind: 'L' | 'K', value: string): Buffer {
  return rawEntry({ name: '././@LongLink', typeflag: kind, content: Buffer.from(`${value}\0`), gnu: true });
}

export const END_OF_ARCHIVE = Buffer.alloc(1024);

export function gzip(data: Buffer): Buffer {
  return gzipSync(data);
}

/** zstd from the CLI (a Debian package CI installs): no JavaScript zstd encoder is available. */
export function zstd(data: Buffer, level = 3): Buffer {
  return execFileSync('zstd', ['-q', '-c', `-${level}`], { input: data, maxBuffer: 1 << 30 });
}

export interface FakeImageOptions {
  history?: HistoryEntry[];
  /** Blob bytes served per chunk. */
  chunkSize?: number;
  /** Serve these bytes for layer N instead of the ones its descriptor promises. */
  tamper?: Map<number, Buffer>;
  /** Layer N's blob opens at once but sends its first byte only once this promise settles. */
  hold?: Map<number, Promise<void>>;
  reference?: string;
  /** The config's rootfs.diff_ids (default none: nothing to compare the layers with). */
  diffIds?: readonly Digest[];
}

export interface FakeImage extends ImageSource {
  /** Every blob stream handed out, in order of opening. */
  readonly opened: Readable[];
  /** Most blob streams open at once. */
  readonly maxOpen: number;
}

/** An in-memory image whose layers are the given blobs; openBlob verifies digest and size. */
export function fakeImage(blobs: readonly Buffer[], options: FakeImageOptions = {}): FakeImage {
  const layers: Descriptor[] = blobs.map((blob) => ({
    mediaType: MediaType.OciLayerGzip,
    digest: sha256Digest(blob),
    size: blob.length,
  }));
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [...(options.diffIds ?? [])] },
    ...(options.history ? { history: options.history } : {}),
  };
  const rawConfig = Buffer.from(JSON.stringify(config));
  const configDescriptor: Descriptor = {
    mediaType: MediaType.OciConfig,
    digest: sha256Digest(rawConfig),
    size: rawConfig.length,
  };
  const manifest = {
    schemaVersion: 2 as const,
    mediaType: MediaType.OciManifest,
    config: configDescriptor,
    layers,
  };
  const rawManifest = Buffer.from(JSON.stringify(manifest));
  const opened: Readable[] = [];
  let open = 0;
  let maxOpen = 0;
  const chunkSize = options.chunkSize ?? 64 * 1024;
  return {
    reference: options.reference ?? 'fake:image',
    kind: 'oci-layout',
    digest: sha256Digest(rawManifest),
    mediaType: MediaType.OciManifest,
    schema: 'oci-v1',
    platform: { os: 'linux', architecture: 'amd64' },
    index: undefined,
    manifest,
    rawManifest,
    config,
    configDescriptor,
    layers,
    opened,
    get maxOpen() {
      return maxOpen;
    },
    async openBlob(descriptor: Descriptor, openOptions?: { signal?: AbortSignal }): Promise<Readable> {
      openOptions?.signal?.throwIfAborted();
      const index = layers.indexOf(descriptor);
      if (index < 0) throw new Error(`unknown blob ${descriptor.digest}`);
      const bytes = options.tamper?.get(index) ?? blobs[index]!;
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < bytes.length; offset += chunkSize)
        chunks.push(bytes.subarray(offset, offset + chunkSize));
      const verified = Readable.from(afterHold(options.hold?.get(index), chunks), { objectMode: false }).pipe(
        new VerifyingStream({
          digest: descriptor.digest,
          size: descriptor.size,
          label: `blob ${descriptor.digest}`,
        }),
      );
      open++;
      maxOpen = Math.max(maxOpen, open);
      verified.once('close', () => open--);
      opened.push(verified);
      return verified;
    },
    async close() {},
  };
}

async function* afterHold(hold: Promise<void> | undefined, chunks: Buffer[]): AsyncGenerator<Buffer> {
  await hold;
  yield* chunks;
}
