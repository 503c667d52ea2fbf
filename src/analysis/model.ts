import {
  AUFS_LINK_DIR,
  ENTRY_TYPES,
  ItemKind,
  type LayerItems,
  NO_LINK,
  resize,
  type StringTable,
  TypeCode,
} from './layer-items.js';
import type { NameBudget } from './name-budget.js';
import { type PathTable, ROOT } from './paths.js';
import { Change, RecordFlag, RecordStore } from './records.js';
import { TreeView, type TreeViewSource } from './tree.js';
import type {
  ChangeKind,
  FileEntry,
  FileModel,
  FileTree,
  LayerChange,
  LayerDeadBytes,
  PathBytes,
} from './types.js';

const NONE = -1;

/** A hardlink whose target docker could not link: the layer cannot be unpacked. */
export class HardlinkTargetMissing extends Error {
  constructor(path: string, target: string, isDirectory: boolean) {
    const why = isDirectory ? 'a directory (link(2) cannot link one)' : 'not there when it is unpacked';
    super(
      `entry "${path}" is a hardlink to "${target}", which is ${why}, so Docker and containerd cannot unpack it`,
    );
    this.name = 'HardlinkTargetMissing';
  }
}
const IMPLIED_DIR_MODE = 0o755;
const CHANGE_KINDS: readonly ChangeKind[] = ['added', 'modified', 'removed'];
const CACHED_TREES = 4;

/** What merging one layer found. */
export interface LayerMergeResult {
  added: number;
  modified: number;
  removed: number;
  /** Content bytes this layer made dead: of lower layers it overwrote or removed, and of its own copies it replaced. */
  wastedBytes: number;
}

/**
 * Stacks layers, in order, into the merged filesystem, recording for every path each state change as a
 * compact record. Semantics follow the OCI image-spec's changeset rules:
 * - whiteouts (`.wh.NAME`) and opaque markers (`.wh..wh..opq`) apply to the layers below only, so they
 *   are applied first, and entries of the same layer survive them;
 * - an entry replaces what was at its path; a non-directory replacing a directory removes its contents;
 * - directories implied by deeper paths exist (mode 0755, owned by the layer of the first child).
 * Classification is relative to the merged tree below: added, modified, removed, or unchanged for a
 * directory re-listed with the same type, mode and owner (as every Dockerfile layer re-lists its parents).
 */
export class FileModelBuilder {
  readonly records = new RecordStore();
  private first = new Int32Array(1024).fill(NONE);
  private last = new Int32Array(1024).fill(NONE);
  /**
   * Per path: the content its present file or hardlink shares with its other names. Made only when a
   * hardlink names a file; a path with none (NONE) names content of its own.
   */
  private group = new Int32Array(1024).fill(NONE);
  private readonly groupSizes: number[] = [];
  private readonly groupNames: number[] = [];
  private readonly groupLayers: number[] = [];
  private readonly layerStarts: number[] = [0];
  private readonly layerDead: LayerDeadBytes[] = [];
  private entryCount = 0;
  private layer = 0;
  private wasted = 0;
  /**
   * This layer's own copies it replaced, by path: one entry however often a layer rewrites a path, so a
   * layer listing one name millions of times holds one number here, not millions of path strings.
   */
  private shadowed = new Map<number, number>();
  /**
   * Per path: the bytes this layer's whiteouts and opaque directories freed there (stamped layer + 1).
   * A path the layer then sets again was overwritten, not deleted, as its layer tree shows (modified): its
   * stamp is then negated, as a link may still keep those bytes (`unfree`).
   */
  private freed = new Float64Array(1024);
  private freedStamp = new Int32Array(1024);
  private deleting = false;
  /**
   * Per path: the item of this layer whose whiteout or opaque marker removed it (stamped layer + 1), so a
   * hardlink to it is judged by archive order, as an unpack meets them. Cleared when the layer sets it again.
   */
  private removedBy = new Int32Array(1024);
  private removedStamp = new Int32Array(1024);
  /** The item whose whiteout or opaque marker is being applied. */
  private removingItem = 0;
  /**
   * The content groups of hardlinked names this layer's whiteouts and opaque markers removed, by path,
   * and the groups made for a removed file that a link before its marker keeps: links find them here.
   */
  private removedGroups = new Map<number, number>();
  /** Where this layer's deletions freed each of those groups: the path that took its last name. */
  private groupFreedAt = new Map<number, number>();
  /** Bytes this layer's deletions freed at paths it then set again. */
  private recreated = 0;
  /** What each of this layer's whiteouts and opaque directories' children freed: path, bytes, … */
  private removals: number[] = [];

