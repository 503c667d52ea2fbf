import type { Readable } from 'node:stream';
import tar, { type Header } from 'tar-stream';
import { ImgscopeError } from '../errors.js';
import { ItemKind, LayerItems, NO_LINK, type StringTable, TypeCode } from './layer-items.js';
import { type PathTable, ROOT } from './paths.js';

const WHITEOUT_PREFIX = '.wh.';
const META_PREFIX = '.wh..wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** Root entries estargz adds for lazy pulling; they are not part of the image's filesystem. */
const ESTARGZ_METADATA = new Set(['stargz.index.json', '.prefetch.landmark', '.no.prefetch.landmark']);

export interface TarReadOptions {
  paths: PathTable;
  links: StringTable;
  /** Names the layer in errors. */
  label: string;
  /** Hide estargz's root metadata entries (set for gzip layers). */
  hideEstargzMetadata?: boolean;
  /** Called with the uncompressed byte count so far; throw from it to stop (the decompression guard). */
  onBytes?: (uncompressedBytes: number) => void;
}

export interface TarReadResult {
  items: LayerItems;
  /** Entries naming a path (whiteouts included; the root entry and estargz metadata excluded). */
  fileCount: number;
  /** Σ header sizes of those entries: dive's layer size. */
  contentSize: number;
  /** Bytes of the tar stream. */
  uncompressedSize: number;
}

/**
 * Parses a layer's uncompressed tar stream into LayerItems. Entry contents are drained, never buffered.
 * PAX and GNU long names are resolved by tar-stream; names are normalised (`./`, `/`, `//`, `.`, and `..`
 * clamped at the root) and whiteouts classified.
 */
export async function readLayerTar(input: Readable, options: TarReadOptions): Promise<TarReadResult> {
  const { label } = options;
  const writer = new LayerItemsWriter(options);
  let uncompressedSize = 0;

  const extract = tar.extract();
  const failed = new Promise<never>((_, reject) => {
    extract.on('error', (error: Error) => reject(malformedTar(label, error)));
  });
  failed.catch(() => {});

  extract.on('entry', (header, stream, next) => {
    try {
      writer.add(header);
    } catch (error) {
      extract.destroy(error as Error);
      return;
    }
    // The entry's stream fails with the archive (reported once, by `extract`).
    stream.on('error', () => {});
    stream.on('end', next);
    stream.resume();
  });

  const drained = (async () => {
    for await (const chunk of input) {
      uncompressedSize += (chunk as Buffer).length;
      options.onBytes?.(uncompressedSize);
      if (!extract.write(chunk)) await new Promise<void>((resolve) => extract.once('drain', resolve));
    }
    await new Promise<void>((resolve) => {
      extract.once('finish', resolve);
      extract.end(undefined);
    });
  })();
  try {
    await Promise.race([drained, failed]);
  } catch (error) {
    input.destroy();
    extract.destroy();
    throw error;
  }
  return {
    items: writer.items,
    fileCount: writer.fileCount,
    contentSize: writer.contentSize,
    uncompressedSize,
  };
}

/** The parts of a tar header the analysis reads (tar-stream's Header, or a hand-built one in tests). */
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

/** Turns tar headers, in archive order, into a layer's items and counts. */
export class LayerItemsWriter {
  readonly items = new LayerItems();
  fileCount = 0;
  contentSize = 0;
  private readonly resolver: NameResolver;
  private readonly paths: PathTable;
  private readonly links: StringTable;
  private readonly hideEstargz: boolean;

  constructor(options: Pick<TarReadOptions, 'paths' | 'links' | 'hideEstargzMetadata'>) {
    this.paths = options.paths;
    this.links = options.links;
    this.resolver = new NameResolver(options.paths);
    this.hideEstargz = options.hideEstargzMetadata === true;
  }

  /** false when the entry is not part of the filesystem (the root itself, estargz metadata). */
  add(header: EntryHeader): boolean {
    const name = this.resolver.resolve(header.name);
    if (name === undefined) return false;
    const { dir, base } = name;
    if (this.hideEstargz && dir === ROOT && ESTARGZ_METADATA.has(base)) return false;
    const { items } = this;
    const size = header.size ?? 0;
    const pax = header.pax as Record<string, string> | null | undefined;
    const uid = pax?.uid !== undefined ? Number(pax.uid) : (header.uid ?? 0);
    const gid = pax?.gid !== undefined ? Number(pax.gid) : (header.gid ?? 0);
    const mode = (header.mode ?? 0) & 0o7777;
    this.fileCount++;
    this.contentSize += size;
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === OPAQUE_MARKER)
        items.push(ItemKind.Opaque, dir, TypeCode.dir, mode, uid, gid, size, NO_LINK);
      else if (base.startsWith(META_PREFIX) || base.length === WHITEOUT_PREFIX.length)
        items.push(ItemKind.Marker, dir, TypeCode.file, mode, uid, gid, size, NO_LINK);
      else {
        const target = this.paths.child(dir, base.slice(WHITEOUT_PREFIX.length));
        items.push(ItemKind.Whiteout, target, TypeCode.file, mode, uid, gid, size, NO_LINK);
      }
      return true;
    }
    const type = typeCode(header.type);
    let link = NO_LINK;
    if (type === TypeCode.symlink && header.linkname) link = this.links.intern(header.linkname);
    else if (type === TypeCode.hardlink && header.linkname)
      link = this.links.intern(normalisePath(header.linkname));
    items.push(ItemKind.Entry, this.paths.child(dir, base), type, mode, uid, gid, size, link);
    return true;
  }
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

function malformedTar(label: string, error: Error): Error {
  if (error instanceof ImgscopeError) return error;
  return new ImgscopeError('MALFORMED', `${label}: not a valid tar stream (${error.message})`, {
    hint: 'the layer blob is corrupt or not a tar archive; rebuild or re-push the image',
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
 * Resolves archive names to (directory id, base name), caching the last directory: tar entries come
 * grouped by directory, so most names cost one string comparison and one hash lookup.
 */
export class NameResolver {
  private lastDirName = '';
  private lastDir = ROOT;

  constructor(private readonly paths: PathTable) {}

  /** undefined for names that normalise to the root itself (`./`, `/`). */
  resolve(name: string): { dir: number; base: string } | undefined {
    if (needsFullNormalisation(name)) {
      const segments = normaliseSegments(name);
      const base = segments.pop();
      if (base === undefined) return undefined;
      return { dir: this.paths.intern(segments), base };
    }
    const end = name.endsWith('/') ? name.length - 1 : name.length;
    const slash = name.lastIndexOf('/', end - 1);
    const base = name.slice(slash + 1, end);
    if (base === '') return undefined;
    const dirName = slash < 0 ? '' : name.slice(0, slash);
    if (dirName !== this.lastDirName) {
      this.lastDirName = dirName;
      this.lastDir = dirName === '' ? ROOT : this.paths.intern(dirName.split('/'));
    }
    return { dir: this.lastDir, base };
  }
}

/** Names already in `a/b/c` form (optionally with one trailing slash) take the fast path. */
function needsFullNormalisation(name: string): boolean {
  const first = name.charCodeAt(0);
  return (
    first === 0x2f || // leading '/'
    first === 0x2e || // leading '.', './' or '..' (and dotfiles, which are rare at the root)
    name.includes('//') ||
    name.includes('/./') ||
    name.includes('/../') ||
    name.endsWith('/.') ||
    name.endsWith('/..') ||
    name.endsWith('/./') ||
    name.endsWith('/../')
  );
}
