/**
 * A streaming tar header parser: chunks in, one callback per entry out. File contents are skipped by
 * counting, never copied; a header is parsed in place unless it straddles two chunks. Reads ustar (with
 * its name prefix), GNU (`L`/`K` long names, base-256 numbers) and PAX (`path`, `linkpath`, `size`,
 * `uid`, `gid`, and the name and real size of GNU sparse files); global PAX headers are skipped, as Go's
 * archive/tar (which wrote most layers, and with which Docker and containerd unpack them) leaves them to
 * the caller. Its rules are Go's reader's: links, devices, directories and fifos carry no data whatever
 * their size field says; two zero blocks end the archive; GNU long names win over PAX paths, and empty
 * PAX values are ignored.
 *
 * The entry handed to the callback is one mutable object reused for every entry, and its name and link
 * are byte ranges that stay valid only during the call: nothing is allocated per entry unless it has
 * extended headers.
 */

import { truncate } from '../report/format.js';
import { TypeCode } from './layer-items.js';

const BLOCK = 512;
/** Extended headers (PAX records, GNU long names) larger than this are refused, as tar-stream did. */
export const MAX_EXTENDED_HEADER = 1024 * 1024;

const NAME = 0;
const NAME_LENGTH = 100;
const MODE = 100;
const UID = 108;
const GID = 116;
const SIZE = 124;
const CHECKSUM = 148;
const TYPEFLAG = 156;
const LINKNAME = 157;
const MAGIC = 257;
const PREFIX = 345;
const PREFIX_LENGTH = 155;
/** Sum of a header whose bytes are all zero, its checksum field counted as spaces. */
const ZERO_BLOCK_SUM = 8 * 0x20;

const SLASH = 0x2f;
const FLAG_PAX = 0x78; // 'x'
const FLAG_PAX_GLOBAL = 0x67; // 'g'
const FLAG_GNU_LONG_NAME = 0x4c; // 'L'
const FLAG_GNU_LONG_LINK = 0x4b; // 'K'
const FLAG_GNU_OLD_LONG_NAME = 0x4e; // 'N', read as 'L' like tar-stream did

/** One entry, as the callback sees it. Reused: copy out what outlives the call. */
export interface TarEntry {
  /** A TypeCode (unknown type flags, contiguous and sparse files read as files). */
  type: number;
  mode: number;
  uid: number;
  gid: number;
  /**
   * The header's size (PAX `size` if given; for a PAX GNU sparse file, its real size): what dive counts and
   * Docker unpacks. Not always the bytes stored in the archive.
   */
  size: number;
  /** Name bytes are `name[nameStart, nameEnd)`, as stored (not normalised). */
  name: Buffer;
  nameStart: number;
  nameEnd: number;
  /** Link target bytes `link[linkStart, linkEnd)`; empty when there is none. */
  link: Buffer;
  linkStart: number;
  linkEnd: number;
}

export class TarParser {
  private readonly entry: TarEntry = {
    type: TypeCode.file,
    mode: 0,
    uid: 0,
    gid: 0,
    size: 0,
    name: Buffer.alloc(0),
    nameStart: 0,
    nameEnd: 0,
    link: Buffer.alloc(0),
    linkStart: 0,
    linkEnd: 0,
  };
  /** A header that straddles chunks is gathered here. */
  private readonly pending = Buffer.alloc(BLOCK);
  private readonly pendingView = new DataView(this.pending.buffer, this.pending.byteOffset, BLOCK);
  private pendingLength = 0;
  /** ustar names with a prefix are joined here: prefix, '/', name. */
  private readonly joinedName = Buffer.alloc(PREFIX_LENGTH + 1 + NAME_LENGTH);
  /** Bytes of content and padding still to skip, of which the last `padding` are padding. */
  private skip = 0;
  private padding = 0;
  /** The last block was a zero block: another ends the archive, a header after it is an error. */
  private zeroBlock = false;

