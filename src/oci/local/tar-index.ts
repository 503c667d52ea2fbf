import { createReadStream } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { ImgscopeError } from '../../errors.js';
import { exceedsPathMax } from '../path-max.js';
import type { StoredBlob } from '../source.js';
import {
  BLOB_READ_CHUNK,
  extractedMemberPath,
  fileStampOf,
  type LocalFiles,
  missingFile,
  normalizeMemberPath,
  notAFile,
  notAnImage,
  readAt,
  tooLarge,
} from './files.js';
import { decompressCommand, detectCompression } from './magic.js';

/** Where a member's content lies in the archive file. */
export interface TarMember {
  offset: number;
  size: number;
}

const BLOCK = 512;
/** PAX headers and GNU long names are a few hundred bytes; anything far larger is hostile. */
const MAX_METADATA_BYTES = 1024 * 1024;
/** Typeflags whose size field never announces content (links, devices, directories, fifos). */
const NO_CONTENT = new Set(['1', '2', '3', '4', '5', '6']);
const MAX_LINK_HOPS = 16;
/** Header reads start at a few blocks and double, up to this, while each read holds several headers. */
const MIN_HEADER_WINDOW = 4 * 1024;
const MAX_HEADER_WINDOW = 1024 * 1024;

type IndexedEntry =
  | ({ kind: 'file' } & TarMember)
  | { kind: 'hardlink' | 'symlink'; target: string }
  | { kind: 'other'; what: string };

/** Members that are no file, by type flag, so a folder where a file should be is named as such, not "missing". */
const NOT_A_FILE: Record<string, string> = {
  '3': 'a device',
  '4': 'a device',
  '5': 'a directory',
  '6': 'a FIFO',
};

/** The archive's regular files, and what stands at the paths that hold something else. */
export interface TarIndex {
  members: Map<string, TarMember>;
  notFiles: Map<string, string>;
}

function malformed(location: string, what: string): ImgscopeError {
  return new ImgscopeError('MALFORMED', `${location}: ${what}`, {
    hint: 'the archive is damaged or cut short; save the image again',
  });
}

function cString(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end === -1 || end > start + length ? start + length : end);
}

/** Octal ASCII, or GNU base-256 when the high bit of the first byte is set (sizes ≥ 8 GiB). */
function numeric(block: Buffer, start: number, length: number): number | undefined {
  const first = block[start]!;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative: never a valid size
    let value = first & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = cString(block, start, length).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : undefined;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** The header checksum treats its own field as spaces; old tars summed signed bytes. */
function checksumMatches(block: Buffer): boolean {
  const stored = numeric(block, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

function headerPath(block: Buffer): string {
  const name = cString(block, 0, 100);
  // POSIX ustar splits long names into prefix/name; GNU ("ustar ") uses those bytes for other fields.
  const isPosixUstar = block.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = isPosixUstar ? cString(block, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** PAX records: `<length> <key>=<value>\n`, the length counting the whole record. */
function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number.parseInt(data.toString('latin1', at, space), 10);
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > data.length) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const equals = record.indexOf('=');
    if (equals > 0) records[record.slice(0, equals)] = record.slice(equals + 1);
    at += length;
  }
  return records;
}

/**
 * Reads every header of a tar file once — skipping content by offset, never reading it — and returns
 * where each regular file's bytes lie. PAX `path`/`linkpath`/`size` and GNU `././@LongLink` names are
 * honoured; hard and symbolic links resolve to the member they name (docker save links legacy
 * `<id>/layer.tar` to `blobs/sha256/…`). Compressed and non-tar files fail with a one-line BAD_INPUT.
 */
export async function indexTar(file: string, location: string): Promise<TarIndex> {
  const handle = await openArchive(file, location);
  try {
    const { size: fileSize } = await handle.stat();
    const first = await readAt(handle, 0, BLOCK);
    const compression = detectCompression(first);
    if (compression) {
      throw new ImgscopeError(
        'BAD_INPUT',
        `${location} is ${compression}-compressed; imgscope reads tar archives, gzip- or zstd-compressed ones too`,
        {
          hint: `decompress it first: ${decompressCommand(compression, file)}`,
        },
      );
    }
    requireTarStart(first, location);
    return resolveLinks(await readEntries(new HeaderWindow(handle, fileSize), fileSize, location));
  } finally {
    await handle.close();
  }
}

/**
 * The first block of an archive: a save cut short before its first byte, or `tar cf x.tar` of nothing, said
 * as such; of a compressed archive (`decompressed`), what it decompresses to, since the file itself is not empty.
 */
export function requireTarStart(first: Buffer, location: string, decompressed = false): void {
  if (first.length === 0)
    throw notAnImage(location, decompressed ? 'it decompresses to nothing' : 'the file is empty');
  if (first.length === BLOCK && first.every((byte) => byte === 0)) {
    throw notAnImage(location, 'an empty tar archive: no oci-layout or manifest.json inside');
  }
  if (first.length < BLOCK || !checksumMatches(first)) {
    throw notAnImage(
      location,
      decompressed ? 'it decompresses to something other than a tar archive' : 'not a tar archive',
    );
  }
}

/**
 * Where the headers are read from: at offsets of a file, or forward through a decompressed stream (each
 * position asked for is at or past the last one).
 */
export interface HeaderSource {
  /** The header block at `position`; shorter only at the end of the archive. */
  header(position: number): Promise<Buffer>;
  /** Metadata content (PAX records, GNU long names). */
  bytesAt(position: number, length: number): Promise<Buffer>;
  /** Told of each regular file before any later header is read. */
  onFile?(offset: number, size: number): Promise<void>;
}

/** Every member of the archive `headers` reads, with links resolved; `fileSize` is Infinity when unknown. */
export async function indexEntries(
  headers: HeaderSource,
  fileSize: number,
  location: string,
): Promise<TarIndex> {
  return resolveLinks(await readEntries(headers, fileSize, location));
}

export async function openArchive(file: string, location: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ImgscopeError('NOT_FOUND', `${location}: no such file`, {
        hint: 'check the path',
        cause: error,
      });
    }
    throw new ImgscopeError('BAD_INPUT', `${location}: cannot read the archive (${code ?? String(error)})`, {
      hint: 'check the file permissions',
      cause: error,
    });
  }
}

