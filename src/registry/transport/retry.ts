import { setTimeout as sleep } from 'node:timers/promises';
import { isAbortError, isTransientNetworkError, retriedFailure } from './network-errors.js';
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
  /** The host that asked to wait: the registry's, or its blob storage's (a redirect's target). */
  host: string;
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(?<month>${MONTHS.join('|')})`;
const TIME = '(?<h>\\d\\d):(?<m>\\d\\d):(?<s>\\d\\d)';
/** RFC 9110's three HTTP-date forms, the ones Go's http.ParseTime reads. */
const HTTP_DATES = [
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?<day>\\d\\d) ${MONTH} (?<year>\\d{4}) ${TIME} GMT$`),
  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
  new RegExp(
    `^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?<day>\\d\\d)-${MONTH}-(?<year>\\d\\d) ${TIME} GMT$`,
  ),
  // asctime: Sun Nov  6 08:49:37 1994
  new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} (?<day>[ \\d]\\d) ${TIME} (?<year>\\d{4})$`),
];

/** An HTTP-date in epoch milliseconds; anything else (`in 5`, `May 2`, 31 Feb) is not one. */
function parseHttpDate(value: string): number | undefined {
  const parts = HTTP_DATES.map((pattern) => pattern.exec(value)?.groups).find(Boolean);
  if (!parts) return undefined;
  const [day, h, m, s] = [parts.day, parts.h, parts.m, parts.s].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  let year = Number(parts.year);
  // RFC 850's two-digit year, read as Go reads it: 69–99 are 19xx, 00–68 are 20xx.
  if (parts.year?.length === 2) year += year >= 69 ? 1900 : 2000;
  const month = MONTHS.indexOf(parts.month ?? '');
  const time = Date.UTC(year, month, day, h, m, s);
  // Date.UTC would roll 31 Feb over into March, and 25:00 into the next day.
  const valid = new Date(time).getUTCDate() === day && h < 24 && m < 60 && s < 60;
  return valid ? time : undefined;
}

/**
 * `Retry-After` as delay-seconds or an HTTP-date, in milliseconds. Anything else is no `Retry-After`
 * (RFC 9110 §10.2.3): Date.parse alone would read `in 5` as a date in 2001 and retry at once.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = parseHttpDate(trimmed);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/**
 * Retries network failures and 408/429/500/502/503/504 with backoff, honouring `Retry-After` for every later
 * request to the same host. Requests with a streamed body go through once. A request waits for
 * `Retry-After` at most `maxRetryAfterMs` in all, and says so through `notice` when a wait is long.
 */
export function retrying(options: RetryOptions, notice?: WaitNotice): Layer {
  const notBefore = new Map<string, number>();
  /** Per origin, when the wait last announced ends: requests throttled together share one notice. */
  const announcedUntil = new Map<string, number>();
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
        if (
          !canRetry ||
          isAbortError(error) ||
          !isTransientNetworkError(error) ||
          request.isAnswer?.(error)
        ) {
          throw attempt > 1 ? retriedFailure(request, error, attempt) : error;
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
        const until = Date.now() + retryAfter;
        notBefore.set(origin, Math.max(until, notBefore.get(origin) ?? 0));
        // Several layers throttled at once get the same wait: announce it once, and again only when a
        // later answer moves the end of the wait by as much as an announced wait.
        const announced = announcedUntil.get(origin) ?? 0;
        if (retryAfter >= ANNOUNCED_WAIT_MS && until - announced >= ANNOUNCED_WAIT_MS) {
          announcedUntil.set(origin, until);
          notice?.(
            `${request.url.host} answered ${response.status}${response.status === 429 ? ' (rate limit)' : ''}: waiting ${Math.ceil(retryAfter / 1000)} s, as its Retry-After asks, before trying again`,
            { host: request.url.host, status: response.status, ms: retryAfter },
          );
        }
      }
      discard(response);
      await sleep(delay, undefined, { signal: request.signal });
    }
  };
}
