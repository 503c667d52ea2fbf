import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../../oci/digest.js';
import {
  digestOfEntryFile,
  entryFileName,
  LAYERS_FOLDER,
  LAYERS_FOLDER_PREFIX,
  TEMP_PREFIX,
} from './location.js';

/** A temp file this old belongs to a writer that died; younger ones may still be renamed into place. */
export const ABANDONED_TEMP_MS = 10 * 60 * 1000;

export interface CacheEntryInfo {
  digest: Digest;
  /** Bytes on disk. */
  size: number;
  /** The last time an analysis read or wrote it (the file's mtime). */
  lastUsed: Date;
}

export interface CacheInventory {
  /** The folder of this imgscope's entries. */
  directory: string;
  /** Most recently used first. */
  entries: CacheEntryInfo[];
  totalSize: number;
  /** Files no analysis will read: other versions' folders and abandoned temp files. */
  stale: { files: number; size: number };
}

export interface PruneResult {
  removed: CacheEntryInfo[];
  removedSize: number;
  kept: number;
  keptSize: number;
  stale: { files: number; size: number };
}

/** Lists the entries under a cache root; a missing root is an empty cache. */
export async function listCache(root: string, now = Date.now()): Promise<CacheInventory> {
  const directory = join(root, LAYERS_FOLDER);
  const entries: CacheEntryInfo[] = [];
  const stale = { files: 0, size: 0 };
  for (const name of await namesIn(directory)) {
    const info = await statOrUndefined(join(directory, name));
    if (!info?.isFile()) continue;
    const digest = digestOfEntryFile(name);
    if (digest) entries.push({ digest, size: info.size, lastUsed: info.mtime });
    else if (name.startsWith(TEMP_PREFIX) && now - info.mtimeMs > ABANDONED_TEMP_MS) {
      stale.files++;
      stale.size += info.size;
    }
  }
  for (const folder of await staleFolders(root)) {
    const usage = await diskUsage(folder);
    stale.files += usage.files;
    stale.size += usage.size;
  }
  entries.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime() || a.digest.localeCompare(b.digest));
  const totalSize = entries.reduce((sum, entry) => sum + entry.size, 0);
  return { directory, entries, totalSize, stale };
}

/**
 * Removes the least recently used entries until the rest fit in `maxSize` bytes (everything when it is
 * undefined), and always what is stale.
 */
export async function pruneCache(root: string, maxSize?: number, now = Date.now()): Promise<PruneResult> {
  const inventory = await listCache(root, now);
  const removed: CacheEntryInfo[] = [];
  let keptSize = inventory.totalSize;
  // Oldest last in the inventory: drop from the end until what stays fits.
  for (let i = inventory.entries.length - 1; i >= 0; i--) {
    if (maxSize !== undefined && keptSize <= maxSize) break;
    const entry = inventory.entries[i]!;
    if (await removeFile(join(inventory.directory, entryFileName(entry.digest)))) {
      removed.push(entry);
      keptSize -= entry.size;
    }
  }
  for (const name of await namesIn(inventory.directory)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const file = join(inventory.directory, name);
    const info = await statOrUndefined(file);
    if (info && now - info.mtimeMs > ABANDONED_TEMP_MS) await removeFile(file);
  }
  for (const folder of await staleFolders(root)) await rm(folder, { recursive: true, force: true });
  return {
    removed,
    removedSize: inventory.totalSize - keptSize,
    kept: inventory.entries.length - removed.length,
    keptSize,
    stale: inventory.stale,
  };
}

/** Entry folders of other analyser versions: nothing will read them again. */
async function staleFolders(root: string): Promise<string[]> {
  const names = await namesIn(root);
  return names
    .filter((name) => name.startsWith(LAYERS_FOLDER_PREFIX) && name !== LAYERS_FOLDER)
    .map((name) => join(root, name));
}

async function diskUsage(folder: string): Promise<{ files: number; size: number }> {
  const usage = { files: 0, size: 0 };
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const info = await statOrUndefined(join(entry.parentPath, entry.name));
    usage.files++;
    usage.size += info?.size ?? 0;
  }
  return usage;
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