/**
 * Reads headers through a window, so the headers of consecutive small members cost one read rather than
 * one each. The window doubles while each read serves several headers and drops back to a few blocks
 * after a member larger than it: content is skipped, not read, so an archive of large layers costs
 * about a small read per header, and at most one window is held at a time.
 */
class HeaderWindow implements HeaderSource {
  private bytes: Buffer = Buffer.alloc(0);
  private start = 0;
  private size = MIN_HEADER_WINDOW;
  private headersServed = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly fileSize: number,
  ) {}

  /** The header block at `position`; stays valid after later reads (a refill allocates a new window). */
  async header(position: number): Promise<Buffer> {
    if (!this.holds(position, BLOCK)) await this.refill(position);
    this.headersServed++;
    return this.slice(position, BLOCK);
  }

  /** Metadata content (PAX records, GNU long names): from the window when it holds it, else read apart. */
  async bytesAt(position: number, length: number): Promise<Buffer> {
    return this.holds(position, length)
      ? this.slice(position, length)
      : readAt(this.handle, position, length);
  }

  private holds(position: number, length: number): boolean {
    return position >= this.start && position + length <= this.start + this.bytes.length;
  }

  private slice(position: number, length: number): Buffer {
    return this.bytes.subarray(position - this.start, position - this.start + length);
  }

  private async refill(position: number): Promise<void> {
    this.size = this.headersServed > 1 ? Math.min(this.size * 2, MAX_HEADER_WINDOW) : MIN_HEADER_WINDOW;
    this.headersServed = 0;
    this.start = position;
    this.bytes = await readAt(this.handle, position, Math.min(this.size, this.fileSize - position));
  }
}

async function readEntries(
  headers: HeaderSource,
  fileSize: number,
  location: string,
): Promise<Map<string, IndexedEntry>> {
  const entries = new Map<string, IndexedEntry>();
  let pending: { path?: string; linkpath?: string; size?: number } = {};
  let position = 0;
  while (position + BLOCK <= fileSize) {
    const block = await headers.header(position);
    // Only a stream of unknown length ends short: a tar without its end-of-archive blocks, as Go's reads it.
    if (block.length === 0) break;
    if (block.length < BLOCK)
      throw malformed(location, `archive is truncated in the header at byte ${position}`);
    if (isZeroBlock(block)) break;
    if (!checksumMatches(block)) throw malformed(location, `tar header at byte ${position} is corrupt`);
    const type = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
    const declaredSize = numeric(block, 124, 12);
    if (declaredSize === undefined)
      throw malformed(location, `tar header at byte ${position} has no valid size`);
    const size = pending.size ?? declaredSize;
    const contentSize = NO_CONTENT.has(type) ? 0 : size;
    const contentOffset = position + BLOCK;
    if (contentOffset + contentSize > fileSize) {
      const name = pending.path ?? headerPath(block);
      throw malformed(location, `archive is truncated: "${name}" runs past the end of the file`);
    }
    const readMetadata = async (): Promise<Buffer> => {
      if (size > MAX_METADATA_BYTES)
        throw malformed(location, `tar metadata entry of ${size} bytes at ${position}`);
      return headers.bytesAt(contentOffset, size);
    };

    if (type === 'x') {
      const pax = parsePax(await readMetadata());
      if (pax.path !== undefined) pending.path = pax.path;
      if (pax.linkpath !== undefined) pending.linkpath = pax.linkpath;
      if (pax.size !== undefined && /^\d+$/.test(pax.size)) pending.size = Number(pax.size);
    } else if (type === 'L') {
      pending.path = cString(await readMetadata(), 0, size);
    } else if (type === 'K') {
      pending.linkpath = cString(await readMetadata(), 0, size);
    } else if (type !== 'g') {
      const path = extractedMemberPath(pending.path ?? headerPath(block));
      const target = pending.linkpath ?? cString(block, 157, 100);
      // A name or link target past PATH_MAX names nothing docker load could extract, and kept, megabyte
      // names from PAX headers would make the index as large as the archive: such a member is left out.
      const linkTarget = type === '1' ? extractedMemberPath(target) : target;
      if (
        exceedsPathMax(path, 'from-root') ||
        exceedsPathMax(linkTarget, type === '1' ? 'from-root' : 'as-given')
      )
        entries.delete(path);
      else if (type === '0' || type === '7') {
        entries.set(path, { kind: 'file', offset: contentOffset, size });
        await headers.onFile?.(contentOffset, size);
      } else if (type === '1') {
        // `tar -cf x.tar manifest.json *` stores the second copy as a link to itself: the file stays.
        if (linkTarget !== path) entries.set(path, { kind: 'hardlink', target: linkTarget });
      } else if (type === '2') entries.set(path, { kind: 'symlink', target: symlinkTarget(path, target) });
      else if (NOT_A_FILE[type] !== undefined) entries.set(path, { kind: 'other', what: NOT_A_FILE[type] });
      else entries.delete(path);
      pending = {};
    }
    position = contentOffset + Math.ceil(contentSize / BLOCK) * BLOCK;
  }
  return entries;
}

