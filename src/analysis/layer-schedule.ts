export interface LayerScheduleLimits {
  /** Layers fetched and parsed at once. */
  concurrency: number;
  /** How many layers past the merge the next one may be and still start. */
  lookahead: number;
  /** Entries that parsed layers waiting for the merge may hold between them before no new layer starts. */
  maxWaitingEntries: number;
}

/** What the schedule needs to know of a parsed layer: how many entries it holds until merged. */
export interface ParsedEntries {
  items: { count: number };
}

/**
 * Runs one parse per layer, in layer order, and hands the results back in layer order for the merge.
 *
 * A slot frees when its layer is parsed, not when it is merged: small layers behind a big one start at
 * once instead of waiting for it. What waits for the merge is held in memory, so two bounds keep it
 * small: a layer starts only within `lookahead` layers of the merge, and only while the layers waiting
 * hold fewer than `maxWaitingEntries` entries between them. After the first failure nothing new starts.
 */
export class LayerSchedule<T extends ParsedEntries> {
  private readonly results: Promise<T>[] = [];
  private next = 0;
  private merged = 0;
  private inFlight = 0;
  private waitingEntries = 0;
  private failed = false;

  constructor(
    private readonly layerCount: number,
    private readonly parse: (index: number) => Promise<T>,
    private readonly limits: LayerScheduleLimits,
    private readonly onFailure: (error: unknown) => void,
  ) {
    this.startMore();
  }

  /** Layer `index`'s result, once parsed; take them in order, each once. */
  async take(index: number): Promise<T> {
    const result = this.results[index];
    if (!result) throw new Error(`layer ${index} was not started (take layers in order)`);
    const parsed = await result;
    delete this.results[index];
    this.waitingEntries -= parsed.items.count;
    this.merged = index + 1;
    this.startMore();
    return parsed;
  }

  private startMore(): void {
    const { concurrency, lookahead, maxWaitingEntries } = this.limits;
    while (
      !this.failed &&
      this.next < this.layerCount &&
      this.inFlight < concurrency &&
      this.next < this.merged + lookahead &&
      this.waitingEntries < maxWaitingEntries
    ) {
      const index = this.next++;
      this.inFlight++;
      const result = this.parse(index);
      this.results[index] = result;
      result.then(
        (parsed) => {
          this.inFlight--;
          this.waitingEntries += parsed.items.count;
          this.startMore();
        },
        (error: unknown) => {
          this.inFlight--;
          this.failed = true;
          this.onFailure(error);
        },
      );
    }
  }
}
