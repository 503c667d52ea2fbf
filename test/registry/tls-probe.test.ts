import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../src/registry/index.js';
import { runCli } from '../helpers/cli.js';
import { makeServerCertificate } from './certificates.js';
import {
  CLEAN_CLI_ENV,
  nonLoopbackTarget,
  registryUnavailable,
  startRegistry,
  type TestRegistry,
} from './harness.js';
import { type BuiltImage, buildImage, noise } from './images.js';

/**
 * Registries imgscope may reach in plain HTTP — loopback ones, and those marked with --insecure-registry —
 * that speak HTTPS with a certificate nobody trusts (a local registry with its own certificate, a
 * port-forward to a remote one). docker pulls from them; so must `check`. The built CLI against real
 * Distribution registries: one plain-HTTP registry the image is pushed to, and HTTPS registries serving
 * the same storage.
 */
const target = await nonLoopbackTarget();
const unavailable = registryUnavailable;
if (unavailable) console.warn(`skipping the TLS probe tests: ${unavailable}`);

describe.skipIf(unavailable)('a plain-HTTP registry that speaks TLS', () => {
  let plain: TestRegistry;
  let image: BuiltImage;
  /** No credential store, no proxy, no trusted extra CA. */
  const env = { ...CLEAN_CLI_ENV, NODE_EXTRA_CA_CERTS: '' };
  const check = (reference: string, ...flags: string[]) =>
    runCli(['check', '--json', '--no-cache', '--profile', 'none', '--debug', ...flags, reference], { env });
  const pings = (stderr: string) => stderr.split('\n').filter((line) => /^debug: GET \S+\/v2\/ /.test(line));

  beforeAll(async () => {
    plain = await startRegistry();
    image = await buildImage({
      label: 'tls',
      layers: [{ 'big.bin': noise(1_500_000) }, { 'small.txt': 'small' }],
    });
    await pushImage(`${plain.host}/tls/app:v1`, image.content, { env: {} });
  });
  afterAll(() => plain?.stop());

  it('costs a plain-HTTP registry nothing: one /v2/ ping, over HTTP', async () => {
    const result = await check(`${plain.host}/tls/app:v1`);
    expect(result.code).toBe(0);
    expect(pings(result.stderr)).toEqual([
      expect.stringMatching(`^debug: GET http://${plain.host}/v2/ → 200`),
    ]);
  });

  it('moves a loopback registry to HTTPS, certificate unchecked, when its HTTP port refuses plain HTTP', async () => {
    const secure = await startRegistry({ tls: { names: ['127.0.0.1'] }, storageDir: plain.storageDir });
    try {
      const result = await check(`${secure.host}/tls/app:v1`);
      expect(result.stderr).not.toMatch(/^imgscope:/m);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
      expect(pings(result.stderr)).toEqual([
        expect.stringMatching(`^debug: GET http://${secure.host}/v2/ → 400`),
        expect.stringMatching(`^debug: GET https://${secure.host}/v2/ → 200`),
      ]);
      // Everything after the probe is HTTPS, the 1.5 MB layer on a connection of its own too.
      const exchanges = result.stderr.split('\n').filter((line) => line.startsWith('debug: GET'));
      expect(exchanges.slice(1).every((line) => line.startsWith(`debug: GET https://${secure.host}/`))).toBe(
        true,
      );
      const big = image.layers[0]!.descriptor.digest;
      expect(exchanges.find((line) => line.includes(big))).toMatch(/\(own connection\)$/);
    } finally {
      await secure.stop();
    }
  });

  describe('a loopback TLS port that drops plain HTTP (no 400)', () => {
    /**
     * A Node.js HTTPS front over the plain registry, self-signed, on loopback: its TLS server drops a
     * plain-HTTP request without a word. `clientCertificate`: it asks for one and, as a server checking it
     * after a TLS 1.3 handshake may, closes a connection without one, sending no alert.
     */
    async function startTlsFront(clientCertificate = false) {
      const dir = mkdtempSync(join(tmpdir(), 'imgscope-drop-'));
      const { keyPath, certPath } = makeServerCertificate(dir, ['127.0.0.1']);
      const cert = readFileSync(certPath);
      const front = createHttpsServer(
        {
          key: readFileSync(keyPath),
          cert,
          ...(clientCertificate ? { requestCert: true, rejectUnauthorized: false, ca: cert } : {}),
        },
        (request, response) => {
          const upstream = httpRequest(
            `${plain.url}${request.url ?? '/'}`,
            { method: request.method, headers: { ...request.headers, host: plain.host } },
            (answer) => {
              response.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(response);
            },
          );
          upstream.on('error', () => response.destroy());
          request.pipe(upstream);
        },
      );
      if (clientCertificate) {
        front.prependListener('secureConnection', (socket) => {
          if (!socket.authorized) socket.destroy();
        });
      }
      await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
      return {
        host: `127.0.0.1:${(front.address() as AddressInfo).port}`,
        stop: async () => {
          front.closeAllConnections();
          await new Promise((resolve) => front.close(resolve));
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }

    it('moves to HTTPS at once, the dropped plain-HTTP ping not retried', async () => {
      const front = await startTlsFront();
      try {
        const result = await check(`${front.host}/tls/app:v1`);
        expect(result.stderr).not.toMatch(/^imgscope:/m);
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
        expect(pings(result.stderr)).toEqual([
          expect.stringMatching(
            `^debug: GET http://${front.host}/v2/ failed after \\d+ ms: .*(closed early|connection reset)$`,
          ),
          expect.stringMatching(`^debug: GET https://${front.host}/v2/ → 200`),
        ]);
      } finally {
        await front.stop();
      }
    });
    it('says a client certificate may be wanted when the TLS server closes the connection after its handshake', async () => {
      const front = await startTlsFront(true);
      try {
        const result = await check(`${front.host}/tls/app:v1`);
        expect(result.code).toBe(2);
        const message = result.stderr.split('\n').filter((line) => line.startsWith('imgscope:'));
        expect(message).toEqual([
          `imgscope: GET https://${front.host}/v2/: the server completed the TLS handshake, then closed the connection without answering — if ${front.host} wants a client certificate, reach ${front.host} by a name neither loopback nor marked insecure, its client certificate in that name's certs.d folder: as docker, imgscope reads none for an insecure registry`,
        ]);
        // Its refusal is an answer, asked for once.
        expect(pings(result.stderr)).toHaveLength(2);
      } finally {
        await front.stop();
      }
    });
  });

  describe.skipIf(!target)('off this machine', () => {
    it('checks the certificate unless the registry is marked insecure, as docker does', async () => {
      const { name, address } = target!;
      const secure = await startRegistry({
        bind: address,
        tls: { names: [...new Set([name, address])] },
        storageDir: plain.storageDir,
      });
      try {
        const host = secure.host.replace(address, name);
        const checked = await check(`${host}/tls/app:v1`);
        expect(checked.code).toBe(2);
        expect(checked.stderr).toContain(`${name}'s certificate is not signed by a CA Node.js trusts`);

        const insecure = await check(`${host}/tls/app:v1`, '--insecure-registry', host);
        expect(insecure.stderr).not.toMatch(/^imgscope:/m);
        expect(insecure.code).toBe(0);
        expect(JSON.parse(insecure.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
        expect(pings(insecure.stderr)).toEqual([
          expect.stringMatching(`^debug: GET http://${host}/v2/ → 400`),
          expect.stringMatching(`^debug: GET https://${host}/v2/ → 200`),
        ]);
      } finally {
        await secure.stop();
      }
    });
  });

  describe.skipIf(!target)('redirecting to storage over HTTPS', () => {
    /**
     * An HTTPS registry front (self-signed, on this machine's name) over the plain registry, whose blob
     * GETs redirect to a second HTTPS origin, the "storage", with a self-signed certificate of its own.
     */
    async function startRedirectingFront(): Promise<{ host: string; stop: () => Promise<void> }> {
      const { name, address } = target!;
      const dir = mkdtempSync(join(tmpdir(), 'imgscope-front-'));
      const { keyPath, certPath } = makeServerCertificate(dir, [name, address, '127.0.0.1']);
      const credentials = {
        key: readFileSync(keyPath),
        cert: readFileSync(certPath),
      };
      let storeOrigin = '';
      const forward = (path: string, request: IncomingMessage, response: ServerResponse) => {
        const upstream = httpRequest(
          `${plain.url}${path}`,
          { method: request.method, headers: { ...request.headers, host: plain.host } },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          },
        );
        upstream.on('error', () => response.destroy());
        request.pipe(upstream);
      };
      const front = createHttpsServer(credentials, (request, response) => {
        const path = request.url ?? '/';
        if (request.method === 'GET' && /\/blobs\/sha256:/.test(path)) {
          request.resume();
          response.writeHead(307, { location: `${storeOrigin}/storage${path}` }).end();
        } else forward(path, request, response);
      });
      const store = createHttpsServer(credentials, (request, response) =>
        forward((request.url ?? '/').replace(/^\/storage/, ''), request, response),
      );
      const listen = (server: typeof front, host: string) =>
        new Promise<number>((resolve) =>
          server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
        );
      const frontPort = await listen(front, '0.0.0.0');
      storeOrigin = `https://${name}:${await listen(store, address)}`;
      return {
        host: `${name}:${frontPort}`,
        stop: async () => {
          for (const server of [front, store]) {
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }

    it('does not check the storage certificate of a registry marked insecure, as docker does', async () => {
      const front = await startRedirectingFront();
      try {
        const result = await check(`${front.host}/tls/app:v1`, '--insecure-registry', front.host);
        expect(result.stderr).not.toMatch(/^imgscope:/m);
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
        const big = image.layers[0]!.descriptor.digest;
        expect(result.stderr).toMatch(
          new RegExp(`debug: GET https://${target!.name}:\\d+/storage/\\S+${big} → 200`),
        );
      } finally {
        await front.stop();
      }
    });

    it('checks it when the registry is insecure only because it is on loopback', async () => {
      const front = await startRedirectingFront();
      try {
        const loopback = front.host.replace(target!.name, '127.0.0.1');
        const result = await check(`${loopback}/tls/app:v1`);
        expect(result.code).toBe(2);
        expect(result.stderr).toContain(`${target!.name}'s certificate is not signed by a CA Node.js trusts`);
        // A loopback registry's certs.d folder is not read: only NODE_EXTRA_CA_CERTS can help.
        expect(result.stderr).toMatch(
          / — .*if it comes from your own CA, set NODE_EXTRA_CA_CERTS to the CA's PEM file$/m,
        );
      } finally {
        await front.stop();
      }
    });
  });

  /** Ports 443 and 80 of this machine's address: only root may listen there. */
  describe.skipIf(!target || process.getuid?.() !== 0)('named without a port, on 443', () => {
    const startOn443 = () =>
      startRegistry({
        bind: target!.address,
        port: 443,
        tls: { names: [...new Set([target!.name, target!.address])] },
        storageDir: plain.storageDir,
      });

    it('is reached over HTTPS, certificate unchecked, when marked insecure and nothing listens on port 80', async () => {
      const secure = await startOn443();
      try {
        // The address: a host name without a dot would be a Docker Hub namespace.
        const name = target!.address;
        const result = await check(`${name}/tls/app:v1`, '--insecure-registry', name);
        expect(result.stderr).not.toMatch(/^imgscope:/m);
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
        expect(pings(result.stderr).at(-1)).toMatch(`debug: GET https://${name}/v2/ → 200`);

        // Named with its port, 443 is the default port of HTTPS, which URLs leave out.
        const withPort = await check(`${name}:443/tls/app:v1`, '--insecure-registry', `${name}:443`);
        expect(withPort.stderr).not.toMatch(/^imgscope:/m);
        expect(withPort.code).toBe(0);
      } finally {
        await secure.stop();
      }
    });

    it('follows port 80 redirecting to HTTPS, and stays on HTTPS, when marked insecure', async () => {
      const secure = await startOn443();
      const name = target!.address;
      const redirector = createServer((request, response) => {
        response.writeHead(301, { location: `https://${name}${request.url}` }).end();
      });
      await new Promise<void>((resolve) => redirector.listen(80, name, resolve));
      try {
        const result = await check(`${name}/tls/app:v1`, '--insecure-registry', name);
        expect(result.stderr).not.toMatch(/^imgscope:/m);
        expect(result.code).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
        const exchanges = result.stderr.split('\n').filter((line) => line.startsWith('debug: GET'));
        expect(exchanges[0]).toMatch(`debug: GET http://${name}/v2/ → 301`);
        expect(exchanges.slice(1).every((line) => line.startsWith(`debug: GET https://${name}/`))).toBe(true);
      } finally {
        redirector.close();
        await secure.stop();
      }
    });
  });
});

describe('a plain-HTTP server that resets a TLS handshake', () => {
  it('is not said to have completed a TLS handshake: its plain-HTTP answer stands', async () => {
    // No registry: /v2/ answers 400 in plain HTTP, and a TLS ClientHello is reset unread.
    const server = createNetServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', (data) => {
        if (data[0] === 0x16) socket.resetAndDestroy();
        else socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 3\r\nconnection: close\r\n\r\nbad');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await runCli(['check', '--no-cache', `${host}/app:v1`], {
        env: { ...CLEAN_CLI_ENV, NODE_EXTRA_CA_CERTS: '' },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).not.toContain('TLS handshake');
      expect(result.stderr).toContain(`http://${host}/v2/app/manifests/v1 answered 400`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
