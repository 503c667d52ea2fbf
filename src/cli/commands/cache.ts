import { CacheWriteFailure } from '../../analysis/cache/background-writes.js';
import { fileInTheWay } from '../../analysis/cache/files.js';
import { DiskFingerprintStore } from '../../analysis/cache/fingerprint-store.js';
import {
  type CacheEntryInfo,
  type CacheInventory,
  listCache,
  type PruneCount,
  type PruneResult,
  pruneCache,
} from '../../analysis/cache/inventory.js';
import { DiskLayerCache } from '../../analysis/cache/layer-cache.js';
import {
  cacheDisabledByEnv,
  cacheRoot,
  NO_CACHE_ROOT,
  NO_CACHE_ROOT_FIX,
} from '../../analysis/cache/location.js';
import { DiskSummaryCache } from '../../analysis/cache/summary-cache.js';
import { ImgscopeError } from '../../errors.js';
import { formatSize, parseSize, SIZE_SYNTAX, whyNotASize } from '../../policy/sizes.js';
import { counted, printable, printableLine } from '../../report/format.js';
import type { ParsedArgs, ParsedOptions } from '../args.js';
import type { Output } from '../output.js';

const USAGE_HINT =
  'imgscope cache ls [--json] lists the cached layer analyses and image summaries; imgscope cache prune [--max-size SIZE] removes them';

interface CacheSettings {
  root: string;
  writeFailure: CacheWriteFailure;
  debug: ((line: string) => void) | undefined;
}

/**
 * Where an analysing command's caches live and where their lines go, or undefined with `--no-cache` (or
 * IMGSCOPE_NO_CACHE without an explicit --cache-dir). Lines go to `write` — stderr by default; the TUI
 * holds them until the screen is released. One warning at most per command: the caches share a folder,
 * and the first write that fails stops them all.
 */
function cacheSettingsOf(
  options: ParsedOptions,
  io: Output,
  write: (text: string) => void,
): CacheSettings | undefined {
  refuseEmptyCacheDir(options);
  if (options['no-cache']) return undefined;
  if (!options['cache-dir'] && cacheDisabledByEnv(io.env)) return undefined;
  const root = cacheRoot({ flag: options['cache-dir'], env: io.env, cwd: io.cwd });
  if (root === undefined) {
    write(
      `imgscope: warning: ${NO_CACHE_ROOT}; continuing without it — ${NO_CACHE_ROOT_FIX} (--no-cache to silence this)\n`,
    );
    return undefined;
  }
  return {
    root,
    writeFailure: new CacheWriteFailure(root, (message) =>
      write(`imgscope: warning: ${printableLine(message)}\n`),
    ),
    debug: options.debug ? (line) => write(`debug: ${printableLine(line)}\n`) : undefined,
  };
}

/**
 * `--cache-dir "$UNSET"`: an empty folder name would otherwise mean the default cache, or none under
 * IMGSCOPE_NO_CACHE — neither what was asked for.
 */
export function refuseEmptyCacheDir(options: ParsedOptions): void {
  if (options['cache-dir'] !== '') return;
  throw new ImgscopeError('BAD_INPUT', '--cache-dir is empty', {
    hint: 'name the cache folder (--cache-dir DIR), or leave the option out for the default',
  });
}

/**
 * What an analysing command caches: layer analyses by layer digest, and the fingerprints of the local
 * blobs it verified, without which a cached analysis of an image on disk is not used unhashed.
 */
export interface AnalysisCaches {
  layers: DiskLayerCache;
  fingerprints: DiskFingerprintStore;
}

/** The caches an analysing command uses (see cacheSettingsOf for when there are none). */
export function analysisCachesOf(
  options: ParsedOptions,
  io: Output,
  write: (text: string) => void = (text) => io.stderr.write(text),
): AnalysisCaches | undefined {
  const settings = cacheSettingsOf(options, io, write);
  return (
    settings && { layers: new DiskLayerCache(settings), fingerprints: new DiskFingerprintStore(settings) }
  );
}

