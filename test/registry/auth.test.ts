import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgscopeError } from '../../src/errors.js';
import type { ImageSource } from '../../src/oci/source.js';
import { openRegistryImage, pushImage, type RegistryOptions } from '../../src/registry/index.js';
import { startFaultProxy } from './fault-proxy.js';
import {
  registryUnavailable,
  startRegistry,
  TEST_IDENTITY_TOKEN,
  TEST_USER,
  type TestRegistry,
} from './harness.js';
import { type BuiltImage, buildImage, readAll } from './images.js';

const FAST_RETRIES = { retries: { baseDelayMs: 10, maxDelayMs: 50 } };

/** A scratch HOME so no real credential store of the machine running the tests is read. */
let scratch: string;
function emptyEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: join(scratch, 'home'), PATH: process.env.PATH, ...extra };
}

function writeJson(path: string, value: unknown): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, JSON.stringify(value));
  return path;
}

const basicAuth = (username: string, password: string) =>
  Buffer.from(`${username}:${password}`).toString('base64');

async function openAndRead(reference: string, options: RegistryOptions): Promise<ImageSource> {
  const source = await openRegistryImage(reference, { ...FAST_RETRIES, ...options });
  try {
    for (const layer of source.layers) await readAll(await source.openBlob(layer));
  } finally {
    await source.close();
  }
  return source;
}

async function authFailure(reference: string, options: RegistryOptions): Promise<ImgscopeError> {
  const error = await openRegistryImage(reference, { ...FAST_RETRIES, ...options }).then(
    (source) => source.close().then(() => undefined),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImgscopeError);
  return error as ImgscopeError;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'imgscope-auth-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(registryUnavailable)('anonymous registry', () => {
  let registry: TestRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    image = await buildImage({ label: 'anonymous' });
    await pushImage(`${registry.host}/open/app:v1`, image.content, { env: emptyEnv() });
  });
  afterAll(() => registry?.stop());

  it('pulls without credentials and sends no Authorization at all', async () => {
    const lines: string[] = [];
    const source = await openAndRead(`${registry.host}/open/app:v1`, {
      env: emptyEnv(),
      debug: (l) => lines.push(l),
    });
    expect(source.digest).toBe(image.digest);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.join('\n')).not.toMatch(/auth /);
  });
});

