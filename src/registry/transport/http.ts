import type { Readable } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { BulkConnections, type BulkTls } from './bulk-connections.js';
import { type BulkResponse, bulkGet } from './bulk-get.js';
import { failedConnecting, isTlsAlert, networkFailure, ProxiedFailure } from './network-errors.js';
import { NO_PROXIES, type ProxyServer, type ProxySettings, proxyFor } from './proxy.js';
import type { Exchange, HttpRequest, HttpResponse } from './types.js';
import {
  buildConnector,
  loadProxyAgent,
  Pool,
  type UndiciDispatcher,
  type UndiciPool,
  undiciRequest,
} from './undici-pool.js';

type Connector = ReturnType<typeof buildConnector>;

export interface Timeouts {
  /** TCP + TLS connect. */
  connectMs: number;
  /** From sending the request to the last response header. */
  headersMs: number;
  /** Longest silence between two body chunks. */
  bodyIdleMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 15_000, headersMs: 30_000, bodyIdleMs: 30_000 };

/**
 * How long a small document (manifest, index, config, token) may take to arrive whole: twice the idle
 * timeout, so that a body that stalls meets the idle timeout first (a transient failure, asked again), and
 * only one that trickles meets this. Capped at the longest delay a Node.js timer honours.
 */
export function documentDeadlineMs(timeouts: Timeouts): number {
  return Math.min(2 * timeouts.bodyIdleMs, 2 ** 31 - 1);
}

/**
 * The bottom of the transport: one keep-alive undici Pool per origin (registry, token service, blob
 * storage), created on first use and closed together; bulk GETs (layer blobs) on connections of their own,
 * each kept alive for the next blob; and, where HTTPS_PROXY / HTTP_PROXY apply, one tunnelling undici
 * ProxyAgent per proxy instead of both.
 */
export class ConnectionPools {
  private readonly pools = new Map<string, UndiciPool>();
  private readonly proxyAgents = new Map<string, UndiciDispatcher>();
  private readonly bulkBodies = new Set<Readable>();
  private readonly bulkConnections = new BulkConnections();
  /**
   * Per origin, the event-loop turn after its last pooled response ended. undici takes a connection back
   * only then; a request sent sooner finds it busy and opens another connection (a TCP and TLS handshake
   * more), so a request waits for that turn first (at once, once it has passed).
   */
  private readonly settling = new Map<string, Promise<void>>();
  /** HTTPS origins whose certificate is not checked (registries the user or loopback made insecure). */
  private readonly unchecked = new Set<string>();
  /** No certificate is checked, at any origin: the registry was marked insecure. */
  private uncheckedEverywhere = false;
  /**
   * Per origin, the last TLS alert a pooled connection got after its handshake (TLS 1.3 servers refuse a
   * missing or unknown client certificate so): undici reports the connection as closed, not why.
   */
  private readonly tlsAlerts = new Map<string, Error>();
  /** Aborted by `close`: ends the bulk GETs still waiting for their response. */
  private readonly closing = new AbortController();

  constructor(
    private readonly timeouts: Timeouts,
    private readonly proxies: ProxySettings = NO_PROXIES,
    /**
     * The registry's certs.d trust (extra CAs, a client certificate), for every HTTPS connection its
     * client makes — token service and storage included, as docker's one transport per registry does.
     */
    private readonly secureContext?: SecureContext,
    /** That certs.d folder, for certificate hints; unset when it is not read (an insecure registry). */
    private readonly certsFolder?: string,
  ) {}

  /** Connections to `origin` (https://HOST:PORT) accept any certificate from now on. */
  skipCertificateCheck(origin: string): void {
    this.unchecked.add(origin);
  }

  /**
   * Every connection accepts any certificate: the registry's, and its token service's and storage's, as
   * docker's one transport per insecure registry does.
   */
  skipEveryCertificateCheck(): void {
    this.uncheckedEverywhere = true;
  }

  private isUnchecked(origin: string): boolean {
    return this.uncheckedEverywhere || this.unchecked.has(origin);
  }

  readonly exchange: Exchange = async (request: HttpRequest): Promise<HttpResponse> => {
    const proxy = proxyFor(request.url, this.proxies);
    const unchecked = this.isUnchecked(request.url.origin);
    const tls = this.tlsOptions(unchecked);
    try {
      if (proxy)
        return await this.dispatch(this.proxyAgent(proxy, unchecked, tls), request, {
          via: `through proxy ${proxy.url.host}`,
          ...(request.url.protocol === 'http:' && proxy.url.protocol === 'http:'
            ? { forwardedBy: proxy }
            : {}),
        });
      return request.bulk && request.method === 'GET' && request.body === undefined
        ? this.tracked(
            await bulkGet(this.untilClosed(request), {
              timeouts: this.timeouts,
              connections: this.bulkConnections,
              ...(tls ? { tls } : {}),
            }),
          )
        : await this.dispatch(this.pool(request.url.origin), request);
    } catch (caught) {
      if (request.signal?.aborted) throw caught;
      const alert = this.tlsAlerts.get(request.url.origin);
      this.tlsAlerts.delete(request.url.origin);
      const error = alert && (caught as { code?: unknown }).code === 'UND_ERR_SOCKET' ? alert : caught;
      throw networkFailure(request, proxy ? new ProxiedFailure(proxy, error) : error, 1, this.certsFolder);
    }
  };

