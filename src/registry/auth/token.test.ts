import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ImgscopeError } from '../../errors.js';
import { proxySettingsFromEnv } from '../transport/proxy.js';
import type { Exchange } from '../transport/types.js';
import type { Credential } from './credentials.js';
import { fetchToken, type TokenContext, tokenRealm } from './token.js';

const challenge = (realm: string) => ({ scheme: 'bearer', params: { realm, service: 's' } });
const bearer = challenge('https://auth.example/token');
/** An anonymous pull from r.example. */
const anonymous: TokenContext = {
  registry: 'r.example',
  insecure: false,
  credential: undefined,
  credentialSource: undefined,
};

describe('tokenRealm', () => {
  it('accepts HTTPS realms, and plain-HTTP realms on loopback for a loopback registry', () => {
    expect(
      tokenRealm(challenge('https://auth.example/token'), { registry: 'r.example', insecure: false }).host,
    ).toBe('auth.example');
    expect(
      tokenRealm(challenge('http://127.0.0.1:9/token'), { registry: 'localhost:5000', insecure: false }).port,
    ).toBe('9');
  });

  it('refuses a plain-HTTP realm on loopback named by a registry elsewhere, unless it is marked insecure', () => {
    const refuse = () =>
      tokenRealm(challenge('http://127.0.0.1:9/token'), { registry: 'r.example', insecure: false });
    expect(refuse).toThrow(/sent imgscope to a plain-HTTP token service \(127\.0\.0\.1:9\)/);
    expect(
      tokenRealm(challenge('http://127.0.0.1:9/token'), { registry: 'r.example', insecure: true }).port,
    ).toBe('9');
  });

  it('refuses a plain-HTTP realm off this machine unless the registry is marked insecure', () => {
    const refuse = () =>
      tokenRealm(challenge('http://10.0.0.8/token'), { registry: 'r.example', insecure: false });
    expect(refuse).toThrow(ImgscopeError);
    expect(refuse).toThrow(/sent imgscope to a plain-HTTP token service \(10\.0\.0\.8\)/);
    expect(
      tokenRealm(challenge('http://10.0.0.8/token'), { registry: 'r.example', insecure: true }).href,
    ).toBe('http://10.0.0.8/token');
  });

  it('refuses realms that are not http(s) URLs', () => {
    for (const realm of ['file:///etc/passwd', 'not a url', '']) {
      expect(() => tokenRealm(challenge(realm), { registry: 'r.example', insecure: true }), realm).toThrow(
        /unusable token service/,
      );
    }
  });
});

describe('fetchToken', () => {
  const answering =
    (status: number, body: unknown): Exchange =>
    async (request) => ({
      status,
      headers: { 'content-type': 'application/json' },
      body: Readable.from([Buffer.from(JSON.stringify(body))]),
      url: request.url,
    });
  const context = (credential: Credential | undefined): TokenContext => ({
    registry: 'r.example',
    insecure: false,
    credential,
    credentialSource: credential ? '/home/me/.docker/config.json' : undefined,
  });

  it('reports an identity token refused with OAuth2 invalid_grant as refused credentials, not an outage', async () => {
    const refused = fetchToken(
      answering(400, { error: 'invalid_grant', error_description: 'refresh token expired' }),
      bearer,
      ['repository:team/app:pull'],
      context({ kind: 'identity-token', token: 'REFRESH-SECRET' }),
    );
    await expect(refused).rejects.toMatchObject({
      code: 'AUTH',
      message: expect.stringContaining(
        'rejected the credentials from /home/me/.docker/config.json (400: refresh token expired)',
      ),
      hint: expect.stringContaining('log in again with `docker login r.example`'),
    });
    await expect(refused).rejects.not.toThrow(/REFRESH-SECRET/);
  });

  it('asks to log in on a rate limit only when no credentials were sent', async () => {
    const basic: Credential = { kind: 'basic', username: 'me', password: 'hunter2-secret' };
    await expect(fetchToken(answering(429, {}), bearer, [], context(basic))).rejects.toMatchObject({
      hint: 'wait and try again; the limit is that of the account whose credentials were sent (from /home/me/.docker/config.json)',
    });
    await expect(fetchToken(answering(429, {}), bearer, [], anonymous)).rejects.toMatchObject({
      hint: 'wait and try again; pulling anonymously has the lowest limit: log in with `docker login r.example`',
    });
  });

  it('still calls another 400 from the token service a failure of the service', async () => {
    await expect(
      fetchToken(answering(400, { error: 'unsupported_grant_type' }), bearer, [], context(undefined)),
    ).rejects.toThrow(/answered HTTP 400/);
  });

  it("quotes the token service's words, never the credentials it echoes, and blames no outage for a 4xx", async () => {
    const basic: Credential = { kind: 'basic', username: 'me', password: 'hunter2-secret' };
    await expect(
      fetchToken(answering(401, { details: 'incorrect username or password' }), bearer, [], context(basic)),
    ).rejects.toThrow(
      'token service https://auth.example/token of registry r.example rejected the credentials from /home/me/.docker/config.json (401: incorrect username or password)',
    );
    const invalid = fetchToken(
      answering(400, { errors: [{ code: 'DENIED', message: 'invalid scope for me:hunter2-secret' }] }),
      bearer,
      ['repository:team/app:pull'],
      context(basic),
    );
    await expect(invalid).rejects.toMatchObject({
      message:
        'token service https://auth.example/token of registry r.example (repository team/app) answered HTTP 400: invalid scope for ***',
      hint: expect.stringMatching(
        /^the token service refused imgscope's request: .*report it to the registry operator$/,
      ),
    });
    await expect(
      fetchToken(answering(503, { message: 'maintenance' }), bearer, [], context(undefined)),
    ).rejects.toMatchObject({
      message:
        'token service https://auth.example/token of registry r.example answered HTTP 503: maintenance',
      hint: 'the token service is failing; try again later',
    });
  });

  it('never quotes a credential echoed base64-encoded, or a refresh token echoed as its form sent it', async () => {
    const basic: Credential = { kind: 'basic', username: 'me', password: 'hunter2-secret' };
    const header = Buffer.from('me:hunter2-secret').toString('base64');
    await expect(
      fetchToken(answering(400, { error: `bad header "Basic ${header}"` }), bearer, [], context(basic)),
    ).rejects.toThrow(/answered HTTP 400: bad header "Basic \*\*\*"$/);
    const identity: Credential = { kind: 'identity-token', token: 'r3fresh/t0ken+x=' };
    await expect(
      fetchToken(
        answering(400, {
          error: 'invalid_request',
          error_description: 'bad refresh_token=r3fresh%2Ft0ken%2Bx%3D',
        }),
        bearer,
        [],
        context(identity),
      ),
    ).rejects.toThrow(/answered HTTP 400: bad refresh_token=\*\*\*$/);
  });
});

