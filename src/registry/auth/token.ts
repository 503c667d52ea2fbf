import { ImgscopeError } from '../../errors.js';
import { isLoopbackHost } from '../reference.js';
import { forwardingProxyHint, rateLimitHint } from '../registry-errors.js';
import { readSmallBody } from '../transport/body.js';
import { isCertificateRefusal, isTlsRefusal } from '../transport/network-errors.js';
import { redactUrl } from '../transport/redact.js';
import { parseRetryAfter } from '../transport/retry.js';
import { type Exchange, type HttpRequest, type HttpResponse, headerValue } from '../transport/types.js';
import type { Challenge } from './challenge.js';
import type { Credential } from './credentials.js';
import { basicAuthorization, credentialSecrets, masked } from './secrets.js';

export interface BearerToken {
  value: string;
  /** Epoch milliseconds after which a new token must be fetched. */
  expiresAt: number;
}

export interface TokenContext {
  registry: string;
  /** The user marked the registry insecure: a plain-HTTP realm off this machine is acceptable. */
  insecure: boolean;
  credential: Credential | undefined;
  credentialSource: string | undefined;
  /** Where credentials were looked for, for the hint when none were found. */
  searched?: string[];
  /** How long the token response may take to arrive whole. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;
/** Visible ASCII, no spaces: RFC 6750's b64token is narrower, but registries' tokens stay within this. */
const BEARER_TOKEN = /^[\x21-\x7e]+$/;
/** What the distribution token spec says to assume when `expires_in` is absent. */
const DEFAULT_LIFETIME_S = 60;

function authError(message: string, hint: string, cause?: unknown): ImgscopeError {
  return new ImgscopeError('AUTH', message, { hint, cause });
}

/**
 * Validates the realm a registry named: an http(s) URL; plain HTTP only for a registry marked insecure,
 * or on loopback for a loopback registry — a registry elsewhere must not send credentials to this machine.
 */
export function tokenRealm(
  challenge: Challenge,
  context: Pick<TokenContext, 'registry' | 'insecure'>,
  repository?: string,
): URL {
  const registry = `registry ${context.registry}${repository ? ` (repository ${repository})` : ''}`;
  const realm = challenge.params.realm;
  let url: URL | undefined;
  try {
    url = realm ? new URL(realm) : undefined;
  } catch {}
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw authError(
      `${registry} named an unusable token service "${realm ?? ''}"`,
      'the registry is misconfigured; report it to its operator',
    );
  }
  const local = isLoopbackHost(url.host) && isLoopbackHost(context.registry);
  if (url.protocol === 'http:' && !local && !context.insecure) {
    throw authError(
      `${registry} sent imgscope to a plain-HTTP token service (${url.host}); refusing to send credentials unencrypted`,
      `if you trust this network, mark the registry insecure: --insecure-registry ${context.registry}`,
    );
  }
  return url;
}

/**
 * Gets a bearer token from the realm of a challenge: GET with Basic credentials (or anonymously), or
 * the OAuth2 refresh-token POST for identity tokens (a GET where OAuth2 is missing). Accepts `token` or
 * `access_token`.
 */
export async function fetchToken(
  exchange: Exchange,
  challenge: Challenge,
  scopes: string[],
  context: TokenContext,
): Promise<BearerToken> {
  const repository = scopes.map((scope) => /^repository:(.+):[^:]+$/.exec(scope)?.[1]).find(Boolean);
  const realm = tokenRealm(challenge, context, repository);
  const { credential } = context;
  const forWhat = `registry ${context.registry}${repository ? ` (repository ${repository})` : ''}`;
  const where = `token service ${redactUrl(realm)} of ${forWhat}`;
  let request =
    credential?.kind === 'identity-token'
      ? refreshTokenRequest(realm, challenge, scopes, credential.token)
      : tokenGet(realm, challenge, scopes, credential);
  let { response, body } = await ask(exchange, request, forWhat, where, context);
  // A token service without OAuth2 answers the POST 404 or 405; as containerd does, ask it by GET, the
  // identity token as the Basic password.
  if (request.method === 'POST' && (response.status === 404 || response.status === 405)) {
    request = tokenGet(realm, challenge, scopes, credential);
    ({ response, body } = await ask(exchange, request, forWhat, where, context));
  }
  const words = serviceWords(body, credential);
  const answered = `${response.status}${words ? `: ${words}` : ''}`;
  // A refusal without the service's words that a proxy forwarded is likely the proxy's own (its login).
  const proxyHint = response.status !== 200 && !words ? forwardingProxyHint(response, undefined) : undefined;
  if (proxyHint)
    throw new ImgscopeError('REGISTRY', `${where} answered HTTP ${answered}`, { hint: proxyHint });
  if (response.status === 401 || response.status === 403 || refusedGrant(request, response.status, body)) {
    throw authError(
      `${where} rejected ${context.credentialSource ? `the credentials from ${context.credentialSource}` : 'anonymous access'} (${answered})`,
      credential?.kind === 'identity-token'
        ? `the identity token has expired or was revoked: log in again with \`docker login ${context.registry}\``
        : context.credentialSource
          ? 'check the username and password, or log in again'
          : `no credentials were found${context.searched?.length ? ` (looked in: ${context.searched.join('; ')})` : ''}; log in with \`docker login ${context.registry}\`, or set IMGSCOPE_USERNAME and IMGSCOPE_PASSWORD`,
    );
  }
  if (response.status === 429) {
    const retryAfter = parseRetryAfter(headerValue(response, 'retry-after'));
    const wait = retryAfter ? `; it asks to wait ${Math.ceil(retryAfter / 1000)} s` : '';
    throw new ImgscopeError('REGISTRY', `${where} rate-limited the request (HTTP 429)${wait}`, {
      hint: rateLimitHint(context.registry, context.credentialSource),
    });
  }
  if (response.status !== 200) {
    throw authError(
      `${where} answered HTTP ${answered}`,
      response.status >= 500
        ? 'the token service is failing; try again later'
        : "the token service refused imgscope's request: the registry or its token service is misconfigured; report it to the registry operator",
    );
  }
  let reply: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    reply = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw authError(
      `${where} returned something that is not JSON`,
      'the token service is failing; try again later',
      error,
    );
  }
  const raw = typeof reply?.token === 'string' && reply.token.trim() ? reply.token : reply?.access_token;
  // A bearer token has no whitespace (RFC 6750 b64token): a trailing newline is the service's slip.
  const value = typeof raw === 'string' ? raw.trim() : raw;
  if (typeof value !== 'string' || value === '') {
    throw authError(`${where} returned no token`, 'the token service is failing; try again later');
  }
  if (!BEARER_TOKEN.test(value)) {
    throw authError(
      `${where} returned a token with characters an HTTP header cannot carry`,
      'the token service is misconfigured; report it to the registry operator',
    );
  }
  const lifetimeS =
    typeof reply.expires_in === 'number' && reply.expires_in > 0 ? reply.expires_in : DEFAULT_LIFETIME_S;
  const issuedAt = typeof reply.issued_at === 'string' ? Date.parse(reply.issued_at) : Number.NaN;
  const now = Date.now();
  // Renew a little early so a token does not expire between being chosen and being used.
  const margin = Math.min(30, lifetimeS / 4) * 1000;
  const fromIssue = (Number.isNaN(issuedAt) ? now : Math.min(issuedAt, now)) + lifetimeS * 1000 - margin;
  // Expired on arrival means the token service's clock is behind this one's: trusting `issued_at` would
  // fetch a token for every request. The registry judges the token; a 401 renews it.
  return { value, expiresAt: fromIssue > now ? fromIssue : now + lifetimeS * 1000 - margin };
}