  /** The extended header being collected: its type flag, its data so far, and the padding after it. */
  private extendedFlag = 0;
  private extended = Buffer.alloc(0);
  private extendedLength = 0;
  private extendedWanted = 0;
  private extendedPadding = 0;

  /** What extended headers say about the next entry (-1 or undefined: nothing), and whether they say anything. */
  private hasExtended = false;
  private longName: Buffer | undefined;
  private longLink: Buffer | undefined;
  private paxPath: Buffer | undefined;
  private paxLink: Buffer | undefined;
  private paxSize = -1;
  private paxUid = -1;
  private paxGid = -1;
  private sparseName: Buffer | undefined;
  private sparseSize = -1;
  private sparseRealSize = -1;

  constructor(private readonly onEntry: (entry: TarEntry) => void) {}

  /** Parses a chunk; throws on a malformed header. */
  write(chunk: Buffer): void {
    const length = chunk.length;
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at < length) {
      if (this.skip > 0) {
        const skipped = Math.min(this.skip, length - at);
        this.skip -= skipped;
        at += skipped;
      } else if (this.extendedWanted > 0) {
        const taken = Math.min(this.extendedWanted, length - at);
        chunk.copy(this.extended, this.extendedLength, at, at + taken);
        this.extendedLength += taken;
        this.extendedWanted -= taken;
        at += taken;
        if (this.extendedWanted === 0) {
          this.skip = this.padding = this.extendedPadding;
          this.applyExtended();
        }
      } else if (this.pendingLength === 0 && length - at >= BLOCK) {
        this.header(chunk, view, at);
        at += BLOCK;
      } else {
        const taken = Math.min(BLOCK - this.pendingLength, length - at);
        chunk.copy(this.pending, this.pendingLength, at, at + taken);
        this.pendingLength += taken;
        at += taken;
        if (this.pendingLength === BLOCK) {
          this.pendingLength = 0;
          this.header(this.pending, this.pendingView, 0);
        }
      }
    }
  }

  /**
   * The stream is over: throws if it stopped inside a header block or an entry's data. As for Go's reader,
   * a stream may end after any whole block (end-of-archive blocks are optional) or inside the padding after
   * an entry's data; a part of a block, zeros included, is a truncated header (Go's io.ErrUnexpectedEOF).
   */
  end(): void {
    if (this.skip > this.padding || this.extendedWanted > 0 || this.pendingLength > 0)
      throw new Error('unexpected end of data: the archive is truncated');
  }

  /** Parses the header at `block[at]`; `view` is a DataView of `block` (for the checksum). */
  private header(block: Buffer, view: DataView, at: number): void {
    const sum = checksum(view, at);
    if (sum === ZERO_BLOCK_SUM) {
      // Two zero blocks end the archive: what follows (padding, another archive appended) is skipped.
      if (this.zeroBlock) this.skip = this.padding = Number.POSITIVE_INFINITY;
      this.zeroBlock = true;
      return;
    }
    if (this.zeroBlock) throw new Error('invalid tar header: a header after a single zero block');
    const storedSum = parseNumber(block, at + CHECKSUM, 8);
    if (storedSum !== sum && storedSum !== signedChecksum(block, at))
      throw new Error('invalid tar header checksum (corrupt, or not a tar archive)');

    const flag = block[at + TYPEFLAG]!;
    const size = parseNumber(block, at + SIZE, 12);
    if (!(size >= 0)) throw new Error('invalid tar header: bad size field');
    if (
      flag === FLAG_PAX ||
      flag === FLAG_PAX_GLOBAL ||
      flag === FLAG_GNU_LONG_NAME ||
      flag === FLAG_GNU_LONG_LINK ||
      flag === FLAG_GNU_OLD_LONG_NAME
    ) {
      this.startExtended(flag, size);
      return;
    }

    const entry = this.entry;
    entry.mode = parseNumber(block, at + MODE, 8);
    entry.uid = parseNumber(block, at + UID, 8);
    entry.gid = parseNumber(block, at + GID, 8);
    entry.size = size;
    this.headerName(block, at);
    entry.link = block;
    entry.linkStart = at + LINKNAME;
    entry.linkEnd = fieldEnd(block, at + LINKNAME, NAME_LENGTH);
    const stored = this.hasExtended ? this.mergeExtended() : size;
    const type = typeCode(flag, entry.name, entry.nameStart, entry.nameEnd);
    if (type === undefined)
      throw new UnsupportedEntryType(flag, entry.name.toString('utf8', entry.nameStart, entry.nameEnd));
    entry.type = type;

    this.onEntry(entry);
    // Only regular files have data, as in Go's reader.
    if (type !== TypeCode.file) return;
    this.skip = padded(stored);
    this.padding = this.skip - stored;
  }

  /**
   * Applies the extended headers read since the last entry to it, in Go's order: PAX records, then GNU
   * long names, then the name and real size of a PAX GNU sparse file. Returns the size of the data the
   * archive stores (the header's or PAX `size`).
   */
  private mergeExtended(): number {
    const entry = this.entry;
    const name = this.sparseName ?? this.longName ?? this.paxPath;
    if (name) {
      entry.name = name;
      entry.nameStart = 0;
      entry.nameEnd = name.length;
    }
    const link = this.longLink ?? this.paxLink;
    if (link) {
      entry.link = link;
      entry.linkStart = 0;
      entry.linkEnd = link.length;
    }
    if (this.paxUid >= 0) entry.uid = this.paxUid;
    if (this.paxGid >= 0) entry.gid = this.paxGid;
    if (this.paxSize >= 0) entry.size = this.paxSize;
    const stored = entry.size;
    const realSize = this.sparseSize >= 0 ? this.sparseSize : this.sparseRealSize;
    if (realSize >= 0) entry.size = realSize;
    this.hasExtended = false;
    this.longName = this.longLink = undefined;
    this.clearPax();
    return stored;
  }

  private clearPax(): void {
    this.paxPath = this.paxLink = this.sparseName = undefined;
    this.paxSize = this.paxUid = this.paxGid = this.sparseSize = this.sparseRealSize = -1;
  }

  /** The ustar name, joined with its prefix when the header is ustar proper (GNU keeps times there). */
  private headerName(block: Buffer, at: number): void {
    const entry = this.entry;
    const nameEnd = fieldEnd(block, at + NAME, NAME_LENGTH);
    if (isUstar(block, at) && block[at + PREFIX] !== 0) {
      const prefixEnd = fieldEnd(block, at + PREFIX, PREFIX_LENGTH);
      const joined = this.joinedName;
      let length = block.copy(joined, 0, at + PREFIX, prefixEnd);
      joined[length++] = SLASH;
      length += block.copy(joined, length, at + NAME, nameEnd);
      entry.name = joined;
      entry.nameStart = 0;
      entry.nameEnd = length;
      return;
    }
    entry.name = block;
    entry.nameStart = at + NAME;
    entry.nameEnd = nameEnd;
  }

  private startExtended(flag: number, size: number): void {
    if (size > MAX_EXTENDED_HEADER)
      throw new Error(`an extended tar header of ${size} bytes exceeds ${MAX_EXTENDED_HEADER}`);
    if (this.extended.length < size) this.extended = Buffer.allocUnsafe(Math.max(size, 4096));
    this.extendedFlag = flag;
    this.extendedLength = 0;
    this.extendedWanted = size;
    this.extendedPadding = padded(size) - size;
    if (size === 0) this.applyExtended();
  }

  private applyExtended(): void {
    const data = this.extended;
    const length = this.extendedLength;
    switch (this.extendedFlag) {
      case FLAG_GNU_LONG_NAME:
      case FLAG_GNU_OLD_LONG_NAME:
        this.longName = nonEmpty(data, 0, fieldEnd(data, 0, length));
        this.hasExtended = true;
        break;
      case FLAG_GNU_LONG_LINK:
        this.longLink = nonEmpty(data, 0, fieldEnd(data, 0, length));
        this.hasExtended = true;
        break;
      case FLAG_PAX:
        this.applyPax(data, length);
        this.hasExtended = true;
        break;
      // FLAG_PAX_GLOBAL: ignored.
    }
  }

  /**
   * PAX records: `LENGTH key=value\n`, LENGTH counting the whole record. A PAX header replaces the one
   * before it; an empty value means the key is not set (the ustar field stands), as in Go's reader.
   */
  private applyPax(data: Buffer, length: number): void {
    this.clearPax();
    let at = 0;
    while (at < length) {
      let cursor = at;
      let recordLength = 0;
      while (cursor < length && data[cursor]! >= 0x30 && data[cursor]! <= 0x39)
        recordLength = recordLength * 10 + data[cursor++]! - 0x30;
      if (recordLength === 0 || data[cursor] !== 0x20 || at + recordLength > length)
        throw new Error('invalid PAX extended header');
      const end = at + recordLength - 1; // the record's closing newline
      const keyStart = cursor + 1;
      const equals = data.indexOf(0x3d, keyStart);
      if (equals < 0 || equals >= end) throw new Error('invalid PAX extended header');
      const valueStart = equals + 1;
      switch (keyName(data, keyStart, equals)) {
        case 'path':
          this.paxPath = nonEmpty(data, valueStart, end);
          break;
        case 'linkpath':
          this.paxLink = nonEmpty(data, valueStart, end);
          break;
        case 'size':
          this.paxSize = paxNumber(data, valueStart, end);
          break;
        case 'uid':
          this.paxUid = paxNumber(data, valueStart, end);
          break;
        case 'gid':
          this.paxGid = paxNumber(data, valueStart, end);
          break;
        case 'GNU.sparse.name':
          this.sparseName = nonEmpty(data, valueStart, end);
          break;
        case 'GNU.sparse.size': // sparse formats 0.0 and 0.1
          this.sparseSize = paxNumber(data, valueStart, end);
          break;
        case 'GNU.sparse.realsize': // sparse format 1.0
          this.sparseRealSize = paxNumber(data, valueStart, end);
          break;
      }
      at += recordLength;
    }
  }
}

