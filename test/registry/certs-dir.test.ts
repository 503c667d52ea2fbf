import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../src/registry/index.js';
import { runCli } from '../helpers/cli.js';
import {
  CLEAN_CLI_ENV,
  nonLoopbackTarget,
  registryUnavailable,
  startRegistry,
  type TestRegistry,
} from './harness.js';
import { type BuiltImage, buildImage, noise } from './images.js';
import { startTinyproxy, tinyproxyUnavailable } from './tinyproxy.js';

/**
 * Per-registry trust from a certs.d folder (`/etc/docker/certs.d/HOST:PORT/`, here IMGSCOPE_CERTS_DIR), as
 * docker, podman and skopeo read it: `*.crt` are CAs, `*.cert` + `*.key` a client certificate. The built
 * CLI against a real Distribution registry serving HTTPS under a name that is not loopback (loopback
 * registries skip the certificate check).
 */
const target = await nonLoopbackTarget();
const unavailable = registryUnavailable ?? (target ? undefined : 'no non-loopback name for this machine');
if (unavailable) console.warn(`skipping the certs.d tests: ${unavailable}`);

describe.skipIf(unavailable)('certs.d', () => {
  let plain: TestRegistry;
  let secure: TestRegistry;
  let image: BuiltImage;
  let host: string;
  let certsDir: string;
  const env = () => ({ ...CLEAN_CLI_ENV, NODE_EXTRA_CA_CERTS: '', IMGSCOPE_CERTS_DIR: certsDir });
  const check = (...flags: string[]) =>
    runCli(['check', '--json', '--no-cache', '--profile', 'none', ...flags, `${host}/certs/app:v1`], {
      env: env(),
    });
  /** A fresh certs.d folder for the registry, holding `files` (name → path to copy, or text). */
  const hostDir = (files: Record<string, string>) => {
    rmSync(certsDir, { recursive: true, force: true });
    const dir = join(certsDir, host);
    mkdirSync(dir, { recursive: true });
    for (const [name, source] of Object.entries(files)) {
      if (source.startsWith('/')) copyFileSync(source, join(dir, name));
      else writeFileSync(join(dir, name), source);
    }
    return dir;
  };

  beforeAll(async () => {
    const { name, address } = target!;
    certsDir = mkdtempSync(join(tmpdir(), 'imgscope-certs-d-'));
    plain = await startRegistry();
    image = await buildImage({
      label: 'certs-d',
      layers: [{ 'big.bin': noise(1_500_000) }, { 'small.txt': 'small' }],
    });
    await pushImage(`${plain.host}/certs/app:v1`, image.content, { env: {} });
    secure = await startRegistry({
      bind: address,
      tls: { names: [...new Set([name, address])], clientCertificates: true },
      storageDir: plain.storageDir,
    });
    host = secure.host.replace(address, name);
  });
  afterAll(async () => {
    await secure?.stop();
    await plain?.stop();
    rmSync(certsDir, { recursive: true, force: true });
  });

  it('trusts the .crt CAs and presents the .cert/.key client certificate of the registry folder', async () => {
    hostDir({
      'ca.crt': secure.caPath!,
      'client.cert': secure.client!.certPath,
      'client.key': secure.client!.keyPath,
    });
    const result = await check('--debug');
    expect(result.stderr).not.toMatch(/^imgscope:/m);
    expect(result.stderr).toContain(
      `debug: TLS for ${host}: 1 CA certificate and the client certificate client.cert from ${join(certsDir, host)}\n`,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ digest: image.digest, layersAnalyzed: true });
    // The 1.5 MB layer came over HTTPS on a connection of its own, with the same trust.
    const big = image.layers[0]!.descriptor.digest;
    expect(result.stderr.split('\n').find((line) => line.includes(big))).toMatch(
      new RegExp(`^debug: GET https://${host}/\\S+ → 200 .*\\(own connection\\)$`),
    );
  });

  it('adds the .crt CAs to the trust Node.js has, a system store (--use-openssl-ca) included', async () => {
    // The registry's CA in the system store; the folder holds the client certificate and another CA.
    hostDir({
      'other.crt': secure.client!.certPath,
      'client.cert': secure.client!.certPath,
      'client.key': secure.client!.keyPath,
    });
    const result = await runCli(
      ['check', '--json', '--no-cache', '--profile', 'none', `${host}/certs/app:v1`],
      { env: { ...env(), NODE_OPTIONS: '--use-openssl-ca', SSL_CERT_FILE: secure.caPath! } },
    );
    expect(result.stderr).not.toMatch(/^imgscope:/m);
    expect(result.code).toBe(0);
    // And NODE_EXTRA_CA_CERTS.
    const extra = await runCli(
      ['check', '--json', '--no-cache', '--profile', 'none', `${host}/certs/app:v1`],
      { env: { ...env(), NODE_EXTRA_CA_CERTS: secure.caPath! } },
    );
    expect(extra.stderr).not.toMatch(/^imgscope:/m);
    expect(extra.code).toBe(0);
  });

  it('still checks the certificate against the folder CAs: without them the registry is refused', async () => {
    hostDir({ 'client.cert': secure.client!.certPath, 'client.key': secure.client!.keyPath });
    const result = await check();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${target!.name}'s certificate is not signed by a CA Node.js trusts`);
  });

  it('says so when the registry wants a client certificate: none, or one it does not accept', async () => {
    // The hint names the folder imgscope reads: IMGSCOPE_CERTS_DIR's here, as it replaces docker's.
    const want = (result: { code: number | null; stderr: string }) => {
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `imgscope: GET https://${host}/v2/: the server wants a client certificate it accepts — put a client certificate ${host} accepts in ${certsDir}/${host}/ as NAME.cert, its key as NAME.key\n`,
      );
    };
    hostDir({ 'ca.crt': secure.caPath! });
    want(await check());
    // The registry's own certificate is not signed by the CA it trusts for clients.
    const serverKey = join(dirname(secure.caPath!), 'server.key');
    hostDir({ 'ca.crt': secure.caPath!, 'client.cert': secure.caPath!, 'client.key': serverKey });
    want(await check());
    // Of several pairs, the first is presented (Go would pick the one the server's request fits): --debug says which.
    hostDir({
      'ca.crt': secure.caPath!,
      'a.cert': secure.caPath!,
      'a.key': serverKey,
      'client.cert': secure.client!.certPath,
      'client.key': secure.client!.keyPath,
    });
    const several = await check('--debug');
    expect(several.code).toBe(2);
    expect(several.stderr).toContain(
      `debug: TLS for ${host}: 1 CA certificate and the client certificate a.cert (the first of 2 pairs: only it is presented) from ${join(certsDir, host)}\n`,
    );
  });

  it('says a registry marked insecure gets no client certificate, its folder being unread', async () => {
    hostDir({ 'client.cert': secure.client!.certPath, 'client.key': secure.client!.keyPath });
    const result = await check('--insecure-registry', host);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `imgscope: GET https://${host}/v2/: the server wants a client certificate it accepts — reach ${host} by a name neither loopback nor marked insecure, its client certificate in that name's certs.d folder: as docker, imgscope reads none for an insecure registry\n`,
    );
  });

  it.skipIf(tinyproxyUnavailable)(
    'says so through HTTPS_PROXY too, where the refusal comes inside the tunnel',
    async () => {
      const proxy = await startTinyproxy();
      try {
        hostDir({ 'ca.crt': secure.caPath! });
        const result = await runCli(
          ['check', '--json', '--no-cache', '--profile', 'none', `${host}/certs/app:v1`],
          { env: { ...env(), HTTPS_PROXY: proxy.url } },
        );
        expect(result.code).toBe(2);
        expect(result.stderr).toBe(
          `imgscope: GET https://${host}/v2/ through the proxy ${proxy.host} (HTTPS_PROXY): the server wants a client certificate it accepts — put a client certificate ${host} accepts in ${certsDir}/${host}/ as NAME.cert, its key as NAME.key\n`,
        );
        // With the client certificate, the tunnelled connections present it.
        hostDir({
          'ca.crt': secure.caPath!,
          'client.cert': secure.client!.certPath,
          'client.key': secure.client!.keyPath,
        });
        const presented = await runCli(
          ['check', '--json', '--no-cache', '--profile', 'none', `${host}/certs/app:v1`],
          { env: { ...env(), HTTPS_PROXY: proxy.url } },
        );
        expect(presented.stderr).not.toMatch(/^imgscope:/m);
        expect(presented.code).toBe(0);
        expect(proxy.requests().some((line) => line.startsWith(`CONNECT ${host} `))).toBe(true);
      } finally {
        await proxy.stop();
      }
    },
  );

  it('is not read for an insecure registry (loopback, or marked), as docker does not read it', async () => {
    // A plain-HTTP registry by its loopback address, and one by this machine's name, marked insecure.
    const named = await startRegistry({ bind: target!.address, storageDir: plain.storageDir });
    try {
      const namedHost = named.host.replace(target!.address, target!.name);
      for (const registry of [plain.host, namedHost]) {
        hostDir({});
        mkdirSync(join(certsDir, registry), { recursive: true });
        writeFileSync(join(certsDir, registry, 'domain.key'), 'the server key, copied here by mistake\n');
        const result = await runCli(
          [
            'check',
            '--json',
            '--no-cache',
            '--profile',
            'none',
            '--insecure-registry',
            namedHost,
            `${registry}/certs/app:v1`,
          ],
          { env: env() },
        );
        expect(result.stderr).not.toMatch(/^imgscope:/m);
        expect(result.code).toBe(0);
      }
    } finally {
      await named.stop();
    }
  });

  it('is not read for another registry', async () => {
    rmSync(certsDir, { recursive: true, force: true });
    mkdirSync(join(certsDir, `other.example:5000`), { recursive: true });
    copyFileSync(secure.caPath!, join(certsDir, 'other.example:5000', 'ca.crt'));
    const result = await check();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not signed by a CA Node.js trusts');
  });

  it('refuses a folder it cannot use, in one line naming the file, exit 2, no key printed', async () => {
    const key = secure.client!.keyPath;
    const cases: [Record<string, string>, RegExp][] = [
      [
        { 'client.cert': secure.client!.certPath },
        /client\.cert: client certificate without its key client\.key — /,
      ],
      [{ 'client.key': key }, /client\.key: private key without its client certificate client\.cert — /],
      [{ 'ca.crt': 'not a certificate\n' }, /ca\.crt holds no PEM certificate — /],
      [
        { 'ca.crt': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
        /ca\.crt holds a certificate that does not parse \(.*\) — /,
      ],
      [
        { 'client.cert': secure.caPath!, 'client.key': key },
        /client\.cert and \S+client\.key do not load as a client certificate and its key \(.*\) — /,
      ],
    ];
    for (const [files, message] of cases) {
      const dir = hostDir(files);
      const result = await check();
      expect(result.code, JSON.stringify(files)).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^imgscope: /);
      expect(lines[0]).toContain(dir);
      expect(lines[0]).toMatch(message);
      expect(result.stderr).not.toMatch(/PRIVATE KEY/);
    }
  });
});
