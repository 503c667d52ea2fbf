/**
 * The bytes of one cache entry: a layer's parse result (its LayerItems and counts) in a form that does not
 * depend on the image it was parsed in. Item paths and link targets are ids of the image's shared tables,
 * so an entry carries its own small path trie and link strings, and loading interns them into the tables
 * of the image at hand — in the order the tar parser would have, so a loaded layer is indistinguishable
 * from a parsed one.
 *
 * Layout: "IMGSCOPE", u32 header length, the JSON header, padding to 8, then the payload: the columns
 * written as-is (native byte order, recorded in the header), each padded to 8 so they can be viewed in
 * place; last the CRC-32 of all the bytes before it, header included (checksum.ts). Nothing is used
 * before it matches.
 */
import { type Digest, isDigest } from '../../oci/digest.js';
import { LayerItems, NO_LINK, type StringTable } from '../layer-items.js';
import { type PathTable, ROOT } from '../paths.js';
import type { Compression } from '../types.js';
import { CHECKSUM_BYTES, checksumMatches, withChecksum } from './checksum.js';

/** One layer's parse result: what analysing a layer produces before it is merged. */
export interface LayerAnalysis {
  items: LayerItems;
  compression: Compression;
  fileCount: number;
  contentSize: number;
  uncompressedSize: number;
  /** sha256 of the uncompressed tar, as computed while it was parsed: the layer's diff_id. */
  diffId: Digest;
  /** The blob's size as verified while it was read: a descriptor giving another is refused, cached or not. */
  blobSize: number;
}

/** The image's interning tables a layer's ids refer to. */
export interface InternTables {
  paths: PathTable;
  links: StringTable;
}

/** Why an entry cannot be used: `stale` for another analyser or machine, `corrupt` for anything else. */
export class UnusableEntryError extends Error {
  constructor(
    readonly reason: 'stale' | 'corrupt',
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'UnusableEntryError';
  }
}

const MAGIC = Buffer.from('IMGSCOPE', 'latin1');
/** Bumped when the byte layout changes (3: the header carries the layer's diff_id; 4: its blob size). */
export const FORMAT_VERSION = 4;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const COMPRESSIONS: readonly Compression[] = ['gzip', 'zstd', 'none'];
/** ItemKind and TypeCode values the merge understands. */
const MAX_KIND = 3;
const MAX_TYPE = 6;
const MAX_HEADER_BYTES = 64 * 1024;

interface Header {
  format: number;
  analyser: string;
  littleEndian: boolean;
  digest: string;
  diffId: Digest;
  blobSize: number;
  compression: Compression;
  fileCount: number;
  contentSize: number;
  uncompressedSize: number;
  items: number;
  nodes: number;
  names: number;
  nameBytes: number;
  links: number;
  linkBytes: number;
  payloadBytes: number;
}

type CountKey = 'items' | 'nodes' | 'names' | 'nameBytes' | 'links' | 'linkBytes';
type Column = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;
type ColumnType = {
  new (buffer: ArrayBuffer, offset: number, length: number): Column;
  BYTES_PER_ELEMENT: number;
};

/** The payload's sections, in order: widest elements first. */
const SECTIONS = [
  ['sizes', Float64Array, 'items'],
  ['paths', Int32Array, 'items'],
  ['links', Int32Array, 'items'],
  ['uids', Uint32Array, 'items'],
  ['gids', Uint32Array, 'items'],
  ['nodeParents', Int32Array, 'nodes'],
  ['nodeNames', Int32Array, 'nodes'],
  ['nameLengths', Uint32Array, 'names'],
  ['linkLengths', Uint32Array, 'links'],
  ['modes', Uint16Array, 'items'],
  ['kinds', Uint8Array, 'items'],
  ['types', Uint8Array, 'items'],
  ['nameText', Uint8Array, 'nameBytes'],
  ['linkText', Uint8Array, 'linkBytes'],
] as const satisfies readonly (readonly [string, ColumnType, CountKey])[];

type SectionName = (typeof SECTIONS)[number][0];
type Sections = { [K in (typeof SECTIONS)[number] as K[0]]: ViewOf<InstanceType<K[1]>> };
/** The element type without the buffer kind: columns may view a Buffer's pooled ArrayBuffer. */
type ViewOf<T> = T extends Float64Array
  ? Float64Array
  : T extends Int32Array
    ? Int32Array<ArrayBufferLike>
    : T extends Uint32Array
      ? Uint32Array<ArrayBufferLike>
      : T extends Uint16Array
        ? Uint16Array<ArrayBufferLike>
        : Uint8Array<ArrayBufferLike>;

