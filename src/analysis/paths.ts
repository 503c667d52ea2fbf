/**
 * Every distinct path of an image, interned once as a node of a trie: a path is a number, its name a
 * number, and the trie lives in typed arrays. Layers parsed concurrently intern into the same table, so a
 * path id means the same path in every layer, in the merged tree and in the waste figures.
 */

import { isUtf8 } from 'node:buffer';
import type { NameBudget } from './name-budget.js';

/** The id of `/`. */
export const ROOT = 0;

const NONE = -1;
const INITIAL_CAPACITY = 1024;

export class PathTable {
  /** Interned segment names; a name id indexes this. */
  private readonly names: string[] = [];
  /** Open addressing on the name's hash → name id + 1; 0 is an empty slot. */
  private nameSlots = new Int32Array(INITIAL_CAPACITY * 2);

  private parents: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private nameOf: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private firstChildOf: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private nextSiblingOf: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private count = 1;

  /** Open addressing on (parent, name) → id + 1; 0 is an empty slot. */
  private slots = new Int32Array(INITIAL_CAPACITY * 2);

  /** Built on demand once the table stops growing: children sorted by name, for tree walks. */
  private sorted: { offsets: Int32Array; children: Int32Array; count: number } | undefined;

  /** Charged for every distinct name and path; none (unbounded) for tables built by tests and tools. */
  constructor(private readonly budget?: NameBudget) {
    this.parents[ROOT] = NONE;
    this.nameOf[ROOT] = this.internName('');
    this.firstChildOf[ROOT] = NONE;
    this.nextSiblingOf[ROOT] = NONE;
  }

  /** Number of ids handed out, the root included. */
  get size(): number {
    return this.count;
  }

  parent(id: number): number {
    return this.parents[id]!;
  }

  name(id: number): string {
    return this.names[this.nameOf[id]!]!;
  }

  nameId(id: number): number {
    return this.nameOf[id]!;
  }

  nameOfId(nameId: number): string {
    return this.names[nameId]!;
  }

  /** First child in insertion order (NONE = -1 when there is none); see `nextSibling`. */
  firstChild(id: number): number {
    return this.firstChildOf[id]!;
  }

  nextSibling(id: number): number {
    return this.nextSiblingOf[id]!;
  }

  internName(name: string): number {
    const mask = this.nameSlots.length - 1;
    let slot = hashString(name) & mask;
    for (; ; slot = (slot + 1) & mask) {
      const entry = this.nameSlots[slot]!;
      if (entry === 0) break;
      if (this.names[entry - 1] === name) return entry - 1;
    }
    return this.addName(name, slot);
  }

  /**
   * The id of the name whose UTF-8 bytes are `bytes[start, end)`. A name seen before costs a hash of its
   * bytes and one comparison, and allocates nothing: this is how tar headers are interned.
   */
  internNameBytes(bytes: Buffer, start: number, end: number): number {
    let hash = HASH_SEED;
    let high = 0;
    for (let at = start; at < end; at++) {
      const byte = bytes[at]!;
      high |= byte;
      hash = Math.imul(hash ^ byte, HASH_PRIME);
    }
    if (high & 0x80) return this.internName(decodeName(bytes, start, end));
    const length = end - start;
    const mask = this.nameSlots.length - 1;
    let slot = finish(hash) & mask;
    for (; ; slot = (slot + 1) & mask) {
      const entry = this.nameSlots[slot]!;
      if (entry === 0) break;
      const name = this.names[entry - 1]!;
      if (name.length !== length) continue;
      let at = 0;
      while (at < length && name.charCodeAt(at) === bytes[start + at]) at++;
      if (at === length) return entry - 1;
    }
    return this.addName(bytes.toString('latin1', start, end), slot);
  }

  /** The child of `parent` called `name`, or -1. */
  lookup(parent: number, name: string): number {
    const nameId = this.findName(name);
    return nameId === NONE ? NONE : this.lookupId(parent, nameId);
  }

  private findName(name: string): number {
    const mask = this.nameSlots.length - 1;
    for (let slot = hashString(name) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.nameSlots[slot]!;
      if (entry === 0) return NONE;
      if (this.names[entry - 1] === name) return entry - 1;
    }
  }

