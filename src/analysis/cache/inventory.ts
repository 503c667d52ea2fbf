import { lstat, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Digest, isDigest } from '../../oci/digest.js';
import { readCacheFile } from './files.js';
import { decodeRecord, isRecordFileName, sameStamp } from './fingerprint-format.js';
import {
  digestOfEntryFile,
  entryFileName,
  FINGERPRINTS_FOLDER,
  IMAGES_FOLDER,
  isCacheFileName,
  isVersionedFolderName,
  LAYERS_FOLDER,
  TEMP_PREFIX,
  TWIN_PREFIX,
} from './location.js';
import { readSummaryHeader } from './summary-format.js';

/** A temp file this old belongs to a writer that died; younger ones may still be renamed into place. */
export const ABANDONED_TEMP_MS = 10 * 60 * 1000;

export interface CacheEntryInfo {
  /** The layer's digest, or for an image summary the manifest's. */
  digest: Digest;
  /** Bytes on disk: an image summary's twin pointer (see DiskSummaryCache) included. */
  size: number;
  /** The last time an analysis read or wrote it (the file's mtime). */
  lastUsed: Date;
}

export interface CacheFolder {
  directory: string;
  /** Most recently used first. */
  entries: CacheEntryInfo[];
  totalSize: number;
}

export interface CacheInventory extends CacheFolder {
  /** The folder of this imgscope's layer entries (`directory`, `entries` and `totalSize` are theirs). */
  directory: string;
  /** Image summaries by manifest digest: what a repeated check reads instead of any layer. */
  images: CacheFolder;
  /** Fingerprints of verified local blobs: a few hundred bytes each, so counted, not listed. */
  fingerprints: { directory: string; count: number; totalSize: number };
  /** Files no analysis will read: other versions' entries, abandoned temp files, twin pointers to no summary. */
  stale: { files: number; size: number };
}

/** A file of another imgscope version, or a temp file whose writer is gone. */
interface StaleFile {
  path: string;
  size: number;
  lastUsed: number;
  abandonedTemp: boolean;
}

export interface PruneCount {
  removed: CacheEntryInfo[];
  removedSize: number;
  kept: number;
  keptSize: number;
}

/** Layer entries at the top level, image summaries under `images`. */
export interface PruneResult extends PruneCount {
  images: PruneCount;
  fingerprints: { removed: number; removedSize: number; kept: number; keptSize: number };
  /** What was removed of `CacheInventory.stale`, and what the budget let other versions keep. */
  stale: { files: number; size: number; kept: number; keptSize: number };
}

/** Lists the entries under a cache root; a missing root is an empty cache. */
export async function listCache(root: string, now = Date.now()): Promise<CacheInventory> {
  const stale = { files: 0, size: 0 };
  const layers = await listFolder(join(root, LAYERS_FOLDER), now, stale);
  const images = await listFolder(join(root, IMAGES_FOLDER), now, stale);
  await countTwinPointers(images, stale);
  const fingerprints = await listFingerprints(join(root, FINGERPRINTS_FOLDER), now, stale);
  for (const file of await otherVersionsFiles(root, now)) {
    stale.files++;
    stale.size += file.size;
  }
  return { ...layers, images, fingerprints, stale };
}

/**
 * Removes the entries of other imgscope versions and then the least recently used entries, layer entries
 * and image summaries alike, until the rest fit in `maxSize` bytes (everything when it is undefined), and
 * always abandoned temp files. Only files named as imgscope names them are removed: a folder of another
 * version goes only once nothing else is left in it. A summary goes with any
 * of its layers: an image whose layer was dropped is analysed afresh, as it should be. (A summary hit
 * marks the image's layer entries as used too, so images in use keep both.)
 *
 * Blob fingerprints stay out of the budget — a few hundred bytes each, and dropping one costs hashing a
 * whole blob again — and are removed once they no longer match their file (it was changed, replaced or
 * deleted: they would never be used again), or all of them when there is no budget.
 */