const PAX_KEYS = [
  'path',
  'linkpath',
  'size',
  'uid',
  'gid',
  'GNU.sparse.name',
  'GNU.sparse.realsize',
  'GNU.sparse.size',
] as const;

/** The PAX key if it is one the analysis reads (compared as bytes, no string made for the others). */
function keyName(data: Buffer, start: number, end: number): (typeof PAX_KEYS)[number] | undefined {
  for (const key of PAX_KEYS) {
    if (key.length !== end - start) continue;
    let same = true;
    for (let i = 0; i < key.length && same; i++) same = data[start + i] === key.charCodeAt(i);
    if (same) return key;
  }
  return undefined;
}

/** A copy of `data[start, end)`, undefined when empty. */
function nonEmpty(data: Buffer, start: number, end: number): Buffer | undefined {
  return end > start ? Buffer.from(data.subarray(start, end)) : undefined;
}

/** A PAX number; -1 (not set) when empty. */
function paxNumber(data: Buffer, start: number, end: number): number {
  if (start === end) return -1;
  let value = 0;
  for (let at = start; at < end; at++) {
    const digit = data[at]! - 0x30;
    if (digit < 0 || digit > 9) throw new Error('invalid number in a PAX extended header');
    value = value * 10 + digit;
  }
  if (value > Number.MAX_SAFE_INTEGER) throw new Error('invalid number in a PAX extended header');
  return value;
}

