import { ImgscopeError } from '../../errors.js';
import { forwardingProxyHint, readRegistryError, summarize } from '../registry-errors.js';
import { drain } from '../transport/body.js';
import {
  type Exchange,
  type HttpRequest,
  type HttpResponse,
  isReplayable,
  type Layer,
} from '../transport/types.js';
import { type Challenge, findChallenge, parseChallenges } from './challenge.js';
import type { CredentialLookup } from './credentials.js';
import { basicAuthorization, secretsOf } from './secrets.js';
import { type BearerToken, fetchToken } from './token.js';

export interface AuthContext {
  /** The registry's name, for messages and credential stores. */
  registry: string;
  /** Origin of the registry API; requests to any other origin pass through untouched. */
  origin: string;
  /** The user marked the registry insecure: its token service may be plain HTTP even off this machine. */
  insecure: boolean;
  /** The transport below authentication, for the `/v2/` ping and token requests. */
  exchange: Exchange;
  /** How long a token response may take to arrive whole (transport/http.ts documentDeadlineMs). */
  tokenDeadlineMs?: number;
  /** A `/v2/` answer the client already has (from finding the registry's protocol), used as the ping. */
  takePing?: () => HttpResponse | undefined;
  lookupCredentials: () => Promise<CredentialLookup>;
}

/**
 * The auth layer: pings `/v2/` once to learn the registry's challenge, then adds `Authorization` (a
 * Bearer token cached per scope, or Basic credentials) to requests for the registry's own origin only.
 * A 401 carrying a new challenge (another scope, an expired token) is answered once; a final 401/403
 * becomes an AUTH error naming the registry, the repository and where credentials were looked for.
 */
