import { brokenLinkInTheWay, describeError, fileInTheWay } from './files.js';

/**
 * The write failures of a command's caches, which share one root: the first, whichever cache it came
 * from, stops them all after one warning naming the root (a full or read-only disk degrades to no cache
 * writes, never to an error).
 */
export class CacheWriteFailure {
  private stopped = false;

  constructor(
    private readonly root: string,
    private readonly warn?: (message: string) => void,
  ) {}

  /** A write already failed: further ones are not attempted. */
  get failed(): boolean {
    return this.stopped;
  }

  fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.warn?.(cannotWriteWarning(this.root, error));
  }
}

/**
 * A cache's writes, touches and removals run in the background: tracked so `flush` can wait for them,
 * and a write failure reported to `failure`, after which no write is attempted.
 */
export class BackgroundWrites {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly failure: CacheWriteFailure) {}

  get failed(): boolean {
    return this.failure.failed;
  }

  /** `work` must not reject. */
  track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  fail(error: unknown): void {
    this.failure.fail(error);
  }

  /** Resolves once everything tracked so far (and anything it started) has finished. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}

const SPACE_CODES = new Set(['ENOSPC', 'EDQUOT']);
const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/** The warning when the cache cannot be written: the root, why, and the ways out that fit the error. */
export function cannotWriteWarning(root: string, error: unknown): string {
  const file = fileInTheWay(error);
  if (file) {
    return (
      `cannot write the cache in ${root}: ${file === root ? 'it' : file} is not a folder; continuing without ` +
      'storing anything in it — move that file away, choose another folder with --cache-dir, or pass --no-cache'
    );
  }
  const broken = brokenLinkInTheWay(error);
  if (broken) {
    return (
      `cannot write the cache in ${root}: ${broken.link === root ? 'it' : broken.link} is a symbolic link to ` +
      `${broken.target}, which does not exist; continuing without storing anything in it — make that folder ` +
      '(or mount its disk), choose another folder with --cache-dir, or pass --no-cache'
    );
  }
  const reason = describeError(error);
  const fix = SPACE_CODES.has(reason)
    ? 'free some space'
    : PERMISSION_CODES.has(reason)
      ? 'make it writable'
      : 'free some space or make it writable';
  return (
    `cannot write the cache in ${root} (${reason}); continuing without storing anything in it — ` +
    `${fix}, choose another folder with --cache-dir, or pass --no-cache`
  );
}
