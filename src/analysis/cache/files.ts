import { randomBytes } from 'node:crypto';
import {
  close,
  constants,
  fsync,
  lstatSync,
  openSync,
  readlinkSync,
  statSync,
  unlinkSync,
  write,
} from 'node:fs';
import { mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { TEMP_PREFIX } from './location.js';

/**
 * Writes a cache file atomically: a temp file in the same folder, fsynced, then renamed over `name`, so
 * a reader sees a whole file or none and concurrent writers of one name simply replace each other's
 * identical bytes. `beforeRename` is awaited just before the rename (a discarded file's removal, which
 * must not remove the fresh one). Resolves to the bytes written; on failure the temp file is removed.
 */
export async function writeAtomically(
  directory: string,
  name: string,
  chunks: readonly Uint8Array[],
  beforeRename?: Promise<void>,
): Promise<number> {
  const temp = join(directory, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  unfinished.add(temp);
  try {
    // Made on this thread: a quit signal's handler, which runs between this thread's tasks, finds it there
    // or never made. An open on the thread pool could make it just after the handler looked, and the
    // process, ended by the signal, would leave it. Its descriptor is kept: opening it again could fail
    // (a file made read-only by the umask) and leave it, or open what replaced it since.
    const fd = openSync(temp, 'wx', 0o644);
    let bytes = 0;
    try {
      bytes = await writeAll(fd, chunks);
      await fsyncAsync(fd);
    } catch (error) {
      await closeAsync(fd).catch(() => {});
      await unlink(temp).catch(() => {});
      throw error;
    }
    await closeAsync(fd);
    await beforeRename;
    try {
      await renameOver(temp, join(directory, name));
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    return bytes;
  } finally {
    unfinished.delete(temp);
  }
}

/**
 * A folder where a cache file goes (made by hand or by a sync tool) holds no entry, and would otherwise
 * fail this and every later write of the cache (EISDIR) as if the disk were full: it is removed.
 */
async function renameOver(temp: string, target: string): Promise<void> {
  try {
    await rename(temp, target);
  } catch (error) {
    if (errorCode(error) !== 'EISDIR') throw error;
    await rm(target, { recursive: true, force: true });
    await rename(temp, target);
  }
}

/**
 * Reads a whole cache file, which must be a regular file. A FIFO or a device in its place (or a symlink to
 * one: /dev/zero, a pipe) would otherwise block the read forever or fill memory; it fails with EINVAL,
 * which callers treat like any unreadable entry. O_NONBLOCK keeps opening a FIFO from waiting for a writer.
 */
export async function readCacheFile(file: string): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) {
      throw Object.assign(new Error(`EINVAL: not a regular file, '${file}'`), { code: 'EINVAL' });
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Temp files of this process's writes in progress. */
const unfinished = new Set<string>();

/**
 * Removes the temp files of the writes still in progress, at once: for a signal that ends the process
 * mid-write, which would otherwise leave them for `cache prune` to remove only once they are abandoned.
 */
export function removeUnfinishedWritesSync(): void {
  for (const temp of unfinished) {
    try {
      unlinkSync(temp);
    } catch {
      // Already renamed or removed.
    }
  }
  unfinished.clear();
}

const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

async function writeAll(fd: number, chunks: readonly Uint8Array[]): Promise<number> {
  let position = 0;
  for (const chunk of chunks) {
    for (let offset = 0; offset < chunk.length; ) {
      const { bytesWritten } = await writeAsync(fd, chunk, offset, chunk.length - offset, position);
      offset += bytesWritten;
      position += bytesWritten;
    }
  }
  return position;
}

/**
 * `mkdir -p` that always ends: the missing folders are made one at a time, from the deepest existing
 * ancestor down, and the first failure rejects. Node 20's `mkdir(path, { recursive: true })` loops
 * forever where mkdir answers ENOENT for a folder whose parent exists (/proc/nope/x).
 *
 * Those made up to and including the cache root `root` are private (0700), as the XDG base directory spec
 * asks of a folder it makes and as go-containerregistry makes its cache: entries list the files of private
 * images. A folder that exists keeps its mode, so a cache root shared on purpose stays shared.
 */
export async function makeDirectories(path: string, root: string): Promise<void> {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    const found = await stat(current).catch((error: unknown) => {
      if (errorCode(error) === 'ENOENT' && dirname(current) !== current) return undefined;
      throw error;
    });
    if (found?.isDirectory()) break;
    if (found) {
      throw Object.assign(new Error(`ENOTDIR: not a directory, '${current}'`), {
        code: 'ENOTDIR',
        path: current,
      });
    }
    missing.push(current);
    current = dirname(current);
  }
  const rootFolder = resolve(root);
  for (const folder of missing.reverse()) {
    const isRootOrAbove = folder === rootFolder || rootFolder.startsWith(`${folder}${sep}`);
    try {
      await mkdir(folder, isRootOrAbove ? 0o700 : undefined);
    } catch (error) {
      // Made meanwhile by another writer: fine if it is a folder.
      if (errorCode(error) !== 'EEXIST' || !(await stat(folder)).isDirectory()) throw error;
    }
  }
}

/**
 * The file standing where the cache needs a folder, for an error making or listing one (ENOTDIR, or EEXIST
 * from mkdir): the error's path or its nearest existing ancestor, when that is not a folder. Synchronous:
 * it runs once, for a message.
 */
export function fileInTheWay(error: unknown): string | undefined {
  const code = errorCode(error);
  const path = (error as NodeJS.ErrnoException | undefined)?.path;
  if ((code !== 'ENOTDIR' && code !== 'EEXIST') || !path) return undefined;
  for (let current = resolve(path); ; current = dirname(current)) {
    // ENOTDIR below a file, ENOENT below nothing: look further up.
    const info = (() => {
      try {
        return statSync(current);
      } catch {
        return undefined;
      }
    })();
    if (info) return info.isDirectory() ? undefined : current;
    if (dirname(current) === current) return undefined;
  }
}

/**
 * A symbolic link on the way to a cache folder whose target does not exist (a cache root linked to a disk
 * not mounted), for an ENOENT making one: the link and what it names.
 */
export function brokenLinkInTheWay(error: unknown): { link: string; target: string } | undefined {
  const path = (error as NodeJS.ErrnoException | undefined)?.path;
  if (errorCode(error) !== 'ENOENT' || !path) return undefined;
  for (let current = resolve(path); dirname(current) !== current; current = dirname(current)) {
    try {
      if (!lstatSync(current).isSymbolicLink()) continue;
      statSync(current);
      return undefined;
    } catch {
      try {
        return { link: current, target: readlinkSync(current) };
      } catch {
        // Not there at all: look further up.
      }
    }
  }
  return undefined;
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** An error as a few words for a message: its code when it has one. */
export function describeError(error: unknown): string {
  const code = errorCode(error);
  if (code) return code;
  return error instanceof Error ? error.message : String(error);
}

/** Settles with the work, never rejects: for background touches and removals. */
export function settled(work: Promise<unknown>): Promise<void> {
  return work.then(
    () => {},
    () => {},
  );
}
