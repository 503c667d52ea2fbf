import type { Readable } from 'node:stream';
import { bulkGet } from './bulk-get.js';
import { networkFailure } from './network-errors.js';
import type { Exchange, HttpRequest, HttpResponse } from './types.js';
import { Pool, type UndiciPool, undiciRequest } from './undici-pool.js';

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
 * The bottom of the transport: one keep-alive undici Pool per origin (registry, token service, blob
 * storage), created on first use and closed together; bulk GETs (layer blobs) on connections of their own.
 */
export class ConnectionPools {
  private readonly pools = new Map<string, UndiciPool>();
  private readonly bulkBodies = new Set<Readable>();

  constructor(private readonly timeouts: Timeouts) {}

  readonly exchange: Exchange = async (request: HttpRequest): Promise<HttpResponse> => {
    try {
      return request.bulk && request.method === 'GET' && request.body === undefined
        ? this.tracked(await bulkGet(request, { timeouts: this.timeouts }))
        : await this.pooled(request);
    } catch (error) {
      if (request.signal?.aborted) throw error;
      throw networkFailure(request, error);
    }
  };

  private async pooled(request: HttpRequest): Promise<HttpResponse> {
    const { url } = request;
    const response = await undiciRequest.call(this.pool(url.origin), {
      method: request.method,
      path: `${url.pathname}${url.search}`,
      headers: request.headers,
      body: request.body ?? null,
      signal: request.signal ?? null,
      headersTimeout: this.timeouts.headersMs,
      bodyTimeout: this.timeouts.bodyIdleMs,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body, url };
  }

  /** A bulk body open when the pools close is destroyed with them. */
  private tracked(response: HttpResponse): HttpResponse {
    const { body } = response;
    this.bulkBodies.add(body);
    body.once('close', () => this.bulkBodies.delete(body));
    return response;
  }

  private pool(origin: string): UndiciPool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: 8,
        connect: { timeout: this.timeouts.connectMs },
        keepAliveTimeout: 30_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    for (const body of this.bulkBodies) body.destroy();
    this.bulkBodies.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => {})));
  }
}
