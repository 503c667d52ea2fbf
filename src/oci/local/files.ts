import { type BigIntStats, constants, createReadStream, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { ImgscopeError } from '../../errors.js';
import type { FileStamp, StoredBlob } from '../source.js';
import { shellQuoted } from './magic.js';

/**
 * Blobs are read in 1 MiB chunks rather than the default 64 KiB: every stage after the read (the verifier,
 * the decoder on another thread, the tar parser) pays per chunk.
 */
export const BLOB_READ_CHUNK = 1024 * 1024;

/**
 * Read-only access to the named files of an image on disk — a directory or a tar archive — so the OCI
 * layout and docker-archive readers need not know which. Paths are relative, `/`-separated and normalised
 * with `normalizeMemberPath`.
 */
export interface LocalFiles {
  /** What the user named (`oci-archive:image.tar`), for messages. */
  readonly location: string;
  /** The file or folder as the user named it (`image.tar`), for the commands hints give. */
  readonly path: string;
  /** How the archive is compressed, when it is. */
  readonly compression?: 'gzip' | 'zstd';
  /** Size in bytes of a regular file, or undefined when there is none at `path`. */
  size(path: string): Promise<number | undefined>;
  /** Up to `length` bytes from the start of a file (for magic-byte sniffing). */
  head(path: string, length: number): Promise<Buffer>;
  /** A whole small file; refuses files larger than `maxBytes`. */
  read(path: string, maxBytes: number): Promise<Buffer>;
  /** The file's bytes as a stream, unverified: callers wrap it (see `openVerifiedBlob`). */
  open(path: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** Where a regular file's bytes lie and the stat of what holds them; undefined when there is none. */
  locate(path: string): Promise<StoredBlob | undefined>;
  /** Releases what reading holds open between reads (a compressed archive's paused decompressors). */
  close?(): Promise<void>;
}

export function fileStampOf(stats: BigIntStats): FileStamp {
  const { dev, ino, size, mtimeNs, ctimeNs } = stats;
  return { dev, ino, size, mtimeNs, ctimeNs };
}

/** `./a//b/` and `/a/b` → `a/b`; `..` that would leave the root is kept so lookups of it fail. */
export function normalizeMemberPath(path: string): string {
  const normalized = posix.normalize(path.replace(/^\/+/, ''));
  return normalized === '.' ? '' : normalized.replace(/\/+$/, '');
}

/**
 * An archive member's name (or a link's target) as `docker load` extracts it, chrooted into its folder:
 * `..` cannot climb above the root, so `../x` is `x`, as `/x` is. What refers to members (a manifest's
 * paths) keeps its `..` (`normalizeMemberPath`): docker load refuses a path that leaves its folder.
 */
export function extractedMemberPath(name: string): string {
  return normalizeMemberPath(posix.normalize(`/${name}`));
}

export function missingFile(location: string, path: string): ImgscopeError {
  return new ImgscopeError('NOT_FOUND', `${location}: "${path}" is missing`, {
    hint: 'the image is incomplete; save or copy it again',
  });
}

/** What stands where a file should be (a folder, a FIFO), so the message says what was found rather than "missing". */
function kindOf(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isSocket()) return 'a socket';
  return 'a device';
}

export function notAFile(location: string, path: string, found: Stats | string): ImgscopeError {
  const what = typeof found === 'string' ? found : kindOf(found);
  return new ImgscopeError('BAD_INPUT', `${location}: "${path}" is ${what}, not a file`, {
    hint: 'the image is damaged: remove it and save or copy the image again',
  });
}

export function tooLarge(location: string, path: string, size: number, maxBytes: number): ImgscopeError {
  return new ImgscopeError(
    'LIMIT',
    `${location}: "${path}" is ${size} bytes, over the ${maxBytes}-byte limit`,
    {
      hint: 'image metadata files are a few KiB; this is not an image',
    },
  );
}

/** Reads exactly `length` bytes at `position`, or fewer at the end of the file. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** The files of an image directory (an OCI layout, or an extracted `docker save`). */
export class DirectoryFiles implements LocalFiles {
  readonly location: string;
  readonly path: string;
  private readonly root: string;

  constructor(root: string, location: string) {
    this.root = resolve(root);
    this.location = location;
    this.path = root;
  }

  async size(path: string): Promise<number | undefined> {
    const full = this.resolve(path);
    if (!full) return undefined;
    try {
      const info = await stat(full);
      if (info.isFile()) return info.size;
      throw notAFile(this.location, path, info);
    } catch (error) {
      if (error instanceof ImgscopeError) throw error;
      // Only absence is "none": a folder on the way that cannot be searched (EACCES) is not a missing blob.
      if (isAbsent(error)) return undefined;
      throw this.unreadable(path, error);
    }
  }

  async head(path: string, length: number): Promise<Buffer> {
    const handle = await this.openHandle(path);
    try {
      return await readAt(handle, 0, length);
    } finally {
      await handle.close();
    }
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    const handle = await this.openHandle(path);
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) throw tooLarge(this.location, path, size, maxBytes);
      return await readAt(handle, 0, size);
    } finally {
      await handle.close();
    }
  }

  async open(path: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const handle = await this.openHandle(path);
    return createReadStream('', { fd: handle, signal: options.signal, highWaterMark: BLOB_READ_CHUNK });
  }

  async locate(path: string): Promise<StoredBlob | undefined> {
    const full = this.resolve(path);
    if (!full) return undefined;
    const stats = await stat(full, { bigint: true }).catch(() => undefined);
    if (!stats?.isFile()) return undefined;
    return { file: full, offset: 0, length: Number(stats.size), stamp: fileStampOf(stats) };
  }

  /** The absolute path of a member, or undefined when it would escape the directory. */
  private resolve(path: string): string | undefined {
    const member = normalizeMemberPath(path);
    if (member === '' || member === '..' || member.startsWith('../')) return undefined;
    return resolve(this.root, member);
  }

  private async openHandle(path: string): Promise<FileHandle> {
    const full = this.resolve(path);
    if (!full) throw missingFile(this.location, path);
    let handle: FileHandle;
    try {
      // Non-blocking, so a FIFO opens at once (and is then refused as not a file) rather than waiting forever for a writer.
      handle = await open(full, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    } catch (error) {
      if (isAbsent(error)) throw missingFile(this.location, path);
      throw this.unreadable(path, error);
    }
    const info = await handle.stat().catch(() => undefined);
    if (info?.isFile()) return handle;
    await handle.close();
    throw info ? notAFile(this.location, path, info) : missingFile(this.location, path);
  }

  private unreadable(path: string, error: unknown): ImgscopeError {
    const code = (error as NodeJS.ErrnoException).code;
    return new ImgscopeError(
      'BAD_INPUT',
      `${this.location}: cannot read "${path}" (${code ?? String(error)})`,
      {
        hint:
          code === 'ELOOP'
            ? 'a symbolic link on the way leads back to itself; copy the image again'
            : 'check the permissions of the image files',
        cause: error,
      },
    );
  }
}

