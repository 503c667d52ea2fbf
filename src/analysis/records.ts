import { resize } from './layer-items.js';

/** How a record relates to the tree below its layer (2 bits of `flags`). */
export const Change = { Added: 0, Modified: 1, Removed: 2, Unchanged: 3 } as const;
export type Change = (typeof Change)[keyof typeof Change];

export const RecordFlag = {
  ChangeMask: 3,
  /** The path was present in the merged tree below this record's layer. */
  Below: 4,
  /** Replaced by a later record of the same layer: not part of the layer's changes. */
  Superseded: 8,
  /** Removed because an ancestor was removed or replaced: shown in trees, not listed as a change. */
  Cascade: 16,
  /** A directory no entry named, implied by a deeper path. */
  Implicit: 32,
  /** Came from a tar entry (as opposed to an implied directory or a removal an opaque dir caused). */
  Tar: 64,
} as const;

/**
 * Every state change of every path, in merge order (so grouped by layer, ascending), columnar: about 34
 * bytes a record, no object per path. `next` chains the records of one path in layer order.
 */
export class RecordStore {
  count = 0;
  paths = new Int32Array(1024);
  layers = new Uint16Array(1024);
  types = new Uint8Array(1024);
  flags = new Uint8Array(1024);
  modes = new Uint16Array(1024);
  uids = new Uint32Array(1024);
  gids = new Uint32Array(1024);
  sizes = new Float64Array(1024);
  links = new Int32Array(1024);
  next = new Int32Array(1024);

  push(
    path: number,
    layer: number,
    type: number,
    flags: number,
    mode: number,
    uid: number,
    gid: number,
    size: number,
    link: number,
  ): number {
    if (this.count === this.paths.length) this.grow(this.count * 2);
    const record = this.count++;
    this.paths[record] = path;
    this.layers[record] = layer;
    this.types[record] = type;
    this.flags[record] = flags;
    this.modes[record] = mode;
    this.uids[record] = uid;
    this.gids[record] = gid;
    this.sizes[record] = size;
    this.links[record] = link;
    this.next[record] = -1;
    return record;
  }

  change(record: number): Change {
    return (this.flags[record]! & RecordFlag.ChangeMask) as Change;
  }

  /** A removal, with its ancestor's, of what its own layer had set: the path was never in the image. */
  removedUnseen(record: number): boolean {
    const flags = this.flags[record]!;
    return (
      (flags & RecordFlag.ChangeMask) === Change.Removed &&
      (flags & (RecordFlag.Cascade | RecordFlag.Below)) === RecordFlag.Cascade
    );
  }

  /** Releases the unused tail of the columns once merging is over. */
  trim(): void {
    this.grow(Math.max(this.count, 1));
  }

  private grow(capacity: number): void {
    this.paths = resize(this.paths, capacity);
    this.layers = resize(this.layers, capacity);
    this.types = resize(this.types, capacity);
    this.flags = resize(this.flags, capacity);
    this.modes = resize(this.modes, capacity);
    this.uids = resize(this.uids, capacity);
    this.gids = resize(this.gids, capacity);
    this.sizes = resize(this.sizes, capacity);
    this.links = resize(this.links, capacity);
    this.next = resize(this.next, capacity);
  }
}