  /** `budget` is charged for the path strings of each layer's dead-byte lists (none in tests and tools). */
  constructor(
    readonly paths: PathTable,
    readonly links: StringTable,
    private readonly budget?: NameBudget,
  ) {}

  get layerCount(): number {
    return this.layerStarts.length - 1;
  }

  /** Merges the next layer (layers must come in order, base first). */
  applyLayer(items: LayerItems, fileCount = items.count): LayerMergeResult {
    this.ensureCapacity(this.paths.size);
    const layer = this.layerCount;
    this.layer = layer;
    this.wasted = 0;
    this.shadowed = new Map();
    this.recreated = 0;
    this.removals = [];
    if (this.removedGroups.size > 0) {
      this.removedGroups = new Map();
      this.groupFreedAt = new Map();
    }
    this.entryCount += fileCount;
    const { kinds, paths } = items;

    this.deleting = true;
    let aufsLinkFiles: Map<string, number> | undefined;
    for (let i = 0; i < items.count; i++) {
      const kind = kinds[i]!;
      this.removingItem = i;
      if (kind === ItemKind.Whiteout) this.removeByWhiteout(paths[i]!);
      else if (kind === ItemKind.Opaque) this.hideLowerContents(paths[i]!);
      else if (kind === ItemKind.Marker && items.types[i] === TypeCode.file) {
        if (this.paths.path(paths[i]!).startsWith(`${AUFS_LINK_DIR}/`)) {
          aufsLinkFiles ??= new Map();
          aufsLinkFiles.set(this.paths.name(paths[i]!), i);
        }
      }
    }
    this.deleting = false;
    const freedByDeletion = this.wasted;
    for (let i = 0; i < items.count; i++) {
      const kind = kinds[i]!;
      if (kind === ItemKind.Entry) this.setEntry(items, i, aufsLinkFiles);
      else if (kind === ItemKind.Opaque) this.ensureDirectory(paths[i]!);
    }

    const start = this.layerStarts[layer]!;
    const end = this.records.count;
    this.layerStarts.push(end);
    const shadowed: PathBytes[] = [];
    for (const [path, bytes] of this.shadowed) shadowed.push({ path: this.pathString(path), bytes });
    const removals: PathBytes[] = [];
    for (let k = 0; k < this.removals.length; k += 2)
      removals.push({ path: this.pathString(this.removals[k]!), bytes: this.removals[k + 1]! });
    const deleted = freedByDeletion - this.recreated;
    this.layerDead.push({ deleted, overwritten: this.wasted - deleted, shadowed, removals });
    const counts = [0, 0, 0, 0];
    const { flags } = this.records;
    for (let record = start; record < end; record++) {
      const flag = flags[record]!;
      if (flag & (RecordFlag.Superseded | RecordFlag.Cascade)) continue;
      counts[flag & RecordFlag.ChangeMask]!++;
    }
    return { added: counts[0]!, modified: counts[1]!, removed: counts[2]!, wastedBytes: this.wasted };
  }

  build(): CompactFileModel {
    this.records.trim();
    return new CompactFileModel(
      this.paths,
      this.links,
      this.records,
      this.first,
      this.last,
      [...this.layerStarts],
      this.entryCount,
      [...this.layerDead],
    );
  }

  private isPresent(record: number): boolean {
    return record !== NONE && this.records.change(record) !== Change.Removed;
  }

  private isPresentDir(path: number): boolean {
    if (path === ROOT) return true;
    const record = this.last[path]!;
    return this.isPresent(record) && this.records.types[record] === TypeCode.dir;
  }

