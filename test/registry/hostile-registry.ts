import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny registry that answers what each test tells it to, for what a real Distribution never does:
 * HTML pages, odd digests and headers, a `/v2/` that asks for no credentials while repositories do.
 * Routes are matched in order against `METHOD path`; the first that matches answers.
 */
export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | undefined;

export class HostileRegistry {
  readonly requests: { method: string; path: string; authorization: string | undefined }[] = [];
  host = '';
  private routes: Route[] = [];
  private server: Server | undefined;

  /** Replaces the routes; anything unrouted answers 404 MANIFEST_UNKNOWN. */
  serve(...routes: Route[]): this {
    this.routes = routes;
    this.requests.length = 0;
    return this;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', `http://${this.host}`);
      this.requests.push({
        method: req.method ?? '',
        path: `${url.pathname}${url.search}`,
        authorization: req.headers.authorization,
      });
      for (const route of this.routes) if (route(req, res, url)) return;
      json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, ...headers });
  res.end(bytes);
}

/** Answers `GET|HEAD path` (a string or pattern) with these bytes and headers. */
export function bytesAt(
  path: string | RegExp,
  bytes: Uint8Array,
  headers: Record<string, string | number> = {},
  status = 200,
): Route {
  return (req, res, url) => {
    if (typeof path === 'string' ? url.pathname !== path : !path.test(url.pathname)) return false;
    res.writeHead(status, { 'content-length': bytes.byteLength, ...headers });
    res.end(req.method === 'HEAD' ? undefined : bytes);
    return true;
  };
}

/** Answers `GET path` with these bytes one at a time, `everyMs` apart: a body that never stalls, but crawls. */
export function tricklingAt(
  path: string,
  bytes: Uint8Array,
  headers: Record<string, string | number> = {},
  everyMs = 50,
): Route {
  return (req, res, url) => {
    if (url.pathname !== path) return false;
    res.writeHead(200, { 'content-length': bytes.byteLength, ...headers });
    let sent = 0;
    const timer = setInterval(() => {
      if (sent < bytes.byteLength) res.write(bytes.subarray(sent, ++sent));
      else res.end();
    }, everyMs);
    res.once('close', () => clearInterval(timer));
    void req;
    return true;
  };
}
