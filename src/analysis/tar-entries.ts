import type { Readable } from 'node:stream';
import type { Header } from 'tar-stream';
import { ImgscopeError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import { exceedsPathMax, LONGEST_PATH, PATH_MAX, utf8Length } from '../oci/path-max.js';
import { truncate } from '../report/format.js';
import { beginDiffIdHash, type StreamHash } from './diff-id-hasher.js';
import { AUFS_LINK_DIR, ItemKind, LayerItems, NO_LINK, type StringTable, TypeCode } from './layer-items.js';
import { NameBudgetExceeded, nameBudgetError } from './name-budget.js';
import { decodeName, type PathTable, ROOT } from './paths.js';
import { type TarEntry, TarParser, UnsupportedEntryType } from './tar-parser.js';

const SLASH = 0x2f;
const DOT = 0x2e;
const WHITEOUT_PREFIX = Buffer.from('.wh.');
const META_PREFIX = Buffer.from('.wh..wh.');
const OPAQUE_MARKER = Buffer.from('.wh..wh..opq');
/** Root entries estargz adds for lazy pulling; they are not part of the image's filesystem. */
const ESTARGZ_METADATA = ['stargz.index.json', '.prefetch.landmark', '.no.prefetch.landmark'].map((name) =>
  Buffer.from(name),
);

/** An entry whose name or link target Linux cannot hold: the layer cannot be unpacked. */
export class NameTooLong extends Error {
  /** `fromRoot`: `length` counts the `/` an unpack puts before a name or a hardlink's target. */
  constructor(what: 'name' | 'link target', name: string, length: number, fromRoot = what === 'name') {
    const shown = truncate(name, 100);
    super(
      `entry "${shown}" has a ${what} of ${length} bytes${fromRoot ? ' from the root' : ''}, and Linux takes paths of at most ${LONGEST_PATH} (its ${PATH_MAX}-byte PATH_MAX counts the NUL), so Docker and containerd cannot unpack it`,
    );
    this.name = 'NameTooLong';
  }
}

/** A hardlink into aufs's link folder whose file the layer does not hold (before it): docker refuses it. */
/** A whiteout that names no file of its folder (`.wh.`, `.wh..`, `.wh...`): it would remove the folder itself or its parent. */
export class InvalidWhiteout extends Error {
  constructor(name: string) {
    super(
      `entry "${name}" is a whiteout of its own folder or the one above, which containerd refuses ("invalid whiteout name") and Docker cannot unpack`,
    );
    this.name = 'InvalidWhiteout';
  }
}

export class InvalidAufsHardlink extends Error {
  constructor(name: string, target: string) {
    super(
      `entry "${name}" is a hardlink to "${target}", an aufs link file the layer does not hold before it, so Docker cannot unpack it ("Invalid aufs hardlink")`,
    );
    this.name = 'InvalidAufsHardlink';
  }
}

/** What to do about a layer that cannot be read, when the caller does not know where it came from. */
export const DEFAULT_LAYER_REMEDY = 'rebuild or re-push the image';

export interface TarReadOptions {
  paths: PathTable;
  links: StringTable;
  /** Names the layer in errors. */
  label: string;
  /** What to do about a layer that is not a valid tar (default: rebuild or re-push the image). */
  remedy?: string;
  /**
   * Hide estargz's root metadata entries: always (true), or if the layer proves to be eStargz once its
   * stream has ended (a function, asked then; until then those entries are held back).
   */
  hideEstargzMetadata?: boolean | (() => boolean);
  /** Called with the uncompressed byte count so far; throw from it to stop (the decompression guard). */
  onBytes?: (uncompressedBytes: number) => void;
  /**
   * The stream's sha256 when it is already known (an uncompressed layer's blob digest, verified as the
   * blob streams): the stream is then not hashed a second time.
   */
  knownDiffId?: Digest;
  /** Hashes the stream for its diff_id (diff-id-hasher.ts); default on this thread. */
  hash?: StreamHash;
}

export interface TarReadResult {
  items: LayerItems;
  /** Entries naming a path (whiteouts included; the root entry and estargz metadata excluded). */
  fileCount: number;
  /** Σ header sizes of those entries: dive's layer size. */
  contentSize: number;
  /** Bytes of the tar stream. */
  uncompressedSize: number;
  /** sha256 of the tar stream, every byte to its end: what a config's `rootfs.diff_ids` names the layer by. */
  diffId: Digest;
}

/**
 * Parses a layer's uncompressed tar stream into LayerItems. Entry contents are skipped, never copied or
 * buffered; names are interned straight from the header bytes, normalised (`./`, `/`, `//`, `.`, and `..`
 * clamped at the root) and whiteouts classified.
 */
export async function readLayerTar(input: Readable, options: TarReadOptions): Promise<TarReadResult> {
  const writer = new LayerItemsWriter(options);
  const parser = new TarParser((entry) => writer.addEntry(entry));
  const hash = options.knownDiffId ? undefined : (options.hash ?? beginDiffIdHash(0));
  let uncompressedSize = 0;
  try {
    // Errors of the input (decompression, verification) pass through; the parser's become MALFORMED.
    for await (const chunk of input) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      uncompressedSize += bytes.length;
      options.onBytes?.(uncompressedSize);
      try {
        parser.write(bytes);
      } catch (error) {
        throw malformedTar(options, error as Error);
      }
      const behind = hash?.update(bytes);
      if (behind) await behind;
    }
    try {
      parser.end();
    } catch (error) {
      throw malformedTar(options, error as Error);
    }
  } catch (error) {
    hash?.discard();
    throw error;
  }
  writer.end();
  return {
    items: writer.items,
    fileCount: writer.fileCount,
    contentSize: writer.contentSize,
    uncompressedSize,
    diffId: options.knownDiffId ?? (await hash!.digest()),
  };
}