/** Where a NUL-terminated (or full-width) field ends. */
function fieldEnd(block: Buffer, start: number, width: number): number {
  const nul = block.indexOf(0, start);
  return nul < 0 || nul > start + width ? start + width : nul;
}

/**
 * An octal field (leading spaces or NULs allowed, ended by a space or NUL), or a base-256 one (GNU, high
 * bit set) for values octal cannot hold. NaN for a negative base-256 value or one past 2^53.
 */
export function parseNumber(block: Buffer, start: number, width: number): number {
  const end = start + width;
  const first = block[start]!;
  if (first & 0x80) {
    if (first === 0xff) return Number.NaN;
    let value = first & 0x7f;
    for (let at = start + 1; at < end; at++) value = value * 256 + block[at]!;
    return value <= Number.MAX_SAFE_INTEGER ? value : Number.NaN;
  }
  let at = start;
  while (at < end && (block[at] === 0x20 || block[at] === 0)) at++;
  let value = 0;
  for (; at < end; at++) {
    const digit = block[at]! - 0x30;
    if (digit < 0 || digit > 7) break;
    value = value * 8 + digit;
  }
  return value;
}

/**
 * The unsigned sum of the header's bytes, its checksum field counted as spaces. Summed four bytes at a
 * time in two 16-bit lanes each (at most 128 × 255 per lane, so no lane overflows): 3× a byte loop.
 */
