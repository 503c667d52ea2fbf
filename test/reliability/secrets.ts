import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImgscopeError } from '../../src/errors.js';
import { tokenRealm } from '../../src/registry/auth/token.js';
import { pushImage } from '../../src/registry/index.js';
import { isInsecureRegistry, resolveOptions } from '../../src/registry/options.js';
import { followingRedirects } from '../../src/registry/transport/redirect.js';
import type { HttpRequest, HttpResponse } from '../../src/registry/transport/types.js';
import { TEST_IDENTITY_TOKEN, TEST_USER } from '../registry/harness.js';
import { type BuiltImage, buildImage } from '../registry/images.js';
import { openNamespacedHost } from './namespaced-host.js';
import { shortError } from './outcomes.js';
import { type CannedRule, type RecordingServer, startRecordingServerOn } from './recording-server.js';
import { differences, type Suite } from './suite.js';

const GROUP = 'secrets';
const BASIC = Buffer.from(`${TEST_USER.username}:${TEST_USER.password}`).toString('base64');

/** Raw bytes a server received, checked for any form of the test credentials. */
function credentialsIn(received: string[]): string[] {
  const all = received.join('');
  return [TEST_USER.password, BASIC, TEST_IDENTITY_TOKEN].filter((secret) => all.includes(secret));
}

/**
 * Credentials and tokens in every path a user can see — output, errors, `--debug` logs, reports — and on
 * the wire: plain HTTP carries them off this machine only when the user allowed it. The decision
 * functions are tested directly too, since a test cannot reach a real host elsewhere.
 */
