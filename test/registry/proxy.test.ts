import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../src/registry/index.js';
import { runCli } from '../helpers/cli.js';
import {
  CLEAN_CLI_ENV,
  freePort,
  nonLoopbackTarget,
  registryUnavailable,
  startRegistry,
  type TestRegistry,
} from './harness.js';
import { type BuiltImage, buildImage, noise } from './images.js';
import { startTinyproxy, type TestProxy, tinyproxyUnavailable } from './tinyproxy.js';

/**
 * The built CLI behind a real forward proxy (tinyproxy). Loopback hosts never go through a proxy, so the
 * registry is reached by a name that is not loopback: this machine's host name, which the proxy resolves
 * to the address the registry listens on, or else an address of one of its network interfaces.
 */
const target = await nonLoopbackTarget();
const name = target?.name ?? '';
const address = target?.address ?? '';
const unavailable =
  registryUnavailable ??
  tinyproxyUnavailable ??
  (target ? undefined : 'this machine has no host name or network address that is not loopback');
if (unavailable) console.warn(`skipping the proxy tests: ${unavailable}`);

const PROXY_LOGIN = { username: 'imgscope', password: 'proxy-s3cret-pass' };

describe.skipIf(unavailable)('imgscope behind an HTTP proxy', () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let image: BuiltImage;
  let reference: string;
  let registryName: string;
  const baseEnv = CLEAN_CLI_ENV;
  const check = (env: Record<string, string>) =>
    runCli(
      [
        'check',
        '--json',
        '--no-cache',
        '--profile',
        'none',
        '--debug',
        '--insecure-registry',
        registryName,
        reference,
      ],
      { env: { ...baseEnv, ...env } },
    );
  const blobLine = (stderr: string, digest: string | undefined) =>
    stderr.split('\n').find((line) => line.includes(`/blobs/${digest} → 200`));

  beforeAll(async () => {
    registry = await startRegistry({ bind: address });
    proxy = await startTinyproxy();
    registryName = registry.host.replace(address, name);
    image = await buildImage({
      label: 'proxied',
      layers: [{ 'big.bin': noise(1_500_000) }, { 'small.txt': 'small' }],
    });
    await pushImage(`${registry.host}/proxied/app:v1`, image.content, {
      env: {},
      insecureRegistries: [registry.host],
    });
    reference = `${registryName}/proxied/app:v1`;
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  it('fetches manifests and every layer, large ones too, through HTTP_PROXY', async () => {
    const before = proxy.requests().length;
    const result = await check({ HTTP_PROXY: proxy.url });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
    const exchanges = result.stderr.split('\n').filter((line) => line.startsWith('debug: GET'));
    expect(exchanges.length).toBeGreaterThanOrEqual(4);
    for (const line of exchanges) expect(line).toMatch(new RegExp(`\\(through proxy ${proxy.host}\\)$`));
    expect(result.stderr).not.toContain('own connection');
    // The proxy saw the requests, forwarded as Go forwards them: the CLI did not go around it.
    const forwarded = proxy.requests().slice(before);
    expect(forwarded.length).toBeGreaterThanOrEqual(exchanges.length);
    expect(forwarded.every((line) => line.startsWith(`GET http://${registryName}/v2/`))).toBe(true);
  });

  it('forwards requests to a plain-HTTP registry through a proxy that tunnels to port 443 only, as Squid by default', async () => {
    const strict = await startTinyproxy({ connectPorts: [443] });
    try {
      const result = await check({ HTTP_PROXY: strict.url });
      expect(result.stderr).not.toMatch(/^imgscope:/m);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
      expect(strict.requests()).toContain(`GET http://${registryName}/v2/ HTTP/1.1`);
      expect(strict.requests().some((line) => line.startsWith('CONNECT'))).toBe(false);
    } finally {
      await strict.stop();
    }
  });

  it("says a refusal the proxy forwarded, with no registry error in it, may be the proxy's own", async () => {
    const blocking = await startTinyproxy({ blockedHosts: [name] });
    try {
      const result = await check({ HTTP_PROXY: blocking.url });
      expect(result.code).toBe(2);
      expect(result.stderr.split('\n').filter((line) => line.startsWith('imgscope:'))).toEqual([
        `imgscope: registry ${registryName} refused pull access to repository proxied/app (403) — the answer came through the proxy ${blocking.host} (HTTP_PROXY) and is no registry error: the proxy may refuse ${registryName}; ask its administrator, or add ${name} to NO_PROXY`,
      ]);
    } finally {
      await blocking.stop();
    }
  });

  it('goes straight to hosts in NO_PROXY', async () => {
    const before = proxy.requests().length;
    const result = await check({ HTTP_PROXY: proxy.url, NO_PROXY: `example.com,${name}` });
    expect(result.code).toBe(0);
    expect(blobLine(result.stderr, image.layers[0]!.descriptor.digest)).toMatch(/\(own connection\)$/);
    expect(result.stderr).not.toContain('through proxy');
    expect(proxy.requests().length).toBe(before);
  });

  it('names the proxy and the variable when the proxy cannot be reached', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const result = await check({ HTTP_PROXY: `http://${closed}` });
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n').filter((line) => line.startsWith('imgscope:'));
    expect(lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^imgscope: GET http://${registryName}/v2/ through the proxy ${closed} \\(HTTP_PROXY\\): connection refused .*— check that the proxy in HTTP_PROXY is reachable, or add ${name} to NO_PROXY$`,
        ),
      ),
    ]);
  });

  it('refuses a proxy setting that is not a URL, before any request', async () => {
    const result = await runCli(['check', '--json', '--profile', 'none', reference], {
      env: { ...baseEnv, HTTPS_PROXY: 'ftp://user:pw@proxy.example:21' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'imgscope: HTTPS_PROXY="ftp://***@proxy.example:21" is not a proxy URL — set it to http://HOST:PORT (http://USER:PASSWORD@HOST:PORT for a proxy that wants a login, the password percent-encoded), or unset it\n',
    );
  });

  it('reaches an HTTPS registry through HTTPS_PROXY, checking its certificate inside the tunnel', async () => {
    const secure = await startRegistry({
      bind: address,
      tls: { names: [...new Set([name, address])] },
      storageDir: registry.storageDir,
    });
    try {
      const secureName = secure.host.replace(address, name);
      const before = proxy.requests().length;
      const pull = (env: Record<string, string>) =>
        runCli(
          ['check', '--json', '--no-cache', '--profile', 'none', '--debug', `${secureName}/proxied/app:v1`],
          {
            env: { ...baseEnv, HTTPS_PROXY: proxy.url, ...env },
          },
        );
      const result = await pull({ NODE_EXTRA_CA_CERTS: secure.caPath! });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
      expect(blobLine(result.stderr, image.layers[0]!.descriptor.digest)).toMatch(
        new RegExp(`^debug: GET https://${secureName}/.*\\(through proxy ${proxy.host}\\)$`),
      );
      expect(proxy.requests().slice(before)).toContain(`CONNECT ${secureName} HTTP/1.1`);
      // The registry's certs.d CA, inside the tunnel too.
      const certsDir = mkdtempSync(join(tmpdir(), 'imgscope-certs-d-'));
      mkdirSync(join(certsDir, secureName));
      copyFileSync(secure.caPath!, join(certsDir, secureName, 'ca.crt'));
      const trusted = await pull({ IMGSCOPE_CERTS_DIR: certsDir });
      rmSync(certsDir, { recursive: true, force: true });
      expect(trusted.stderr).not.toMatch(/^imgscope:/m);
      expect(trusted.code).toBe(0);
      expect(blobLine(trusted.stderr, image.layers[0]!.descriptor.digest)).toMatch(/\(through proxy /);
      // The certificate is still checked end to end: the proxy does not vouch for the registry.
      const untrusted = await pull({});
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr).toMatch(
        new RegExp(
          `through the proxy ${proxy.host} \\(HTTPS_PROXY\\): self-signed certificate — ${name}'s certificate is not signed by a CA Node.js trusts; if it comes from your own CA, put the CA's PEM file in /etc/docker/certs.d/${secureName}/ca.crt, or set NODE_EXTRA_CA_CERTS to it\n`,
        ),
      );
    } finally {
      await secure.stop();
    }
  });

  describe('that wants a login', () => {
    let guarded: TestProxy;
    beforeAll(async () => {
      guarded = await startTinyproxy({ login: PROXY_LOGIN });
    });
    afterAll(() => guarded?.stop());

    it('says how to give it one when the URL has none', async () => {
      const result = await check({ HTTP_PROXY: guarded.url });
      expect(result.code).toBe(2);
      expect(result.stderr.split('\n').filter((line) => line.startsWith('imgscope:'))).toEqual([
        `imgscope: GET http://${registryName}/v2/ through the proxy ${guarded.host} (HTTP_PROXY): the proxy refused the request (HTTP 407) — the proxy wants a login: put it in HTTP_PROXY as http://USER:PASSWORD@${guarded.host}`,
      ]);
    });

    it('says the login in the URL was refused when the password is wrong, and prints neither', async () => {
      const { username } = PROXY_LOGIN;
      const result = await check({ http_proxy: `http://${username}:not-the-password@${guarded.host}` });
      expect(result.code).toBe(2);
      expect(result.stderr.split('\n').filter((line) => line.startsWith('imgscope:'))).toEqual([
        // A plain-HTTP registry's requests are forwarded, not tunnelled: tinyproxy's 401 is the answer.
        `imgscope: registry ${registryName} refused pull access to repository proxied/app (401) — the answer came through the proxy ${guarded.host} (http_proxy) and is no registry error: the proxy refused the login in http_proxy: check its USER and PASSWORD (a password holding /, ?, # or % percent-encoded)`,
      ]);
      expect(result.stderr).not.toContain('not-the-password');
    });

    it("takes a token service's plain-text 401 that the proxy forwarded as the credentials' refusal, not the proxy's", async () => {
      const { username, password } = PROXY_LOGIN;
      // A registry whose token service (cesanta/docker_auth) refuses a wrong password with text, no JSON.
      const server = createServer((request, response) => {
        if (request.url?.startsWith('/auth')) {
          response.writeHead(401, { 'content-type': 'text/plain; charset=utf-8' }).end('Auth failed.\n');
          return;
        }
        const realm = `http://${name}:${(server.address() as AddressInfo).port}/auth`;
        response
          .writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="reg"` })
          .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      });
      await new Promise<void>((resolve) => server.listen(0, address, resolve));
      try {
        const host = `${name}:${(server.address() as AddressInfo).port}`;
        const result = await runCli(
          [
            'check',
            '--no-cache',
            '--insecure-registry',
            host,
            '-u',
            'alice',
            '--password-stdin',
            `${host}/app:v1`,
          ],
          {
            env: { ...baseEnv, HTTP_PROXY: `http://${username}:${password}@${guarded.host}` },
            input: 'wrong-registry-password\n',
          },
        );
        expect(result.code).toBe(2);
        expect(result.stderr.split('\n').filter((line) => line.startsWith('imgscope:'))).toEqual([
          `imgscope: token service http://${host}/auth of registry ${host} (repository app) rejected the credentials from --username (401) — check the username and password, or log in again`,
        ]);
        expect(guarded.requests()).toContain(
          `GET http://${host}/auth?service=reg&scope=repository%3Aapp%3Apull HTTP/1.1`,
        );
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('logs in with the user and password in the proxy URL, and prints neither', async () => {
      const { username, password } = PROXY_LOGIN;
      const result = await check({ http_proxy: `http://${username}:${password}@${guarded.host}` });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest });
      expect(result.stderr).toContain(`(through proxy ${guarded.host})`);
      expect(`${result.stdout}${result.stderr}`).not.toContain(password);
      expect(guarded.requests()).toContain(`GET http://${registryName}/v2/ HTTP/1.1`);
    });
  });
});
