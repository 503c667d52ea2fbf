import { describe, expect, it } from 'vitest';
import { LayerSchedule, type LayerScheduleLimits } from './layer-schedule.js';

interface Job {
  resolve: (count: number) => void;
  reject: (error: Error) => void;
}

/** A schedule whose parses finish when the test says so. */
function schedule(layerCount: number, limits: LayerScheduleLimits) {
  const started: number[] = [];
  const jobs = new Map<number, Job>();
  const failures: unknown[] = [];
  const layers = new LayerSchedule(
    layerCount,
    (index) =>
      new Promise<{ index: number; items: { count: number } }>((resolve, reject) => {
        started.push(index);
        jobs.set(index, { resolve: (count) => resolve({ index, items: { count } }), reject });
      }),
    limits,
    (error) => failures.push(error),
  );
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { layers, started, jobs, failures, settle };
}

describe('LayerSchedule', () => {
  it('refills a slot as soon as a layer is parsed, up to `lookahead` layers past the merge', async () => {
    const { layers, started, jobs, settle } = schedule(10, {
      concurrency: 2,
      lookahead: 5,
      maxWaitingEntries: 1000,
    });
    expect(started).toEqual([0, 1]);
    for (let index = 1; index <= 4; index++) {
      jobs.get(index)!.resolve(1);
      await settle();
    }
    // Layer 0 still holds a slot; 1–4 passed through the other, and 4 is as far as five layers reach.
    expect(started).toEqual([0, 1, 2, 3, 4]);
    jobs.get(0)!.resolve(1);
    const first = await layers.take(0);
    expect(first.index).toBe(0);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    await layers.take(1);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('starts nothing while the parsed layers waiting for the merge hold maxWaitingEntries', async () => {
    const { layers, started, jobs, settle } = schedule(6, {
      concurrency: 2,
      lookahead: 100,
      maxWaitingEntries: 10,
    });
    jobs.get(1)!.resolve(5);
    await settle();
    expect(started).toEqual([0, 1, 2]);
    jobs.get(2)!.resolve(5);
    await settle();
    expect(started).toEqual([0, 1, 2]);
    jobs.get(0)!.resolve(0);
    await layers.take(0);
    expect(started).toEqual([0, 1, 2]);
    await layers.take(1);
    // Five entries wait now (layer 2): both slots fill.
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect((await layers.take(2)).index).toBe(2);
  });

  it('starts nothing after a failure and reports it once', async () => {
    const { layers, started, jobs, failures, settle } = schedule(5, {
      concurrency: 2,
      lookahead: 10,
      maxWaitingEntries: 100,
    });
    const broken = new Error('corrupt layer');
    jobs.get(1)!.reject(broken);
    await settle();
    expect(failures).toEqual([broken]);
    expect(started).toEqual([0, 1]);
    jobs.get(0)!.resolve(1);
    await layers.take(0);
    await expect(layers.take(1)).rejects.toBe(broken);
    expect(started).toEqual([0, 1]);
    await expect(layers.take(2)).rejects.toThrow(/not started/);
  });
});
