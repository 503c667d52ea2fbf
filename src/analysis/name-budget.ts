import { ImgscopeError } from '../errors.js';

/**
 * What an image's interned names may hold between them: distinct path segments and link targets (their
 * length) and path nodes (PATH_NODE_BYTES each). Real images stay far below it (1,000,000 entries of
 * ordinary paths charge about 150 MB); a layer of megabyte PAX names, or of paths 2,000 folders deep,
 * reaches it long before the process runs out of memory.
 */
export const MAX_NAME_BYTES = 512 * 1024 ** 2;
/** What one path costs in memory: the path table's and the file model's arrays. */
export const PATH_NODE_BYTES = 128;

/** The image's names outgrew their budget. */
export class NameBudgetExceeded extends Error {
  constructor(readonly limit: number) {
    const shown = limit % 1024 ** 2 === 0 ? `${limit / 1024 ** 2} MiB` : `${limit} bytes`;
    super(`its file names and paths take more than ${shown} of memory`);
    this.name = 'NameBudgetExceeded';
  }
}

/** Shared by an image's PathTable and StringTable; charged once per distinct name or path, never per byte read. */
export class NameBudget {
  private used = 0;

  constructor(readonly limit = MAX_NAME_BYTES) {}

  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) throw new NameBudgetExceeded(this.limit);
  }
}

/** The one-line error for a layer whose names outgrew the budget. */
export function nameBudgetError(label: string, error: NameBudgetExceeded): ImgscopeError {
  return new ImgscopeError('LIMIT', `${label}: ${error.message}, more than any real image`, {
    hint: 'the layer holds millions of distinct or very long names; it is broken or hostile, so rebuild it',
    cause: error,
  });
}