describe.skipIf(registryUnavailable)('htpasswd (Basic) registry', () => {
  let registry: TestRegistry;
  let image: BuiltImage;
  let ref: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'basic' });
    image = await buildImage({ label: 'basic' });
    ref = `${registry.host}/team/app:v1`;
    await pushImage(ref, image.content, { credentials: { ...TEST_USER }, env: emptyEnv() });
  });
  afterAll(() => registry?.stop());

  it('uses explicit credentials', async () => {
    const source = await openAndRead(ref, { credentials: { ...TEST_USER }, env: emptyEnv() });
    expect(source.digest).toBe(image.digest);
  });

  it('does not ask a user whose credentials were sent to log in when the registry rate-limits them', async () => {
    const proxy = await startFaultProxy(registry.url);
    try {
      const limited = () =>
        proxy.inject({
          path: /\/manifests\/v1$/,
          fault: { kind: 'status', status: 429, retryAfter: '3600' },
        });
      limited();
      const loggedIn = await authFailure(`${proxy.host}/team/app:v1`, {
        credentials: { ...TEST_USER },
        env: emptyEnv(),
      });
      expect(loggedIn.message).toMatch(/rate-limited by the registry \(429 TOOMANYREQUESTS: injected\)/);
      expect(loggedIn.hint).toBe(
        'wait and try again; the limit is that of the account whose credentials were sent (from --username)',
      );
    } finally {
      await proxy.stop();
    }
  });

  it('uses IMGSCOPE_USERNAME and IMGSCOPE_PASSWORD', async () => {
    const env = emptyEnv({ IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: TEST_USER.password });
    expect((await openAndRead(ref, { env })).digest).toBe(image.digest);
  });

  it("uses a base64 auth entry from Docker's config.json in $DOCKER_CONFIG", async () => {
    const dir = join(scratch, 'docker-basic');
    writeJson(join(dir, 'config.json'), {
      auths: { [`http://${registry.host}`]: { auth: basicAuth(TEST_USER.username, TEST_USER.password) } },
    });
    expect((await openAndRead(ref, { env: emptyEnv({ DOCKER_CONFIG: dir }) })).digest).toBe(image.digest);
  });

  it("uses Podman's auth.json from $REGISTRY_AUTH_FILE, preferring the most specific key", async () => {
    const path = writeJson(join(scratch, 'podman', 'auth.json'), {
      auths: {
        [registry.host]: { auth: basicAuth(TEST_USER.username, 'wrong-password') },
        [`${registry.host}/team`]: { auth: basicAuth(TEST_USER.username, TEST_USER.password) },
      },
    });
    expect((await openAndRead(ref, { env: emptyEnv({ REGISTRY_AUTH_FILE: path }) })).digest).toBe(
      image.digest,
    );
  });

  it("uses Podman's auth.json in $XDG_RUNTIME_DIR/containers", async () => {
    const runtime = join(scratch, 'runtime');
    writeJson(join(runtime, 'containers', 'auth.json'), {
      auths: { [registry.host]: { auth: basicAuth(TEST_USER.username, TEST_USER.password) } },
    });
    expect((await openAndRead(ref, { env: emptyEnv({ XDG_RUNTIME_DIR: runtime }) })).digest).toBe(
      image.digest,
    );
  });

  it('without credentials says which registry, which repository and every place it looked', async () => {
    const error = await authFailure(ref, { env: emptyEnv() });
    expect(error.code).toBe('AUTH');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `registry ${registry.host} refused pull access to repository team/app (401 UNAUTHORIZED: authentication required)`,
    );
    expect(error.hint).toContain('IMGSCOPE_USERNAME (unset)');
    expect(error.hint).toContain(`${join(scratch, 'home', '.docker', 'config.json')} (missing)`);
    expect(error.hint).toContain(`${join(scratch, 'home', '.config', 'containers', 'auth.json')} (missing)`);
    expect(error.hint).toContain(`docker login ${registry.host}`);
  });

  it('with a wrong password names the source of the refused credentials, never the password', async () => {
    const error = await authFailure(ref, {
      credentials: { username: TEST_USER.username, password: 'nope-secret' },
      env: emptyEnv(),
    });
    expect(error.code).toBe('AUTH');
    expect(error.hint).toContain('the credentials from --username were refused');
    expect(`${error.message} ${error.hint}`).not.toContain('nope-secret');
  });

  it('with only an identitytoken says it cannot log in to a username-and-password registry, not that it was refused', async () => {
    const dir = join(scratch, 'docker-identity-basic');
    writeJson(join(dir, 'config.json'), {
      auths: { [registry.host]: { identitytoken: TEST_IDENTITY_TOKEN } },
    });
    const error = await authFailure(ref, { env: emptyEnv({ DOCKER_CONFIG: dir }) });
    expect(error.hint).toContain(
      `the identity token from ${join(dir, 'config.json')} works only with a token service`,
    );
    expect(error.hint).not.toContain('were refused');
  });
});