export async function pruneCache(root: string, maxSize?: number, now = Date.now()): Promise<PruneResult> {
  const inventory = await listCache(root, now);
  const { images } = inventory;
  const layersOfImage = await summaryLayers(images);
  const removedLayers = new Set<CacheEntryInfo>();
  const removedImages = new Set<CacheEntryInfo>();
  const others = await otherVersionsFiles(root, now);
  const removedStale = { files: 0, size: 0, kept: 0, keptSize: 0 };
  const removeStale = async (file: StaleFile) => {
    if (await removeFile(file.path)) {
      removedStale.files++;
      removedStale.size += file.size;
    }
  };
  for (const file of others) if (file.abandonedTemp) await removeStale(file);
  const otherVersions = others.filter((file) => !file.abandonedTemp);
  let size = otherVersions.reduce((sum, file) => sum + file.size, inventory.totalSize + images.totalSize);
  // A file another prune removed first is gone all the same: counted out of the budget, not removed again
  // in its stead (two prunes at once would otherwise each drop what fits), and reported by that prune.
  const goneLayers = new Set<CacheEntryInfo>();
  const goneImages = new Set<CacheEntryInfo>();
  const removeImage = async (entry: CacheEntryInfo) => {
    if (goneImages.has(entry)) return;
    goneImages.add(entry);
    if (await removeFile(join(images.directory, entryFileName(entry.digest)))) removedImages.add(entry);
    size -= entry.size;
  };
  // A summary that cannot be read would be discarded by the next check anyway.
  for (const entry of images.entries) if (!layersOfImage.has(entry)) await removeImage(entry);
  // Another version's entries go first: this one never reads them.
  for (const file of otherVersions) {
    if (maxSize !== undefined && size <= maxSize) {
      removedStale.kept++;
      removedStale.keptSize += file.size;
    } else {
      await removeStale(file);
      size -= file.size;
    }
  }

  const oldestFirst = [
    ...inventory.entries.map((entry) => ({ entry, isLayer: true })),
    ...images.entries.map((entry) => ({ entry, isLayer: false })),
  ].sort((a, b) => a.entry.lastUsed.getTime() - b.entry.lastUsed.getTime());
  for (const { entry, isLayer } of oldestFirst) {
    if (maxSize !== undefined && size <= maxSize) break;
    if (!isLayer) {
      await removeImage(entry);
      continue;
    }
    if (await removeFile(join(inventory.directory, entryFileName(entry.digest)))) removedLayers.add(entry);
    goneLayers.add(entry);
    size -= entry.size;
    for (const [image, layers] of layersOfImage) if (layers.has(entry.digest)) await removeImage(image);
  }

  const dangling = await removeDanglingTwinPointers(images);
  removedStale.files += dangling.files;
  removedStale.size += dangling.size;
  const fingerprints = await pruneFingerprints(inventory.fingerprints.directory, maxSize === undefined);
  const { directory: fingerprintsDirectory } = inventory.fingerprints;
  for (const folder of [inventory.directory, images.directory, fingerprintsDirectory]) {
    const removed = await removeAbandonedTemps(folder, now);
    removedStale.files += removed.files;
    removedStale.size += removed.size;
  }
  // The summaries' and fingerprints' folders are made again by the next check that stores one; another
  // version's stays while it holds anything, theirs or the user's.
  for (const folder of [images.directory, fingerprintsDirectory, ...(await staleFolders(root, now))])
    await rmdir(folder).catch(() => {});
  return {
    ...counts(inventory, removedLayers, goneLayers),
    images: counts(images, removedImages, goneImages),
    fingerprints,
    stale: removedStale,
  };
}

/** What this prune removed, and what is left once `gone` (removed by it or by another prune) is not. */
function counts(
  folder: CacheFolder,
  removed: ReadonlySet<CacheEntryInfo>,
  gone: ReadonlySet<CacheEntryInfo>,
): PruneCount {
  const ours = folder.entries.filter((entry) => removed.has(entry));
  const left = folder.entries.filter((entry) => !gone.has(entry));
  return {
    removed: ours,
    removedSize: ours.reduce((sum, entry) => sum + entry.size, 0),
    kept: left.length,
    keptSize: left.reduce((sum, entry) => sum + entry.size, 0),
  };
}