/** `check`'s caches: those of every analysis, and image summaries by manifest digest. */
export interface CheckCaches extends AnalysisCaches {
  summaries: DiskSummaryCache;
}

export function checkCachesOf(
  options: ParsedOptions,
  io: Output,
  write: (text: string) => void = (text) => io.stderr.write(text),
): CheckCaches | undefined {
  const settings = cacheSettingsOf(options, io, write);
  return (
    settings && {
      layers: new DiskLayerCache(settings),
      fingerprints: new DiskFingerprintStore(settings),
      summaries: new DiskSummaryCache(settings),
    }
  );
}

/** `imgscope cache ls|prune`: see and bound the cache (layer analyses and image summaries). Exit 0, or 2 on bad input. */
export async function runCache(args: ParsedArgs, io: Output): Promise<number> {
  const [action, ...extra] = args.positionals;
  if (extra.length > 0) {
    throw new ImgscopeError('BAD_INPUT', `unexpected argument "${extra[0]}" after "cache ${action}"`, {
      hint: USAGE_HINT,
    });
  }
  refuseEmptyCacheDir(args.options);
  const root = cacheRoot({ flag: args.options['cache-dir'], env: io.env, cwd: io.cwd });
  if (root === undefined) throw new ImgscopeError('BAD_INPUT', NO_CACHE_ROOT, { hint: NO_CACHE_ROOT_FIX });
  switch (action) {
    case 'ls': {
      if (args.options['max-size'] !== undefined) {
        // Refused, not ignored: `cache ls --max-size 2GiB` in a cron job would bound nothing.
        throw new ImgscopeError('BAD_INPUT', 'cache ls does not take --max-size', {
          hint: 'to drop entries until the cache fits, run imgscope cache prune --max-size SIZE',
        });
      }
      const inventory = await onCache(root, () => listCache(root));
      io.stdout.write(
        args.options.json ? `${JSON.stringify(inventoryJson(inventory), null, 2)}\n` : listing(inventory),
      );
      return 0;
    }
    case 'prune': {
      const maxSize = maxSizeOf(args.options['max-size']);
      const result = await onCache(root, () => pruneCache(root, maxSize));
      io.stdout.write(
        args.options.json ? `${JSON.stringify(pruneJson(result), null, 2)}\n` : pruned(result, maxSize),
      );
      return 0;
    }
    default:
      throw new ImgscopeError(
        'BAD_INPUT',
        action === undefined ? 'imgscope cache needs ls or prune' : `unknown cache command "${action}"`,
        { hint: USAGE_HINT },
      );
  }
}

function maxSizeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const bytes = parseSize(text);
  if (bytes === undefined) {
    throw new ImgscopeError('BAD_INPUT', `--max-size "${text}" ${whyNotASize(text)}`, {
      hint: `give ${SIZE_SYNTAX}`,
    });
  }
  return bytes;
}

/** File system failures (a folder we may not read or write) as one line naming the cache. */
async function onCache<T>(root: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const file = fileInTheWay(error);
    if (file) {
      throw new ImgscopeError(
        'BAD_INPUT',
        `cannot use the cache in ${root}: ${file === root ? 'it' : file} is not a folder`,
        {
          hint: 'move that file away, or choose another folder with --cache-dir',
          cause: error,
        },
      );
    }
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    // Read-only, its permissions are not at fault: the mount is.
    const hint =
      code === 'EROFS'
        ? 'it is on a read-only file system: run this where it is mounted writable, or choose another folder with --cache-dir'
        : 'check its permissions, or choose another folder with --cache-dir';
    throw new ImgscopeError('BAD_INPUT', `cannot use the cache in ${root} (${code})`, { hint, cause: error });
  }
}

const entryJson = ({ digest, size, lastUsed }: CacheEntryInfo) => ({
  digest,
  size,
  lastUsed: lastUsed.toISOString(),
});

