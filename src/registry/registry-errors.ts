import { ImgscopeError } from '../errors.js';
import { masked } from './auth/secrets.js';
import { readSmallBody } from './transport/body.js';
import { isProxyLoginStatus, proxyLoginHint } from './transport/network-errors.js';
import type { ProxyServer } from './transport/proxy.js';
import { redactUrl } from './transport/redact.js';
import { parseRetryAfter } from './transport/retry.js';
import { type HttpResponse, headerValue } from './transport/types.js';

/** The first entry of a distribution-spec error body: `{"errors":[{"code","message","detail"}]}`. */
export interface RegistryErrorBody {
  code: string;
  message: string;
}

/**
 * An error document only words the failure, which its status already gives: one that trickles in is
 * given up after this, and the failure reported without its words, rather than holding imgscope up.
 */
const ERROR_BODY_DEADLINE_MS = 10_000;

export async function readRegistryError(response: HttpResponse): Promise<RegistryErrorBody | undefined> {
  let text: string;
  try {
    text = (
      await readSmallBody(response.body, 64 * 1024, 'error body', { ms: ERROR_BODY_DEADLINE_MS })
    ).toString('utf8');
  } catch {
    return undefined;
  }
  // Messages are the registry's words, shown to the user: one line, bounded, and without the
  // credentials of the request, which some registries quote back.
  const shown = (text: string, length: number) =>
    masked(text, response.sentSecrets).replace(/\s+/g, ' ').slice(0, length);
  try {
    const doc = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = doc.errors?.[0];
    if (first && typeof first.code === 'string') {
      const message = typeof first.message === 'string' ? shown(first.message, 200) : '';
      return { code: shown(first.code, 64), message };
    }
  } catch {}
  // The storage a registry redirects blobs to (S3, GCS, Azure) words its refusals in XML:
  // `<Error><Code>AccessDenied</Code><Message>Request has expired</Message>…</Error>`.
  const code = /<Error>[\s\S]*?<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  if (code) {
    const message = /<Error>[\s\S]*?<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
    return { code: shown(xmlText(code), 64), message: shown(xmlText(message), 200) };
  }
  return undefined;
}

/** XML character data with its five predefined entities read. */
function xmlText(text: string): string {
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => entities[name]!);
}

/**
 * For a refusal with no registry error document that a proxy forwarded: the proxy's own answer (a block
 * page) more likely than the registry's, which sends an error document with every 4xx and 5xx.
 */
export function forwardingProxyHint(
  response: HttpResponse,
  error: RegistryErrorBody | undefined,
): string | undefined {
  const proxy = response.forwardedBy;
  if (!proxy || error) return undefined;
  if (response.status === 401 && !isProxysOwn401(response, proxy)) return undefined;
  const through = `the answer came through the proxy ${proxy.url.host} (${proxy.variable}) and is no registry error`;
  if (isProxyLoginStatus(response.status)) return `${through}: ${proxyLoginHint(proxy)}`;
  return `${through}: the proxy may refuse ${response.url.host}; ask its administrator, or add ${response.url.hostname} to NO_PROXY`;
}

/**
 * A proxy asks for a login by 407; tinyproxy refuses a wrong one by 401, with no `Via`. A 401 the proxy
 * forwarded carries its `Via` (RFC 9110 §7.6.3), and one through a proxy given no login cannot be its
 * refusal of that login: both are the server's (a token service's `Auth failed.`, nginx's basic-auth page).
 */
function isProxysOwn401(response: HttpResponse, proxy: ProxyServer): boolean {
  const loginGiven = proxy.url.username !== '' || proxy.url.password !== '';
  return loginGiven && headerValue(response, 'via') === undefined;
}

export function summarize(error: RegistryErrorBody | undefined): string {
  if (!error) return '';
  return error.message ? `${error.code}: ${error.message}` : error.code;
}

export interface FailureContext {
  /** What was asked for, as the user would name it: `127.0.0.1:5000/app:v1`, `layer sha256:… of app`. */
  subject: string;
  /** `registry/repository`. */
  repositoryName: string;
  what: 'manifest' | 'blob' | 'upload';
  /** The registry's origin: an answer from elsewhere came from the storage it redirected to. */
  origin?: string;
}

