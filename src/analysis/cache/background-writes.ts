/**
 * A cache's writes, touches and removals run in the background: tracked so `flush` can wait for them,
 * and the first write failure turned into one warning after which the cache stops writing (a full or
 * read-only disk degrades to no cache, never to an error).
 */
export class BackgroundWrites {
  private readonly pending = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly warnOnce: (error: unknown) => void) {}

  /** A write already failed: further ones are not attempted. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** `work` must not reject. */
  track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.warnOnce(error);
  }

  /** Resolves once everything tracked so far (and anything it started) has finished. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}

/** The warning a cache gives when it cannot write, naming the folder and the ways out. */
export function cannotWriteWarning(what: string, directory: string, reason: string): string {
  return (
    `cannot write the ${what} in ${directory} (${reason}); continuing without it — ` +
    'free some space, make the folder writable, choose another with --cache-dir, or pass --no-cache'
  );
}