export function authenticating(context: AuthContext): Layer {
  let ping: Promise<Challenge[]> | undefined;
  let lookup: Promise<CredentialLookup> | undefined;
  const tokens = new Map<string, Promise<BearerToken>>();
  const credentials = () => {
    lookup ??= context.lookupCredentials();
    return lookup;
  };

  async function pingRegistry(signal: AbortSignal | undefined): Promise<Challenge[]> {
    const request: HttpRequest = { method: 'GET', url: new URL('/v2/', context.origin), headers: {} };
    if (signal) request.signal = signal;
    const response = context.takePing?.() ?? (await context.exchange(request));
    await drain(response.body);
    return response.status === 401 ? parseChallenges(response.headers['www-authenticate']) : [];
  }

  /** One `/v2/` ping per registry; a failed ping is tried again by the next request. */
  function challengesOnce(signal: AbortSignal | undefined): Promise<Challenge[]> {
    if (!ping) {
      const attempt = pingRegistry(signal);
      ping = attempt;
      attempt.catch(() => {
        if (ping === attempt) ping = undefined;
      });
    }
    return ping;
  }

  async function token(
    challenge: Challenge,
    scopes: string[],
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const key = `${challenge.params.realm}|${challenge.params.service}|${scopes.join(' ')}`;
    const cached = tokens.get(key);
    if (cached) {
      const existing = await cached.catch(() => undefined);
      if (existing && existing.expiresAt > Date.now()) return existing.value;
      if (tokens.get(key) === cached) tokens.delete(key);
    }
    let pending = tokens.get(key);
    if (!pending) {
      const { credential, source, searched } = await credentials();
      pending = fetchToken(context.exchange, challenge, scopes, {
        registry: context.registry,
        insecure: context.insecure,
        credential,
        credentialSource: source,
        searched,
        ...(context.tokenDeadlineMs ? { deadlineMs: context.tokenDeadlineMs } : {}),
        ...(signal ? { signal } : {}),
      });
      tokens.set(key, pending);
      pending.catch(() => tokens.get(key) === pending && tokens.delete(key));
    }
    return (await pending).value;
  }

  async function authorization(
    challenges: Challenge[],
    scope: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string | undefined> {
    const bearer = findChallenge(challenges, 'bearer');
    if (bearer) {
      const scopes = [...new Set([...challengeScopes(bearer), ...(scope ? [scope] : [])])];
      return `Bearer ${await token(bearer, scopes, signal)}`;
    }
    if (findChallenge(challenges, 'basic')) {
      const { credential } = await credentials();
      if (credential?.kind === 'basic') {
        return basicAuthorization(credential.username, credential.password);
      }
    }
    return undefined;
  }

  function forget(challenges: Challenge[], scopes: string[]): void {
    const bearer = findChallenge(challenges, 'bearer');
    if (!bearer) return;
    for (const key of tokens.keys()) {
      if (scopes.length === 0 || scopes.some((scope) => key.includes(scope))) tokens.delete(key);
    }
  }

  return (next) => async (request) => {
    if (request.url.origin !== context.origin) return next(request);
    const challenges = await challengesOnce(request.signal);
    const send = (authorizationValue: string | undefined) =>
      next(
        authorizationValue
          ? { ...request, headers: { ...request.headers, authorization: authorizationValue } }
          : request,
      );

    const first = await authorization(challenges, request.scope, request.signal);
    let response = await send(first);
    let sentValue = first;
    let sent = first !== undefined;
    if (response.status === 401 && response.url.origin === context.origin && isReplayable(request)) {
      const renewed = parseChallenges(response.headers['www-authenticate']);
      if (renewed.length > 0) {
        // A registry whose `/v2/` asks for nothing but whose repositories do: later requests start from
        // this challenge (without its scope, which names this request's repository) and reuse the token.
        if (challenges.length === 0) ping = Promise.resolve(renewed.map(withoutScope));
        // Only a token that was sent can have been refused (expired, or too narrow a scope).
        if (first?.startsWith('Bearer ')) {
          const refused = challengeScopes(findChallenge(renewed, 'bearer'));
          forget(renewed, refused.length > 0 ? refused : request.scope ? [request.scope] : []);
        }
        const second = await authorization(renewed, request.scope, request.signal);
        if (second !== undefined && second !== first) {
          await drain(response.body);
          response = await send(second);
          sentValue = second;
          sent = true;
        }
      }
    }
    if (response.status >= 400 && sentValue !== undefined) {
      // A value was sent, so the lookup ran (for the token or the Basic header): this waits for nothing.
      const { source } = await credentials();
      response = {
        ...response,
        sentSecrets: secretsOf(sentValue),
        ...(source ? { sentCredentialsFrom: source } : {}),
      };
    }
    if ((response.status === 401 || response.status === 403) && response.url.origin === context.origin) {
      throw await accessDenied(response, request, context, await credentials(), sent, sentValue);
    }
    return response;
  };
}

/**
 * A challenge's `scope` may list several scopes separated by spaces; the token spec asks for each as a
 * `scope` parameter of its own.
 */
function challengeScopes(challenge: Challenge | undefined): string[] {
  return challenge?.params.scope?.split(/\s+/).filter(Boolean) ?? [];
}

function withoutScope(challenge: Challenge): Challenge {
  const { scope: _scope, ...params } = challenge.params;
  return { ...challenge, params };
}

async function accessDenied(
  response: HttpResponse,
  request: HttpRequest,
  context: AuthContext,
  lookup: CredentialLookup,
  sent: boolean,
  sentValue: string | undefined,
): Promise<ImgscopeError> {
  const error = await readRegistryError(response);
  const detail = summarize(error);
  const [, repository, actions] = /^repository:(.+):([a-z,*]+)$/.exec(request.scope ?? '') ?? [];
  const what = repository
    ? `${actions?.includes('push') ? 'push' : 'pull'} access to repository ${repository}`
    : 'access';
  const message = `registry ${context.registry} refused ${what} (${response.status}${detail ? ` ${detail}` : ''})`;
  const hint =
    forwardingProxyHint(response, error) ??
    (!sent && lookup.credential?.kind === 'identity-token'
      ? `the identity token from ${lookup.source} works only with a token service, and this registry asks for a username and password: log in again with \`docker login ${context.registry}\`, or set IMGSCOPE_USERNAME and IMGSCOPE_PASSWORD`
      : lookup.source && sentValue?.startsWith('Bearer ')
        ? // The token service took the credentials: the refusal is the repository's, as for a missing one.
          `the token service accepted the credentials from ${lookup.source}, but the registry refused them ${repository ? `for ${repository}` : 'this access'}: check that the repository exists (a missing one is refused the same way), and their permissions on it`
        : lookup.source
          ? `the credentials from ${lookup.source} were refused; check them, their permissions on ${repository ?? 'the repository'}, or log in again`
          : `the repository may not exist, or it needs credentials and none were found (looked in: ${lookup.searched.join('; ')}); run \`docker login ${context.registry}\` or set IMGSCOPE_USERNAME and IMGSCOPE_PASSWORD`);
  return new ImgscopeError('AUTH', message, { hint });
}