/** The OAuth2 refresh-token POST of an identity token. */
function refreshTokenRequest(realm: URL, challenge: Challenge, scopes: string[], token: string): HttpRequest {
  const form = new URLSearchParams({
    grant_type: 'refresh_token',
    // Stored with the newline of the file or `echo` it came from, it would be refused as expired.
    refresh_token: token.trim(),
    client_id: 'imgscope',
  });
  if (challenge.params.service) form.set('service', challenge.params.service);
  if (scopes.length) form.set('scope', scopes.join(' '));
  return {
    method: 'POST',
    url: realm,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: Buffer.from(form.toString()),
  };
}

/** The token spec's GET, with Basic credentials (an identity token as the password) or anonymous. */
function tokenGet(
  realm: URL,
  challenge: Challenge,
  scopes: string[],
  credential: Credential | undefined,
): HttpRequest {
  const url = new URL(realm.href);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  const headers: Record<string, string> = {};
  if (credential?.kind === 'basic') {
    headers.authorization = basicAuthorization(credential.username, credential.password);
  } else if (credential) {
    headers.authorization = basicAuthorization(credential.username ?? '', credential.token.trim());
  }
  return { method: 'GET', url, headers };
}

/** Sends one token request and reads its small answer whole. */
async function ask(
  exchange: Exchange,
  request: HttpRequest,
  forWhat: string,
  where: string,
  context: TokenContext,
): Promise<{ response: HttpResponse; body: Buffer }> {
  request.tokenServiceOf = context.registry;
  if (context.signal) request.signal = context.signal;
  let response: HttpResponse;
  try {
    response = await exchange(request);
  } catch (error) {
    // The transport's message names only the token service's URL, which users do not recognise. A
    // certificate refused or a TLS refusal (which the transport's message words) is no outage.
    if (error instanceof ImgscopeError && error.code === 'NETWORK') {
      const what = isCertificateRefusal(error)
        ? "the token service's certificate was refused"
        : isTlsRefusal(error)
          ? 'token service'
          : 'token service unreachable';
      throw new ImgscopeError('NETWORK', `${forWhat}: ${what}: ${error.message}`, {
        ...(error.hint ? { hint: error.hint } : {}),
        cause: error,
      });
    }
    throw error;
  }
  const body = await readSmallBody(
    response.body,
    MAX_TOKEN_RESPONSE,
    where,
    context.deadlineMs ? { ms: context.deadlineMs } : undefined,
  );
  return { response, body };
}

/**
 * The words of a token service's refusal, as the services word it: distribution's `errors`, Docker Hub's
 * `details`, OAuth2's `error_description` or `error`. One line, bounded, without the credential sent,
 * which a service may quote back.
 */
function serviceWords(body: Buffer, credential: Credential | undefined): string {
  let doc: Record<string, unknown> | null;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return '';
  }
  const first = Array.isArray(doc?.errors)
    ? (doc.errors[0] as Record<string, unknown> | undefined)
    : undefined;
  const found = [
    first?.message,
    first?.code,
    doc?.details,
    doc?.error_description,
    doc?.error,
    doc?.message,
  ].find((value): value is string => typeof value === 'string' && value.trim() !== '');
  if (!found) return '';
  const words = masked(found, credentialSecrets(credential));
  return words.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * OAuth2 (RFC 6749 §5.2) answers an expired or revoked refresh token with 400 `invalid_grant`: the
 * credentials were refused, and trying again later cannot help.
 */
function refusedGrant(request: HttpRequest, status: number, body: Buffer): boolean {
  if (request.method !== 'POST' || status !== 400) return false;
  try {
    const error = (JSON.parse(body.toString('utf8')) as { error?: unknown } | null)?.error;
    return error === 'invalid_grant' || error === 'invalid_client' || error === 'unauthorized_client';
  } catch {
    return false;
  }
}