describe('fetchToken failures name the registry and the repository', () => {
  it('when the token service refuses anonymous access', async () => {
    const exchange: Exchange = async (request) => ({
      status: 401,
      headers: {},
      body: Readable.from([]),
      url: request.url,
    });
    await expect(fetchToken(exchange, bearer, ['repository:team/app:pull'], anonymous)).rejects.toThrow(
      'token service https://auth.example/token of registry r.example (repository team/app) rejected anonymous access (401)',
    );
    const searched = ['--username (not given)', '/home/me/.docker/config.json (missing)'];
    await expect(
      fetchToken(exchange, bearer, ['repository:team/app:pull'], { ...anonymous, searched }),
    ).rejects.toMatchObject({
      hint: expect.stringContaining(
        'no credentials were found (looked in: --username (not given); /home/me/.docker/config.json (missing))',
      ),
    });
  });

  it('when the token service cannot be reached', async () => {
    const exchange: Exchange = async () => {
      throw new ImgscopeError('NETWORK', 'GET https://auth.example/token: connection refused', {
        hint: 'nothing accepts connections at auth.example',
      });
    };
    await expect(fetchToken(exchange, bearer, ['repository:team/app:pull'], anonymous)).rejects.toMatchObject(
      {
        code: 'NETWORK',
        message:
          'registry r.example (repository team/app): token service unreachable: GET https://auth.example/token: connection refused',
        hint: 'nothing accepts connections at auth.example',
      },
    );
  });
});

