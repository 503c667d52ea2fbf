import { setTimeout as sleep } from 'node:timers/promises';
import {
  isAbortError,
  isTransientNetworkError,
  networkFailure,
  underlyingFailure,
} from './network-errors.js';
import { discard, type HttpResponse, headerValue, isReplayable, type Layer } from './types.js';

export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is reported instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRIES: RetryOptions = {
  attempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

/** A wait a registry asked for: its answer's status, and how long. */
export interface RegistryWait {
  status: number;
  ms: number;
}

/** Hears of the long waits: one line to print, and the wait itself for a screen to show. */
export type WaitNotice = (line: string, wait: RegistryWait) => void;

/** A `Retry-After` wait this long or longer is announced (`notice`), never slept through silently. */
const ANNOUNCED_WAIT_MS = 1000;

/** Timing and overload, and 500: registries and their proxies answer transient faults with it too. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Exponential backoff with jitter: between half and all of base·2^(attempt-1), capped. */
export function backoffDelay(attempt: number, options: RetryOptions, random = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** `Retry-After` as delay-seconds or an HTTP date, in milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its day and month; Date.parse alone would read `-5` or `1.5` as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Retries network failures and 408/429/500/502/503/504 with backoff, honouring `Retry-After` for every later
 * request to the same host. Requests with a streamed body go through once. A request waits for
 * `Retry-After` at most `maxRetryAfterMs` in all, and says so through `notice` when a wait is long.
 */
export function retrying(options: RetryOptions, notice?: WaitNotice): Layer {
  const notBefore = new Map<string, number>();
  return (next) => async (request) => {
    const origin = request.url.origin;
    let retryAfterWaited = 0;
    for (let attempt = 1; ; attempt++) {
      const wait = (notBefore.get(origin) ?? 0) - Date.now();
      if (wait > 0) {
        // Another request's Retry-After, announced there: this request waits it too, so it counts here.
        retryAfterWaited += wait;
        await sleep(wait, undefined, { signal: request.signal });
      }
      const canRetry = attempt < options.attempts && isReplayable(request);
      let response: HttpResponse;
      try {
        response = await next({ ...request, attempt });
      } catch (error) {
        if (!canRetry || isAbortError(error) || !isTransientNetworkError(error)) {
          throw attempt > 1 ? networkFailure(request, underlyingFailure(error), attempt) : error;
        }
        await sleep(backoffDelay(attempt, options), undefined, { signal: request.signal });
        continue;
      }
      if (!RETRYABLE_STATUS.has(response.status) || !canRetry) return response;
      const retryAfter = parseRetryAfter(headerValue(response, 'retry-after'));
      if (retryAfter !== undefined && retryAfterWaited + retryAfter > options.maxRetryAfterMs)
        return response;
      const delay = retryAfter ?? backoffDelay(attempt, options);
      if (retryAfter !== undefined) {
        retryAfterWaited += retryAfter;
        notBefore.set(origin, Date.now() + retryAfter);
        if (retryAfter >= ANNOUNCED_WAIT_MS) {
          notice?.(
            `${request.url.host} answered ${response.status}${response.status === 429 ? ' (rate limit)' : ''}: waiting ${Math.ceil(retryAfter / 1000)} s, as its Retry-After asks, before trying again`,
            { status: response.status, ms: retryAfter },
          );
        }
      }
      discard(response);
      await sleep(delay, undefined, { signal: request.signal });
    }
  };
}
