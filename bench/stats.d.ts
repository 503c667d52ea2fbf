export function median(values: readonly number[]): number;
export function mediansOf<T extends Record<string, unknown>>(runs: readonly T[]): T & { repetitions: number };