  /**
   * `path` stops naming its content: the bytes a layer shipped for it are dead once no other hardlink
   * names them (deleting one name of a hardlinked file frees nothing). Content this layer shipped itself
   * is dead too: the earlier copy of a path the layer lists twice is still in its blob.
   */
  private release(path: number): number {
    const group = this.group[path]!;
    let bytes: number;
    let layer: number;
    if (group === NONE) {
      const r = this.records;
      const record = this.last[path]!;
      if (!this.isPresent(record) || r.types[record] !== TypeCode.file) return 0;
      bytes = r.sizes[record]!;
      layer = r.layers[record]!;
    } else {
      this.group[path] = NONE;
      if (this.deleting) this.removedGroups.set(path, group);
      if (--this.groupNames[group]! > 0) return 0;
      if (this.deleting) this.groupFreedAt.set(group, path);
      bytes = this.groupSizes[group]!;
      layer = this.groupLayers[group]!;
    }
    if (layer === this.layer && bytes > 0) this.shadowed.set(path, (this.shadowed.get(path) ?? 0) + bytes);
    return bytes;
  }

  /** A path as a string kept beyond the layer: charged to the name budget, as interned names are. */
  private pathString(path: number): string {
    const name = this.paths.path(path);
    this.budget?.charge(name.length);
    return name;
  }

  /**
   * What this layer's deletions freed at `path` (and, for a path set again as a non-directory, below it:
   * it replaced all of that), taken once.
   */
  private takeFreed(path: number, withContents: boolean): number {
    const stamp = this.layer + 1;
    let bytes = 0;
    const pending = [path];
    while (pending.length > 0) {
      const at = pending.pop()!;
      if (this.freedStamp[at] === stamp) {
        bytes += this.freed[at]!;
        this.freedStamp[at] = -stamp;
      }
      if (!withContents) continue;
      for (let child = this.paths.firstChild(at); child !== NONE; child = this.paths.nextSibling(child))
        pending.push(child);
    }
    return bytes;
  }

  /**
   * A file gets content of its own; a hardlink shares its target's, when the target is present. `item` is
   * the entry's place in the archive (`i` may be the aufs link file it copies).
   */
  private name(path: number, items: LayerItems, i: number, item: number): void {
    const type = items.types[i]!;
    if (type === TypeCode.file) this.group[path] = NONE;
    else if (type === TypeCode.hardlink && items.links[i] !== NO_LINK) {
      const targetPath = this.links.get(items.links[i]!);
      let target = this.paths.find(targetPath);
      if (!this.canLink(target, path, item)) target = this.throughSymlinks(targetPath, item);
      if (!this.canLink(target, path, item))
        throw new HardlinkTargetMissing(
          this.paths.path(path),
          targetPath,
          target !== NONE && this.isPresentDir(target),
        );
      const group = !this.isPresent(this.last[target]!)
        ? this.keepRemovedContent(target)
        : this.group[target] !== NONE
          ? this.group[target]!
          : this.shareContent(target);
      if (group !== NONE) {
        this.group[path] = group;
        this.groupNames[group]!++;
      }
    }
  }

  /**
   * Docker and containerd unpack a hardlink with link(2), which fails when its target is missing or a
   * directory. They apply a whiteout or opaque marker where the archive has it: a target this layer
   * removes that way is still there for a link before the marker, and gone for one after it. The merge
   * applies a layer's removals first, so it asks which item removed the target.
   */
  private canLink(target: number, path: number, item: number): boolean {
    if (target === NONE || target === path) return false;
    const record = this.last[target]!;
    if (record === NONE) return false;
    if (this.records.types[record] === TypeCode.dir) return false;
    return this.isThereFor(target, record, item);
  }

  /** Whether `path` (its last record `record`) is there for the layer's item `item`, in archive order. */
  private isThereFor(path: number, record: number, item: number): boolean {
    if (this.isPresent(record)) return true;
    return record !== NONE && this.removedStamp[path] === this.layer + 1 && this.removedBy[path]! > item;
  }