describe('fetchToken, when the token service speaks TLS but the connection fails', () => {
  const failingWith =
    (cause: Error): Exchange =>
    async () => {
      throw new ImgscopeError('NETWORK', `GET https://auth.example/token: ${cause.message}`, {
        hint: 'the hint of the transport',
        cause,
      });
    };

  it('says its certificate was refused, not that it is unreachable', async () => {
    const untrusted = Object.assign(new Error('self-signed certificate'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    await expect(
      fetchToken(failingWith(untrusted), bearer, ['repository:team/app:pull'], anonymous),
    ).rejects.toMatchObject({
      message:
        "registry r.example (repository team/app): the token service's certificate was refused: GET https://auth.example/token: self-signed certificate",
      hint: 'the hint of the transport',
    });
  });

  it('says it refused the TLS handshake, not that it is unreachable', async () => {
    const alert = Object.assign(new Error('the server refused the TLS handshake'), {
      code: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
    });
    await expect(
      fetchToken(failingWith(alert), bearer, ['repository:team/app:pull'], anonymous),
    ).rejects.toMatchObject({
      message:
        'registry r.example (repository team/app): token service: GET https://auth.example/token: the server refused the TLS handshake',
    });
  });
});

describe('fetchToken requests', () => {
  it('say which registry named the token service, for the hints of their network failures', async () => {
    const seen: (string | undefined)[] = [];
    const exchange: Exchange = async (request) => {
      seen.push(request.tokenServiceOf);
      return {
        status: 200,
        headers: {},
        body: Readable.from([Buffer.from('{"token":"t"}')]),
        url: request.url,
      };
    };
    await fetchToken(exchange, bearer, [], anonymous);
    await fetchToken(exchange, bearer, [], {
      ...anonymous,
      credential: { kind: 'identity-token', token: 'R' },
      credentialSource: 'config.json',
    });
    expect(seen).toEqual(['r.example', 'r.example']);
  });
});

describe('fetchToken lifetime', () => {
  const issuing =
    (reply: Record<string, unknown>): Exchange =>
    async (request) => ({
      status: 200,
      headers: {},
      body: Readable.from([Buffer.from(JSON.stringify(reply))]),
      url: request.url,
    });

  it('counts from issued_at when the clocks agree', async () => {
    const issuedAt = new Date(Date.now() - 100_000).toISOString();
    const token = await fetchToken(
      issuing({ token: 't', expires_in: 300, issued_at: issuedAt }),
      bearer,
      [],
      anonymous,
    );
    expect(token.expiresAt).toBe(Date.parse(issuedAt) + 270_000);
  });

  it('keeps a token for its whole lifetime when the token service clock is behind', async () => {
    const before = Date.now();
    const token = await fetchToken(
      issuing({ token: 't', expires_in: 300, issued_at: new Date(before - 600_000).toISOString() }),
      bearer,
      [],
      anonymous,
    );
    expect(token.expiresAt).toBeGreaterThanOrEqual(before + 270_000);
  });
});

describe('tokenRealm refusals name the repository', () => {
  it('when fetchToken refuses a plain-HTTP realm', async () => {
    const exchange: Exchange = async () => {
      throw new Error('must not be called');
    };
    await expect(
      fetchToken(exchange, challenge('http://10.0.0.8/token'), ['repository:team/app:pull'], {
        registry: 'r.example',
        insecure: false,
        credential: undefined,
        credentialSource: undefined,
      }),
    ).rejects.toThrow(
      /^registry r\.example \(repository team\/app\) sent imgscope to a plain-HTTP token service/,
    );
  });
});

describe('fetchToken deadline', () => {
  it('gives up on a token response that trickles in for longer than the deadline', async () => {
    const exchange: Exchange = async (request) => ({
      status: 200,
      headers: {},
      // One byte, then nothing more, ever: only a total deadline ends this.
      body: new Readable({ read() {} }).once('resume', function (this: Readable) {
        this.push('{');
      }),
      url: request.url,
    });
    await expect(
      fetchToken(exchange, bearer, ['repository:team/app:pull'], { ...anonymous, deadlineMs: 100 }),
    ).rejects.toThrow(
      'token service https://auth.example/token of registry r.example (repository team/app): not received in full within 100 ms',
    );
  });
});

describe('fetchToken whitespace', () => {
  const issuing =
    (reply: Record<string, unknown>, seen: string[] = []): Exchange =>
    async (request) => {
      if (request.body instanceof Uint8Array) seen.push(Buffer.from(request.body).toString('utf8'));
      return {
        status: 200,
        headers: {},
        body: Readable.from([Buffer.from(JSON.stringify(reply))]),
        url: request.url,
      };
    };

  it('drops the trailing newline of a token, which no HTTP header can carry', async () => {
    const token = await fetchToken(issuing({ token: 'abc.def\n' }), bearer, [], anonymous);
    expect(token.value).toBe('abc.def');
    const access = await fetchToken(issuing({ token: ' ', access_token: 'xyz\r\n' }), bearer, [], anonymous);
    expect(access.value).toBe('xyz');
  });

  it('says the token service is at fault for a token with a newline inside, not the network', async () => {
    await expect(fetchToken(issuing({ token: 'abc\ndef' }), bearer, [], anonymous)).rejects.toThrow(
      'token service https://auth.example/token of registry r.example returned a token with characters an HTTP header cannot carry',
    );
  });

  it('sends an identity token without the newline it was stored with', async () => {
    const seen: string[] = [];
    await fetchToken(issuing({ access_token: 'a' }, seen), bearer, [], {
      ...anonymous,
      credential: { kind: 'identity-token', token: 'REFRESH\n' },
      credentialSource: 'config.json',
    });
    expect(new URLSearchParams(seen[0]).get('refresh_token')).toBe('REFRESH');
  });
});

describe('fetchToken for a token service without OAuth2', () => {
  it('asks again by GET with the identity token as Basic password when the POST is answered 404 or 405', async () => {
    for (const status of [404, 405]) {
      const seen: string[] = [];
      const exchange: Exchange = async (request) => {
        seen.push(`${request.method} ${request.url.search} ${request.headers.authorization ?? ''}`);
        const ok = request.method === 'GET';
        return {
          status: ok ? 200 : status,
          headers: {},
          body: Readable.from([Buffer.from(JSON.stringify(ok ? { token: 'T' } : {}))]),
          url: request.url,
        };
      };
      const token = await fetchToken(exchange, bearer, ['repository:team/app:pull'], {
        ...anonymous,
        credential: { kind: 'identity-token', username: 'me', token: 'REFRESH\n' },
        credentialSource: 'config.json',
      });
      expect(token.value, String(status)).toBe('T');
      expect(seen, String(status)).toEqual([
        'POST  ',
        `GET ?service=s&scope=repository%3Ateam%2Fapp%3Apull Basic ${Buffer.from('me:REFRESH').toString('base64')}`,
      ]);
    }
  });

  it('reports the GET refused as the identity token refused, never quoting its Basic header', async () => {
    const header = Buffer.from(':REFRESH').toString('base64');
    const exchange: Exchange = async (request) => ({
      status: request.method === 'POST' ? 404 : 401,
      headers: {},
      body: Readable.from([Buffer.from(JSON.stringify({ details: `bad Basic ${header}` }))]),
      url: request.url,
    });
    const refused = fetchToken(exchange, bearer, [], {
      ...anonymous,
      credential: { kind: 'identity-token', token: 'REFRESH' },
      credentialSource: 'config.json',
    });
    await expect(refused).rejects.toMatchObject({
      message:
        'token service https://auth.example/token of registry r.example rejected the credentials from config.json (401: bad Basic ***)',
      hint: expect.stringContaining('the identity token has expired or was revoked'),
    });
  });
});

describe('fetchToken through a forwarding proxy', () => {
  it("blames the proxy, not the credentials, for a refusal that is the proxy's own", async () => {
    const proxy = proxySettingsFromEnv({ HTTP_PROXY: 'http://me:proxy-secret@proxy.corp:3128' }).http!;
    const forwarded =
      (status: number): Exchange =>
      async (request) => ({
        status,
        headers: { 'content-type': 'text/html' },
        body: Readable.from([Buffer.from('<html><h1>Unauthorized</h1></html>')]),
        url: request.url,
        forwardedBy: proxy,
      });
    const realm = challenge('http://auth.example/token');
    for (const status of [407, 401]) {
      const refused = fetchToken(forwarded(status), realm, [], {
        ...anonymous,
        insecure: true,
        credential: { kind: 'identity-token', token: 'REFRESH' },
        credentialSource: 'config.json',
      });
      await expect(refused, String(status)).rejects.toMatchObject({
        message: `token service http://auth.example/token of registry r.example answered HTTP ${status}`,
        hint: 'the answer came through the proxy proxy.corp:3128 (HTTP_PROXY) and is no registry error: the proxy refused the login in HTTP_PROXY: check its USER and PASSWORD (a password holding /, ?, # or % percent-encoded)',
      });
      await expect(refused).rejects.not.toThrow(/proxy-secret/);
    }
  });

  it("takes a 401 the proxy forwarded (its Via), or one through a proxy given no login, as the token service's", async () => {
    const refusing =
      (proxyUrl: string, headers: Record<string, string>): Exchange =>
      async (request) => ({
        status: 401,
        headers: { 'content-type': 'text/plain', ...headers },
        // cesanta/docker_auth's refusal of a wrong password: no JSON, so none of the service's words.
        body: Readable.from([Buffer.from('Auth failed.\n')]),
        url: request.url,
        forwardedBy: proxySettingsFromEnv({ HTTP_PROXY: proxyUrl }).http!,
      });
    const cases = [
      ['http://me:proxy-secret@proxy.corp:3128', { via: '1.1 proxy.corp (tinyproxy/1.11.1)' }],
      ['http://proxy.corp:3128', {}],
    ] as const;
    for (const [proxyUrl, headers] of cases) {
      await expect(
        fetchToken(refusing(proxyUrl, headers), challenge('http://auth.example/token'), [], {
          ...anonymous,
          insecure: true,
          credential: { kind: 'basic', username: 'alice', password: 'wrong' },
          credentialSource: '--username',
        }),
        proxyUrl,
      ).rejects.toMatchObject({
        code: 'AUTH',
        message:
          'token service http://auth.example/token of registry r.example rejected the credentials from --username (401)',
        hint: 'check the username and password, or log in again',
      });
    }
  });
});