function isAbsent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The one-line answer to "this path holds no image", saying what would have been read. */
export function notAnImage(location: string, why: string): ImgscopeError {
  return new ImgscopeError(
    'BAD_INPUT',
    `${location} is not an image (${why}); imgscope reads OCI layout directories, OCI archives and docker save or kaniko tarballs`,
    { hint: 'save the image with `docker save -o image.tar NAME` or `skopeo copy … oci-archive:image.tar`' },
  );
}

type SavedFormat = 'docker-archive' | 'oci-archive' | 'oci';

/**
 * How `files` is saved again, naming it as the user did so the command can be pasted: docker writes
 * docker-archives (and OCI archives since Docker 25), skopeo layouts; a compressed archive is docker's
 * output piped through its compressor, as no saving tool compresses. The `:REF` typed (not a position
 * `@N`, which no tool writes at) stays: the image name for docker, the layout's ref name for skopeo.
 */
function saveAgain(files: LocalFiles, format: SavedFormat, ref: string | undefined): string {
  const { path, compression } = files;
  const named = ref !== undefined && !ref.startsWith('@');
  const image = named && format === 'docker-archive' ? shellQuoted(ref) : 'NAME';
  if (compression) return `docker save ${image} | ${compression} > ${shellQuoted(path)}`;
  // An extracted save: `docker save -o` would write a file where the folder is.
  if (format === 'docker-archive' && files instanceof DirectoryFiles)
    return `docker save ${image} | tar -x -C ${shellQuoted(path)}`;
  const save = `docker save -o ${shellQuoted(path)} ${image}`;
  if (format === 'docker-archive') return save;
  const target = `${format}:${path}${named ? `:${ref}` : ''}`;
  if (format === 'oci-archive') return `skopeo copy … ${shellQuoted(target)}, or ${save}`;
  return `skopeo copy … ${shellQuoted(target)}`;
}

/**
 * An archive or layout whose list of images (`manifest.json` of a docker save, `index.json` of a layout)
 * is empty: one answer in every format.
 */
export function holdsNoImage(files: LocalFiles, format: SavedFormat, ref: string | undefined): ImgscopeError {
  const list = format === 'docker-archive' ? 'manifest.json' : 'index.json';
  return new ImgscopeError('BAD_INPUT', `${files.location} holds no image: its ${list} lists none`, {
    hint: `save the image into it again: ${saveAgain(files, format, ref)}`,
  });
}