  /**
   * The path link(2) reaches for `target`: symlinks among its folders are followed (its last name is not),
   * as the kernel follows them, inside the image's root as docker's chroot and containerd keep them;
   * NONE when a name on the way is not there for the link at `item` (a folder the layer removes after the
   * link still is). Only for targets not found as named: never per entry.
   */
  private throughSymlinks(target: string, item: number): number {
    const pending = segmentsOf(target).reverse();
    const resolved = [ROOT];
    let followed = 0;
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (name === '..') {
        if (resolved.length > 1) resolved.pop();
        continue;
      }
      const id = this.paths.lookup(resolved[resolved.length - 1]!, name);
      const record = id === NONE ? NONE : this.last[id]!;
      if (!this.isThereFor(id, record, item)) return NONE;
      const link = this.records.links[record]!;
      if (pending.length > 0 && this.records.types[record] === TypeCode.symlink && link !== NO_LINK) {
        // Linux gives up after 40 symlinks (ELOOP).
        if (++followed > 40) return NONE;
        const to = this.links.get(link);
        if (to.startsWith('/')) resolved.length = 1;
        pending.push(...segmentsOf(to).reverse());
        continue;
      }
      resolved.push(id);
    }
    return resolved[resolved.length - 1]!;
  }

  /** The group of the file at `target`, made on its first hardlink; NONE when no file is there. */
  private shareContent(target: number): number {
    const r = this.records;
    const record = this.last[target]!;
    if (!this.isPresent(record) || r.types[record] !== TypeCode.file) return NONE;
    const group = this.groupSizes.length;
    this.groupSizes.push(r.sizes[record]!);
    this.groupNames.push(1);
    this.groupLayers.push(r.layers[record]!);
    this.group[target] = group;
    return group;
  }

  /**
   * The content of `target`, which a whiteout or opaque marker of this layer removes after the link
   * being set: the unpack links first, so the link keeps that content, and what the removal counted as
   * freed there is not dead. NONE when the target was not a file.
   */
  private keepRemovedContent(target: number): number {
    let group = this.removedGroups.get(target);
    if (group === undefined) {
      const r = this.records;
      const removal = this.last[target]!;
      if (r.types[removal] !== TypeCode.file) return NONE;
      let removed = this.first[target]!;
      while (r.next[removed] !== removal) removed = r.next[removed]!;
      group = this.groupSizes.length;
      this.groupSizes.push(r.sizes[removal]!);
      this.groupNames.push(0);
      this.groupLayers.push(r.layers[removed]!);
      this.removedGroups.set(target, group);
      this.groupFreedAt.set(group, target);
    }
    const freedAt = this.groupFreedAt.get(group);
    if (freedAt !== undefined) {
      this.groupFreedAt.delete(group);
      this.unfree(freedAt);
    }
    return group;
  }

  /**
   * Takes back what this layer's deletions freed at `path`: its content is kept after all. Those bytes
   * were deleted, or overwritten when the layer has set the path again already.
   */
  private unfree(path: number): void {
    const stamp = this.layer + 1;
    const taken = this.freedStamp[path];
    if (taken !== stamp && taken !== -stamp) return;
    this.freedStamp[path] = 0;
    const bytes = this.freed[path]!;
    this.wasted -= bytes;
    if (taken === stamp) this.recreated += bytes;
    const removals = this.removals;
    for (let at = path; ; at = this.paths.parent(at)) {
      for (let k = 0; k < removals.length; k += 2) {
        if (removals[k] !== at) continue;
        removals[k + 1]! -= bytes;
        return;
      }
      if (at === ROOT) return;
    }
  }

  private append(
    path: number,
    type: number,
    flags: number,
    mode: number,
    uid: number,
    gid: number,
    size: number,
    link: number,
  ): number {
    const record = this.records.push(path, this.layer, type, flags, mode, uid, gid, size, link);
    const previous = this.last[path]!;
    if (previous === NONE) this.first[path] = record;
    else this.records.next[previous] = record;
    this.last[path] = record;
    return record;
  }

  /**
   * Appends a removal of `path` carrying what was removed (its attributes, for trees and change lists). What
   * this layer set itself and now removes (a directory it filled, then replaced by a file) stops being a
   * change of the layer, and was below only if the record it set was.
   */
  private appendRemoval(path: number, removed: number, flags: number): void {
    const r = this.records;
    const bytes = this.release(path);
    this.wasted += bytes;
    if (this.deleting) {
      this.removedBy[path] = this.removingItem;
      this.removedStamp[path] = this.layer + 1;
      if (bytes > 0) {
        this.freed[path] = bytes;
        this.freedStamp[path] = this.layer + 1;
      }
    }
    let below: number = RecordFlag.Below;
    if (r.layers[removed] === this.layer) {
      r.flags[removed]! |= RecordFlag.Superseded;
      below = r.flags[removed]! & RecordFlag.Below;
    }
    this.append(
      path,
      r.types[removed]!,
      flags | Change.Removed | below,
      r.modes[removed]!,
      r.uids[removed]!,
      r.gids[removed]!,
      r.sizes[removed]!,
      r.links[removed]!,
    );
  }

  private removeByWhiteout(path: number): void {
    const current = this.last[path]!;
    // Already removed by this layer (a repeated whiteout, an opaque or whited-out parent): one removal,
    // listed as the layer's own change whichever whiteout came first.
    if (current !== NONE && this.records.layers[current] === this.layer && !this.isPresent(current)) {
      this.records.flags[current]! &= ~RecordFlag.Cascade;
      return;
    }
    if (!this.isPresent(current)) {
      // Docker and containerd create every entry's missing parent before looking at it, whiteouts included:
      // a whiteout in a folder that is not there below leaves that folder, empty.
      const parent = this.paths.parent(path);
      if (!this.isPresent(this.last[parent]!)) this.ensureDirectory(parent);
      // A whiteout of nothing: still the layer's removal entry, but it removes nothing.
      this.append(path, TypeCode.file, RecordFlag.Tar | Change.Removed, 0, 0, 0, 0, NO_LINK);
      return;
    }
    const before = this.wasted;
    this.appendRemoval(path, current, RecordFlag.Tar);
    this.removeContents(path);
    this.removals.push(path, this.wasted - before);
  }

  /** An opaque directory: everything the layers below have in it is gone (each child a removal). */
  private hideLowerContents(dir: number): void {
    if (!this.isPresentDir(dir)) return;
    for (let child = this.paths.firstChild(dir); child !== NONE; child = this.paths.nextSibling(child)) {
      const current = this.last[child]!;
      if (!this.isPresent(current)) continue;
      const before = this.wasted;
      this.appendRemoval(child, current, 0);
      this.removeContents(child);
      this.removals.push(child, this.wasted - before);
    }
  }

  /** Removes every present descendant of `path` (cascade records), deepest state first not required. */
  private removeContents(path: number): void {
    const pending = [path];
    while (pending.length > 0) {
      const dir = pending.pop()!;
      for (let child = this.paths.firstChild(dir); child !== NONE; child = this.paths.nextSibling(child)) {
        const current = this.last[child]!;
        if (!this.isPresent(current)) continue;
        this.appendRemoval(child, current, RecordFlag.Cascade);
        pending.push(child);
      }
    }
  }

  private setEntry(items: LayerItems, i: number, aufsLinkFiles?: Map<string, number>): void {
    const path = items.paths[i]!;
    this.ensureDirectory(this.paths.parent(path));
    // docker unpacks a hardlink into aufs's link folder as a copy of the file there (tar-entries.ts has
    // refused one whose file the layer lacks); dive's figures keep reading the link as it is.
    const source = aufsLinkFiles && this.aufsLinkSource(items, i, aufsLinkFiles);
    const from = source ?? i;
    const type = items.types[from]!;
    const mode = items.modes[from]!;
    const uid = items.uids[from]!;
    const gid = items.gids[from]!;
    const link = source === undefined ? items.links[i]! : NO_LINK;
    const flags = this.classify(path, type, mode, uid, gid);
    this.append(path, type, flags | RecordFlag.Tar, mode, uid, gid, items.sizes[from]!, link);
    this.removedStamp[path] = 0;
    this.name(path, items, from, i);
  }

  /** The item of the aufs link file a hardlink names, if it names one. */
  private aufsLinkSource(items: LayerItems, i: number, files: Map<string, number>): number | undefined {
    if (items.types[i] !== TypeCode.hardlink || items.links[i] === NO_LINK) return undefined;
    const target = this.links.get(items.links[i]!);
    if (!target.startsWith(AUFS_LINK_DIR)) return undefined;
    return files.get(target.slice(target.lastIndexOf('/') + 1));
  }

  /**
   * A directory this layer removed (or replaced) and then re-created is listed as modified, not removed:
   * what it held below and this layer does not re-create is then listed as removed itself (not as part of
   * a removal).
   */
  private listRemovedChildren(dir: number): void {
    const r = this.records;
    for (let child = this.paths.firstChild(dir); child !== NONE; child = this.paths.nextSibling(child)) {
      const record = this.last[child]!;
      if (
        record !== NONE &&
        r.layers[record] === this.layer &&
        r.change(record) === Change.Removed &&
        r.flags[record]! & RecordFlag.Below
      )
        r.flags[record]! &= ~RecordFlag.Cascade;
    }
  }

  /** Makes `dir` and its ancestors present directories, implying the missing ones. */
  private ensureDirectory(dir: number): void {
    if (this.isPresentDir(dir)) return;
    const missing: number[] = [];
    for (let at = dir; !this.isPresentDir(at); at = this.paths.parent(at)) missing.push(at);
    for (let k = missing.length - 1; k >= 0; k--) {
      const path = missing[k]!;
      const flags = this.classify(path, TypeCode.dir, IMPLIED_DIR_MODE, 0, 0);
      this.append(path, TypeCode.dir, flags | RecordFlag.Implicit, IMPLIED_DIR_MODE, 0, 0, 0, NO_LINK);
    }
  }

  /**
   * The change flags for setting `path` to the given entry, relative to the tree below this layer, and
   * the side effects on what was there: superseding this layer's earlier record, counting overwritten
   * bytes, removing a replaced directory's contents.
   */
  private classify(path: number, type: number, mode: number, uid: number, gid: number): number {
    const r = this.records;
    const current = this.last[path]!;
    const present = this.isPresent(current);
    if (present && r.types[current] === TypeCode.dir && type !== TypeCode.dir) this.removeContents(path);
    if (current !== NONE && r.layers[current] === this.layer) {
      // Set again within this layer (a duplicate entry, a dir implied before its own entry, a re-add
      // after a whiteout): the earlier record is superseded and the classification carries over.
      r.flags[current]! |= RecordFlag.Superseded;
      this.wasted += this.release(path);
      if (!this.isPresent(current)) this.recreated += this.takeFreed(path, type !== TypeCode.dir);
      // A directory this layer removed, or replaced by a file or symlink, and now makes again.
      if (type === TypeCode.dir && (!this.isPresent(current) || r.types[current] !== TypeCode.dir))
        this.listRemovedChildren(path);
      const below = r.flags[current]! & RecordFlag.Below;
      const unchanged =
        r.change(current) === Change.Unchanged && sameDirectory(r, current, type, mode, uid, gid);
      return below | (unchanged ? Change.Unchanged : below ? Change.Modified : Change.Added);
    }
    if (!present) return Change.Added;
    if (sameDirectory(r, current, type, mode, uid, gid)) return RecordFlag.Below | Change.Unchanged;
    this.wasted += this.release(path);
    return RecordFlag.Below | Change.Modified;
  }

  private ensureCapacity(size: number): void {
    if (size <= this.first.length) return;
    let capacity = this.first.length;
    while (capacity < size) capacity *= 2;
    const first = resize(this.first, capacity);
    const last = resize(this.last, capacity);
    const group = resize(this.group, capacity);
    this.freed = resize(this.freed, capacity);
    this.freedStamp = resize(this.freedStamp, capacity);
    this.removedBy = resize(this.removedBy, capacity);
    this.removedStamp = resize(this.removedStamp, capacity);
    first.fill(NONE, this.first.length);
    last.fill(NONE, this.last.length);
    group.fill(NONE, this.group.length);
    this.first = first;
    this.last = last;
    this.group = group;
  }
}

