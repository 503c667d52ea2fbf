import { ImgscopeError } from '../../errors.js';
import { TIMEOUT_VARIABLES } from '../timeout-variables.js';
import type { ProxyServer } from './proxy.js';
import { redactUrl } from './redact.js';
import type { HttpRequest } from './types.js';

/** Failures worth another attempt: the connection or the server's timing, never the content. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'PREMATURE_END',
  // bulk-get.ts
  'CONNECT_TIMEOUT',
  'HEADERS_TIMEOUT',
  'BODY_TIMEOUT',
  'CLOSED_EARLY',
]);

/** The error and its causes, outermost first, at most five deep. */
function* causeChain(error: unknown): Generator<Error> {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) yield e;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EPROTO') {
    // A TLS alert met by a socket write (a bulk GET writes its request at once) comes as EPROTO with
    // OpenSSL's reason in the message: the code Node.js gives the same alert elsewhere, as OpenSSL names it.
    const alert = /:((?:sslv3|tlsv1|tlsv13) alert [a-z ]+)(?::|\s*$)/.exec((error as Error).message ?? '');
    if (alert) return `ERR_SSL_${alert[1]!.toUpperCase().replaceAll(' ', '_')}`;
  }
  return typeof code === 'string' ? code : undefined;
}

export function isTransientNetworkError(error: unknown): boolean {
  for (const e of causeChain(error)) {
    if (e instanceof ImgscopeError && e.code !== 'NETWORK') return false;
    const code = codeOf(e);
    if (code && TRANSIENT_CODES.has(code)) return true;
  }
  return false;
}

/**
 * A failure that may be a TLS-only port refusing plain HTTP without a 400: the connection dropped, or an
 * answer that is not HTTP at all.
 */
export function mayBeRefusedTls(error: unknown): boolean {
  for (const e of causeChain(error)) {
    const code = codeOf(e);
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code?.startsWith('HPE_')) return true;
  }
  return false;
}

/** Errors a connection failed with before it was up (its TLS handshake done), as its connector saw them. */
const connectFailures = new WeakSet<object>();

/** Marks `error` as a connection's failure before it was up: a reset then is no TLS server's refusal. */
export function failedConnecting<T>(error: T): T {
  if (typeof error === 'object' && error !== null) connectFailures.add(error);
  return error;
}

/**
 * A connection that closed after its TLS handshake, before any answer: undici sends a request only once
 * the handshake is done (a drop during it is Node.js's "disconnected before secure TLS connection was
 * established", a reset during it a failure its connector marked), so the server speaks TLS and refused us.
 */
export function closedAfterTlsHandshake(error: unknown, url: URL): boolean {
  if (url.protocol !== 'https:') return false;
  for (const e of causeChain(error)) {
    if (connectFailures.has(e)) return false;
    const code = codeOf(e);
    if (code === 'UND_ERR_SOCKET') return true;
    if (code === 'ECONNRESET' && !/before secure TLS connection/.test(e.message)) return true;
  }
  return false;
}

/** Such a close, told apart: its message and hint are a TLS server's refusal (a client certificate wanted). */
export function tlsServerClosed(error: unknown): Error {
  return Object.assign(
    new Error('the TLS server closed the connection without answering', { cause: error }),
    {
      code: 'TLS_CLOSED_UNANSWERED',
    },
  );
}

/** The TLS alerts (RFC 8446 §6.2, RFC 5246 §7.2) a server refuses a connection with, by number. */
const TLS_ALERTS: Record<number, string> = {
  10: 'unexpected message',
  20: 'bad record mac',
  22: 'record overflow',
  40: 'handshake failure',
  42: 'bad certificate',
  43: 'unsupported certificate',
  44: 'certificate revoked',
  45: 'certificate expired',
  46: 'certificate unknown',
  47: 'illegal parameter',
  48: 'unknown ca',
  49: 'access denied',
  50: 'decode error',
  51: 'decrypt error',
  70: 'protocol version',
  71: 'insufficient security',
  80: 'internal error',
  86: 'inappropriate fallback',
  90: 'user canceled',
  109: 'missing extension',
  110: 'unsupported extension',
  112: 'unrecognized name',
  113: 'bad certificate status response',
  115: 'unknown psk identity',
  116: 'certificate required',
  120: 'no application protocol',
};