/** A tar header given as strings, as tests and tar-stream spell it. */
export interface EntryHeader {
  name: string;
  type?: Header['type'] | null;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string | null;
  pax?: unknown;
}

/** Turns tar entries, in archive order, into a layer's items and counts. */
export class LayerItemsWriter {
  readonly items = new LayerItems();
  fileCount = 0;
  contentSize = 0;
  private readonly resolver: NameResolver;
  private readonly paths: PathTable;
  private readonly links: StringTable;
  private readonly hideEstargz: boolean | (() => boolean);
  /** Root entries named as estargz metadata, held until the end says whether the layer is eStargz. */
  private heldBack: TarEntry[] | undefined;
  /** Files in aufs's link folder by base name (as docker keys them), for the hardlinks into it. */
  private aufsLinkFiles: Set<string> | undefined;

  constructor(options: Pick<TarReadOptions, 'paths' | 'links' | 'hideEstargzMetadata'>) {
    this.paths = options.paths;
    this.links = options.links;
    this.resolver = new NameResolver(options.paths);
    this.hideEstargz = options.hideEstargzMetadata ?? false;
  }

  /**
   * After the last entry: adds the entries held back, unless the layer is eStargz. A plain gzip layer may
   * hold a file named stargz.index.json, and docker unpacks it like any other.
   */
  end(): void {
    const held = this.heldBack;
    this.heldBack = undefined;
    if (!held || (typeof this.hideEstargz === 'function' && this.hideEstargz())) return;
    for (const entry of held) this.addEntry(entry, false);
  }

  /** A header given as strings (tests, fixtures); same rules as `addEntry`. */
  add(header: EntryHeader): boolean {
    const name = Buffer.from(header.name);
    const link = Buffer.from(header.linkname ?? '');
    const pax = header.pax as Record<string, string> | null | undefined;
    return this.addEntry({
      type: typeCode(header.type),
      mode: header.mode ?? 0,
      uid: pax?.uid !== undefined ? Number(pax.uid) : (header.uid ?? 0),
      gid: pax?.gid !== undefined ? Number(pax.gid) : (header.gid ?? 0),
      size: header.size ?? 0,
      name,
      nameStart: 0,
      nameEnd: name.length,
      link,
      linkStart: 0,
      linkEnd: link.length,
    });
  }