function symlinkTarget(path: string, target: string): string {
  return extractedMemberPath(target.startsWith('/') ? target : posix.join(posix.dirname(path), target));
}

function resolveLinks(entries: Map<string, IndexedEntry>): TarIndex {
  const members = new Map<string, TarMember>();
  const notFiles = new Map<string, string>();
  for (const [path, entry] of entries) {
    let current: IndexedEntry | undefined = entry;
    for (let hops = 0; current && 'target' in current && hops < MAX_LINK_HOPS; hops++) {
      current = entries.get(current.target);
    }
    if (current?.kind === 'file') members.set(path, { offset: current.offset, size: current.size });
    else if (current?.kind === 'other') notFiles.set(path, current.what);
  }
  return { members, notFiles };
}

/** Random access to the members of an uncompressed tar file, indexed once, never extracted. */
export class TarArchiveFiles implements LocalFiles {
  readonly location: string;
  readonly path: string;
  private readonly file: string;
  private readonly members: Map<string, TarMember>;
  private readonly notFiles: Map<string, string>;

  private constructor(file: string, location: string, { members, notFiles }: TarIndex) {
    this.file = file;
    this.path = file;
    this.location = location;
    this.members = members;
    this.notFiles = notFiles;
  }

  static async open(file: string, location: string): Promise<TarArchiveFiles> {
    return new TarArchiveFiles(file, location, await indexTar(file, location));
  }

  /** Normalised paths of every regular file (links included), in archive order. */
  paths(): string[] {
    return [...this.members.keys()];
  }

  async size(path: string): Promise<number | undefined> {
    const member = normalizeMemberPath(path);
    const found = this.notFiles.get(member);
    if (found !== undefined) throw notAFile(this.location, path, found);
    return this.members.get(member)?.size;
  }

  async head(path: string, length: number): Promise<Buffer> {
    const member = this.member(path);
    return this.readRange(member.offset, Math.min(length, member.size));
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    const member = this.member(path);
    if (member.size > maxBytes) throw tooLarge(this.location, path, member.size, maxBytes);
    return this.readRange(member.offset, member.size);
  }

  async open(path: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
    const { offset, size } = this.member(path);
    if (size === 0) return Readable.from([]);
    return createReadStream(this.file, {
      start: offset,
      end: offset + size - 1,
      signal: options.signal,
      highWaterMark: BLOB_READ_CHUNK,
    });
  }

  /** A member's bytes lie in the archive: the archive's own stat stands for them. */
  async locate(path: string): Promise<StoredBlob | undefined> {
    const member = this.members.get(normalizeMemberPath(path));
    if (!member) return undefined;
    const stats = await stat(this.file, { bigint: true }).catch(() => undefined);
    if (!stats?.isFile()) return undefined;
    return {
      file: resolve(this.file),
      offset: member.offset,
      length: member.size,
      stamp: fileStampOf(stats),
    };
  }

  private member(path: string): TarMember {
    const normalized = normalizeMemberPath(path);
    const member = this.members.get(normalized);
    if (member) return member;
    const found = this.notFiles.get(normalized);
    throw found === undefined ? missingFile(this.location, path) : notAFile(this.location, path, found);
  }

  private async readRange(offset: number, length: number): Promise<Buffer> {
    const handle = await openArchive(this.file, this.location);
    try {
      return await readAt(handle, offset, length);
    } finally {
      await handle.close();
    }
  }
}