/** Not `(n + 7) & ~7`: bitwise operators wrap at 2^32, and a corrupt header's counts can be larger. */
const pad8 = (n: number) => Math.ceil(n / 8) * 8;

function sectionBytes(type: ColumnType, count: number): number {
  return pad8(type.BYTES_PER_ELEMENT * count);
}

/**
 * Encodes a layer as an entry's chunks (header first), or undefined when a name cannot survive UTF-8 (a
 * lone surrogate) and the layer is simply not cached.
 */
export function encodeEntry(
  digest: Digest,
  analyser: string,
  layer: LayerAnalysis,
  tables: InternTables,
): Uint8Array[] | undefined {
  const { items } = layer;
  const count = items.count;
  const trie = localTrie(items, tables.paths);
  const links = localLinks(items, tables.links);
  const nameText = joinedText(trie.names);
  const linkText = joinedText(links.values);
  if (!nameText || !linkText) return undefined;

  const columns: Sections = {
    sizes: items.sizes.subarray(0, count),
    paths: trie.itemPaths,
    links: links.itemLinks,
    uids: items.uids.subarray(0, count),
    gids: items.gids.subarray(0, count),
    nodeParents: trie.parents,
    nodeNames: trie.nameOfNode,
    nameLengths: nameText.lengths,
    linkLengths: linkText.lengths,
    modes: items.modes.subarray(0, count),
    kinds: items.kinds.subarray(0, count),
    types: items.types.subarray(0, count),
    nameText: nameText.bytes,
    linkText: linkText.bytes,
  };
  const payload: Uint8Array[] = [];
  let payloadBytes = 0;
  for (const [name, type] of SECTIONS) {
    const column = columns[name];
    const bytes = new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
    const padding = new Uint8Array(sectionBytes(type, column.length) - bytes.length);
    for (const part of [bytes, padding]) {
      if (part.length === 0) continue;
      payload.push(part);
      payloadBytes += part.length;
    }
  }
  const header: Header = {
    format: FORMAT_VERSION,
    analyser,
    littleEndian: LITTLE_ENDIAN,
    digest,
    diffId: layer.diffId,
    blobSize: layer.blobSize,
    compression: layer.compression,
    fileCount: layer.fileCount,
    contentSize: layer.contentSize,
    uncompressedSize: layer.uncompressedSize,
    items: count,
    nodes: trie.parents.length,
    names: trie.names.length,
    nameBytes: nameText.bytes.length,
    links: links.values.length,
    linkBytes: linkText.bytes.length,
    payloadBytes,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(pad8(MAGIC.length + 4 + json.length));
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(json.length, MAGIC.length);
  json.copy(prefix, MAGIC.length + 4);
  return withChecksum([prefix, ...payload]);
}

/**
 * Decodes an entry into the image's tables. Everything is checked — magic, versions, digest, sizes,
 * checksum, every index — before the first name is interned, so a bad entry throws UnusableEntryError
 * and leaves the tables untouched.
 */
export function decodeEntry(
  bytes: Uint8Array,
  expected: { digest: Digest; analyser: string },
  tables: InternTables,
): LayerAnalysis {
  const { header, payloadOffset } = readHeader(bytes);
  if (header.format !== FORMAT_VERSION) throw stale(`entry format ${header.format}`);
  if (header.analyser !== expected.analyser) throw stale(`analyser ${header.analyser}`);
  if (header.littleEndian !== LITTLE_ENDIAN) throw stale('written on a machine of the other byte order');
  if (header.digest !== expected.digest) throw corrupt(`entry of ${header.digest.slice(0, 80)}`);
  if (!isDigest(header.diffId)) throw corrupt('no diff_id');

  let expectedPayload = 0;
  for (const [, type, key] of SECTIONS) expectedPayload += sectionBytes(type, header[key]);
  if (header.payloadBytes !== expectedPayload) throw corrupt('section sizes disagree with the counts');
  if (bytes.length !== payloadOffset + expectedPayload + CHECKSUM_BYTES)
    throw corrupt('truncated or overlong');
  if (!checksumMatches(bytes)) throw corrupt('checksum mismatch');
  const payload = alignedCopy(bytes.subarray(payloadOffset, payloadOffset + expectedPayload));

  const sections = viewSections(payload, header);
  const names = splitText(sections.nameText, sections.nameLengths);
  const links = splitText(sections.linkText, sections.linkLengths);
  validate(sections, header, names.length, links.length);
  return {
    items: internItems(sections, header.items, names, links, tables),
    compression: header.compression,
    fileCount: header.fileCount,
    contentSize: header.contentSize,
    uncompressedSize: header.uncompressedSize,
    diffId: header.diffId,
    blobSize: header.blobSize,
  };
}

const stale = (detail: string) => new UnusableEntryError('stale', detail);
const corrupt = (detail: string) => new UnusableEntryError('corrupt', detail);

function readHeader(bytes: Uint8Array): { header: Header; payloadOffset: number } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < MAGIC.length + 4 || !buffer.subarray(0, MAGIC.length).equals(MAGIC))
    throw corrupt('not an imgscope cache entry');
  const length = buffer.readUInt32LE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (length > MAX_HEADER_BYTES || start + length > buffer.length) throw corrupt('truncated header');
  let header: unknown;
  try {
    header = JSON.parse(buffer.toString('utf8', start, start + length));
  } catch {
    throw corrupt('unreadable header');
  }
  if (!isHeader(header)) throw corrupt('incomplete header');
  return { header, payloadOffset: pad8(start + length) };
}