  /** false when the entry is not part of the filesystem (the root itself, estargz metadata). */
  addEntry(entry: TarEntry, mayHide = true): boolean {
    const resolver = this.resolver;
    if (!resolver.resolve(entry.name, entry.nameStart, entry.nameEnd)) return false;
    const { dir, base, baseStart, baseEnd } = resolver;
    if (
      mayHide &&
      this.hideEstargz !== false &&
      dir === ROOT &&
      ESTARGZ_METADATA.some((name) => equals(base, baseStart, baseEnd, name))
    ) {
      if (this.hideEstargz !== true) {
        this.heldBack ??= [];
        this.heldBack.push(copyOf(entry));
      }
      return false;
    }
    const { items, paths } = this;
    const size = entry.size;
    const mode = entry.mode & 0o7777;
    const { uid, gid } = entry;
    this.fileCount++;
    this.contentSize += size;
    const type = entry.type;
    if (resolver.inMeta) {
      // Inside aufs metadata (`/.wh..wh.plnk/`, `/.wh..wh.orph/`): never unpacked, as docker skips it. dive
      // does not (efficiency.ts), so the marker keeps the entry's own path and type.
      const path = paths.childId(dir, paths.internNameBytes(base, baseStart, baseEnd));
      items.push(ItemKind.Marker, path, type, mode, uid, gid, size, NO_LINK);
      if (
        type === TypeCode.file &&
        normalisePath(decodeName(entry.name, entry.nameStart, entry.nameEnd)).startsWith(AUFS_LINK_DIR)
      ) {
        this.aufsLinkFiles ??= new Set();
        this.aufsLinkFiles.add(decodeName(base, baseStart, baseEnd));
      }
      return true;
    }
    if (startsWith(base, baseStart, baseEnd, WHITEOUT_PREFIX)) {
      if (equals(base, baseStart, baseEnd, OPAQUE_MARKER))
        items.push(ItemKind.Opaque, dir, TypeCode.dir, mode, uid, gid, size, NO_LINK);
      else if (dir === ROOT && startsWith(base, baseStart, baseEnd, META_PREFIX)) {
        const path = paths.childId(dir, paths.internNameBytes(base, baseStart, baseEnd));
        items.push(ItemKind.Marker, path, type, mode, uid, gid, size, NO_LINK);
      } else if (namesNoFile(base, baseStart + WHITEOUT_PREFIX.length, baseEnd)) {
        throw new InvalidWhiteout(decodeName(entry.name, entry.nameStart, entry.nameEnd));
      } else {
        const target = paths.childId(
          dir,
          paths.internNameBytes(base, baseStart + WHITEOUT_PREFIX.length, baseEnd),
        );
        items.push(ItemKind.Whiteout, target, TypeCode.file, mode, uid, gid, size, NO_LINK);
      }
      return true;
    }
    let link = NO_LINK;
    if (entry.linkEnd > entry.linkStart && (type === TypeCode.symlink || type === TypeCode.hardlink)) {
      const target = decodeName(entry.link, entry.linkStart, entry.linkEnd);
      const stored = type === TypeCode.hardlink ? normalisePath(target) : target;
      // The merge makes such a link a copy of the file (model.ts); docker refuses one it cannot resolve.
      if (
        type === TypeCode.hardlink &&
        stored.startsWith(AUFS_LINK_DIR) &&
        !this.aufsLinkFiles?.has(stored.slice(stored.lastIndexOf('/') + 1))
      )
        throw new InvalidAufsHardlink(decodeName(entry.name, entry.nameStart, entry.nameEnd), stored);
      if (exceedsPathMax(stored)) {
        throw new NameTooLong(
          'link target',
          decodeName(entry.name, entry.nameStart, entry.nameEnd),
          utf8Length(stored),
          type === TypeCode.hardlink,
        );
      }
      link = this.links.intern(stored);
    }
    const path = paths.childId(dir, paths.internNameBytes(base, baseStart, baseEnd));
    items.push(ItemKind.Entry, path, type, mode, uid, gid, size, link);
    return true;
  }
}

/** An entry whose header bytes stay valid after the parser moves on. */
function copyOf(entry: TarEntry): TarEntry {
  const name = Buffer.from(entry.name.subarray(entry.nameStart, entry.nameEnd));
  const link = Buffer.from(entry.link.subarray(entry.linkStart, entry.linkEnd));
  return { ...entry, name, nameStart: 0, nameEnd: name.length, link, linkStart: 0, linkEnd: link.length };
}

function typeCode(type: EntryHeader['type']): number {
  switch (type) {
    case 'directory':
      return TypeCode.dir;
    case 'symlink':
      return TypeCode.symlink;
    case 'link':
      return TypeCode.hardlink;
    case 'character-device':
      return TypeCode.char;
    case 'block-device':
      return TypeCode.block;
    case 'fifo':
      return TypeCode.fifo;
    default:
      return TypeCode.file;
  }
}

function startsWith(bytes: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[start + i] !== prefix[i]) return false;
  return true;
}

/** An empty name, `.` or `..`: what a whiteout would name instead of a file (its folder, or the one above). */
function namesNoFile(bytes: Buffer, start: number, end: number): boolean {
  const length = end - start;
  return length === 0 || (length <= 2 && bytes[start] === DOT && bytes[end - 1] === DOT);
}

function equals(bytes: Buffer, start: number, end: number, other: Buffer): boolean {
  return end - start === other.length && startsWith(bytes, start, end, other);
}

function malformedTar({ label, remedy }: TarReadOptions, error: Error): Error {
  if (error instanceof ImgscopeError) return error;
  if (error instanceof NameBudgetExceeded) return nameBudgetError(label, error);
  if (
    error instanceof UnsupportedEntryType ||
    error instanceof NameTooLong ||
    error instanceof InvalidAufsHardlink ||
    error instanceof InvalidWhiteout
  ) {
    return new ImgscopeError('UNSUPPORTED', `${label}: ${error.message}`, {
      hint: 'the image cannot be pulled as it is; rebuild the layer with docker build, buildx or kaniko',
      cause: error,
    });
  }
  return new ImgscopeError('MALFORMED', `${label}: not a valid tar stream (${error.message})`, {
    hint: `the layer blob is corrupt or not a tar archive; ${remedy ?? DEFAULT_LAYER_REMEDY}`,
    cause: error,
  });
}