/**
 * The alert a TLS server sent, as OpenSSL's message numbers it (`…:SSL alert number 112`), or, in an
 * OpenSSL built without that detail, as its reason names it (`…:SSL routines::tlsv1 unrecognized name`).
 */
function tlsAlertOf(error: unknown): { number: number; name: string } | undefined {
  for (const e of causeChain(error)) {
    const numbered = /SSL alert number (\d+)/.exec(e.message);
    if (numbered) {
      const number = Number(numbered[1]);
      return { number, name: TLS_ALERTS[number] ?? `alert ${number}` };
    }
    const named = /:(?:sslv3|tlsv1|tlsv13) (?:alert )?([a-z ]+?)(?::|\s*$)/.exec(e.message);
    const number = named && Object.entries(TLS_ALERTS).find(([, name]) => name === named[1]);
    if (number) return { number: Number(number[0]), name: number[1] };
  }
  return undefined;
}

/** An alert the TLS server sent: it refused the connection, for a reason it names (`ERR_SSL_…_ALERT_…`). */
export function isTlsAlert(error: Error): boolean {
  return /^ERR_SSL_.*_ALERT_/.test(codeOf(error) ?? '') || tlsAlertOf(error) !== undefined;
}

/** A failure because a TLS server refused the connection: it speaks TLS, and said why. */
export function isTlsRefusal(error: unknown): boolean {
  for (const e of causeChain(error)) if (isTlsAlert(e)) return true;
  return false;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || codeOf(error) === 'UND_ERR_ABORTED');
}

const DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'the response body stalled',
  UND_ERR_SOCKET: 'the connection closed early',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the body did not match its Content-Length',
  PREMATURE_END: 'the body ended early',
  CONNECT_TIMEOUT: 'connect timed out',
  HEADERS_TIMEOUT: 'no response headers in time',
  BODY_TIMEOUT: 'the response body stalled',
  CLOSED_EARLY: 'the connection closed early',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the server does not speak HTTPS',
  TLS_CLOSED_UNANSWERED:
    'the server completed the TLS handshake, then closed the connection without answering',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'the server wants a client certificate',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'the server refused the TLS handshake',
  // Go's TLS servers (Distribution, Harbor) send this for a missing client certificate too.
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'the server wants a client certificate it accepts',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'the server does not trust the client certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'the server refused the client certificate as expired',
};

/**
 * Hints for a server refusing the client certificate (mutual TLS), by error code: `host` refused it, for
 * the registry `registry` (the same host, or the one that redirected to its storage); `folder` is the
 * registry's certs.d folder, which holds the client certificate for all its hosts, unset when it is not read.
 */
type ClientCertificateHint = (host: string, folder: string | undefined, registry: string) => string;
const CLIENT_CERTIFICATE_HINTS: Record<string, ClientCertificateHint> = {
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: (host, folder, registry) =>
    clientCertificateHint(host, folder, registry),
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: (host, folder, registry) =>
    clientCertificateHint(host, folder, registry),
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: (host, folder, registry) => clientCertificateHint(host, folder, registry),
  // A bare handshake failure is how TLS 1.2 servers refuse a missing client certificate, and how any
  // refuses a client that shares no TLS version or cipher with it: the alert does not tell which.
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: (host, folder, registry) =>
    `${host} wants either a client certificate (${clientCertificateHint(host, folder, registry)}), or a TLS version or cipher Node.js does not offer (it offers TLS 1.2 and 1.3): if not the first, ask the registry's operator what its TLS setup expects`,
  // A server that checks the client certificate after a TLS 1.3 handshake may close without an alert.
  TLS_CLOSED_UNANSWERED: (host, folder, registry) =>
    `if ${host} wants a client certificate, ${clientCertificateHint(host, folder, registry)}`,
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: (_host, folder) =>
    `renew the client certificate${folder ? ` in ${folder}/` : ''}`,
};

