import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImgscopeError } from '../../src/errors.js';
import { openRegistryImage, pushImage, type RegistryOptions } from '../../src/registry/index.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { registryUnavailable, startRegistry, TEST_USER, type TestRegistry } from './harness.js';
import { type BuiltImage, buildImage, noise, readAll } from './images.js';

const LAYER_BYTES = 400_000;
const FAST: RegistryOptions = {
  env: {},
  retries: { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 },
  timeouts: { connectMs: 2000, headersMs: 5000, bodyIdleMs: 1000 },
};
/** Every fault is met by both ways a blob is fetched: small ones share the pool, large ones get bulk GETs. */
const TRANSPORTS: [string, RegistryOptions][] = [
  ['the keep-alive pool', { bulkDownloadBytes: Number.MAX_SAFE_INTEGER }],
  ['bulk connections', { bulkDownloadBytes: 0 }],
];

async function failure(promise: Promise<unknown>): Promise<ImgscopeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImgscopeError);
  expect((error as ImgscopeError).exitCode).toBe(2);
  return error as ImgscopeError;
}

/** Opens the image through the proxy and reads every layer; returns what the proxy saw. */
async function pullThrough(proxy: FaultProxy, reference: string, options: RegistryOptions) {
  const source = await openRegistryImage(`${proxy.host}/${reference}`, options);
  try {
    const layers = [];
    for (const layer of source.layers) layers.push(await readAll(await source.openBlob(layer)));
    return { source, layers };
  } finally {
    await source.close();
  }
}