function checksum(view: DataView, at: number): number {
  let even = 0;
  let odd = 0;
  for (let i = at; i < at + BLOCK; i += 4) {
    const word = view.getUint32(i, true);
    even += word & 0x00ff00ff;
    odd += (word >>> 8) & 0x00ff00ff;
  }
  let sum = (even & 0xffff) + (even >>> 16) + (odd & 0xffff) + (odd >>> 16);
  for (let i = at + CHECKSUM; i < at + CHECKSUM + 8; i++) sum -= view.getUint8(i);
  return sum + ZERO_BLOCK_SUM;
}

/** Some old tars summed signed bytes. */
function signedChecksum(block: Buffer, at: number): number {
  let sum = ZERO_BLOCK_SUM;
  for (let i = at; i < at + BLOCK; i++) {
    if (i === at + CHECKSUM) i += 8;
    sum += (block[i]! << 24) >> 24;
  }
  return sum;
}

function isUstar(block: Buffer, at: number): boolean {
  // "ustar\0": POSIX ustar. GNU writes "ustar  \0" and has no prefix field.
  return (
    block[at + MAGIC] === 0x75 &&
    block[at + MAGIC + 1] === 0x73 &&
    block[at + MAGIC + 2] === 0x74 &&
    block[at + MAGIC + 3] === 0x61 &&
    block[at + MAGIC + 4] === 0x72 &&
    block[at + MAGIC + 5] === 0
  );
}

/**
 * An entry type Docker and containerd refuse to unpack ("unhandled tar header type"): old GNU sparse
 * files ('S'), contiguous files ('7'), GNU volume labels ('V') and dump directories ('D'), or anything
 * else. An image with one cannot be pulled, so its layer is not analysed as if it could.
 */
export class UnsupportedEntryType extends Error {
  constructor(
    readonly flag: number,
    readonly path: string,
  ) {
    const shown = flag >= 0x20 && flag < 0x7f ? `'${String.fromCharCode(flag)}'` : `0x${flag.toString(16)}`;
    const name = truncate(path, 200);
    super(`entry "${name}" has tar type ${shown}, which Docker and containerd refuse to unpack`);
    this.name = 'UnsupportedEntryType';
  }
}

/** The entry type of a header's type flag, or undefined for one Docker does not unpack. */
function typeCode(flag: number, name: Buffer, nameStart: number, nameEnd: number): number | undefined {
  switch (flag) {
    case 0x30:
      return TypeCode.file;
    case 0x31:
      return TypeCode.hardlink;
    case 0x32:
      return TypeCode.symlink;
    case 0x33:
      return TypeCode.char;
    case 0x34:
      return TypeCode.block;
    case 0x35:
      return TypeCode.dir;
    case 0x36:
      return TypeCode.fifo;
    case 0:
      // Old tars mark directories by a trailing slash only; Go's reader does not read '0' that way.
      return nameEnd > nameStart && name[nameEnd - 1] === SLASH ? TypeCode.dir : TypeCode.file;
    default:
      return undefined;
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
