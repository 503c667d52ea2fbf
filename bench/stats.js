// Statistics shared by the benches.

/** The median: the middle value, or the mean of the two middle values of an even count. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * One result of several runs of a bench: the median of each numeric figure, the first run's other fields,
 * and the first non-zero exit code.
 */
export function mediansOf(runs) {
  const merged = { ...runs[0] };
  for (const [key, value] of Object.entries(runs[0])) {
    if (typeof value === 'number') merged[key] = median(runs.map((run) => run[key]));
  }
  if ('exitCode' in merged) merged.exitCode = runs.find((run) => run.exitCode !== 0)?.exitCode ?? 0;
  return { ...merged, repetitions: runs.length };
}