const clientCertificateHint: ClientCertificateHint = (host, folder, registry) =>
  folder
    ? `put a client certificate ${host} accepts in ${folder}/ as NAME.cert, its key as NAME.key`
    : `reach ${registry} by a name neither loopback nor marked insecure, its client certificate in that name's certs.d folder: as docker, imgscope reads none for an insecure registry`;

/** The first code in the cause chain that `known` has a key for. */
function codeIn(error: unknown, known: Record<string, unknown>): string | undefined {
  for (const e of causeChain(error)) {
    const code = codeOf(e);
    if (code && Object.hasOwn(known, code)) return code;
  }
  return undefined;
}

function describedCode(error: unknown): string | undefined {
  return codeIn(error, DESCRIPTIONS);
}

/**
 * `folder` is the registry's certs.d folder, whose CAs apply to its token service and storage too; none
 * for an insecure registry, whose folder is not read.
 */
const UNTRUSTED_CA = (hostname: string, folder: string | undefined) =>
  `${hostname}'s certificate is not signed by a CA Node.js trusts; if it comes from your own CA, ${
    folder
      ? `put the CA's PEM file in ${folder}/ca.crt, or set NODE_EXTRA_CA_CERTS to it`
      : "set NODE_EXTRA_CA_CERTS to the CA's PEM file"
  }`;

/** Hints for the certificate checks Node.js's TLS fails with, by error code. */
const CERTIFICATE_HINTS: Record<string, (hostname: string, folder: string | undefined) => string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: UNTRUSTED_CA,
  SELF_SIGNED_CERT_IN_CHAIN: UNTRUSTED_CA,
  UNABLE_TO_GET_ISSUER_CERT: UNTRUSTED_CA,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: UNTRUSTED_CA,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: UNTRUSTED_CA,
  CERT_HAS_EXPIRED: (hostname) => `${hostname}'s certificate has expired; its owner must renew it`,
  CERT_NOT_YET_VALID: (hostname) =>
    `${hostname}'s certificate is not valid yet by this machine's clock: check the clock (date -u), or wait`,
  ERR_TLS_CERT_ALTNAME_INVALID: (hostname) =>
    `the certificate is not for ${hostname}; use the registry's name as its certificate gives it`,
};

/** A failure because this machine refused the server's certificate (untrusted, expired, for another name). */
export function isCertificateRefusal(error: unknown): boolean {
  return codeIn(error, CERTIFICATE_HINTS) !== undefined;
}

export function describeNetworkError(error: unknown): string {
  const code = describedCode(error);
  if (code) return DESCRIPTIONS[code]!;
  // Any other alert: named, never OpenSSL's own text (`…:error:0A000458:SSL routines:…`).
  const alert = tlsAlertOf(error);
  if (alert) return `the server refused the TLS connection (TLS alert: ${alert.name})`;
  const refusal = proxyRefusal(error);
  if (refusal) return `the proxy refused the ${refusal.of} (HTTP ${refusal.status})`;
  return error instanceof Error ? error.message : String(error);
}

