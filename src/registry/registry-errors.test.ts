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

  it('quotes the XML error of the storage a blob was redirected to (S3, GCS, Azure)', async () => {
    const body = Readable.from([
      Buffer.from(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired &amp; was refused</Message><Expires>2026-01-01T00:00:00Z</Expires></Error>',
      ),
    ]);
    const failure = await registryFailure(
      {
        status: 403,
        headers: {},
        body,
        url: new URL('https://bucket.s3.example/blobs/x?X-Amz-Signature=secret'),
      },
      {
        subject: 'layer sha256:1 of r.example/app',
        repositoryName: 'r.example/app',
        what: 'blob',
        origin: 'https://r.example',
      },
    );
    expect(failure.message).toBe(
      'layer sha256:1 of r.example/app: the storage the registry redirected to, https://bucket.s3.example/blobs/x?X-Amz-Signature=***, answered 403 AccessDenied: Request has expired & was refused',
    );
  });

  it('asks to check the host and port too when a 404 carries no registry error', async () => {
    const failure = (body: string) =>
      registryFailure(
        {
          status: 404,
          headers: {},
          body: Readable.from([Buffer.from(body)]),
          url: new URL('http://127.0.0.1:8080/v2/app/manifests/v1'),
        },
        { subject: '127.0.0.1:8080/app:v1', repositoryName: '127.0.0.1:8080/app', what: 'manifest' },
      );
    expect((await failure('404 page not found\n')).hint).toBe(
      "check the tag; list the tags that exist with `skopeo list-tags docker://REPOSITORY`; the answer carries no registry error, so check too that 127.0.0.1:8080 is the registry's host and port",
    );
    const unknown = await failure('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    expect(unknown.hint).toBe(
      'check the tag; list the tags that exist with `skopeo list-tags docker://REPOSITORY`',
    );
  });
});
