import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const SECRETS = [
  'HMACSECRET',
  'JWTSECRET',
  'QUERYSECRET',
  'pw-SECRET',
  '1b4e28ba-2fa1-11d2-883f-b9a761bde3fb',
];

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * A loopback registry that sends layer GETs to a pre-signed storage URL carrying its secrets in userinfo,
 * path and query, where the storage then fails (500, or a reset connection).
 */
function signedRedirectRegistry(storage: '500' | 'reset', storageOrigin?: () => string): Server {
  const tar = Buffer.alloc(1024, 0);
  const layer = gzipSync(Buffer.concat([tar, Buffer.from(storage)]));
  const config = Buffer.from(
    JSON.stringify({
      os: 'linux',
      architecture: 'amd64',
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      config: { Cmd: ['/app'] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
    }),
  );
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://loopback').pathname;
    const { port } = server.address() as AddressInfo;
    if (path === '/v2/') res.writeHead(200).end('{}');
    else if (path === '/v2/app/manifests/v1') {
      res
        .writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'docker-content-digest': sha256(manifest),
        })
        .end(manifest);
    } else if (path === `/v2/app/blobs/${sha256(config)}`) res.writeHead(200).end(config);
    else if (path === `/v2/app/blobs/${sha256(layer)}`) {
      const signed = `/cdn/exp=1900000000~acl=*~hmac=HMACSECRET0123/eyJhbGciOiJIUzI1NiJ9.JWTSECRET.sig/1b4e28ba-2fa1-11d2-883f-b9a761bde3fb/data`;
      res.writeHead(307, {
        location: `${storageOrigin?.() ?? `http://u:pw-SECRET@127.0.0.1:${port}`}${signed}?X-Amz-Signature=QUERYSECRET`,
      });
      res.end();
    } else if (path.startsWith('/cdn/') && storage === 'reset') req.socket.destroy();
    else if (path.startsWith('/cdn/')) res.writeHead(500).end('storage failed');
    else res.writeHead(404).end();
  });
  return server;
}

describe.each(['500', 'reset'] as const)(
  'a blob redirected to a pre-signed URL that fails (%s)',
  (storage) => {
    let server: Server;
    let host = '';
    beforeAll(async () => {
      server = signedRedirectRegistry(storage);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('names the storage host but prints no secret of its URL, in the error or the --debug log', async () => {
      const result = await runCli(['check', `${host}/app:v1`, '--no-cache', '--debug', '--json']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`http://${host}/cdn/***/***/***/data?X-Amz-Signature=***`);
      for (const secret of SECRETS) {
        expect(result.stderr).not.toContain(secret);
        expect(result.stdout).not.toContain(secret);
      }
    });
  },
);

describe('a blob whose pre-signed storage URL is refused (403 from another origin)', () => {
  let registry: Server;
  let storage: Server;
  let host = '';
  beforeAll(async () => {
    storage = createServer((_req, res) => {
      res
        .writeHead(403, { 'content-type': 'application/xml' })
        .end('<Error><Code>AccessDenied</Code></Error>');
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const storageOrigin = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
    registry = signedRedirectRegistry('500', () => storageOrigin);
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => registry.close(resolve));
    await new Promise((resolve) => storage.close(resolve));
  });

  it('says the storage refused the link, not that the registry wants credentials', async () => {
    const result = await runCli(['check', `${host}/app:v1`, '--no-cache']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /: the storage the registry redirected to, http:\/\/127\.0\.0\.1:\d+\/cdn\//,
    );
    expect(result.stderr).toContain('answered 403');
    expect(result.stderr).not.toMatch(/credentials|access refused by the registry/);
  });
});
