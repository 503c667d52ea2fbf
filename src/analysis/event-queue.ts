/**
 * A push-to-pull bridge: producers push values from callbacks, one consumer pulls them with `for await`.
 * Ending or failing wakes the consumer; values pushed before are still delivered first.
 */
export class EventQueue<T> implements AsyncIterable<T> {
  private readonly values: T[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  push(value: T): void {
    if (this.ended) return;
    this.values.push(value);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.ended = true;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let index = 0;
    for (;;) {
      while (index < this.values.length) {
        const value = this.values[index]!;
        this.values[index++] = undefined as T;
        if (index > 1024 && index * 2 > this.values.length) {
          this.values.splice(0, index);
          index = 0;
        }
        yield value;
      }
      if (this.ended) {
        if (this.failure) throw this.failure.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
