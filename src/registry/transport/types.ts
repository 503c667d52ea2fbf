import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { ProxyServer } from './proxy.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: URL;
  /** Lowercase header names. */
  headers: Record<string, string>;
  /** Bytes can be sent again on retry; a stream cannot, so requests with one are never retried. */
  body?: Uint8Array | Readable;
  signal?: AbortSignal;
  /** The registry access this request needs (`repository:library/alpine:pull`), for the auth layer. */
  scope?: string;
  /** 1-based attempt number, set by the retry layer for the log. */
  attempt?: number;
  /**
   * A large body read once (a layer blob): a GET sent over its own connection and read in 1 MiB pieces
   * (bulk-get.ts) instead of through the keep-alive pool.
   */
  bulk?: boolean;
  /**
   * Set on a request a redirect sent to another origin (a blob to storage or a CDN): the registry URL it
   * began as. Failures then name the host that failed, never the signed URL redirected to.
   */
  redirectedFrom?: URL;
  /**
   * Set on a request to the token service a registry's challenge named (its realm): the registry's host.
   * The realm is the registry's setting, so failures never ask the user to fix its name.
   */
  tokenServiceOf?: string;
  /**
   * Failures that are this request's answer rather than a fault of the moment, never retried: a probe's
   * connection a TLS port drops is how that port refuses plain HTTP.
   */
  isAnswer?: (error: unknown) => boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Must be consumed or destroyed. */
  body: Readable;
  /** The URL that answered, after redirects. */
  url: URL;
  /**
   * How it came when not through the keep-alive pool — `own connection`, `through proxy HOST:PORT` — for
   * the debug log.
   */
  via?: string;
  /**
   * The proxy that forwarded a plain-HTTP request: its answer may be the proxy's own (a block page), not
   * the registry's. Unset for a tunnelled one, whose answer is the registry's.
   */
  forwardedBy?: ProxyServer;
  /**
   * The secrets the request carried in its Authorization header (a token, a Basic password), set on an
   * error answer: some registries echo that header in their error text, which is masked of them.
   */
  sentSecrets?: string[];
  /**
   * Where the credentials the request was sent with came from (`--username`, a config file, a helper),
   * set on an error answer: a rate limit is then the account's, not the lower anonymous one.
   */
  sentCredentialsFrom?: string;
}

/** One HTTP exchange. The transport is a stack of layers, each wrapping the next with one job. */
export type Exchange = (request: HttpRequest) => Promise<HttpResponse>;
export type Layer = (next: Exchange) => Exchange;

export function stack(base: Exchange, ...outermostFirst: Layer[]): Exchange {
  return outermostFirst.reduceRight((next, layer) => layer(next), base);
}

/** First value of a response header. */
export function headerValue(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function isReplayable(request: HttpRequest): boolean {
  return request.body === undefined || request.body instanceof Uint8Array;
}

/** Throws away a body we do not need, without letting its errors escape. */
export function discard(response: HttpResponse): void {
  response.body.on('error', () => {});
  response.body.resume();
}