/** A failure on the way through a proxy: messages name the proxy, not only the registry. */
export class ProxiedFailure extends Error {
  constructor(
    readonly proxy: ProxyServer,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

function proxiedFailure(error: unknown): ProxiedFailure | undefined {
  for (const e of causeChain(error)) {
    if (e instanceof ProxiedFailure) return e;
  }
  return undefined;
}

/**
 * The status of a proxy's refusal, which undici reports only in its message: of a CONNECT tunnel (an HTTPS
 * registry), or the 407 of a request forwarded to a plain-HTTP registry.
 */
function proxyRefusal(error: unknown): { status: number; of: 'tunnel' | 'request' } | undefined {
  for (const e of causeChain(error)) {
    const tunnel = /^Proxy response \((\d{3})\)/.exec(e.message);
    if (tunnel) return { status: Number(tunnel[1]), of: 'tunnel' };
    if (/^Proxy Authentication Required \(407\)/.test(e.message)) return { status: 407, of: 'request' };
  }
  return undefined;
}

/** The failure under a NETWORK ImgscopeError, so a final message can count the attempts. */
export function underlyingFailure(error: unknown): unknown {
  return error instanceof ImgscopeError && error.code === 'NETWORK' && error.cause ? error.cause : error;
}

/**
 * The one-line error a user sees when the network gave up on a request; `certsFolder` is the certs.d
 * folder of the registry the request was made for, when it is read.
 */
export function networkFailure(
  request: Pick<HttpRequest, 'method' | 'url' | 'redirectedFrom' | 'tokenServiceOf'>,
  error: unknown,
  attempts = 1,
  certsFolder?: string,
) {
  if (error instanceof ImgscopeError) return error;
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
  const proxy = proxiedFailure(error)?.proxy;
  const through = proxy ? ` through the proxy ${proxy.url.host} (${proxy.variable})` : '';
  // A redirect target is a signed URL (credentials in its query or path): only its host is printed.
  const what = request.redirectedFrom
    ? `${redactUrl(request.redirectedFrom)}, redirected to ${request.url.host}`
    : redactUrl(request.url);
  return new ImgscopeError(
    'NETWORK',
    `${request.method} ${what}${through}: ${describeNetworkError(error)}${tries}`,
    { hint: networkHint(request, error, proxy, certsFolder), cause: error },
  );
}

/**
 * The failure of a request's last attempt, counting them. Its hint stands as the transport made it, which
 * knew the registry's certs.d folder.
 */
export function retriedFailure(
  request: Pick<HttpRequest, 'method' | 'url' | 'redirectedFrom' | 'tokenServiceOf'>,
  error: unknown,
  attempts: number,
): ImgscopeError {
  const failure = networkFailure(request, underlyingFailure(error), attempts);
  const hint = error instanceof ImgscopeError && error.code === 'NETWORK' ? error.hint : undefined;
  if (!hint || hint === failure.hint) return failure;
  return new ImgscopeError('NETWORK', failure.message, { hint, cause: failure.cause });
}

/** The timeout each timeout error code means. */
const TIMEOUT_OF_CODE: Record<string, keyof typeof TIMEOUT_VARIABLES> = {
  ETIMEDOUT: 'connectMs',
  UND_ERR_CONNECT_TIMEOUT: 'connectMs',
  CONNECT_TIMEOUT: 'connectMs',
  UND_ERR_HEADERS_TIMEOUT: 'headersMs',
  HEADERS_TIMEOUT: 'headersMs',
  UND_ERR_BODY_TIMEOUT: 'bodyIdleMs',
  BODY_TIMEOUT: 'bodyIdleMs',
};

const raise = (timeout: keyof typeof TIMEOUT_VARIABLES) =>
  `if it is only slow, raise ${TIMEOUT_VARIABLES[timeout]} (in milliseconds)`;

/** Hints for a registry that cannot be reached or answers too slowly, by error code. */
const REACHABILITY_HINTS: Record<string, (host: string, hostname: string) => string> = {
  ECONNREFUSED: (host) =>
    `nothing accepts connections at ${host}: check the registry's name and port, and that it runs`,
  ENOTFOUND: (_host, hostname) => `check the spelling of ${hostname}, and this machine's DNS`,
  EAI_AGAIN: (_host, hostname) => `${hostname} could not be looked up just now: check this machine's DNS`,
  ...Object.fromEntries(
    Object.entries(TIMEOUT_OF_CODE).map(([code, timeout]) => [
      code,
      (host: string) => `check that the registry at ${host} is up; ${raise(timeout)}`,
    ]),
  ),
};

/** What to do about a TLS alert with no hint of its own: it is the server's setup, or this machine's. */
const TLS_REFUSED = (host: string) =>
  `${host}'s TLS server refused the connection: check that ${host} is the registry's name and port; if it is, ask the registry's operator what its TLS setup expects`;

/** The alerts whose hints name the client certificate (refused, revoked, or maybe wanted). */
const CLIENT_CERTIFICATE_ALERTS = new Set([43, 44, 46, 49]);

/** Hints for the other alerts a TLS server refuses a connection with, by alert number. */
const TLS_ALERT_HINTS: Record<
  number,
  (host: string, hostname: string, folder: string | undefined, registry: string) => string
> = {
  // The client certificate, refused as it is: another one is the fix.
  43: (host, _hostname, folder, registry) =>
    `the server refused the client certificate: ${clientCertificateHint(host, folder, registry)}`,
  44: (host, _hostname, folder, registry) =>
    `the client certificate was revoked: ${clientCertificateHint(host, folder, registry)}`,
  46: (host, _hostname, folder, registry) =>
    `the server refused the client certificate: ${clientCertificateHint(host, folder, registry)}`,
  49: (host, _hostname, folder, registry) =>
    `${host} refuses this client: if it wants a client certificate, ${clientCertificateHint(host, folder, registry)}; else ask its operator to allow this machine`,
  70: (host) =>
    `${host} wants a TLS version Node.js does not offer (it offers TLS 1.2 and 1.3): ask the registry's operator to enable TLS 1.2 or later`,
  71: (host) =>
    `${host} wants stronger TLS ciphers than Node.js offered: ask the registry's operator which it requires`,
  80: (host) => `${host}'s TLS server failed on its side: try again later, or tell the registry's operator`,
  112: (_host, hostname) =>
    `the TLS server does not know the name ${hostname} (SNI): reach the registry by the name its TLS server is set up for, as its certificate gives it`,
};

/** A host the registry sent imgscope to, named with why: its storage (a redirect), or its token service. */
function registryChosenHost(
  request: Pick<HttpRequest, 'url' | 'redirectedFrom' | 'tokenServiceOf'>,
): string | undefined {
  const { host } = request.url;
  // A token service may redirect too: it stays the token service.
  if (request.tokenServiceOf)
    return `${host}, the token service registry ${request.tokenServiceOf} sends imgscope to`;
  if (request.redirectedFrom) return `${host}, where the registry sends blob downloads (its storage or CDN)`;
  return undefined;
}

/**
 * For a host the registry sent imgscope to (`where` names it and why): its storage, or its token service.
 * The registry's name and port are not the problem, and the host's are the registry's choice.
 */
function registryChosenHostHint(where: string, error: unknown): string {
  const code = codeIn(error, REACHABILITY_HINTS);
  if (code === 'ECONNREFUSED') {
    return `nothing accepts connections at ${where}: check that this machine may connect to it, or tell the registry's operator`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `${where} could not be looked up: check this machine's DNS, or tell the registry's operator`;
  }
  const timeout = code && TIMEOUT_OF_CODE[code];
  if (timeout) return `check that this machine may connect to ${where}; ${raise(timeout)}`;
  return `check that this machine may connect to ${where}`;
}

/** Whether a proxy's answer asks for its login: squid answers a wrong one with 407 again, tinyproxy with 401. */
export function isProxyLoginStatus(status: number): boolean {
  return status === 407 || status === 401;
}

/** What to do about a proxy that wants a login: give one, or check the one given. */
export function proxyLoginHint(proxy: ProxyServer): string {
  if (proxy.url.username !== '' || proxy.url.password !== '') {
    return `the proxy refused the login in ${proxy.variable}: check its USER and PASSWORD (a password holding /, ?, # or % percent-encoded)`;
  }
  return `the proxy wants a login: put it in ${proxy.variable} as http://USER:PASSWORD@${proxy.url.host}`;
}

/** The proxy answered the CONNECT, so it is reachable: the hint is about its login or what it may reach. */
function tunnelHint(proxy: ProxyServer, status: number, url: URL): string {
  if (isProxyLoginStatus(status)) return proxyLoginHint(proxy);
  return `the proxy answered but would not or could not connect to ${url.host}: ask its operator to allow ${url.host}, or add ${url.hostname} to NO_PROXY if this machine reaches it directly`;
}

function networkHint(
  request: Pick<HttpRequest, 'url' | 'redirectedFrom' | 'tokenServiceOf'>,
  error: unknown,
  proxy: ProxyServer | undefined,
  certsFolder: string | undefined,
): string {
  const { host, hostname } = request.url;
  if (describedCode(error) === 'ERR_SSL_WRONG_VERSION_NUMBER' && request.tokenServiceOf) {
    // --insecure-registry changes the registry's own scheme, never the realm's: that is the registry's.
    return `registry ${request.tokenServiceOf} names its token service by an https:// realm, but ${host} speaks plain HTTP: tell the registry's operator (imgscope takes the realm as the registry gives it)`;
  }
  if (describedCode(error) === 'ERR_SSL_WRONG_VERSION_NUMBER' && !request.redirectedFrom) {
    return `if ${host} is a plain-HTTP registry you trust, add --insecure-registry ${host}`;
  }
  const certificate = codeIn(error, CERTIFICATE_HINTS);
  const chosen = registryChosenHost(request);
  if (certificate === 'ERR_TLS_CERT_ALTNAME_INVALID' && chosen) {
    // The storage's and token service's names are the registry's choice, not a name the user can change.
    return `${chosen}, has a certificate for another name: tell the registry's operator`;
  }
  if (certificate) return CERTIFICATE_HINTS[certificate]!(hostname, certsFolder);
  // The registry's client certificate is presented to the storage it redirects to too: the same fix.
  const clientCertificate = codeIn(error, CLIENT_CERTIFICATE_HINTS);
  if (clientCertificate) {
    const registry = request.tokenServiceOf ?? request.redirectedFrom?.host ?? host;
    return CLIENT_CERTIFICATE_HINTS[clientCertificate]!(host, certsFolder, registry);
  }
  const alert = tlsAlertOf(error);
  if (alert) {
    // The storage's and token service's names and TLS setup are the registry's choice: only a client
    // certificate is the user's.
    if (request.tokenServiceOf && !CLIENT_CERTIFICATE_ALERTS.has(alert.number)) {
      return `${host}, the token service registry ${request.tokenServiceOf} sends imgscope to (the realm it names), refused the TLS connection: tell the registry's operator`;
    }
    if (request.redirectedFrom && !CLIENT_CERTIFICATE_ALERTS.has(alert.number)) {
      return `${host}, where the registry sends blob downloads (its storage or CDN), refused the TLS connection: tell the registry's operator`;
    }
    const registry = request.tokenServiceOf ?? request.redirectedFrom?.host ?? host;
    return (TLS_ALERT_HINTS[alert.number] ?? TLS_REFUSED)(host, hostname, certsFolder, registry);
  }
  const refusal = proxy && proxyRefusal(error);
  if (proxy && refusal) return tunnelHint(proxy, refusal.status, request.url);
  if (proxy) return `check that the proxy in ${proxy.variable} is reachable, or add ${hostname} to NO_PROXY`;
  if (chosen) return registryChosenHostHint(chosen, error);
  // The registry's first request: a server that wants a client certificate may close without an alert.
  if (request.url.pathname === '/v2/' && closedAfterTlsHandshake(error, request.url)) {
    return `if ${host} wants a client certificate, ${clientCertificateHint(host, certsFolder, host)}; else check that the registry at ${host} is up`;
  }
  const code = codeIn(error, REACHABILITY_HINTS);
  if (code) return REACHABILITY_HINTS[code]!(host, hostname);
  return `check that the registry at ${host} is reachable`;
}

/** A body that ended before the bytes it promised: retried or resumed like a reset. */
export function prematureEnd(received: number, expected: number): Error {
  return Object.assign(new Error(`body ended after ${received} of ${expected} bytes`), {
    code: 'PREMATURE_END',
  });
}