  private addName(name: string, slot: number): number {
    this.budget?.charge(name.length);
    const id = this.names.length;
    this.names.push(name);
    this.nameSlots[slot] = id + 1;
    if (this.names.length * 2 > this.nameSlots.length) this.growNameSlots();
    return id;
  }

  private growNameSlots(): void {
    const slots = new Int32Array(this.nameSlots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.names.length; id++) {
      let slot = hashString(this.names[id]!) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.nameSlots = slots;
  }

  lookupId(parent: number, nameId: number): number {
    const mask = this.slots.length - 1;
    for (let slot = hash(parent, nameId) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) return NONE;
      const id = entry - 1;
      if (this.parents[id] === parent && this.nameOf[id] === nameId) return id;
    }
  }

  /** The child of `parent` called `name`, created when absent. */
  child(parent: number, name: string): number {
    return this.childId(parent, this.internName(name));
  }

  /** The child of `parent` named `nameId`, created when absent. A child's id is always above its parent's. */
  childId(parent: number, nameId: number): number {
    const mask = this.slots.length - 1;
    let slot = hash(parent, nameId) & mask;
    for (; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]!;
      if (entry === 0) break;
      const id = entry - 1;
      if (this.parents[id] === parent && this.nameOf[id] === nameId) return id;
    }
    this.budget?.chargePath();
    if (this.count === this.parents.length) this.growNodes();
    const id = this.count++;
    this.parents[id] = parent;
    this.nameOf[id] = nameId;
    this.firstChildOf[id] = NONE;
    this.nextSiblingOf[id] = this.firstChildOf[parent]!;
    this.firstChildOf[parent] = id;
    this.slots[slot] = id + 1;
    if (this.count * 2 > this.slots.length) this.growSlots();
    this.sorted = undefined;
    return id;
  }

  /** Interns a path given as segments (already normalised: no '', '.', '..'). */
  intern(segments: readonly string[], from = ROOT): number {
    let id = from;
    for (const segment of segments) id = this.child(id, segment);
    return id;
  }

  /** The id of a normalised absolute path such as `/etc/passwd`, or -1. */
  find(path: string): number {
    let id = ROOT;
    for (const segment of path.split('/')) {
      if (segment === '') continue;
      id = this.lookup(id, segment);
      if (id === NONE) return NONE;
    }
    return id;
  }

  /** `/a/b/c` for the id of c; `/` for the root. */
  path(id: number): string {
    if (id === ROOT) return '/';
    const parts: string[] = [];
    for (let at = id; at !== ROOT; at = this.parents[at]!) parts.push(this.name(at));
    return `/${parts.reverse().join('/')}`;
  }

  depth(id: number): number {
    let depth = 0;
    for (let at = id; at !== ROOT; at = this.parents[at]!) depth++;
    return depth;
  }

  isAncestor(ancestor: number, id: number): boolean {
    for (let at = id; at !== NONE; at = this.parents[at]!) if (at === ancestor) return true;
    return false;
  }

  /**
   * Children of `id` sorted by name (code-point order, which is the byte order of their UTF-8). Built
   * for the whole table on first use after the last insertion: O(n log n) once, then a subarray per call.
   */
  sortedChildren(id: number): Int32Array {
    const sorted = this.sortedIndex();
    return sorted.children.subarray(sorted.offsets[id]!, sorted.offsets[id + 1]!);
  }

  /**
   * Two stable counting sorts, O(paths + names) after ranking the distinct names: every id by its name's
   * rank, then by parent. Each parent's children end up contiguous and in name order.
   */
  private sortedIndex(): { offsets: Int32Array; children: Int32Array; count: number } {
    if (this.sorted && this.sorted.count === this.count) return this.sorted;
    const count = this.count;
    const rankOfName = rankNames(this.names);

    const rankStarts = new Int32Array(rankOfName.length + 1);
    for (let id = 1; id < count; id++) rankStarts[rankOfName[this.nameOf[id]!]! + 1]!++;
    for (let rank = 0; rank < rankOfName.length; rank++) rankStarts[rank + 1]! += rankStarts[rank]!;
    const byName = new Int32Array(count - 1);
    for (let id = 1; id < count; id++) byName[rankStarts[rankOfName[this.nameOf[id]!]!]!++] = id;

    const offsets = new Int32Array(count + 1);
    for (let id = 1; id < count; id++) offsets[this.parents[id]! + 1]!++;
    for (let id = 0; id < count; id++) offsets[id + 1]! += offsets[id]!;
    const next = offsets.slice(0, count);
    const children = new Int32Array(count - 1);
    for (const id of byName) children[next[this.parents[id]!]!++] = id;
    this.sorted = { offsets, children, count };
    return this.sorted;
  }

  private growNodes(): void {
    const capacity = this.parents.length * 2;
    this.parents = grow(this.parents, capacity);
    this.nameOf = grow(this.nameOf, capacity);
    this.firstChildOf = grow(this.firstChildOf, capacity);
    this.nextSiblingOf = grow(this.nextSiblingOf, capacity);
  }

  private growSlots(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 1; id < this.count; id++) {
      let slot = hash(this.parents[id]!, this.nameOf[id]!) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.slots = slots;
  }
}