function sameDirectory(
  r: RecordStore,
  record: number,
  type: number,
  mode: number,
  uid: number,
  gid: number,
): boolean {
  return (
    type === TypeCode.dir &&
    r.types[record] === TypeCode.dir &&
    r.modes[record] === mode &&
    r.uids[record] === uid &&
    r.gids[record] === gid
  );
}

/** The merged model: records plus per-path chains; trees are computed on demand and cached. */
export class CompactFileModel implements FileModel, TreeViewSource {
  private readonly trees = new Map<string, FileTree>();

  constructor(
    readonly paths: PathTable,
    readonly links: StringTable,
    readonly records: RecordStore,
    private readonly first: Int32Array,
    private readonly last: Int32Array,
    private readonly layerStarts: readonly number[],
    readonly entryCount: number,
    private readonly layerDead: readonly LayerDeadBytes[],
  ) {}

  get layerCount(): number {
    return this.layerStarts.length - 1;
  }

  get pathCount(): number {
    return this.paths.size - 1;
  }

  /** Record index range [start, end) of a layer. */
  layerRange(layer: number): [number, number] {
    this.checkLayer(layer);
    return [this.layerStarts[layer]!, this.layerStarts[layer + 1]!];
  }

  *layerChanges(layer: number): Iterable<LayerChange> {
    const [start, end] = this.layerRange(layer);
    const r = this.records;
    for (let record = start; record < end; record++) {
      const flags = r.flags[record]!;
      if (flags & (RecordFlag.Superseded | RecordFlag.Cascade)) continue;
      const change = flags & RecordFlag.ChangeMask;
      if (change === Change.Unchanged) continue;
      yield { ...this.entry(record, this.paths.path(r.paths[record]!)), change: CHANGE_KINDS[change]! };
    }
  }