function isHeader(value: unknown): value is Header {
  if (typeof value !== 'object' || value === null) return false;
  const h = value as Record<string, unknown>;
  const counts = [
    'blobSize',
    'fileCount',
    'contentSize',
    'uncompressedSize',
    'items',
    'nodes',
    'names',
    'nameBytes',
    'links',
    'linkBytes',
    'payloadBytes',
  ];
  return (
    typeof h.format === 'number' &&
    typeof h.analyser === 'string' &&
    typeof h.littleEndian === 'boolean' &&
    typeof h.digest === 'string' &&
    COMPRESSIONS.includes(h.compression as Compression) &&
    counts.every((key) => Number.isSafeInteger(h[key]) && (h[key] as number) >= 0)
  );
}

/** The payload in its own 8-aligned buffer, so every column can be a view of it. */
function alignedCopy(payload: Uint8Array): Uint8Array {
  if (payload.byteOffset % 8 === 0) return payload;
  const copy = new Uint8Array(payload.length);
  copy.set(payload);
  return copy;
}

function viewSections(payload: Uint8Array, header: Header): Sections {
  const views: Partial<Record<SectionName, Column>> = {};
  let offset = payload.byteOffset;
  for (const [name, type, key] of SECTIONS) {
    views[name] = new type(payload.buffer as ArrayBuffer, offset, header[key]);
    offset += sectionBytes(type, header[key]);
  }
  return views as Sections;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function splitText(bytes: Uint8Array, lengths: Uint32Array): string[] {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw corrupt('names are not UTF-8');
  }
  const values = new Array<string>(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const end = at + lengths[i]!;
    if (end > text.length) throw corrupt('name lengths overrun the names');
    values[i] = text.slice(at, end);
    at = end;
  }
  if (at !== text.length) throw corrupt('name lengths fall short of the names');
  return values;
}

function validate(sections: Sections, header: Header, nameCount: number, linkCount: number): void {
  const { nodeParents, nodeNames, paths, links, kinds, types } = sections;
  if (header.nodes < 1 || nodeParents[0] !== -1) throw corrupt('path trie without its root');
  for (let node = 1; node < header.nodes; node++) {
    const parent = nodeParents[node]!;
    const name = nodeNames[node]!;
    // Parents come before their children: interning in node order always finds the parent interned.
    if (parent < 0 || parent >= node || name < 0 || name >= nameCount)
      throw corrupt('path trie out of range');
  }
  for (let i = 0; i < header.items; i++) {
    const path = paths[i]!;
    const link = links[i]!;
    if (path < 0 || path >= header.nodes) throw corrupt('item path out of range');
    if (link < NO_LINK || link >= linkCount) throw corrupt('item link out of range');
    if (kinds[i]! > MAX_KIND || types[i]! > MAX_TYPE) throw corrupt('unknown item kind or type');
  }
}