for (const [transport, blobOptions] of TRANSPORTS) {
  const fast: RegistryOptions = { ...FAST, ...blobOptions };

  describe.skipIf(registryUnavailable)(
    `registry faults injected by a proxy in front of real Distribution, blobs over ${transport}`,
    () => {
      let registry: TestRegistry;
      let proxy: FaultProxy;
      let image: BuiltImage;
      let layerPath: RegExp;

      beforeAll(async () => {
        registry = await startRegistry();
        proxy = await startFaultProxy(registry.url);
        image = await buildImage({ label: 'faults', layers: [{ 'noise.bin': noise(LAYER_BYTES) }] });
        await pushImage(`${registry.host}/faulty/app:v1`, image.content, { env: {} });
        layerPath = new RegExp(`/blobs/${image.layers[0]!.descriptor.digest}$`);
      });
      afterEach(() => {
        expect(proxy.pendingRules).toBe(0);
        proxy.clear();
      });
      afterAll(async () => {
        await proxy?.stop();
        await registry?.stop();
      });

      const layerGets = () => proxy.requests.filter((r) => r.method === 'GET' && layerPath.test(r.path));

      it('sends the requests of a pull one after another on as few connections as it can', async () => {
        await pullThrough(proxy, 'faulty/app:v1', fast);
        // The ping, manifest and config share one keep-alive connection, each request waiting for the
        // previous response's connection; with bulk GETs, the blobs one more of their own.
        expect(proxy.requests.map((request) => request.path.replace(/sha256:\w+/, 'DIGEST'))).toEqual([
          '/v2/',
          '/v2/faulty/app/manifests/v1',
          '/v2/faulty/app/blobs/DIGEST',
          '/v2/faulty/app/blobs/DIGEST',
        ]);
        expect(proxy.connections).toBe(blobOptions.bulkDownloadBytes === 0 ? 2 : 1);
      });

      it('resumes a layer download cut mid-body with Range from the verified offset', async () => {
        proxy.inject({ method: 'GET', path: layerPath, fault: { kind: 'reset', afterBytes: 150_000 } });
        const { layers } = await pullThrough(proxy, 'faulty/app:v1', fast);
        expect(layers[0]!.equals(image.layers[0]!.bytes)).toBe(true);
        const gets = layerGets();
        expect(gets).toHaveLength(2);
        expect(gets[1]!.headers.range).toMatch(/^bytes=(\d+)-$/);
        expect(gets[0]!.headers['user-agent']).toMatch(/^imgscope\/\d+\.\d+\.\d+$/);
        expect(Number(/=(\d+)-/.exec(gets[1]!.headers.range!)![1])).toBeGreaterThanOrEqual(100_000);
      });

      it('stops resuming after the bounded attempts with a one-line NETWORK error', async () => {
        proxy.inject({
          method: 'GET',
          path: layerPath,
          fault: { kind: 'reset', afterBytes: 1000 },
          times: 4,
        });
        const error = await failure(pullThrough(proxy, 'faulty/app:v1', fast));
        expect(error.code).toBe('NETWORK');
        expect(error.message).toMatch(
          /^GET http:\/\/127\.0\.0\.1:\d+\/v2\/faulty\/app\/blobs\/sha256:\w+: .* \(after 4 attempts\)$/,
        );
        expect(layerGets()).toHaveLength(4);
      });

      it('asks again for a manifest whose body stalls: the idle timeout, not the total deadline, ends it', async () => {
        proxy.inject({
          method: 'GET',
          path: /\/manifests\/v1$/,
          fault: { kind: 'stall', afterBytes: 40, ms: 5000 },
        });
        const { source } = await pullThrough(proxy, 'faulty/app:v1', fast);
        expect(source.digest).toBe(image.digest);
        expect(proxy.requests.filter((r) => r.path.endsWith('/manifests/v1'))).toHaveLength(2);
      });

      it('resumes after a stalled body once the idle timeout fires', async () => {
        proxy.inject({
          method: 'GET',
          path: layerPath,
          fault: { kind: 'stall', afterBytes: 100_000, ms: 5000 },
        });
        const started = Date.now();
        const { layers } = await pullThrough(proxy, 'faulty/app:v1', fast);
        expect(layers[0]!.equals(image.layers[0]!.bytes)).toBe(true);
        expect(Date.now() - started).toBeLessThan(3000);
        expect(layerGets()[1]?.headers.range).toMatch(/^bytes=\d+-$/);
      });

      it('stops a stalled download at once when its signal aborts, without resuming', async () => {
        proxy.inject({
          method: 'GET',
          path: layerPath,
          fault: { kind: 'stall', afterBytes: 100_000, ms: 3000 },
        });
        const patient = { ...fast, timeouts: { ...fast.timeouts, bodyIdleMs: 10_000 } };
        const source = await openRegistryImage(`${proxy.host}/faulty/app:v1`, patient);
        try {
          const controller = new AbortController();
          const stream = await source.openBlob(source.layers[0]!, { signal: controller.signal });
          const started = Date.now();
          setTimeout(() => controller.abort(), 200);
          const error = await readAll(stream).then(
            () => undefined,
            (e: unknown) => e as Error,
          );
          expect(error?.name).toBe('AbortError');
          expect(Date.now() - started).toBeLessThan(1000);
          expect(layerGets()).toHaveLength(1);
        } finally {
          await source.close();
        }
      });

      it('retries a manifest whose body was cut', async () => {
        proxy.inject({ method: 'GET', path: /\/manifests\/v1$/, fault: { kind: 'reset', afterBytes: 40 } });
        const { source } = await pullThrough(proxy, 'faulty/app:v1', fast);
        expect(source.digest).toBe(image.digest);
        expect(proxy.requests.filter((r) => r.path.endsWith('/manifests/v1'))).toHaveLength(2);
      });

      it('honours Retry-After on 429, and backs off without it', async () => {
        proxy.inject(
          {
            method: 'GET',
            path: /\/manifests\/v1$/,
            fault: { kind: 'status', status: 429, retryAfter: '1' },
          },
          { method: 'GET', path: layerPath, fault: { kind: 'status', status: 429 } },
        );
        const started = Date.now();
        const { source } = await pullThrough(proxy, 'faulty/app:v1', fast);
        expect(source.digest).toBe(image.digest);
        expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      });

      it('rides out a burst of 502/503/504', async () => {
        proxy.inject(
          { path: /\/manifests\/v1$/, fault: { kind: 'status', status: 503 }, times: 2 },
          { path: /\/blobs\//, fault: { kind: 'status', status: 502 } },
          { path: layerPath, fault: { kind: 'status', status: 504 } },
        );
        const { layers } = await pullThrough(proxy, 'faulty/app:v1', fast);
        expect(layers[0]!.equals(image.layers[0]!.bytes)).toBe(true);
      });

      it('gives up after the bounded number of attempts with a one-line error', async () => {
        proxy.inject({ path: /\/manifests\/v1$/, fault: { kind: 'status', status: 503 }, times: 4 });
        const error = await failure(openRegistryImage(`${proxy.host}/faulty/app:v1`, fast));
        expect(error.code).toBe('REGISTRY');
        expect(error.message).toBe(
          `${proxy.host}/faulty/app:v1: http://${proxy.host}/v2/faulty/app/manifests/v1 answered 503 UNAVAILABLE: injected`,
        );
        expect(proxy.requests.filter((r) => r.path.endsWith('/manifests/v1'))).toHaveLength(4);
      });

      it('times out a registry that never answers, and says so after the bounded attempts', async () => {
        proxy.inject({ path: /\/manifests\/v1$/, fault: { kind: 'hang' }, times: 2 });
        const started = Date.now();
        const options = {
          ...fast,
          retries: { ...fast.retries, attempts: 2 },
          timeouts: { ...fast.timeouts, headersMs: 300 },
        };
        const error = await failure(openRegistryImage(`${proxy.host}/faulty/app:v1`, options));
        expect(Date.now() - started).toBeLessThan(3000);
        expect(error.code).toBe('NETWORK');
        expect(error.message).toBe(
          `GET http://${proxy.host}/v2/faulty/app/manifests/v1: no response headers in time (after 2 attempts)`,
        );
      });

      it('reports a registry that refuses connections after the bounded attempts', async () => {
        const closed = await startRegistry();
        const host = closed.host;
        await closed.stop();
        const error = await failure(openRegistryImage(`${host}/faulty/app:v1`, fast));
        expect(error.code).toBe('NETWORK');
        expect(error.message).toBe(`GET http://${host}/v2/: connection refused (after 4 attempts)`);
      });

      it('does not wait for a Retry-After beyond the limit: it reports the rate limit', async () => {
        proxy.inject({
          path: /\/manifests\/v1$/,
          fault: { kind: 'status', status: 429, retryAfter: '3600' },
        });
        const started = Date.now();
        const error = await failure(openRegistryImage(`${proxy.host}/faulty/app:v1`, fast));
        expect(Date.now() - started).toBeLessThan(1000);
        expect(error.message).toMatch(
          /rate-limited by the registry \(429 TOOMANYREQUESTS: injected\); it asks to wait 3600 s$/,
        );
        expect(error.hint).toBe(
          `wait and try again; pulling anonymously has the lowest limit: log in with \`docker login ${proxy.host}\``,
        );
      });

      it('says when it waits for a Retry-After, and waits no longer than the limit in all', async () => {
        proxy.inject({
          path: /\/manifests\/v1$/,
          fault: { kind: 'status', status: 429, retryAfter: '1' },
          times: 2,
        });
        const notices: string[] = [];
        const options: RegistryOptions = {
          ...fast,
          retries: { ...fast.retries, maxRetryAfterMs: 1500 },
          notice: (line) => notices.push(line),
        };
        const started = Date.now();
        const error = await failure(openRegistryImage(`${proxy.host}/faulty/app:v1`, options));
        expect(Date.now() - started).toBeLessThan(1900);
        expect(error.message).toMatch(/rate-limited by the registry .*; it asks to wait 1 s$/);
        expect(notices).toEqual([
          `${proxy.host} answered 429 (rate limit): waiting 1 s, as its Retry-After asks, before trying again`,
        ]);
      });

      it('recovers from a Content-Length that promises more than is sent, or less', async () => {
        proxy.inject({ method: 'GET', path: layerPath, fault: { kind: 'content-length', delta: 1000 } });
        const longer = await pullThrough(proxy, 'faulty/app:v1', fast);
        expect(longer.layers[0]!.equals(image.layers[0]!.bytes)).toBe(true);
        proxy.clear();
        proxy.inject({ method: 'GET', path: layerPath, fault: { kind: 'content-length', delta: -50_000 } });
        const shorter = await pullThrough(proxy, 'faulty/app:v1', fast);
        expect(shorter.layers[0]!.equals(image.layers[0]!.bytes)).toBe(true);
        expect(layerGets()[1]?.headers.range).toBe(
          `bytes=${LAYER_BYTES - 50_000 + (image.layers[0]!.bytes.length - LAYER_BYTES)}-`,
        );
      });

      it('fails a layer whose bytes were corrupted in transit', async () => {
        proxy.inject({ method: 'GET', path: layerPath, fault: { kind: 'corrupt', offset: 12_345 } });
        const error = await failure(pullThrough(proxy, 'faulty/app:v1', fast));
        expect(error.code).toBe('DIGEST_MISMATCH');
        expect(error.message).toMatch(
          /^layer 1\/1 \(sha256:[0-9a-f]{12}\) of 127\.0\.0\.1:\d+\/faulty\/app:v1: content is sha256:/,
        );
      });

      it('fails a manifest corrupted in transit, or served under another digest', async () => {
        proxy.inject({ path: /\/manifests\/v1$/, fault: { kind: 'corrupt', offset: 30 } });
        expect((await failure(openRegistryImage(`${proxy.host}/faulty/app:v1`, fast))).code).toBe(
          'DIGEST_MISMATCH',
        );
        const other = `sha256:${'0'.repeat(64)}`;
        proxy.inject({
          path: /\/manifests\/v1$/,
          fault: { kind: 'header', name: 'Docker-Content-Digest', value: other },
        });
        const relabelled = await failure(openRegistryImage(`${proxy.host}/faulty/app:v1`, fast));
        expect(relabelled.message).toContain(`the registry says ${other}`);
        proxy.inject({
          path: new RegExp(`/manifests/${image.digest}$`),
          fault: { kind: 'corrupt', offset: 30 },
        });
        const pinned = await failure(openRegistryImage(`${proxy.host}/faulty/app@${image.digest}`, fast));
        expect(pinned.message).toMatch(/the registry returned a manifest with digest sha256:/);
      });

      it('turns registry error bodies into one readable line', async () => {
        const cases = [
          [404, 'NAME_UNKNOWN', 'NOT_FOUND', /repository 127\.0\.0\.1:\d+\/faulty\/app does not exist/],
          [403, 'DENIED', 'AUTH', /refused pull access to repository faulty\/app \(403 DENIED: injected\)/],
          [400, 'MANIFEST_INVALID', 'REGISTRY', /answered 400 MANIFEST_INVALID: injected/],
        ] as const;
        for (const [status, code, expected, message] of cases) {
          const body = JSON.stringify({ errors: [{ code, message: 'injected' }] });
          proxy.inject({ path: /\/manifests\/v1$/, fault: { kind: 'status', status, body } });
          const error = await failure(openRegistryImage(`${proxy.host}/faulty/app:v1`, fast));
          expect(error.code, code).toBe(expected);
          expect(error.message, code).toMatch(message);
          expect(error.message).not.toContain('\n');
        }
      });
    },
  );

  describe.skipIf(registryUnavailable)(`blob redirects to another origin, blobs over ${transport}`, () => {
    let registry: TestRegistry;
    let proxy: FaultProxy;
    let image: BuiltImage;

    beforeAll(async () => {
      registry = await startRegistry({ auth: 'token' });
      proxy = await startFaultProxy(registry.url);
      image = await buildImage({
        label: 'redirected',
        layers: [{ 'a.bin': noise(50_000) }, { 'b.txt': 'b' }],
      });
      await pushImage(`${registry.host}/private/app:v1`, image.content, {
        credentials: { ...TEST_USER },
        env: {},
      });
    });
    afterAll(async () => {
      await proxy?.stop();
      await registry?.stop();
    });

    it('names the storage host it could not reach, never the signed URL, when a redirected blob fails', async () => {
      const closed = await startRegistry();
      const storage = closed.host;
      await closed.stop();
      proxy.inject({
        method: 'GET',
        path: /\/blobs\/sha256:/,
        fault: { kind: 'redirect', origin: `http://${storage}` },
        times: 10,
      });
      const lines: string[] = [];
      const error = await failure(
        pullThrough(proxy, 'private/app:v1', {
          ...fast,
          credentials: { ...TEST_USER },
          debug: (line) => lines.push(line),
        }),
      );
      proxy.clear();
      expect(error.code).toBe('NETWORK');
      expect(error.message).toMatch(
        new RegExp(
          `^GET http://${proxy.host}/v2/private/app/blobs/sha256:[0-9a-f]{64}, redirected to ${storage}: connection refused \\(after 4 attempts\\)$`,
        ),
      );
      expect(error.hint).toBe(
        `nothing accepts connections at ${storage}, where the registry sends blob downloads (its storage or CDN): check that this machine may connect to it, or tell the registry's operator`,
      );
      const printed = `${error.message}\n${error.hint}\n${lines.join('\n')}`;
      expect(printed).not.toContain('secret-signature');
      expect(`${error.message}\n${error.hint}`).not.toMatch(/storage\/|X-Amz|\?/);
    });

    it('follows the redirect, never sends Authorization to the other origin, and logs no secret', async () => {
      proxy.inject({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'redirect' }, times: 3 });
      const lines: string[] = [];
      const { layers } = await pullThrough(proxy, 'private/app:v1', {
        ...fast,
        credentials: { ...TEST_USER },
        debug: (line) => lines.push(line),
      });
      expect(layers.map((bytes) => bytes.length)).toEqual(image.layers.map((layer) => layer.bytes.length));
      // config + 2 layers went to blob storage, without the registry's credentials
      expect(proxy.blobStoreRequests).toHaveLength(3);
      for (const request of proxy.blobStoreRequests) expect(request.authorization).toBeUndefined();
      // while the registry itself did get a bearer token
      expect(
        proxy.requests
          .filter((r) => r.path.includes('/blobs/'))
          .every((r) => r.headers.authorization?.startsWith('Bearer ')),
      ).toBe(true);

      const log = lines.join('\n');
      expect(log).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/storage\/\*\*\*\?X-Amz-Signature=\*\*\* → 200/);
      // Which way each blob came is in the log: the layers over connections of their own, or the pool.
      expect(/→ 200 .*own connection/.test(log)).toBe(blobOptions.bulkDownloadBytes === 0);
      expect(log).toMatch(
        /GET http:\/\/127\.0\.0\.1:\d+\/token\?service=imgscope-test-registry&scope=repository%3Aprivate%2Fapp%3Apull → 200 .*auth Basic \*\*\*/,
      );
      expect(log).not.toContain(TEST_USER.password);
      expect(log).not.toContain(
        Buffer.from(`${TEST_USER.username}:${TEST_USER.password}`).toString('base64'),
      );
      expect(log).not.toContain('secret-signature');
      expect(log).not.toMatch(/eyJ/); // no JWT
    });
  });
}
