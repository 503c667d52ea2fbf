import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.js';
import { backoffDelay, DEFAULT_RETRIES, parseRetryAfter } from './retry.js';

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates, and ignores nonsense', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Mon, 01 Jan 2023 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('doubles per attempt between half and all of the ceiling, capped', () => {
    const options = { ...DEFAULT_RETRIES, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, options, () => 0)).toBe(50);
    expect(backoffDelay(1, options, () => 1)).toBe(100);
    expect(backoffDelay(3, options, () => 1)).toBe(400);
    expect(backoffDelay(10, options, () => 1)).toBe(1000);
    expect(backoffDelay(10, options, () => 0)).toBe(500);
  });
});

describe('redactUrl', () => {
  it('hides userinfo and secret-looking query values, and shortens opaque state', () => {
    const url = new URL(
      `https://user:pw@store.example/blob?X-Amz-Signature=abc&X-Amz-Credential=k&sig=s&token=t&_state=${'x'.repeat(100)}&n=1`,
    );
    expect(redactUrl(url)).toBe(
      'https://store.example/blob?X-Amz-Signature=***&X-Amz-Credential=***&sig=***&token=***&_state=xxxxxxxxxxxx…&n=1',
    );
  });
});