/**
 * Splits an archive name into its normalised segments: no empty segments, no `.`, and `..` clamped at the
 * root, so no entry can name a path outside `/`.
 */
export function normaliseSegments(name: string): string[] {
  const segments: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return segments;
}

/** `/a/b` for any spelling of it (`./a/b/`, `a//b`, `/x/../a/b`). */
export function normalisePath(name: string): string {
  return `/${normaliseSegments(name).join('/')}`;
}

/**
 * Resolves archive names, given as bytes, to (directory id, base name bytes) without allocating: tar
 * entries come grouped by directory, so the directory part is compared with the last one's bytes and
 * most names cost that comparison and the interning of their base name. Results are left in fields,
 * valid until the next call.
 */
export class NameResolver {
  dir = ROOT;
  base: Buffer = Buffer.alloc(0);
  baseStart = 0;
  baseEnd = 0;
  /**
   * The name is inside aufs metadata (`.wh..wh.plnk/…`). Only at the root: docker and containerd skip names
   * that start with `.wh..wh.`; deeper, `x/.wh..wh.plnk/` is a whiteout of `x/.wh.plnk`, what it holds files.
   */
  inMeta = false;
  private lastDirBytes = Buffer.alloc(256);
  private lastDirLength = -1;
  private lastDir = ROOT;
  private lastInMeta = false;

  constructor(private readonly paths: PathTable) {}

  /** false for names that normalise to the root itself (`./`, `/`). */
  resolve(bytes: Buffer, start: number, end: number): boolean {
    // Leading `/` and `./` and trailing `/` are common and cheap to drop; anything else odd
    // (`//`, `.` or `..` segments) takes the slow path.
    for (;;) {
      if (start < end && bytes[start] === SLASH) start++;
      else if (end - start >= 2 && bytes[start] === DOT && bytes[start + 1] === SLASH) start += 2;
      else break;
    }
    while (end > start && bytes[end - 1] === SLASH) end--;
    if (start === end) return false;
    // Unpacked as `/name`: one byte more than here.
    if (end - start >= LONGEST_PATH) return this.resolveOdd(decodeName(bytes, start, end));
    let lastSlash = -1;
    let segment = start;
    for (let at = start; at <= end; at++) {
      if (at < end && bytes[at] !== SLASH) continue;
      const length = at - segment;
      if (
        length === 0 ||
        (bytes[segment] === DOT && (length === 1 || (length === 2 && bytes[segment + 1] === DOT)))
      )
        return this.resolveOdd(decodeName(bytes, start, end));
      if (at < end) lastSlash = at;
      segment = at + 1;
    }
    this.base = bytes;
    this.baseStart = lastSlash < 0 ? start : lastSlash + 1;
    this.baseEnd = end;
    this.dir = lastSlash < 0 ? ROOT : this.directory(bytes, start, lastSlash);
    if (lastSlash < 0) this.inMeta = false;
    return true;
  }

  private directory(bytes: Buffer, start: number, end: number): number {
    const length = end - start;
    const last = this.lastDirBytes;
    if (length === this.lastDirLength) {
      let at = length - 1;
      while (at >= 0 && last[at] === bytes[start + at]) at--;
      if (at < 0) {
        this.inMeta = this.lastInMeta;
        return this.lastDir;
      }
    }
    let dir = ROOT;
    let segment = start;
    for (let at = start; at <= end; at++) {
      if (at < end && bytes[at] !== SLASH) continue;
      dir = this.paths.childId(dir, this.paths.internNameBytes(bytes, segment, at));
      segment = at + 1;
    }
    this.inMeta = startsWith(bytes, start, end, META_PREFIX);
    this.lastInMeta = this.inMeta;
    if (last.length < length) this.lastDirBytes = Buffer.alloc(Math.max(length, last.length * 2));
    bytes.copy(this.lastDirBytes, 0, start, end);
    this.lastDirLength = length;
    this.lastDir = dir;
    return dir;
  }

  private resolveOdd(name: string): boolean {
    const segments = normaliseSegments(name);
    const normalised = `/${segments.join('/')}`;
    if (exceedsPathMax(normalised)) throw new NameTooLong('name', name, utf8Length(normalised));
    const base = segments.pop();
    if (base === undefined) return false;
    this.inMeta = segments[0]?.startsWith('.wh..wh.') ?? false;
    this.dir = this.paths.intern(segments);
    this.base = Buffer.from(base);
    this.baseStart = 0;
    this.baseEnd = this.base.length;
    return true;
  }
}
