import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registryFailure } from './registry-errors.js';

describe('registryFailure', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the status without the error document when that trickles in, instead of waiting for it', async () => {
    vi.useFakeTimers();
    const body = new Readable({ read() {} });
    body.push('{"errors":[{"code":"MANIFEST_UNKNOWN"');
    const failure = registryFailure(
      { status: 404, headers: {}, body, url: new URL('https://r.example/v2/app/manifests/v1') },
      { subject: 'r.example/app:v1', repositoryName: 'r.example/app', what: 'manifest' },
    );
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await failure).message).toBe('r.example/app:v1: no such tag or digest in r.example/app (404)');
  }, 2000);
});