async function listFolder(
  directory: string,
  now: number,
  stale: { files: number; size: number },
): Promise<CacheFolder> {
  const entries: CacheEntryInfo[] = [];
  for (const name of await namesIn(directory)) {
    const info = await statOrUndefined(join(directory, name));
    if (!info?.isFile()) continue;
    const digest = digestOfEntryFile(name);
    if (digest) entries.push({ digest, size: info.size, lastUsed: info.mtime });
    else if (isAbandonedTemp(name, info, now)) {
      stale.files++;
      stale.size += info.size;
    }
  }
  entries.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime() || a.digest.localeCompare(b.digest));
  const totalSize = entries.reduce((sum, entry) => sum + entry.size, 0);
  return { directory, entries, totalSize };
}

async function listFingerprints(
  directory: string,
  now: number,
  stale: { files: number; size: number },
): Promise<CacheInventory['fingerprints']> {
  const folder = { directory, count: 0, totalSize: 0 };
  for (const name of await namesIn(directory)) {
    const info = await statOrUndefined(join(directory, name));
    if (!info?.isFile()) continue;
    if (isRecordFileName(name)) {
      folder.count++;
      folder.totalSize += info.size;
    } else if (isAbandonedTemp(name, info, now)) {
      stale.files++;
      stale.size += info.size;
    }
  }
  return folder;
}

/** Removes every fingerprint, or those that can no longer match their file. */
async function pruneFingerprints(directory: string, all: boolean): Promise<PruneResult['fingerprints']> {
  const result = { removed: 0, removedSize: 0, kept: 0, keptSize: 0 };
  for (const name of await namesIn(directory)) {
    if (!isRecordFileName(name)) continue;
    const file = join(directory, name);
    const info = await statOrUndefined(file);
    if (!info?.isFile()) continue;
    if (!all && (await fingerprintStillMatches(file))) {
      result.kept++;
      result.keptSize += info.size;
    } else if (await removeFile(file)) {
      result.removed++;
      result.removedSize += info.size;
    }
  }
  return result;
}

async function fingerprintStillMatches(recordFile: string): Promise<boolean> {
  try {
    const { blob } = decodeRecord(await readCacheFile(recordFile));
    return sameStamp(await stat(blob.file, { bigint: true }), blob.stamp);
  } catch {
    return false;
  }
}

/**
 * Adds each twin pointer's length to the summary it names, which it lives and goes with; one naming no
 * listed summary is stale.
 */
async function countTwinPointers(images: CacheFolder, stale: { files: number; size: number }): Promise<void> {
  const summaries = new Map(images.entries.map((entry) => [entry.digest, entry]));
  for (const name of await namesIn(images.directory)) {
    if (!name.startsWith(TWIN_PREFIX)) continue;
    const pointer = join(images.directory, name);
    const info = await statOrUndefined(pointer);
    if (!info?.isFile()) continue;
    const target = await twinPointerTarget(pointer);
    const summary = target && summaries.get(target);
    if (summary) {
      summary.size += info.size;
      images.totalSize += info.size;
    } else {
      stale.files++;
      stale.size += info.size;
    }
  }
}

/**
 * Removes the twin pointers (see DiskSummaryCache) whose summary is gone, or that name none; returns those
 * that named no summary `images` listed (the others were counted with their summary).
 */
async function removeDanglingTwinPointers(images: CacheFolder): Promise<{ files: number; size: number }> {
  const { directory } = images;
  const listed = new Set<string>(images.entries.map((entry) => entry.digest));
  const stale = { files: 0, size: 0 };
  for (const name of await namesIn(directory)) {
    if (!name.startsWith(TWIN_PREFIX)) continue;
    const pointer = join(directory, name);
    const info = await statOrUndefined(pointer);
    const digest = await twinPointerTarget(pointer);
    const target = digest ? await statOrUndefined(join(directory, entryFileName(digest))) : undefined;
    if (target?.isFile() || !(await removeFile(pointer))) continue;
    if (info?.isFile() && !(digest && listed.has(digest))) {
      stale.files++;
      stale.size += info.size;
    }
  }
  return stale;
}

