import { ImgscopeError } from '../errors.js';

/**
 * What an image's interned names may hold between them: the length of its distinct path segments and
 * link targets, and of the paths each layer's dead-byte lists keep (model.ts). They live on the JavaScript heap, so a layer of long distinct names (each up to PATH_MAX)
 * reaches this well before the heap runs out; real images' distinct names take a few megabytes.
 */
export const MAX_NAME_BYTES = 512 * 1024 ** 2;
/**
 * How many distinct paths an image may have. Each takes about 128 bytes of typed arrays (the path table's
 * and the file model's), off the heap: 16,000,000 is 2 GiB, four times what 3,000,000 files of
 * node_modules make (about 4,000,000 paths), while a layer of paths 2,000 folders deep reaches it in
 * 8,000 entries.
 */
export const MAX_PATHS = 16_000_000;

/** The image's names or paths outgrew their budget. */
export class NameBudgetExceeded extends Error {
  constructor(
    readonly limit: number,
    what: 'names' | 'paths',
  ) {
    super(
      what === 'paths'
        ? `it has more than ${limit.toLocaleString('en-US')} distinct paths`
        : `its file names and link targets take more than ${formatLimit(limit)} of memory`,
    );
    this.name = 'NameBudgetExceeded';
  }
}

function formatLimit(limit: number): string {
  return limit % 1024 ** 2 === 0 ? `${limit / 1024 ** 2} MiB` : `${limit} bytes`;
}

/** Shared by an image's PathTable and StringTable; charged once per distinct name or path, never per byte read. */
export class NameBudget {
  private used = 0;
  private paths = 0;

  constructor(
    readonly limit = MAX_NAME_BYTES,
    readonly pathLimit = MAX_PATHS,
  ) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) throw new NameBudgetExceeded(this.limit, 'names');
  }

  chargePath(): void {
    if (++this.paths > this.pathLimit) throw new NameBudgetExceeded(this.pathLimit, 'paths');
  }
}

/** The one-line error for a layer whose names outgrew the budget. */
export function nameBudgetError(label: string, error: NameBudgetExceeded): ImgscopeError {
  return new ImgscopeError('LIMIT', `${label}: ${error.message}, more than any real image`, {
    hint: 'the layer holds, removes or repeats millions of names, or very long ones; it is broken or hostile, so rebuild it',
    cause: error,
  });
}
