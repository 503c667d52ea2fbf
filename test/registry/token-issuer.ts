import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeServerCertificate } from './certificates.js';

/**
 * The project's own token service for Distribution's `auth.token` mode: RS256 JWTs whose `x5c` header
 * carries a self-signed certificate that is also the registry's `rootcertbundle`. It implements the
 * distribution token protocol: GET with optional Basic credentials, and the OAuth2 POST with a
 * refresh token (Docker's `identitytoken`).
 *
 * Access policy: anyone may pull repositories outside `private/`; `private/*` needs a user; push needs a user.
 */
export interface TokenIssuerOptions {
  dir: string;
  service: string;
  issuer: string;
  users: Record<string, string>;
  /** identity token → username */
  identityTokens?: Record<string, string>;
  /** Seconds; reported as `expires_in`. */
  expiresIn?: number;
  /** Which field carries the token in responses. */
  tokenField?: 'token' | 'access_token' | 'both';
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1 (its file: `httpsCertPath`). */
  https?: boolean;
}

export interface TokenRequestRecord {
  method: string;
  scopes: string[];
  /** The user the request authenticated as, `anonymous`, or `rejected`. */
  principal: string;
}

/** Makes the signing key and its self-signed certificate with openssl (a CI dependency). */
export function makeSigningCertificate(dir: string): { keyPath: string; certPath: string } {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=imgscope-test-token-issuer',
    ],
    { stdio: 'pipe' },
  );
  return { keyPath, certPath };
}

export class TokenIssuer {
  readonly requests: TokenRequestRecord[] = [];
  /** Make the next N responses fail: an HTTP status, or a 200 whose body is not JSON. */
  failNext: { count: number; with: number | 'garbage' } = { count: 0, with: 500 };
  private server: Server | undefined;
  private readonly key: KeyObject;
  private readonly x5c: string;
  readonly certPath: string;
  /** With `https`: the self-signed certificate the token service presents. */
  httpsCertPath: string | undefined;
  url = '';

  /** Tests may change the response style (`tokenField`, `expiresIn`) between requests. */
  constructor(readonly options: TokenIssuerOptions) {
    const { keyPath, certPath } = makeSigningCertificate(options.dir);
    this.certPath = certPath;
    this.key = createPrivateKey(readFileSync(keyPath));
    this.x5c = readFileSync(certPath, 'utf8')
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
      .replace(/\s+/g, '');
  }

  async start(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error: Error) => {
        res.writeHead(500).end(error.message);
      });
    };
    if (this.options.https) {
      const { keyPath, certPath } = makeServerCertificate(this.options.dir, ['127.0.0.1'], 'token-service');
      this.httpsCertPath = certPath;
      this.server = createHttpsServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) }, handler);
    } else {
      this.server = createServer(handler);
    }
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const scheme = this.options.https ? 'https' : 'http';
    this.url = `${scheme}://127.0.0.1:${(this.server.address() as AddressInfo).port}/token`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://issuer');
    let scopes: string[];
    let principal: string | undefined;
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      const refresh = form.get('refresh_token') ?? '';
      principal =
        form.get('grant_type') === 'refresh_token'
          ? this.options.identityTokens?.[refresh]
          : this.password(form);
      if (!principal) return this.reject(res, 'POST', scopes);
    } else {
      scopes = url.searchParams.getAll('scope');
      const header = req.headers.authorization;
      if (header) {
        principal = this.basic(header);
        if (!principal) return this.reject(res, 'GET', scopes);
      }
    }
    this.requests.push({ method: req.method ?? 'GET', scopes, principal: principal ?? 'anonymous' });
    if (this.failNext.count > 0) {
      this.failNext.count--;
      if (this.failNext.with === 'garbage')
        res.writeHead(200, { 'content-type': 'application/json' }).end('{not json');
      else res.writeHead(this.failNext.with).end('token service failure');
      return;
    }
    const token = this.sign(principal, scopes);
    const expiresIn = this.options.expiresIn ?? 300;
    const field = this.options.tokenField ?? 'token';
    const body: Record<string, unknown> = { expires_in: expiresIn, issued_at: new Date().toISOString() };
    if (field === 'token' || field === 'both') body.token = token;
    if (field === 'access_token' || field === 'both') body.access_token = token;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private reject(res: ServerResponse, method: string, scopes: string[]): void {
    this.requests.push({ method, scopes, principal: 'rejected' });
    res
      .writeHead(401, { 'content-type': 'application/json' })
      .end('{"details":"incorrect username or password"}');
  }

  private basic(header: string): string | undefined {
    const match = /^Basic (.+)$/i.exec(header);
    if (!match?.[1]) return undefined;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    return colon > 0 && this.options.users[user] === decoded.slice(colon + 1) ? user : undefined;
  }

  private password(form: URLSearchParams): string | undefined {
    const user = form.get('username') ?? '';
    return form.get('grant_type') === 'password' && this.options.users[user] === form.get('password')
      ? user
      : undefined;
  }

  /** Grants the subset of the requested access the policy allows. */
  private sign(principal: string | undefined, scopes: string[]): string {
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = splitScope(scope);
      if (type !== 'repository' || !name) return [];
      const granted = (actions ?? '').split(',').filter((action) => {
        if (action === 'pull') return principal !== undefined || !name.startsWith('private/');
        if (action === 'push' || action === 'delete') return principal !== undefined;
        return false;
      });
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [this.x5c] };
    const claims = {
      iss: this.options.issuer,
      sub: principal ?? '',
      aud: this.options.service,
      exp: now + (this.options.expiresIn ?? 300),
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signingInput = `${encode(header)}.${encode(claims)}`;
    const signature = sign('sha256', Buffer.from(signingInput), this.key).toString('base64url');
    return `${signingInput}.${signature}`;
  }
}

/** `repository:name/with:colons?:pull,push` — the name may not contain colons, but split from both ends. */
function splitScope(scope: string): [string, string, string] | [] {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first === -1 || last === first) return [];
  return [scope.slice(0, first), scope.slice(first + 1, last), scope.slice(last + 1)];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