export function describeSecrets(suite: Suite): void {
  describe('secrets', () => {
    let image: BuiltImage;
    const check = (report: Parameters<typeof differences>[0]) =>
      differences(report, { digest: image.digest, layersAnalyzed: true });

    beforeAll(async () => {
      image = await buildImage({ label: 'secrets', layers: [{ 'etc/a': 'a' }] });
      await pushImage(`${suite.registry.host}/private/secret-app:v1`, image.content, {
        credentials: { ...TEST_USER },
        env: {},
      });
    });
    afterEach(() => {
      const pending = suite.proxy.pendingRules;
      suite.proxy.clear();
      expect(pending, 'an injected fault never fired').toBe(0);
    });

    it('--debug with --password-stdin logs every exchange and no secret', async () => {
      const { run } = await suite.trial({
        group: GROUP,
        fault: '--debug, password on stdin, bearer token',
        expected: 'recovered',
        args: ['--debug', '--username', TEST_USER.username, '--password-stdin', suite.ref('secret-app:v1')],
        anonymous: true,
        input: `${TEST_USER.password}\n`,
        debug: true,
        checkReport: check,
        verify: (run) =>
          /auth Bearer \*\*\*/.test(run.stderr) ? [] : ['the debug log shows no redacted bearer'],
        notes: (run) =>
          `${run.stderr.split('\n').filter((l) => l.startsWith('debug: ')).length} debug lines, redacted`,
      });
      expect(run.stderr).toMatch(/debug: GET http:\/\/127\.0\.0\.1:\d+\/token\?.* → 200 .*auth Basic \*\*\*/);
    });

    it('--debug through a redirect to signed blob URLs hides the signature', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: /\/private\/secret-app\/blobs\//,
        fault: { kind: 'redirect' },
        times: 2,
      });
      await suite.trial({
        group: GROUP,
        fault: '--debug, credentials from the environment, blobs redirected to signed URLs',
        expected: 'recovered',
        args: ['--debug', suite.ref('secret-app:v1')],
        debug: true,
        secrets: ['secret-signature'],
        checkReport: check,
        verify: (run) => {
          const problems = /X-Amz-Signature=\*\*\*/.test(run.stderr)
            ? []
            : ['no redacted signed URL in the log'];
          if (suite.proxy.blobStoreRequests.some((r) => r.authorization))
            problems.push('Authorization sent to the blob store');
          return problems;
        },
        notes: () => 'signature shown as ***; blob store got no Authorization',
      });
    });

    it('--debug with an identity token from config.json leaks neither it nor the access token', async () => {
      const dockerConfig = suite.newDir('docker-config');
      writeFileSync(
        join(dockerConfig, 'config.json'),
        JSON.stringify({ auths: { [suite.proxy.host]: { identitytoken: TEST_IDENTITY_TOKEN } } }),
      );
      await suite.trial({
        group: GROUP,
        fault: '--debug, identity token (OAuth2 refresh token) from config.json',
        expected: 'recovered',
        args: ['--debug', suite.ref('secret-app:v1')],
        anonymous: true,
        env: { DOCKER_CONFIG: dockerConfig },
        debug: true,
        checkReport: check,
        verify: (run) =>
          /POST http:\/\/127\.0\.0\.1:\d+\/token → 200/.test(run.stderr) ? [] : ['no token POST logged'],
      });
    });

    it('a wrong password is refused without repeating it', async () => {
      const wrong = 'wrong-password-0a1b2c';
      await suite.trial({
        group: GROUP,
        fault: 'wrong password (environment)',
        expected: 'failed cleanly',
        args: [suite.ref('secret-app:v1')],
        anonymous: true,
        env: { IMGSCOPE_USERNAME: TEST_USER.username, IMGSCOPE_PASSWORD: wrong },
        secrets: [wrong, Buffer.from(`${TEST_USER.username}:${wrong}`).toString('base64')],
      });
    });

    it('--debug on a failure shows the stack, still without a secret', async () => {
      suite.registry.issuer!.failNext = { count: 100, with: 'garbage' };
      try {
        await suite.trial({
          group: GROUP,
          fault: '--debug, token service returns garbage (error with stack trace)',
          expected: 'failed cleanly',
          args: ['--debug', suite.ref('secret-app:v1')],
          debug: true,
          verify: (run) => (/^\s+at /m.test(run.stderr) ? [] : ['no stack trace under --debug']),
        });
      } finally {
        suite.registry.issuer!.failNext = { count: 0, with: 500 };
      }
    });

    it('credentials typed into the reference are refused without repeating them', async () => {
      const typed = 'typed-s3cret-in-ref';
      await suite.trial({
        group: GROUP,
        fault: 'credentials in the reference (user:password@host/…)',
        expected: 'failed cleanly',
        args: [`${TEST_USER.username}:${typed}@${suite.proxy.host}/private/secret-app:v1`],
        anonymous: true,
        secrets: [typed],
        names: [suite.proxy.host],
      });
    });

    describe('credential helpers', () => {
      let bin: string;
      let dockerConfig: string;
      const helperSecret = 'helper-output-secret-42';
      const helper = (name: string, script: string) => {
        const path = join(bin, `docker-credential-${name}`);
        writeFileSync(path, `#!/bin/sh\n${script}\n`);
        chmodSync(path, 0o755);
      };
      const helperEnv = (name: string) => {
        writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ credsStore: name }));
        return { DOCKER_CONFIG: dockerConfig, PATH: `${bin}:${process.env.PATH}` };
      };
      beforeAll(() => {
        bin = suite.newDir('helpers');
        dockerConfig = suite.newDir('helper-config');
        helper('fails', `echo "${helperSecret}-stdout"\necho "${helperSecret}-stderr" >&2\nexit 1`);
        helper('garbles', `echo '{"Username":"u","Secret":"${helperSecret}-garbled'`);
        // A helper that never answers and leaves a child holding its stdout open.
        helper('hangs', 'sleep 60 &\nwait');
        mkdirSync(dockerConfig, { recursive: true });
      });

      it('a failing helper is named, its output is not', async () => {
        await suite.trial({
          group: GROUP,
          fault: 'credential helper fails, printing a secret',
          expected: 'failed cleanly',
          args: [suite.ref('secret-app:v1')],
          anonymous: true,
          env: helperEnv('fails'),
          secrets: [helperSecret],
          verify: (_, judgement) =>
            judgement.errorLine?.includes('docker-credential-fails') ? [] : ['the helper is not named'],
        });
      });

      it('a helper answering garbage is named, its output is not', async () => {
        await suite.trial({
          group: GROUP,
          fault: 'credential helper answers garbage holding a secret',
          expected: 'failed cleanly',
          args: [suite.ref('secret-app:v1')],
          anonymous: true,
          env: helperEnv('garbles'),
          secrets: [helperSecret],
        });
      });

      it('a helper that hangs is given up on in bounded time', async () => {
        await suite.trial({
          group: GROUP,
          fault: 'credential helper hangs (its child keeps stdout open)',
          expected: 'failed cleanly',
          args: [suite.ref('secret-app:v1')],
          anonymous: true,
          env: helperEnv('hangs'),
          verify: (run) => (run.ms < 20_000 ? [] : [`took ${run.ms} ms`]),
        });
      });
    });

    // The host elsewhere is a network namespace of this test's own, reached through a veth pair: test
    // traffic never goes to this machine's own interface addresses.
    const elsewhere = openNamespacedHost();
    if ('unavailable' in elsewhere)
      console.warn(`skipping plain-HTTP-to-another-host cases: ${elsewhere.unavailable}`);

    describe.skipIf('unavailable' in elsewhere)('plain HTTP to a host off this machine', () => {
      const hostElsewhere = 'host' in elsewhere ? elsewhere.host : undefined;
      let server: RecordingServer | undefined;
      const started: RecordingServer[] = [];
      const serve = async (rules: CannedRule[]) => {
        server = await startRecordingServerOn(hostElsewhere!, rules);
        started.push(server);
        return server;
      };
      afterAll(async () => {
        await Promise.all(started.map((s) => s.stop()));
        hostElsewhere?.close();
      });
      /** A registry off this machine asking for Basic credentials, then knowing no manifest. */
      const basicRegistry: CannedRule[] = [
        {
          when: 'GET /v2/ ',
          response: { status: 401, headers: { 'www-authenticate': 'Basic realm="elsewhere"' } },
        },
        { response: { status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}' } },
      ];

      it('is not used unless asked for: HTTPS is tried, no credential leaves in clear', async () => {
        server = await serve(basicRegistry);
        const host = server.host;
        await suite.trial({
          group: GROUP,
          fault: 'registry off this machine over plain HTTP, not allowed',
          expected: 'failed cleanly',
          args: [`${host}/app:v1`],
          names: [host],
          verify: (_, judgement) => {
            const leaked = credentialsIn(server!.received);
            const clear = server!.received.filter((raw) => raw.startsWith('GET '));
            const hint = `add --insecure-registry ${host}`;
            return [
              ...(server!.received.some((raw) => raw.length) ? [] : ['nothing reached the host elsewhere']),
              ...leaked.map((secret) => `credential on the wire: ${secret.slice(0, 6)}…`),
              ...(clear.length ? [`${clear.length} plain-HTTP requests`] : []),
              ...(judgement.errorLine?.includes(hint) ? [] : [`the hint does not say "${hint}"`]),
            ];
          },
          notes: (_, judgement) => `only a TLS handshake arrived: ${shortError(judgement.errorLine, 80)}`,
        });
      });

      it('is used with --insecure-registry, and only then carries the credentials', async () => {
        server = await serve(basicRegistry);
        const host = server.host;
        await suite.trial({
          group: GROUP,
          fault: 'the same with --insecure-registry (explicitly allowed)',
          expected: 'failed cleanly',
          args: ['--insecure-registry', host, `${host}/app:v1`],
          names: [host],
          verify: () =>
            server!.received.some((raw) => raw.includes(`authorization: Basic ${BASIC}`))
              ? []
              : ['the allowed plain-HTTP registry never received the credentials'],
          notes: () => 'Basic credentials sent, as the user allowed; 404 reported',
        });
      });

      it('a loopback registry cannot send the credentials to a plain-HTTP token service elsewhere', async () => {
        server = await serve([{ response: { status: 500 } }]);
        suite.proxy.inject({
          method: 'GET',
          path: /^\/v2\/$/,
          fault: {
            kind: 'header',
            name: 'WWW-Authenticate',
            value: `Bearer realm="${server.url}/token",service="imgscope-test-registry"`,
          },
        });
        await suite.trial({
          group: GROUP,
          fault: 'loopback registry naming a plain-HTTP token realm off this machine',
          expected: 'failed cleanly',
          args: [suite.ref('secret-app:v1')],
          verify: () => {
            const leaked = credentialsIn(server!.received);
            return leaked.length ? ['credentials sent in clear to the token service'] : [];
          },
          notes: () => `${server!.received.length} connections to the realm`,
        });
      });

      it('… unless that registry was marked insecure', async () => {
        server = await serve([{ response: { status: 500 } }]);
        suite.proxy.inject({
          method: 'GET',
          path: /^\/v2\/$/,
          fault: {
            kind: 'header',
            name: 'WWW-Authenticate',
            value: `Bearer realm="${server.url}/token",service="imgscope-test-registry"`,
          },
        });
        await suite.trial({
          group: GROUP,
          fault: 'the same with --insecure-registry for the registry',
          expected: 'failed cleanly',
          args: ['--insecure-registry', suite.proxy.host, suite.ref('secret-app:v1')],
          verify: () =>
            credentialsIn(server!.received).length
              ? []
              : ['the allowed token service never received credentials'],
          notes: () => 'credentials sent, as the user allowed; token service failure reported',
        });
      });
    });

    describe('the decisions behind plain HTTP', () => {
      const options = resolveOptions({ insecureRegistries: ['lab.internal:5000', 'cache.lan'], env: {} });

      it('plain HTTP is for loopback and for registries the user named', () => {
        for (const host of [
          '127.0.0.1:5000',
          'localhost:5000',
          '[::1]:5000',
          'lab.internal:5000',
          'cache.lan:8443',
        ])
          expect(isInsecureRegistry(host, options), host).toBe(true);
        for (const host of [
          'lab.internal:5001',
          'registry.example',
          '192.0.2.2:5000',
          '0.0.0.0:5000',
          '127.0.0.1.nip.io:5000',
          'localhost.example:5000',
          '[::ffff:127.0.0.1]:5000',
        ])
          expect(isInsecureRegistry(host, options), host).toBe(false);
      });

      it('a plain-HTTP token realm is accepted on loopback for a loopback registry or for a registry marked insecure, never else', () => {
        const realm = (url: string) => ({ scheme: 'bearer', params: { realm: url, service: 's' } });
        expect(
          tokenRealm(realm('http://127.0.0.1:9/t'), { registry: '127.0.0.1:5000', insecure: false }).host,
        ).toBe('127.0.0.1:9');
        expect(() =>
          tokenRealm(realm('http://127.0.0.1:9/t'), { registry: 'r.example', insecure: false }),
        ).toThrow(ImgscopeError);
        expect(() =>
          tokenRealm(realm('http://192.0.2.9/t'), { registry: 'r.example', insecure: false }),
        ).toThrow(ImgscopeError);
        expect(tokenRealm(realm('http://192.0.2.9/t'), { registry: 'r.example', insecure: true }).host).toBe(
          '192.0.2.9',
        );
      });

      it('redirects drop Authorization off the origin and never downgrade HTTPS from a registry elsewhere', async () => {
        const seen: HttpRequest[] = [];
        const hops: Record<string, string> = {
          'https://registry.example/v2/a/blobs/x': 'https://store.example/blob?sig=1',
          'https://registry.example/v2/a/blobs/y': 'http://store.example/blob',
          'https://registry.example/v2/a/blobs/z': 'http://127.0.0.1:9/blob',
        };
        const exchange = followingRedirects()(async (request) => {
          seen.push(request);
          const location = hops[request.url.href];
          const response: HttpResponse = {
            status: location ? 307 : 200,
            headers: location ? { location } : {},
            body: Readable.from([]),
            url: request.url,
          };
          return response;
        });
        const get = (path: string) =>
          exchange({
            method: 'GET',
            url: new URL(`https://registry.example/v2/a/blobs/${path}`),
            headers: { authorization: 'Bearer t0ken' },
          });
        await get('x');
        expect(seen.map((r) => [r.url.host, r.headers.authorization])).toEqual([
          ['registry.example', 'Bearer t0ken'],
          ['store.example', undefined],
        ]);
        await expect(get('y')).rejects.toThrow(/redirected from HTTPS to plain HTTP \(store\.example\)/);
        // A registry elsewhere may not send imgscope to plain HTTP on this machine either.
        await expect(get('z')).rejects.toThrow(/redirected from HTTPS to plain HTTP \(127\.0\.0\.1:9\)/);
      });
    });
  });
}