function inventoryJson(inventory: CacheInventory) {
  const { images } = inventory;
  return {
    directory: inventory.directory,
    count: inventory.entries.length,
    totalSize: inventory.totalSize,
    entries: inventory.entries.map(entryJson),
    images: {
      directory: images.directory,
      count: images.entries.length,
      totalSize: images.totalSize,
      entries: images.entries.map(entryJson),
    },
    fingerprints: inventory.fingerprints,
    stale: inventory.stale,
  };
}

function pruneCountJson(count: PruneCount) {
  return {
    removed: count.removed.map(({ digest, size }) => ({ digest, size })),
    removedSize: count.removedSize,
    kept: count.kept,
    keptSize: count.keptSize,
  };
}

function pruneJson(result: PruneResult) {
  return {
    ...pruneCountJson(result),
    images: pruneCountJson(result.images),
    fingerprints: result.fingerprints,
    stale: result.stale,
  };
}

const layers = (count: number) => counted(count, 'layer', 'layers');
const summaries = (count: number) => counted(count, 'image summary', 'image summaries');
const fingerprints = (count: number) => counted(count, 'blob fingerprint', 'blob fingerprints');
const timestamp = (date: Date) => `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

function table(entries: readonly CacheEntryInfo[]): string[] {
  if (entries.length === 0) return [];
  const sizes = entries.map((entry) => formatSize(entry.size));
  const width = Math.max(4, ...sizes.map((size) => size.length));
  const digestWidth = entries[0]!.digest.length;
  return [
    `${'DIGEST'.padEnd(digestWidth)}  ${'SIZE'.padStart(width)}  LAST USED`,
    ...entries.map(
      (entry, i) => `${entry.digest}  ${sizes[i]!.padStart(width)}  ${timestamp(entry.lastUsed)}`,
    ),
  ];
}

function listing(inventory: CacheInventory): string {
  const { images } = inventory;
  const lines = [
    `Cache ${printable(inventory.directory)}`,
    ...table(inventory.entries),
    `${layers(inventory.entries.length)}, ${formatSize(inventory.totalSize)}`,
    `Image summaries ${printable(images.directory)}`,
    ...table(images.entries),
    `${summaries(images.entries.length)}, ${formatSize(images.totalSize)}`,
    `Local blob fingerprints ${printable(inventory.fingerprints.directory)}`,
    `${fingerprints(inventory.fingerprints.count)}, ${formatSize(inventory.fingerprints.totalSize)}`,
  ];
  if (inventory.stale.files > 0) {
    lines.push(
      `and ${counted(inventory.stale.files, 'stale file', 'stale files')} ` +
        `(${formatSize(inventory.stale.size)}) from other imgscope versions, killed writes or discarded summaries: ` +
        'imgscope cache prune removes them',
    );
  }
  return `${lines.join('\n')}\n`;
}

function pruned(result: PruneResult, maxSize: number | undefined): string {
  const within = maxSize === undefined ? '' : ` within ${formatSize(maxSize)}`;
  const lines = [
    `removed ${layers(result.removed.length)} (${formatSize(result.removedSize)}); ` +
      `kept ${layers(result.kept)} (${formatSize(result.keptSize)})${within}`,
  ];
  const { stale } = result;
  if (stale.files > 0)
    lines.push(`removed ${counted(stale.files, 'stale file', 'stale files')} (${formatSize(stale.size)})`);
  if (stale.kept > 0)
    lines.push(
      `kept ${counted(stale.kept, 'file', 'files')} of other imgscope versions (${formatSize(stale.keptSize)})${within}`,
    );
  const { images } = result;
  if (images.removed.length + images.kept > 0)
    lines.push(
      `removed ${summaries(images.removed.length)} (${formatSize(images.removedSize)}); ` +
        `kept ${summaries(images.kept)} (${formatSize(images.keptSize)})`,
    );
  const { fingerprints: records } = result;
  if (records.removed + records.kept > 0)
    lines.push(
      `removed ${fingerprints(records.removed)} (${formatSize(records.removedSize)}); ` +
        `kept ${fingerprints(records.kept)} (${formatSize(records.keptSize)})`,
    );
  return `${lines.join('\n')}\n`;
}