describe.skipIf(registryUnavailable)('token (Bearer) registry', () => {
  let registry: TestRegistry;
  let publicImage: BuiltImage;
  let privateImage: BuiltImage;
  let publicRef: string;
  let privateRef: string;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
    publicImage = await buildImage({ label: 'public', layers: [{ a: 'one' }, { b: 'two' }, { c: 'three' }] });
    privateImage = await buildImage({ label: 'private' });
    publicRef = `${registry.host}/library/app:v1`;
    privateRef = `${registry.host}/private/app:v1`;
    const push = { credentials: { ...TEST_USER }, env: emptyEnv() };
    await pushImage(publicRef, publicImage.content, push);
    await pushImage(privateRef, privateImage.content, push);
  });
  afterAll(() => registry?.stop());

  function issued() {
    const requests = [...registry.issuer!.requests];
    registry.issuer!.requests.length = 0;
    return requests;
  }

  it('gets an anonymous token for a public repository, once per scope for the whole image', async () => {
    issued();
    const source = await openAndRead(publicRef, { env: emptyEnv() });
    expect(source.layers).toHaveLength(3);
    expect(issued()).toEqual([
      { method: 'GET', scopes: ['repository:library/app:pull'], principal: 'anonymous' },
    ]);
  });

  it('pulls a public repository anonymously when IMGSCOPE_PASSWORD is empty, as CI leaves a withheld secret', async () => {
    issued();
    const env = emptyEnv({ IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: '' });
    const source = await openAndRead(publicRef, { env });
    expect(source.digest).toBe(publicImage.digest);
    expect(issued()).toEqual([
      { method: 'GET', scopes: ['repository:library/app:pull'], principal: 'anonymous' },
    ]);
    const error = await authFailure(privateRef, { env });
    expect(error.hint).toContain('IMGSCOPE_USERNAME (IMGSCOPE_PASSWORD empty)');
  });

  it('gets a token with explicit credentials for a private repository', async () => {
    issued();
    const source = await openAndRead(privateRef, { credentials: { ...TEST_USER }, env: emptyEnv() });
    expect(source.digest).toBe(privateImage.digest);
    expect(issued()).toEqual([
      { method: 'GET', scopes: ['repository:private/app:pull'], principal: TEST_USER.username },
    ]);
  });

  it('asks the token service for each scope of a challenge naming several, one scope parameter each', async () => {
    const proxy = await startFaultProxy(registry.url);
    try {
      const challenge = `Bearer realm="${registry.issuer!.url}",service="imgscope-test-registry",scope="repository:library/app:pull repository:team/other:pull"`;
      proxy.inject({
        method: 'GET',
        path: /^\/v2\/$/,
        fault: { kind: 'header', name: 'www-authenticate', value: challenge },
      });
      issued();
      const source = await openAndRead(`${proxy.host}/library/app:v1`, { env: emptyEnv() });
      expect(source.digest).toBe(publicImage.digest);
      expect(proxy.pendingRules).toBe(0);
      expect(issued()).toEqual([
        {
          method: 'GET',
          scopes: ['repository:library/app:pull', 'repository:team/other:pull'],
          principal: 'anonymous',
        },
      ]);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses a private repository to anonymous users with an AUTH error', async () => {
    const error = await authFailure(privateRef, { env: emptyEnv() });
    expect(error.code).toBe('AUTH');
    expect(error.message).toMatch(
      new RegExp(`^registry ${registry.host} refused pull access to repository private/app \\(401`),
    );
    expect(error.hint).toMatch(
      /may not exist, or it needs credentials and none were found \(looked in: --username \(not given\); IMGSCOPE_USERNAME \(unset\);/,
    );
  });

  it('reports credentials the token service rejects', async () => {
    const error = await authFailure(privateRef, {
      credentials: { username: 'imgscope', password: 'bad-secret' },
      env: emptyEnv(),
    });
    expect(error.code).toBe('AUTH');
    expect(error.message).toMatch(
      /token service http:\/\/127\.0\.0\.1:\d+\/token .* rejected the credentials from --username \(401: incorrect username or password\)/,
    );
    expect(`${error.message} ${error.hint}`).not.toContain('bad-secret');
  });

  it("exchanges an identitytoken from Docker's config.json with the OAuth2 refresh-token POST", async () => {
    const dir = join(scratch, 'docker-identity');
    writeJson(join(dir, 'config.json'), {
      auths: { [registry.host]: { identitytoken: TEST_IDENTITY_TOKEN } },
    });
    issued();
    const source = await openAndRead(privateRef, { env: emptyEnv({ DOCKER_CONFIG: dir }) });
    expect(source.digest).toBe(privateImage.digest);
    expect(issued()).toEqual([
      { method: 'POST', scopes: ['repository:private/app:pull'], principal: TEST_USER.username },
    ]);
  });

  describe('docker-credential helpers on PATH', () => {
    let bin: string;
    beforeAll(() => {
      bin = join(scratch, 'bin');
      mkdirSync(bin, { recursive: true });
      // A helper that answers for the test registry only, and one that fails noisily.
      const helper = `#!/bin/sh
read server
if [ "$1" = get ] && [ "$server" = "${registry.host}" ]; then
  printf '{"ServerURL":"%s","Username":"${TEST_USER.username}","Secret":"${TEST_USER.password}"}' "$server"
else
  echo "credentials not found in native keychain"
  exit 1
fi
`;
      const broken = '#!/bin/sh\necho "leaked-helper-secret"; echo "leaked-helper-secret" >&2; exit 3\n';
      for (const [name, text] of [
        ['test', helper],
        ['broken', broken],
      ] as const) {
        writeFileSync(join(bin, `docker-credential-${name}`), text);
        chmodSync(join(bin, `docker-credential-${name}`), 0o755);
      }
    });

    it('asks the credHelper named for the registry', async () => {
      const dir = join(scratch, 'docker-helper');
      writeJson(join(dir, 'config.json'), { credHelpers: { [registry.host]: 'test' } });
      const env = emptyEnv({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` });
      issued();
      expect((await openAndRead(privateRef, { env })).digest).toBe(privateImage.digest);
      expect(issued()[0]?.principal).toBe(TEST_USER.username);
    });

    it('asks the credsStore, and reports a failing helper without its output', async () => {
      const dir = join(scratch, 'docker-store');
      writeJson(join(dir, 'config.json'), { credsStore: 'test' });
      const env = emptyEnv({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` });
      expect((await openAndRead(privateRef, { env })).digest).toBe(privateImage.digest);

      writeJson(join(dir, 'config.json'), { credsStore: 'missing' });
      const missing = await authFailure(privateRef, { env });
      expect(missing.hint).toContain('docker-credential-missing (not found on PATH)');

      writeJson(join(dir, 'config.json'), { credsStore: 'broken' });
      const failing = await authFailure(privateRef, { env });
      expect(failing.hint).toContain('docker-credential-broken (no credentials or it failed)');
      expect(`${failing.message} ${failing.hint}`).not.toContain('leaked-helper-secret');
    });
  });

  it('accepts access_token instead of token, and fetches a new token when expires_in runs out', async () => {
    const { options } = registry.issuer!;
    options.tokenField = 'access_token';
    options.expiresIn = 1;
    try {
      issued();
      const source = await openRegistryImage(publicRef, { ...FAST_RETRIES, env: emptyEnv() });
      await readAll(await source.openBlob(source.layers[0]!));
      expect(issued()).toHaveLength(1);
      await sleep(1100);
      await readAll(await source.openBlob(source.layers[1]!));
      await source.close();
      expect(issued()).toHaveLength(1);
    } finally {
      options.tokenField = 'token';
      options.expiresIn = 300;
    }
  });

  it('turns a failing or garbled token service into a one-line AUTH error', async () => {
    registry.issuer!.failNext = { count: 1, with: 'garbage' };
    const garbage = await authFailure(publicRef, { env: emptyEnv() });
    expect(garbage.message).toMatch(/token service .* returned something that is not JSON/);
    // 500 is retried like the other 5xx: it must fail every attempt to be reported.
    registry.issuer!.failNext = { count: 4, with: 500 };
    const failing = await authFailure(publicRef, { ...FAST_RETRIES, env: emptyEnv() });
    expect(failing.message).toMatch(/token service .* answered HTTP 500/);
    registry.issuer!.failNext = { count: 0, with: 500 };
  });

  it('pushes with a pull,push token', async () => {
    issued();
    const image = await buildImage({ label: 'pushed' });
    const pushed = await pushImage(`${registry.host}/team/new:v1`, image.content, {
      credentials: { ...TEST_USER },
      env: emptyEnv(),
    });
    expect(pushed.digest).toBe(image.digest);
    expect(issued().map((r) => r.scopes)).toEqual([['repository:team/new:pull,push']]);
  });
});

describe.skipIf(registryUnavailable)('a token service whose certificate is not trusted', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token', issuer: { https: true } });
  });
  afterAll(() => registry?.stop());

  it('says the token service certificate was refused, naming its host, why and the fix, not that it is unreachable', async () => {
    const failure = await authFailure(`${registry.host}/open/app:v1`, { env: emptyEnv() });
    const tokenService = registry.issuer!.url;
    expect(failure.code).toBe('NETWORK');
    expect(failure.message).toMatch(
      new RegExp(
        `^registry ${registry.host} \\(repository open/app\\): the token service's certificate was refused: GET ${tokenService}\\?\\S+: self-signed certificate$`,
      ),
    );
    expect(failure.hint).toBe(
      "127.0.0.1's certificate is not signed by a CA Node.js trusts; if it comes from your own CA, set NODE_EXTRA_CA_CERTS to the CA's PEM file",
    );
  });
});
