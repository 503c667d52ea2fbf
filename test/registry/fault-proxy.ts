import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A reverse proxy in front of a real test registry that misbehaves on request: connection resets
 * mid-body, stalls, 429/5xx, wrong Content-Length, corrupted bytes, rewritten headers, and redirects of
 * blob GETs to a second origin (a "blob store") that records whether it was sent `Authorization`.
 * Requests no rule matches are passed through untouched.
 */
export type Fault =
  /** Answer without asking the registry. */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** Forward, then cut the connection after this many body bytes. */
  | { kind: 'reset'; afterBytes: number }
  /** Forward this many body bytes, then go silent for `ms` before closing. */
  | { kind: 'stall'; afterBytes: number; ms: number }
  /** Announce the body's length plus `delta` bytes (then close the connection). */
  | { kind: 'content-length'; delta: number }
  /** Flip the bits of one body byte. */
  | { kind: 'corrupt'; offset: number }
  /** Replace a response header. */
  | { kind: 'header'; name: string; value: string }
  /** 307 to the blob store, as registries backed by object storage do; or to `origin`, a store elsewhere. */
  | { kind: 'redirect'; origin?: string }
  /** Accept the request and never answer (until the proxy stops). */
  | { kind: 'hang' }
  /** Wait `ms`, then pass the request through untouched: a slow registry. */
  | { kind: 'delay'; ms: number };

export interface FaultRule {
  method?: string;
  path: RegExp;
  fault: Fault;
  /** How many matching requests get the fault; default 1. */
  times?: number;
}

export interface ProxiedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The fault applied, if any. */
  fault?: Fault['kind'];
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

export class FaultProxy {
  readonly requests: ProxiedRequest[] = [];
  /** Requests the blob store received after a redirect. */
  readonly blobStoreRequests: { path: string; authorization: string | undefined }[] = [];
  /** Connections the proxy accepted. */
  connections = 0;
  host = '';
  url = '';
  private rules: (FaultRule & { left: number })[] = [];
  private readonly redirects = new Map<string, { path: string; authorization: string | undefined }>();
  private proxy: Server | undefined;
  private store: Server | undefined;
  private storeOrigin = '';

  constructor(private readonly upstream: URL) {}

  inject(...rules: FaultRule[]): this {
    for (const rule of rules) this.rules.push({ ...rule, left: rule.times ?? 1 });
    return this;
  }

  clear(): void {
    this.rules = [];
    this.requests.length = 0;
    this.blobStoreRequests.length = 0;
    this.connections = 0;
  }

  /** Rules that have not yet fired as often as they were told to. */
  get pendingRules(): number {
    return this.rules.filter((rule) => rule.left > 0).length;
  }

  async start(): Promise<this> {
    this.proxy = createServer((req, res) => this.handle(req, res));
    this.proxy.on('connection', () => this.connections++);
    this.store = createServer((req, res) => this.serveFromStore(req, res));
    const proxyPort = await listen(this.proxy);
    const storePort = await listen(this.store);
    this.host = `127.0.0.1:${proxyPort}`;
    this.url = `http://${this.host}`;
    this.storeOrigin = `http://127.0.0.1:${storePort}`;
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([close(this.proxy), close(this.store)]);
    this.proxy = undefined;
    this.store = undefined;
  }

  private take(req: IncomingMessage): Fault | undefined {
    const rule = this.rules.find(
      (r) => r.left > 0 && (!r.method || r.method === req.method) && r.path.test(req.url ?? ''),
    );
    if (!rule) return undefined;
    rule.left--;
    return rule.fault;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const fault = this.take(req);
    this.requests.push({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      ...(fault ? { fault: fault.kind } : {}),
    });
    if (fault?.kind === 'status') {
      req.resume();
      const headers: OutgoingHttpHeaders = { 'content-type': 'application/json' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
      const body =
        fault.body ??
        JSON.stringify({
          errors: [{ code: fault.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected' }],
        });
      res.writeHead(fault.status, headers).end(body);
      return;
    }
    if (fault?.kind === 'hang') {
      req.resume();
      return;
    }
    if (fault?.kind === 'redirect') {
      req.resume();
      const id = randomUUID();
      this.redirects.set(id, { path: req.url ?? '/', authorization: req.headers.authorization });
      res
        .writeHead(307, {
          location: `${fault.origin ?? this.storeOrigin}/storage/${id}?X-Amz-Signature=secret-signature`,
        })
        .end();
      return;
    }
    if (fault?.kind === 'delay') {
      setTimeout(() => this.forward(req, res, req.url ?? '/', req.headers, undefined), fault.ms);
      return;
    }
    this.forward(req, res, req.url ?? '/', req.headers, fault);
  }

  private serveFromStore(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.storeOrigin);
    this.blobStoreRequests.push({ path: url.pathname, authorization: req.headers.authorization });
    const entry = this.redirects.get(url.pathname.replace('/storage/', ''));
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    // The store trusts its signed URL: it fetches from the registry with the original credentials.
    const headers: IncomingHttpHeaders = { host: this.upstream.host };
    if (entry.authorization) headers.authorization = entry.authorization;
    if (req.headers.range) headers.range = req.headers.range;
    this.forward(req, res, entry.path, headers, undefined);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    headers: IncomingHttpHeaders,
    fault: Fault | undefined,
  ): void {
    const upstream = httpRequest(
      { host: this.upstream.hostname, port: this.upstream.port, method: req.method, path, headers },
      (answer) => {
        const responseHeaders: OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (!HOP_BY_HOP.has(name) && value !== undefined) responseHeaders[name] = value;
        }
        if (fault?.kind === 'header') responseHeaders[fault.name.toLowerCase()] = fault.value;
        this.relay(answer, res, answer.statusCode ?? 502, responseHeaders, fault).catch(() => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  private async relay(
    answer: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: OutgoingHttpHeaders,
    fault: Fault | undefined,
  ): Promise<void> {
    if (fault?.kind === 'content-length') {
      const body = await collect(answer);
      headers['content-length'] = String(Math.max(0, body.length + fault.delta));
      headers.connection = 'close';
      res.writeHead(status, headers);
      res.end(body);
      return;
    }
    res.writeHead(status, headers);
    let sent = 0;
    for await (const raw of answer as AsyncIterable<Buffer>) {
      let chunk = raw;
      if (fault?.kind === 'corrupt' && fault.offset >= sent && fault.offset < sent + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[fault.offset - sent] = (chunk[fault.offset - sent] ?? 0) ^ 0xff;
      }
      if ((fault?.kind === 'reset' || fault?.kind === 'stall') && sent + chunk.length >= fault.afterBytes) {
        const head = chunk.subarray(0, fault.afterBytes - sent);
        if (head.length) await write(res, head);
        answer.destroy();
        if (fault.kind === 'stall') await sleep(fault.ms);
        res.socket?.destroy();
        return;
      }
      await write(res, chunk);
      sent += chunk.length;
    }
    res.end();
  }
}

export async function startFaultProxy(upstreamUrl: string): Promise<FaultProxy> {
  return new FaultProxy(new URL(upstreamUrl)).start();
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

async function close(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => res.write(chunk, (error) => (error ? reject(error) : resolve())));
}

async function collect(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
