import type { NameBudget } from './name-budget.js';
import type { EntryType } from './types.js';

/** What a tar entry does to the tree. */
export const ItemKind = {
  /** Sets a path (file, directory, link, device). */
  Entry: 0,
  /** `.wh.NAME`: removes NAME from the layers below. `path` is NAME's path. */
  Whiteout: 1,
  /** `.wh..wh..opq`: hides everything the layers below have in the directory. `path` is the directory. */
  Opaque: 2,
  /**
   * Any other `.wh..wh.*` name at the root (aufs metadata), or an entry inside such a directory: not
   * unpacked. `path` and type are the entry's own, for dive's figures, which count them (efficiency.ts).
   * Deeper, docker reads such names as any other: `x/.wh..wh.plnk` is a Whiteout of `x/.wh.plnk`.
   * `.wh.` alone, at any depth, names nothing to remove: a Marker too.
   */
  Marker: 3,
} as const;
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind];

export const ENTRY_TYPES: readonly EntryType[] = [
  'file',
  'dir',
  'symlink',
  'hardlink',
  'char',
  'block',
  'fifo',
];
export const TypeCode = { file: 0, dir: 1, symlink: 2, hardlink: 3, char: 4, block: 5, fifo: 6 } as const;

export const NO_LINK = -1;

/** aufs's folder of hardlink sources: docker does not unpack it, and makes each hardlink into it a copy. */
export const AUFS_LINK_DIR = '/.wh..wh.plnk';

/**
 * The entries of one layer's tar in archive order, columnar: what parsing produces and merging consumes.
 * Paths are ids of the image's shared PathTable; link targets are ids of its StringTable.
 */
export class LayerItems {
  count = 0;
  kinds = new Uint8Array(64);
  paths = new Int32Array(64);
  types = new Uint8Array(64);
  modes = new Uint16Array(64);
  uids = new Uint32Array(64);
  gids = new Uint32Array(64);
  /** Header size: what dive counts (content bytes for files, normally 0 otherwise). */
  sizes = new Float64Array(64);
  links = new Int32Array(64);

  push(
    kind: ItemKind,
    path: number,
    type: number,
    mode: number,
    uid: number,
    gid: number,
    size: number,
    link: number,
  ): void {
    if (this.count === this.kinds.length) this.grow();
    const i = this.count++;
    this.kinds[i] = kind;
    this.paths[i] = path;
    this.types[i] = type;
    this.modes[i] = mode;
    this.uids[i] = uid;
    this.gids[i] = gid;
    this.sizes[i] = size;
    this.links[i] = link;
  }

  private grow(): void {
    const capacity = this.kinds.length * 2;
    this.kinds = resize(this.kinds, capacity);
    this.paths = resize(this.paths, capacity);
    this.types = resize(this.types, capacity);
    this.modes = resize(this.modes, capacity);
    this.uids = resize(this.uids, capacity);
    this.gids = resize(this.gids, capacity);
    this.sizes = resize(this.sizes, capacity);
    this.links = resize(this.links, capacity);
  }
}

type TypedArray = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

export function resize<T extends TypedArray>(array: T, capacity: number): T {
  const Constructor = array.constructor as new (length: number) => T;
  const grown = new Constructor(capacity);
  grown.set(array.length <= capacity ? array : (array.subarray(0, capacity) as T));
  return grown;
}

/** Interned strings (link targets): repeated targets are stored once. */
export class StringTable {
  private readonly values: string[] = [];
  private readonly ids = new Map<string, number>();

  constructor(private readonly budget?: NameBudget) {}

  intern(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      this.budget?.charge(value.length);
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }

  get(id: number): string {
    return this.values[id]!;
  }
}
