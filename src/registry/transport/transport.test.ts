import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.js';
import { followingRedirects } from './redirect.js';
import { backoffDelay, DEFAULT_RETRIES, parseRetryAfter, type RegistryWait, retrying } from './retry.js';
import type { Exchange } from './types.js';

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates, and ignores nonsense', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Mon, 01 Jan 2023 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    // Date.parse would take these for years, and answer "wait 0 s".
    expect(parseRetryAfter('-5')).toBeUndefined();
    expect(parseRetryAfter('1.5')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('reads the three HTTP-date forms of RFC 9110 and takes nothing else for a date', () => {
    const now = Date.parse('1994-11-06T08:49:30Z');
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', now)).toBe(7000);
    // Date.parse reads these as dates in 2001 (or the date's rollover), which would mean "retry at once".
    for (const junk of [
      'in 5',
      'May 2',
      'tomorrow 1',
      'Mon, 31 Feb 2024 00:00:00 GMT',
      '5s',
      'Sun, 06 Nov 1994',
    ]) {
      expect(parseRetryAfter(junk, now)).toBeUndefined();
    }
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
  it('hides userinfo and every query value but those of the registry API', () => {
    const url = new URL(
      `https://user:pw@store.example/blob?X-Amz-Signature=abc&X-Amz-Credential=k&sig=s&token=t&_state=${'x'.repeat(100)}&n=1`,
    );
    expect(redactUrl(url)).toBe(
      'https://store.example/blob?X-Amz-Signature=***&X-Amz-Credential=***&sig=***&token=***&_state=***&n=1',
    );
  });

  it("hides signatures under names it has never seen, such as Docker Hub's CDN verify=EXPIRY-HMAC", () => {
    const url = new URL(
      'https://production.cloudflare.docker.com/registry-v2/blobs/data?verify=1723914380-UMTxOv%3D&jwt=eyJx&code=c#access_token=f',
    );
    expect(redactUrl(url)).toBe(
      'https://production.cloudflare.docker.com/registry-v2/blobs/data?verify=***&jwt=***&code=***',
    );
  });

  it('hides path segments that may be tokens off the registry API, and keeps digests and plain words', () => {
    const hex = 'ab'.repeat(32);
    const signed = new URL(
      `https://cdn.example/exp=1900000000~acl=*~hmac=0a1b2c/eyJhbGciOiJIUzI1NiJ9.e30.sig/5e5779a8/9f86d081884c7d659a2feaa0c55ad015/docker/registry/v2/blobs/sha256/ab/${hex}/data`,
    );
    expect(redactUrl(signed)).toBe(
      `https://cdn.example/***/***/5e5779a8/***/docker/registry/v2/blobs/sha256/ab/${hex}/data`,
    );
    expect(redactUrl(new URL('http://127.0.0.1:1/storage/1b4e28ba-2fa1-11d2-883f-b9a761bde3fb'))).toBe(
      'http://127.0.0.1:1/storage/***',
    );
    expect(redactUrl(new URL('https://auth.example/oauth2/token'))).toBe('https://auth.example/oauth2/token');
    // The registry API path is the reference the user gave: printed as it is.
    const api = `https://r.example/v2/team-2024/app.v1234567890/blobs/sha256:${hex}`;
    expect(redactUrl(new URL(api))).toBe(api);
    expect(redactUrl(new URL('https://r.example/v2/'))).toBe('https://r.example/v2/');
    expect(redactUrl(new URL('https://r.example/v2/9f86d081884c7d659a2feaa0c55ad015'))).toBe(
      'https://r.example/v2/***',
    );
  });

  it('keeps the values of the token and distribution API parameters, repeated ones included', () => {
    const url = new URL(
      'https://auth.example/token?service=reg&scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apull&account=me',
    );
    expect(redactUrl(url)).toBe(
      'https://auth.example/token?service=reg&scope=repository%3Aa%3Apull&scope=repository%3Ab%3Apull&account=***',
    );
    expect(redactUrl(new URL('https://r.example/v2/a/tags/list?n=10&last=v1'))).toBe(
      'https://r.example/v2/a/tags/list?n=10&last=v1',
    );
  });
});

describe('followingRedirects', () => {
  /** GETs `from`, redirected to `to`; resolves with the URL finally asked for. */
  async function follow(from: string, to: string, insecure = false): Promise<string> {
    let last = '';
    const exchange = followingRedirects({ insecure })(async (request) => {
      last = request.url.href;
      const redirect = request.url.href === from;
      return {
        status: redirect ? 307 : 200,
        headers: redirect ? { location: to } : {},
        body: Readable.from([]),
        url: request.url,
      };
    });
    await exchange({ method: 'GET', url: new URL(from), headers: {} });
    return last;
  }

  it('downgrades HTTPS to plain HTTP anywhere when insecure, else only to loopback from loopback', async () => {
    await expect(follow('https://r.example/v2/a/blobs/x', 'http://127.0.0.1:9/blob')).rejects.toThrow(
      /redirected from HTTPS to plain HTTP \(127\.0\.0\.1:9\)/,
    );
    await expect(follow('https://r.example/v2/a/blobs/x', 'http://127.0.0.1:9/blob', true)).resolves.toBe(
      'http://127.0.0.1:9/blob',
    );
    await expect(follow('https://localhost:5000/v2/a/blobs/x', 'http://127.0.0.1:9/blob')).resolves.toBe(
      'http://127.0.0.1:9/blob',
    );
    await expect(follow('https://localhost:5000/v2/a/blobs/x', 'http://store.example/blob')).rejects.toThrow(
      /redirected from HTTPS to plain HTTP \(store\.example\)/,
    );
    // Plain-HTTP storage behind a registry marked insecure (MinIO on an internal network), as docker follows it.
    await expect(
      follow('https://r.example/v2/a/blobs/x', 'http://minio.internal:9000/b', true),
    ).resolves.toBe('http://minio.internal:9000/b');
    await expect(
      follow('https://r.example/v2/a/blobs/x', 'http://minio.internal:9000/b'),
    ).rejects.toMatchObject({
      hint: 'refusing to downgrade the connection; if you trust this network, mark the registry insecure: --insecure-registry r.example',
    });
  });
});

describe('followingRedirects given a Location that is no URL', () => {
  it('fails with one NETWORK line naming the request, not the Location', async () => {
    const exchange = followingRedirects()(async (request) => ({
      status: 307,
      headers: { location: 'http://[signed-secret' },
      body: Readable.from([]),
      url: request.url,
    }));
    const failure = exchange({ method: 'GET', url: new URL('https://r.example/v2/a/blobs/x'), headers: {} });
    await expect(failure).rejects.toMatchObject({
      code: 'NETWORK',
      message: 'https://r.example/v2/a/blobs/x redirected to a Location that is not a URL',
    });
  });
});

describe('followingRedirects marks requests sent to another origin', () => {
  it('with the registry URL they began as, and only those', async () => {
    const seen: (string | undefined)[] = [];
    const hops: Record<string, string> = {
      'https://r.example/v2/a/blobs/x': 'https://r.example/v2/a/blobs/y',
      'https://r.example/v2/a/blobs/y': 'https://cdn.example/signed?sig=secret',
      'https://cdn.example/signed?sig=secret': 'https://store.example/blob?sig=secret',
    };
    const exchange = followingRedirects()(async (request) => {
      seen.push(request.redirectedFrom?.href);
      const to = hops[request.url.href];
      return {
        status: to ? 307 : 200,
        headers: to ? { location: to } : {},
        body: Readable.from([]),
        url: request.url,
      };
    });
    await exchange({ method: 'GET', url: new URL('https://r.example/v2/a/blobs/x'), headers: {} });
    expect(seen).toEqual([
      undefined,
      undefined,
      'https://r.example/v2/a/blobs/x',
      'https://r.example/v2/a/blobs/x',
    ]);
  });
});

describe('retrying with Retry-After', () => {
  it("counts the wait another request's Retry-After imposed in the limit of a request", async () => {
    let calls = 0;
    const rateLimited: Exchange = async (request) => ({
      status: ++calls === 1 || request.url.pathname === '/b' ? 429 : 200,
      headers: { 'retry-after': '1' },
      body: Readable.from([]),
      url: request.url,
    });
    const notices: string[] = [];
    const exchange = retrying({ ...DEFAULT_RETRIES, maxRetryAfterMs: 1500 }, (line) => notices.push(line))(
      rateLimited,
    );
    const get = (path: string) =>
      exchange({ method: 'GET', url: new URL(path, 'https://r.example'), headers: {} });
    const first = get('/a');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    // Held back by /a's Retry-After (0.9 s), then asked to wait 1 s more: 1.9 s in all, over the 1.5 s limit.
    const second = await get('/b');
    expect(second.status).toBe(429);
    expect(Date.now() - started).toBeLessThan(1400);
    expect((await first).status).toBe(200);
  });

  it('announces one wait when several requests to a host are throttled at once', async () => {
    const throttled = new Set<string>();
    const rateLimited: Exchange = async (request) => {
      const first = !throttled.has(request.url.pathname);
      throttled.add(request.url.pathname);
      return {
        status: first ? 429 : 200,
        headers: { 'retry-after': '1' },
        body: Readable.from([]),
        url: request.url,
      };
    };
    const notices: string[] = [];
    const waits: RegistryWait[] = [];
    const exchange = retrying(DEFAULT_RETRIES, (line, wait) => {
      notices.push(line);
      waits.push(wait);
    })(rateLimited);
    const layers = ['/a', '/b', '/c', '/d'].map((path) =>
      exchange({ method: 'GET', url: new URL(path, 'https://r.example'), headers: {} }),
    );
    expect((await Promise.all(layers)).map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect(notices).toEqual([
      'r.example answered 429 (rate limit): waiting 1 s, as its Retry-After asks, before trying again',
    ]);
    // The host that asked, for the explorer's header: a redirect's target (blob storage) is not the registry.
    expect(waits).toEqual([{ host: 'r.example', status: 429, ms: 1000 }]);
  });
});
