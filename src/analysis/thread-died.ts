/**
 * A helper thread (the one hashing big layers, or a zstd decoder) died — out of memory, killed. The
 * layer's bytes are not at fault, and the message must not say they are.
 */
export class ThreadDiedError extends Error {
  constructor(job: string, reason: string) {
    super(`the thread ${job} stopped (${reason})`);
    this.name = 'ThreadDiedError';
  }
}