  /** The record visible at `path` after layers 0..layer, or -1. */
  recordAt(path: number, layer: number): number {
    let found = NONE;
    for (
      let record = this.first[path]!;
      record !== NONE && this.records.layers[record]! <= layer;
      record = this.records.next[record]!
    )
      found = record;
    return found;
  }

  entry(record: number, path: string): FileEntry {
    const r = this.records;
    const type = ENTRY_TYPES[r.types[record]!]!;
    const mode = r.modes[record]!;
    const uid = r.uids[record]!;
    const gid = r.gids[record]!;
    const size = type === 'file' ? r.sizes[record]! : 0;
    const layer = r.layers[record]!;
    const link = r.links[record]!;
    // Two literals rather than a conditional spread: trees build an entry for every node they show, and a
    // spread costs an extra object and a shape transition each time.
    if (link === NO_LINK) return { path, type, mode, uid, gid, size, layer };
    return { path, type, mode, uid, gid, size, linkTarget: this.links.get(link), layer };
  }

  treeAt(layer: number): FileTree {
    this.checkLayer(layer);
    return this.cached(`at:${layer}`, () => TreeView.merged(this, layer));
  }

  layerTree(layer: number): FileTree {
    this.checkLayer(layer);
    return this.cached(`layer:${layer}`, () => TreeView.layer(this, layer));
  }

  deadBytes(layer: number): LayerDeadBytes {
    this.checkLayer(layer);
    return this.layerDead[layer]!;
  }

  /** Last record of each path (after the top layer); -1 for none. */
  lastRecord(path: number): number {
    return path < this.last.length ? this.last[path]! : NONE;
  }

  firstRecord(path: number): number {
    return path < this.first.length ? this.first[path]! : NONE;
  }

  private cached(key: string, build: () => FileTree): FileTree {
    let tree = this.trees.get(key);
    if (tree) {
      this.trees.delete(key);
    } else {
      tree = build();
      if (this.trees.size >= CACHED_TREES) this.trees.delete(this.trees.keys().next().value!);
    }
    this.trees.set(key, tree);
    return tree;
  }

  private checkLayer(layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.layerCount)
      throw new RangeError(`layer ${layer} is out of range (the image has ${this.layerCount} layers)`);
  }
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '' && segment !== '.');
}
