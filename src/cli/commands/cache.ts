import {
  type CacheInventory,
  listCache,
  type PruneResult,
  pruneCache,
} from '../../analysis/cache/inventory.js';
import { DiskLayerCache } from '../../analysis/cache/layer-cache.js';
import { cacheDisabledByEnv, cacheRoot } from '../../analysis/cache/location.js';
import { ImgscopeError } from '../../errors.js';
import { formatSize, parseSize, SIZE_SYNTAX } from '../../policy/sizes.js';
import type { ParsedArgs, ParsedOptions } from '../args.js';
import type { Output } from '../output.js';

const USAGE_HINT =
  'imgscope cache ls [--json] lists the cached layer analyses; imgscope cache prune [--max-size SIZE] removes them';

/**
 * The layer cache an analysing command uses: none with `--no-cache` (or IMGSCOPE_NO_CACHE without an
 * explicit --cache-dir). Its one possible warning and `--debug` lines go to `write` — stderr by default;
 * the TUI holds them until the screen is released.
 */
export function layerCacheOf(
  options: ParsedOptions,
  io: Output,
  write: (text: string) => void = (text) => io.stderr.write(text),
): DiskLayerCache | undefined {
  if (options['no-cache']) return undefined;
  if (!options['cache-dir'] && cacheDisabledByEnv(io.env)) return undefined;
  return new DiskLayerCache({
    root: cacheRoot({ flag: options['cache-dir'], env: io.env, cwd: io.cwd }),
    warn: (message) => write(`imgscope: warning: ${message}\n`),
    debug: options.debug ? (line) => write(`debug: ${line}\n`) : undefined,
  });
}

/** `imgscope cache ls|prune`: see and bound the layer cache. Exit 0, or 2 on bad input. */
export async function runCache(args: ParsedArgs, io: Output): Promise<number> {
  const [action, ...extra] = args.positionals;
  if (extra.length > 0) {
    throw new ImgscopeError('BAD_INPUT', `unexpected argument "${extra[0]}" after "cache ${action}"`, {
      hint: USAGE_HINT,
    });
  }
  const root = cacheRoot({ flag: args.options['cache-dir'], env: io.env, cwd: io.cwd });
  switch (action) {
    case 'ls': {
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
    throw new ImgscopeError('BAD_INPUT', `--max-size "${text}" is not a size`, {
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
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ImgscopeError('BAD_INPUT', `cannot use the layer cache in ${root} (${code})`, {
      hint: 'check its permissions, or choose another folder with --cache-dir',
      cause: error,
    });
  }
}

function inventoryJson(inventory: CacheInventory) {
  return {
    directory: inventory.directory,
    count: inventory.entries.length,
    totalSize: inventory.totalSize,
    entries: inventory.entries.map(({ digest, size, lastUsed }) => ({
      digest,
      size,
      lastUsed: lastUsed.toISOString(),
    })),
    stale: inventory.stale,
  };
}

function pruneJson(result: PruneResult) {
  return {
    removed: result.removed.map(({ digest, size }) => ({ digest, size })),
    removedSize: result.removedSize,
    kept: result.kept,
    keptSize: result.keptSize,
    stale: result.stale,
  };
}

const layers = (count: number) => `${count} layer${count === 1 ? '' : 's'}`;
const timestamp = (date: Date) => `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;

function listing(inventory: CacheInventory): string {
  const lines = [`Cache ${inventory.directory}`];
  if (inventory.entries.length > 0) {
    const sizes = inventory.entries.map((entry) => formatSize(entry.size));
    const width = Math.max(4, ...sizes.map((size) => size.length));
    const digestWidth = inventory.entries[0]!.digest.length;
    lines.push(`${'DIGEST'.padEnd(digestWidth)}  ${'SIZE'.padStart(width)}  LAST USED`);
    inventory.entries.forEach((entry, i) => {
      lines.push(`${entry.digest}  ${sizes[i]!.padStart(width)}  ${timestamp(entry.lastUsed)}`);
    });
  }
  lines.push(`${layers(inventory.entries.length)}, ${formatSize(inventory.totalSize)}`);
  if (inventory.stale.files > 0) {
    lines.push(
      `and ${inventory.stale.files} stale file${inventory.stale.files === 1 ? '' : 's'} ` +
        `(${formatSize(inventory.stale.size)}) from other imgscope versions or killed writes: ` +
        'imgscope cache prune removes them',
    );
  }
  return `${lines.join('\n')}\n`;
}

function pruned(result: PruneResult, maxSize: number | undefined): string {
  const lines = [
    `removed ${layers(result.removed.length)} (${formatSize(result.removedSize)}); ` +
      `kept ${layers(result.kept)} (${formatSize(result.keptSize)})` +
      (maxSize === undefined ? '' : ` within ${formatSize(maxSize)}`),
  ];
  if (result.stale.files > 0)
    lines.push(
      `removed ${result.stale.files} stale file${result.stale.files === 1 ? '' : 's'} (${formatSize(result.stale.size)})`,
    );
  return `${lines.join('\n')}\n`;
}