/**
 * A name's bytes as a string, one string per byte sequence: UTF-8 is decoded, and each byte that is not
 * part of valid UTF-8 becomes the lone surrogate U+DC00 + byte (Python's `surrogateescape`), which no
 * valid UTF-8 decodes to. Decoding those bytes to U+FFFD would make `a\xff` and `a\xfe` one path,
 * where docker unpacks (and dive counts) two files.
 */
export function decodeName(bytes: Buffer, start: number, end: number): string {
  const view = bytes.subarray(start, end);
  if (isUtf8(view)) return view.toString('utf8');
  let text = '';
  let at = 0;
  while (at < view.length) {
    const length = utf8SequenceLength(view, at);
    if (length > 0) {
      text += view.toString('utf8', at, at + length);
      at += length;
    } else text += String.fromCharCode(0xdc00 + view[at++]!);
  }
  return text;
}

/** Length of the well-formed UTF-8 sequence at `at` (RFC 3629: no overlongs, surrogates or > U+10FFFF), or 0. */
function utf8SequenceLength(bytes: Buffer, at: number): number {
  const first = bytes[at]!;
  if (first < 0x80) return 1;
  const continuation = (offset: number, low = 0x80, high = 0xbf): boolean => {
    const byte = bytes[at + offset];
    return byte !== undefined && byte >= low && byte <= high;
  };
  if (first >= 0xc2 && first <= 0xdf) return continuation(1) ? 2 : 0;
  if (first >= 0xe0 && first <= 0xef) {
    const low = first === 0xe0 ? 0xa0 : 0x80;
    const high = first === 0xed ? 0x9f : 0xbf;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (first >= 0xf0 && first <= 0xf4) {
    const low = first === 0xf0 ? 0x90 : 0x80;
    const high = first === 0xf4 ? 0x8f : 0xbf;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

const HASH_SEED = 0x811c9dc5;
const HASH_PRIME = 0x01000193;

/**
 * FNV-1a over UTF-16 code units, so an ASCII name hashes the same from its string and from its bytes
 * (`internNameBytes` decodes every other name before hashing it).
 */
function hashString(name: string): number {
  let hash = HASH_SEED;
  for (let at = 0; at < name.length; at++) hash = Math.imul(hash ^ name.charCodeAt(at), HASH_PRIME);
  return finish(hash);
}

function finish(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x7feb352d);
  return h ^ (h >>> 15);
}

function hash(parent: number, nameId: number): number {
  let h = Math.imul(parent, 0x9e3779b1) ^ Math.imul(nameId + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

function grow(array: Int32Array, capacity: number): Int32Array {
  const grown = new Int32Array(capacity);
  grown.set(array);
  return grown;
}

/**
 * Compares names by code point, which is how Go (and so dive) orders UTF-8 strings. JavaScript's `<`
 * compares UTF-16 code units, which differs only between a surrogate and a code unit of U+E000 or above.
 */
export function compareNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

function codePointOrder(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

/** rank[nameId] = position of the name in code-point order. */
function rankNames(names: readonly string[]): Int32Array {
  const order = names.map((_, index) => index);
  const needsCodePointOrder = names.some((name) => /[\ud800-\uffff]/.test(name));
  order.sort(
    needsCodePointOrder
      ? (x, y) => compareNames(names[x]!, names[y]!)
      : (x, y) => (names[x]! < names[y]! ? -1 : names[x]! > names[y]! ? 1 : 0),
  );
  const rank = new Int32Array(names.length);
  order.forEach((nameId, position) => {
    rank[nameId] = position;
  });
  return rank;
}