/** The manifest digest a twin pointer names, if it can be read and names one. */
async function twinPointerTarget(pointer: string): Promise<Digest | undefined> {
  const text = await readCacheFile(pointer).then(
    (bytes) => bytes.toString('utf8').trim(),
    () => undefined,
  );
  return isDigest(text) ? text : undefined;
}

/** The layer digests each readable summary names. */
async function summaryLayers(images: CacheFolder): Promise<Map<CacheEntryInfo, Set<string>>> {
  const layers = new Map<CacheEntryInfo, Set<string>>();
  for (const entry of images.entries) {
    try {
      const bytes = await readCacheFile(join(images.directory, entryFileName(entry.digest)));
      layers.set(entry, new Set(readSummaryHeader(bytes).header.layers));
    } catch {
      // Unreadable or gone: not in the map.
    }
  }
  return layers;
}

async function removeAbandonedTemps(folder: string, now: number): Promise<{ files: number; size: number }> {
  const removed = { files: 0, size: 0 };
  for (const name of await namesIn(folder)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const file = join(folder, name);
    const info = await statOrUndefined(file);
    if (info && isAbandonedTemp(name, info, now) && (await removeFile(file))) {
      removed.files++;
      removed.size += info.size;
    }
  }
  return removed;
}

/** A temp file no write has touched for ABANDONED_TEMP_MS: its writer is gone. */
function isAbandonedTemp(name: string, info: { mtimeMs: number }, now: number): boolean {
  return name.startsWith(TEMP_PREFIX) && now - info.mtimeMs > ABANDONED_TEMP_MS;
}

/**
 * Folders of other imgscope versions: nothing will read them again. None that another imgscope may be
 * writing to right now, though: one with a temp file that is not yet abandoned.
 */
async function staleFolders(root: string, now: number): Promise<string[]> {
  const current = new Set([LAYERS_FOLDER, IMAGES_FOLDER, FINGERPRINTS_FOLDER]);
  const folders: string[] = [];
  for (const name of await namesIn(root)) {
    if (!isVersionedFolderName(name) || current.has(name)) continue;
    const folder = join(root, name);
    if (!(await hasFreshTemp(folder, now))) folders.push(folder);
  }
  return folders;
}

async function hasFreshTemp(folder: string, now: number): Promise<boolean> {
  // Not namesIn: a stale "folder" may be a file or a dangling link.
  for (const name of await readdir(folder).catch(() => [])) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const info = await statOrUndefined(join(folder, name));
    if (info && !isAbandonedTemp(name, info, now)) return true;
  }
  return false;
}

/**
 * The files imgscope names (entries, summaries, twin pointers, fingerprints, temp files) in the folders of
 * other versions, oldest first; a symlink in their place is one file, never followed. Nothing else in them
 * is imgscope's: a user's file or a subfolder is neither counted nor removed.
 */
async function otherVersionsFiles(root: string, now: number): Promise<StaleFile[]> {
  const files: StaleFile[] = [];
  const add = (path: string, info: { size: number; mtimeMs: number }, abandonedTemp = false) =>
    files.push({ path, size: info.size, lastUsed: info.mtimeMs, abandonedTemp });
  for (const folder of await staleFolders(root, now)) {
    const info = await lstat(folder).catch(() => undefined);
    if (info?.isSymbolicLink()) add(folder, info);
    if (!info?.isDirectory()) continue;
    for (const name of await namesIn(folder)) {
      if (!isCacheFileName(name)) continue;
      const file = await lstat(join(folder, name)).catch(() => undefined);
      if (!file || file.isDirectory()) continue;
      if (!name.startsWith(TEMP_PREFIX)) add(join(folder, name), file);
      else if (isAbandonedTemp(name, file, now)) add(join(folder, name), file, true);
    }
  }
  return files.sort((a, b) => a.lastUsed - b.lastUsed);
}

async function namesIn(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function statOrUndefined(file: string) {
  return stat(file).catch(() => undefined);
}

/** false when another process removed it first. */
async function removeFile(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