/**
 * What to do about a rate limit: anonymous pulls have the lowest, so log in; with credentials sent, the
 * limit is their account's, and logging in again changes nothing.
 */
export function rateLimitHint(registry: string, credentialsFrom: string | undefined): string {
  return credentialsFrom
    ? `wait and try again; the limit is that of the account whose credentials were sent (from ${credentialsFrom})`
    : `wait and try again; pulling anonymously has the lowest limit: log in with \`docker login ${registry}\``;
}

/** Turns a registry's refusal into one readable line (exit 2). Consumes the response body. */
export async function registryFailure(
  response: HttpResponse,
  context: FailureContext,
): Promise<ImgscopeError> {
  const body = await readRegistryError(response);
  const code = body?.code ?? '';
  const detail = `${response.status}${body ? ` ${summarize(body)}` : ''}`;
  const proxyHint = forwardingProxyHint(response, body);
  if (proxyHint) {
    return new ImgscopeError(
      'REGISTRY',
      `${context.subject}: ${redactUrl(response.url)} answered ${detail}`,
      {
        hint: proxyHint,
      },
    );
  }
  if (context.origin && response.url.origin !== context.origin) {
    // A pre-signed storage URL that expired or was refused: no login of the user's changes that.
    return new ImgscopeError(
      'REGISTRY',
      `${context.subject}: the storage the registry redirected to, ${redactUrl(response.url)}, answered ${detail}`,
      {
        hint:
          response.status >= 500
            ? "the registry's storage is failing; try again later"
            : response.status === 404
              ? "the registry's storage has lost it; report it to the registry operator"
              : "the registry's storage refused the registry's own signed link (expired?); try again, and report it to the registry operator if it persists",
      },
    );
  }
  if (code === 'NAME_UNKNOWN') {
    return new ImgscopeError(
      'NOT_FOUND',
      `${context.subject}: repository ${context.repositoryName} does not exist (${detail})`,
      {
        hint: 'check the repository name; a private repository can also look missing without credentials',
      },
    );
  }
  if (code === 'MANIFEST_UNKNOWN' || (response.status === 404 && context.what === 'manifest')) {
    // A registry says which: MANIFEST_UNKNOWN, NAME_UNKNOWN. A bare 404 ("404 page not found") is as
    // likely a server that is no registry, at a wrong host or port.
    const tag = 'check the tag; list the tags that exist with `skopeo list-tags docker://REPOSITORY`';
    return new ImgscopeError(
      'NOT_FOUND',
      `${context.subject}: no such tag or digest in ${context.repositoryName} (${detail})`,
      {
        hint: body
          ? tag
          : `${tag}; the answer carries no registry error, so check too that ${response.url.host} is the registry's host and port`,
      },
    );
  }
  if (code === 'BLOB_UNKNOWN' || response.status === 404) {
    return new ImgscopeError('NOT_FOUND', `${context.subject}: the registry does not have it (${detail})`, {
      hint: 'the image is incomplete in the registry; re-push it',
    });
  }
  if (code === 'UNAUTHORIZED' || code === 'DENIED' || response.status === 401 || response.status === 403) {
    return new ImgscopeError('AUTH', `${context.subject}: access refused by the registry (${detail})`, {
      hint: 'check your credentials and their permissions on the repository',
    });
  }
  if (code === 'TOOMANYREQUESTS' || response.status === 429) {
    const retryAfter = parseRetryAfter(headerValue(response, 'retry-after'));
    const wait = retryAfter ? `; it asks to wait ${Math.ceil(retryAfter / 1000)} s` : '';
    const registry = context.repositoryName.slice(0, context.repositoryName.indexOf('/'));
    return new ImgscopeError(
      'REGISTRY',
      `${context.subject}: rate-limited by the registry (${detail})${wait}`,
      {
        hint: rateLimitHint(registry, response.sentCredentialsFrom),
      },
    );
  }
  return new ImgscopeError('REGISTRY', `${context.subject}: ${redactUrl(response.url)} answered ${detail}`, {
    hint:
      response.status >= 500
        ? 'the registry is failing; try again later'
        : 'the registry refused the request',
  });
}