  private async dispatch(
    dispatcher: UndiciDispatcher,
    request: HttpRequest,
    route: Pick<HttpResponse, 'via' | 'forwardedBy'> = {},
  ): Promise<HttpResponse> {
    const { url } = request;
    await this.settling.get(url.origin);
    const response = await undiciRequest.call(dispatcher, {
      origin: url.origin,
      method: request.method,
      path: `${url.pathname}${url.search}`,
      // A copy: undici's forwarding proxy client adds `host` to the object it is given, and a redirect
      // would carry that host to another origin.
      headers: { ...request.headers },
      body: request.body ?? null,
      signal: request.signal ?? null,
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyIdleMs,
    });
    response.body.once('end', () => {
      this.settling.set(url.origin, new Promise((resolve) => setImmediate(resolve)));
    });
    return { status: response.statusCode, headers: response.headers, body: response.body, url, ...route };
  }

  private proxyAgent(proxy: ProxyServer, unchecked: boolean, tls: BulkTls | undefined): UndiciDispatcher {
    const key = `${unchecked ? 'unchecked ' : ''}${proxy.url.href}`;
    let agent = this.proxyAgents.get(key);
    if (!agent) {
      const ProxyAgent = loadProxyAgent();
      agent = new ProxyAgent({
        uri: proxy.url.href,
        // A plain-HTTP registry is asked through the proxy as Go asks it (GET http://HOST/…), not through a
        // CONNECT tunnel, which proxies commonly allow to port 443 only (Squid's and Debian's defaults).
        proxyTunnel: false,
        connections: 8,
        connect: { timeout: this.timeouts.connectMs },
        keepAliveTimeout: 30_000,
        ...(tls ? { requestTls: tls } : {}),
        // Each tunnelled origin's pool: its connector opens the tunnel, then TLS inside it.
        factory: (origin: string | URL, options: object) => {
          const { connect } = options as { connect: Connector };
          return new Pool(origin, {
            ...options,
            connect: this.notingTlsAlerts(new URL(origin).origin, connect),
          });
        },
      });
      this.proxyAgents.set(key, agent);
    }
    return agent;
  }

  private tlsOptions(unchecked: boolean): BulkTls | undefined {
    if (!unchecked && !this.secureContext) return undefined;
    return {
      ...(this.secureContext ? { secureContext: this.secureContext } : {}),
      ...(unchecked ? { rejectUnauthorized: false } : {}),
    };
  }

  private untilClosed(request: HttpRequest): HttpRequest {
    const { signal } = this.closing;
    return { ...request, signal: request.signal ? AbortSignal.any([request.signal, signal]) : signal };
  }

  /** A bulk body open when the pools close is destroyed with them. */
  private tracked({ reusedConnection, ...response }: BulkResponse): HttpResponse {
    const { body } = response;
    if (this.closing.signal.aborted) body.destroy();
    this.bulkBodies.add(body);
    body.once('close', () => this.bulkBodies.delete(body));
    return { ...response, via: reusedConnection ? 'own connection, reused' : 'own connection' };
  }

  private pool(origin: string): UndiciPool {
    let pool = this.pools.get(origin);
    if (!pool) {
      const connector = buildConnector({
        timeout: this.timeouts.connectMs,
        ...this.tlsOptions(this.isUnchecked(origin)),
      });
      pool = new Pool(origin, {
        connections: 8,
        connect: this.notingTlsAlerts(origin, connector),
        keepAliveTimeout: 30_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** `connect`, noting the TLS alert a connection to `origin` gets after its handshake, for `exchange`. */
  private notingTlsAlerts(origin: string, connect: Connector): Connector {
    return (options, callback) =>
      connect(options, (error, socket) => {
        if (error) return callback(failedConnecting(error), null);
        socket.on('error', (socketError) => {
          if (isTlsAlert(socketError)) this.tlsAlerts.set(origin, socketError);
        });
        callback(null, socket);
      });
  }

  async close(): Promise<void> {
    this.closing.abort(new Error('the registry connections were closed'));
    const pools = [...this.pools.values(), ...this.proxyAgents.values()];
    this.pools.clear();
    this.proxyAgents.clear();
    for (const body of this.bulkBodies) body.destroy();
    this.bulkBodies.clear();
    this.bulkConnections.close();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => {})));
  }
}
