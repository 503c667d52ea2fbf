import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { type Header, pack as tarPack } from 'tar-stream';

/**
 * Builds small, real image files for tests: tar archives (tar-stream), OCI layouts and docker-save
 * archives, written under os.tmpdir(). Tests may write temp files; the product never does.
 */

export type Digest = `sha256:${string}`;

export interface StoredBlob {
  digest: Digest;
  size: number;
  bytes: Buffer;
}

export function blobOf(content: Buffer | string | object): StoredBlob {
  const bytes = Buffer.isBuffer(content)
    ? content
    : Buffer.from(typeof content === 'string' ? content : JSON.stringify(content));
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, bytes };
}

export function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

export type TarEntry =
  | { name: string; content: Buffer | string }
  | { name: string; type: 'symlink' | 'link'; linkname: string }
  | { name: string; type: 'directory' };

function tarHeader(entry: TarEntry): Partial<Header> & { name: string } {
  const mtime = new Date(0);
  if ('content' in entry) return { name: entry.name, type: 'file', mtime, mode: 0o644 };
  if (entry.type === 'directory') return { name: entry.name, type: 'directory', mtime, mode: 0o755 };
  return { name: entry.name, type: entry.type, linkname: entry.linkname, mtime, mode: 0o777 };
}

async function packTo(entries: TarEntry[], sink: NodeJS.WritableStream): Promise<void> {
  const pack = tarPack();
  const done = pipeline(pack, sink);
  for (const entry of entries) {
    const content = 'content' in entry ? entry.content : undefined;
    await new Promise<void>((resolve, reject) =>
      pack.entry(tarHeader(entry), content ?? '', (error) => (error ? reject(error) : resolve())),
    );
  }
  pack.finalize();
  await done;
}

export async function writeTar(file: string, entries: TarEntry[]): Promise<void> {
  await packTo(entries, createWriteStream(file));
}

/** An uncompressed layer tar holding the given files. */
export async function tarBytes(entries: TarEntry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await packTo(
    entries,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(chunks);
}

/** The files of an image, by relative path, written as a directory or as one tar archive. */
export class ImageFiles {
  readonly files = new Map<string, Buffer | { symlink: string }>();

  add(path: string, content: Buffer | string | object): this {
    this.files.set(path, blobOf(content).bytes);
    return this;
  }

  symlink(path: string, target: string): this {
    this.files.set(path, { symlink: target });
    return this;
  }

  /** Stores a blob under blobs/sha256/<hex> and returns its descriptor. */
  blob(
    content: Buffer | string | object,
    mediaType: string,
  ): { mediaType: string; digest: Digest; size: number } {
    const stored = blobOf(content);
    this.files.set(`blobs/sha256/${hexOf(stored.digest)}`, stored.bytes);
    return { mediaType, digest: stored.digest, size: stored.size };
  }

  entries(): TarEntry[] {
    return [...this.files].map(([name, value]) =>
      Buffer.isBuffer(value) ? { name, content: value } : { name, type: 'symlink', linkname: value.symlink },
    );
  }

  async writeTar(file: string): Promise<string> {
    await writeTar(file, this.entries());
    return file;
  }

  async writeDirectory(root: string): Promise<string> {
    for (const [path, value] of this.files) {
      if (!Buffer.isBuffer(value)) throw new Error('symlinks are only written into archives');
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), value);
    }
    return root;
  }
}

/** A fresh temp folder and its removal, for beforeAll/afterAll. */
export async function makeTempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `imgscope-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export const OCI = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** A real gzip layer holding one text file, and its diff id. */
export async function gzipLayer(name: string, text: string): Promise<{ bytes: Buffer; diffId: Digest }> {
  const tarred = await tarBytes([{ name, content: text }]);
  return { bytes: gzipSync(tarred), diffId: blobOf(tarred).digest };
}

/** Adds a one-layer OCI image for a platform to the files; returns its manifest descriptor (with platform). */
export async function addOciImage(
  files: ImageFiles,
  platform: { os: string; architecture: string; variant?: string },
): Promise<Descriptor & { layer: Descriptor; config: Descriptor }> {
  const layerData = await gzipLayer('etc/platform', `${platform.architecture}\n`);
  const layer = files.blob(layerData.bytes, OCI.layerGzip);
  const config = files.blob(
    {
      ...platform,
      rootfs: { type: 'layers', diff_ids: [layerData.diffId] },
      history: [{ created_by: 'COPY platform' }],
    },
    OCI.config,
  );
  const manifest = files.blob(
    { schemaVersion: 2, mediaType: OCI.manifest, config, layers: [layer] },
    OCI.manifest,
  );
  return { ...manifest, platform, layer, config };
}

/** index.json (and oci-layout) listing the given descriptors. */
export function setLayoutIndex(files: ImageFiles, manifests: Descriptor[]): ImageFiles {
  files.add('oci-layout', { imageLayoutVersion: '1.0.0' });
  files.add('index.json', { schemaVersion: 2, mediaType: OCI.index, manifests });
  return files;
}