function internItems(
  sections: Sections,
  count: number,
  names: readonly string[],
  links: readonly string[],
  tables: InternTables,
): LayerItems {
  const { paths } = tables;
  const nameIds = names.map((name) => paths.internName(name));
  const { nodeParents, nodeNames } = sections;
  const pathOfNode = new Int32Array(nodeParents.length);
  pathOfNode[0] = ROOT;
  for (let node = 1; node < nodeParents.length; node++)
    pathOfNode[node] = paths.childId(pathOfNode[nodeParents[node]!]!, nameIds[nodeNames[node]!]!);
  const linkIds = links.map((link) => tables.links.intern(link));

  const capacity = Math.max(count, 1);
  const items = new LayerItems();
  items.count = count;
  items.kinds = copyOf(sections.kinds, new Uint8Array(capacity));
  items.types = copyOf(sections.types, new Uint8Array(capacity));
  items.modes = copyOf(sections.modes, new Uint16Array(capacity));
  items.uids = copyOf(sections.uids, new Uint32Array(capacity));
  items.gids = copyOf(sections.gids, new Uint32Array(capacity));
  items.sizes = copyOf(sections.sizes, new Float64Array(capacity));
  items.paths = new Int32Array(capacity);
  items.links = new Int32Array(capacity);
  for (let i = 0; i < count; i++) {
    items.paths[i] = pathOfNode[sections.paths[i]!]!;
    const link = sections.links[i]!;
    items.links[i] = link === NO_LINK ? NO_LINK : linkIds[link]!;
  }
  return items;
}

/** Copies rather than views: the entry's buffer can then be freed, and LayerItems may grow. */
function copyOf<T extends Column>(source: ArrayLike<number>, target: T): T {
  target.set(source);
  return target;
}

/**
 * The paths of a layer's items as a trie of local node numbers, nodes numbered in the order the tar parser
 * interned them (each item's missing ancestors top-down, then the item), node 0 the root.
 */
function localTrie(
  items: LayerItems,
  paths: PathTable,
): { itemPaths: Int32Array; parents: Int32Array; nameOfNode: Int32Array; names: string[] } {
  // A layer has at most as many distinct paths as the table: room for every node up front.
  const nodeOf = new Int32Array(paths.size).fill(-1);
  const parents = new Int32Array(paths.size);
  const nameOfNode = new Int32Array(paths.size);
  nodeOf[ROOT] = 0;
  parents[0] = -1;
  nameOfNode[0] = -1;
  let nodes = 1;
  const localName = new Map<number, number>();
  const names: string[] = [];
  const itemPaths = new Int32Array(items.count);
  const missing: number[] = [];
  for (let i = 0; i < items.count; i++) {
    const path = items.paths[i]!;
    if (nodeOf[path]! < 0) {
      for (let at = path; nodeOf[at]! < 0; at = paths.parent(at)) missing.push(at);
      while (missing.length > 0) {
        const at = missing.pop()!;
        const nameId = paths.nameId(at);
        let name = localName.get(nameId);
        if (name === undefined) {
          name = names.length;
          names.push(paths.nameOfId(nameId));
          localName.set(nameId, name);
        }
        nodeOf[at] = nodes;
        parents[nodes] = nodeOf[paths.parent(at)]!;
        nameOfNode[nodes] = name;
        nodes++;
      }
    }
    itemPaths[i] = nodeOf[path]!;
  }
  return { itemPaths, parents: parents.subarray(0, nodes), nameOfNode: nameOfNode.subarray(0, nodes), names };
}

/** The layer's link targets, numbered in first-use order. */
function localLinks(items: LayerItems, table: StringTable): { itemLinks: Int32Array; values: string[] } {
  const localOf = new Map<number, number>();
  const values: string[] = [];
  const itemLinks = new Int32Array(items.count);
  for (let i = 0; i < items.count; i++) {
    const link = items.links[i]!;
    if (link === NO_LINK) {
      itemLinks[i] = NO_LINK;
      continue;
    }
    let local = localOf.get(link);
    if (local === undefined) {
      local = values.length;
      values.push(table.get(link));
      localOf.set(link, local);
    }
    itemLinks[i] = local;
  }
  return { itemLinks, values };
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Strings as UTF-8 plus their UTF-16 lengths; undefined when one would not survive the round trip. */
function joinedText(values: readonly string[]): { bytes: Uint8Array; lengths: Uint32Array } | undefined {
  const text = values.join('');
  if (LONE_SURROGATE.test(text)) return undefined;
  return { bytes: Buffer.from(text, 'utf8'), lengths: Uint32Array.from(values, (value) => value.length) };
}
