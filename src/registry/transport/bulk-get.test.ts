import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSecureContext } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { PIECE_BYTES, releasePiece, takePiece } from '../../oci/pieces.js';
import { BulkConnections, connectionKey } from './bulk-connections.js';
import { type BulkGetOptions, bulkGet } from './bulk-get.js';
import { isTransientNetworkError } from './network-errors.js';

const options: BulkGetOptions = { timeouts: { connectMs: 2000, headersMs: 2000, bodyIdleMs: 2000 } };
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.close();
  }
});

type Respond = (socket: Socket, request: string, connection: number) => void | Promise<void>;

interface RawServer {
  url: URL;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Request heads in the order they arrived. */
  requests: string[];
}

/**
 * A raw TCP server: the test writes the response bytes itself, after a request head arrived — the first
 * one of each connection, or (`everyRequest`) each one, numbering the connections from 1.
 */
async function startRawServer(respond: Respond, everyRequest = false): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  let connections = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    const connection = ++connections;
    socket.on('error', () => {});
    let pending = '';
    let responded = false;
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const request = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        if (responded && !everyRequest) return;
        responded = true;
        requests.push(request);
        void respond(socket, request, connection);
      }
    });
  });
  const close = server.close.bind(server);
  server.close = (callback) => {
    for (const socket of sockets) socket.destroy();
    return close(callback);
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/x/blobs/sha256:abc?n=1`);
  return {
    url,
    get connections() {
      return connections;
    },
    requests,
  };
}

async function rawServer(respond: Respond): Promise<URL> {
  return (await startRawServer(respond)).url;
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function failureOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error & { code?: string },
  );
}

/** Writes `bytes` in pieces of the given sizes, in turn, each after a pause so that they arrive apart. */
async function dribble(socket: Socket, bytes: Buffer, sizes: number[]): Promise<void> {
  for (let at = 0, turn = 0; at < bytes.length; turn++) {
    const size = sizes[turn % sizes.length]!;
    socket.write(bytes.subarray(at, at + size));
    at += size;
    await sleep(1);
  }
}

const get = (url: URL, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  bulkGet({ method: 'GET', url, headers, ...(signal ? { signal } : {}) }, options);

describe('bulkGet', () => {
  it('sends one GET with the caller headers and Connection: close, and reads a Content-Length body', async () => {
    const body = randomBytes(3 * PIECE_BYTES + 12_345);
    let seen = '';
    const url = await rawServer(async (socket, request) => {
      seen = request;
      const head = `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nX-Two: a\r\nx-two: b\r\n\r\n`;
      // The head arrives a few bytes at a time, the body in odd sizes that straddle the 1 MiB pieces.
      await dribble(socket, Buffer.from(head, 'latin1'), [3, 7]);
      await dribble(socket, body, [700_001, 65_536, 1]);
    });
    const response = await get(url, { authorization: 'Bearer t', range: 'bytes=0-' });
    expect(response.status).toBe(200);
    expect(response.headers['content-length']).toBe(String(body.length));
    expect(response.headers['x-two']).toEqual(['a', 'b']);
    const chunks: Buffer[] = [];
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
    // Whole pieces, then the rest.
    expect(chunks.map((chunk) => chunk.length)).toEqual([PIECE_BYTES, PIECE_BYTES, PIECE_BYTES, 12_345]);
    expect(seen).toBe(
      `GET /v2/x/blobs/sha256:abc?n=1 HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer t\r\nrange: bytes=0-\r\nconnection: close\r\n\r\n`,
    );
  });

  it('removes chunked framing (extensions and trailers too) and reads a body that ends with the connection', async () => {
    const body = randomBytes(2 * PIECE_BYTES + 999);
    const sizes = [1, 4095, 1_048_577, 300_000, body.length];
    const framed: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')];
    for (let at = 0, turn = 0; at < body.length; turn++) {
      const part = body.subarray(at, at + sizes[turn]!);
      framed.push(
        Buffer.from(`${part.length.toString(16)}${turn === 1 ? ';ext=1' : ''}\r\n`),
        part,
        Buffer.from('\r\n'),
      );
      at += part.length;
    }
    framed.push(Buffer.from('0\r\nDigest: x\r\n\r\n'));
    const chunkedUrl = await rawServer((socket) =>
      dribble(socket, Buffer.concat(framed), [5, 1_000_003, 77]),
    );
    expect((await readAll((await get(chunkedUrl)).body)).equals(body)).toBe(true);

    const closeUrl = await rawServer(async (socket) => {
      await dribble(socket, Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), body]), [400_000]);
      socket.end();
    });
    expect((await readAll((await get(closeUrl)).body)).equals(body)).toBe(true);

    const emptyUrl = await rawServer((socket) => {
      socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const empty = await get(emptyUrl);
    expect(empty.status).toBe(204);
    expect(await readAll(empty.body)).toHaveLength(0);
  });

  it('fails a body cut short as transient, after handing on the bytes that came', async () => {
    const url = await rawServer((socket) => {
      socket.end(
        Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n'),
          Buffer.alloc(1200, 1),
        ]),
      );
    });
    const response = await get(url);
    let received = 0;
    response.body.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const [error] = (await once(response.body, 'error').catch((e: unknown) => [e])) as [Error];
    expect(received).toBe(1200);
    expect((error as { code?: string }).code).toBe('PREMATURE_END');
    expect(isTransientNetworkError(error)).toBe(true);

    const chunkedUrl = await rawServer((socket) => {
      socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc');
    });
    const chunked = await failureOf(readAll((await get(chunkedUrl)).body));
    expect(chunked.code).toBe('PREMATURE_END');
  });

  it('rejects what is not HTTP/1.1, without retrying it as a network fault', async () => {
    const cases: [string | Buffer, RegExp][] = [
      ['SSH-2.0-OpenSSH_9.2\r\n\r\n', /status line "SSH-2.0-OpenSSH_9.2"/],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /header line "no colon here"/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n', /Content-Length "5, 6"/],
      [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}`, /headers larger than 65536 bytes/],
      // Too big even when its end comes in the same read.
      [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\nContent-Length: 0\r\n\r\n`, /headers larger/],
    ];
    for (const [response, message] of cases) {
      const url = await rawServer((socket) => {
        socket.write(response);
      });
      const error = await failureOf(get(url));
      expect(error.message).toMatch(message);
      expect(error.code).toBe('BAD_RESPONSE');
      expect(isTransientNetworkError(error)).toBe(false);
    }
    const badChunk = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
    });
    // Framing errors in the bytes that came with the head fail the exchange itself.
    expect((await failureOf(get(badChunk))).message).toMatch(/chunk size missing/);
  });

  it('times out a server that sends no head, or stalls mid-body, but not a reader that is slow', async () => {
    const quick: BulkGetOptions = { timeouts: { connectMs: 2000, headersMs: 200, bodyIdleMs: 300 } };
    const silent = await rawServer(() => {});
    const headers = await failureOf(bulkGet({ method: 'GET', url: silent, headers: {} }, quick));
    expect(headers.code).toBe('HEADERS_TIMEOUT');
    expect(isTransientNetworkError(headers)).toBe(true);

    const stalling = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nabc');
    });
    const stalled = await bulkGet({ method: 'GET', url: stalling, headers: {} }, quick);
    const idle = await failureOf(readAll(stalled.body));
    expect(idle.code).toBe('BODY_TIMEOUT');

    // 16 MiB, not read for three idle timeouts: the socket pauses with a few MiB buffered, then finishes.
    const big = randomBytes(16 * PIECE_BYTES);
    const generous = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big.length}\r\n\r\n`);
      socket.write(big);
    });
    const slow = await bulkGet({ method: 'GET', url: generous, headers: {} }, quick);
    await sleep(900);
    expect(slow.body.readableLength).toBeLessThanOrEqual(3 * PIECE_BYTES);
    expect((await readAll(slow.body)).equals(big)).toBe(true);
  });

  it('stops at once when its signal aborts, before or during the body', async () => {
    const url = await rawServer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nabc');
    });
    const early = new AbortController();
    early.abort();
    expect((await failureOf(get(url, {}, early.signal))).name).toBe('AbortError');

    const controller = new AbortController();
    const response = await get(url, {}, controller.signal);
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    expect((await failureOf(readAll(response.body))).name).toBe('AbortError');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a line break in a header value instead of sending a second header', async () => {
    const url = await rawServer(() => {});
    await expect(get(url, { authorization: 'Bearer a\r\nx-evil: 1' })).rejects.toThrow(/line break/);
  });

  it('gives back the download buffer at once when no body came into it (a redirect, an empty blob)', async () => {
    const url = await rawServer((socket) => {
      socket.end('HTTP/1.1 307 Temporary Redirect\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n');
    });
    const piece = takePiece();
    releasePiece(piece); // the next exchange takes this one
    const response = await get(url);
    expect(response.status).toBe(307);
    expect(await readAll(response.body)).toHaveLength(0);
    expect(takePiece().buffer === piece.buffer).toBe(true);
  });

  it('reports a refused connection as transient', async () => {
    const url = await rawServer(() => {});
    for (const server of servers.splice(0)) server.close();
    const error = await failureOf(get(url));
    expect(error.code).toBe('ECONNREFUSED');
    expect(isTransientNetworkError(error)).toBe(true);
  });

  it('speaks TLS with SNI, verifies the certificate, and keeps the connection for the next GET, even one whose reader fell behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgscope-bulk-tls-'));
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
          '-addext',
          'subjectAltName=DNS:localhost',
          '-keyout',
          'key.pem',
          '-out',
          'cert.pem',
        ]),
        { cwd: dir, stdio: 'ignore' },
      );
      const cert = readFileSync(join(dir, 'cert.pem'));
      const body = randomBytes(PIECE_BYTES + 10);
      // Two pieces and a tail small enough to come in the TLS record that completes the second piece.
      const longBody = randomBytes(2 * PIECE_BYTES + 100);
      let servername: string | undefined;
      const server = createHttpsServer(
        { key: readFileSync(join(dir, 'key.pem')), cert },
        (request, response) => {
          servername = (request.socket as { servername?: string }).servername;
          const sent = request.url === '/long' ? longBody : body;
          response.setHeader('content-length', sent.length);
          response.end(sent);
        },
      );
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      servers.push(server as unknown as Server);
      const url = new URL(`https://localhost:${(server.address() as AddressInfo).port}/blob`);
      const response = await bulkGet({ method: 'GET', url, headers: {} }, { ...options, tls: { ca: cert } });
      expect((await readAll(response.body)).equals(body)).toBe(true);
      expect(servername).toBe('localhost');

      const untrusted = await failureOf(bulkGet({ method: 'GET', url, headers: {} }, options));
      expect(untrusted.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');

      // Kept alive, the second GET skips the TLS handshake.
      let handshakes = 0;
      server.on('secureConnection', () => handshakes++);
      const connections = new BulkConnections();
      try {
        for (const reused of [false, true]) {
          const kept = await bulkGet(
            { method: 'GET', url, headers: {} },
            { ...options, tls: { ca: cert }, connections },
          );
          expect(kept.reusedConnection).toBe(reused);
          expect((await readAll(kept.body)).equals(body)).toBe(true);
        }
        expect(handshakes).toBe(1);

        // A reader behind as the body ends: reading paused then, and the kept connection must read again.
        const long = new URL('/long', url);
        const behind = await bulkGet(
          { method: 'GET', url: long, headers: {} },
          { ...options, tls: { ca: cert }, connections },
        );
        await sleep(200);
        expect((await readAll(behind.body)).equals(longBody)).toBe(true);
        const next = await bulkGet(
          { method: 'GET', url, headers: {} },
          { ...options, timeouts: { ...options.timeouts, headersMs: 500 }, tls: { ca: cert }, connections },
        );
        expect(next.reusedConnection).toBe(true);
        expect((await readAll(next.body)).equals(body)).toBe(true);
        expect(handshakes).toBe(1);
      } finally {
        connections.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bulkGet with kept-alive connections', () => {
  const lengthResponse = (body: Buffer, extra = '') =>
    Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n`), body]);
  const pooled = (connections: BulkConnections): BulkGetOptions => ({ ...options, connections });
  const getOn = (url: URL, connections: BulkConnections) =>
    bulkGet({ method: 'GET', url, headers: {} }, pooled(connections));

  it('sends the next GET on the connection a Content-Length body was read to the end on', async () => {
    const bodies = [randomBytes(2 * PIECE_BYTES + 7), randomBytes(100), randomBytes(PIECE_BYTES)];
    let served = 0;
    const server = await startRawServer((socket) => {
      socket.write(lengthResponse(bodies[served++]!));
    }, true);
    const connections = new BulkConnections();
    try {
      for (const [index, body] of bodies.entries()) {
        const response = await getOn(server.url, connections);
        expect(response.reusedConnection).toBe(index > 0);
        expect((await readAll(response.body)).equals(body)).toBe(true);
      }
      expect(server.connections).toBe(1);
      expect(server.requests).toHaveLength(3);
      for (const request of server.requests) expect(request).not.toMatch(/connection:/i);
    } finally {
      connections.close();
    }
  });

  it('opens a new connection after a response that was chunked, said Connection: close, was HTTP/1.0, carried extra bytes or was not read to the end', async () => {
    const body = randomBytes(3000);
    const chunked = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${(5).toString(16)}\r\nhello\r\n0\r\n\r\n`;
    const answers: Record<string, Buffer> = {
      chunked: Buffer.from(chunked),
      close: lengthResponse(body, 'Connection: keep-alive, close\r\n'),
      http10: Buffer.from(lengthResponse(body).toString('latin1').replace('HTTP/1.1', 'HTTP/1.0'), 'latin1'),
      extra: Buffer.concat([lengthResponse(body), Buffer.from('HTTP/1.1 200 OK\r\n')]),
      unread: lengthResponse(randomBytes(3 * PIECE_BYTES)),
    };
    for (const [kind, answer] of Object.entries(answers)) {
      const server = await startRawServer((socket, request) => {
        socket.write(request.includes('second') ? lengthResponse(body) : answer);
      }, true);
      const connections = new BulkConnections();
      try {
        const first = await getOn(server.url, connections);
        if (kind === 'unread') {
          await once(first.body, 'data');
          first.body.destroy();
        } else await readAll(first.body);
        const second = await getOn(new URL('?second', server.url), connections);
        expect((await readAll(second.body)).equals(body)).toBe(true);
        expect({ kind, reused: second.reusedConnection, connections: server.connections }).toEqual({
          kind,
          reused: false,
          connections: 2,
        });
      } finally {
        connections.close();
      }
    }
  });

  it('replaces a kept connection the server closed, before or as the next GET goes out, but not one that answered', async () => {
    const body = randomBytes(5000);
    // The server closes the idle connection soon after its response: the pool notices and drops it.
    const closing = await startRawServer((socket) => {
      socket.write(lengthResponse(body));
      setTimeout(() => socket.end(), 20);
    }, true);
    const connections = new BulkConnections();
    try {
      await readAll((await getOn(closing.url, connections)).body);
      await sleep(100);
      const next = await getOn(closing.url, connections);
      expect(next.reusedConnection).toBe(false);
      expect((await readAll(next.body)).equals(body)).toBe(true);

      // The server's close crosses the next request: the GET is sent once more, on a new connection.
      const crossing = await startRawServer((socket, request, connection) => {
        if (connection === 1 && request.includes('second')) socket.destroy();
        else socket.write(lengthResponse(body));
      }, true);
      await readAll((await getOn(crossing.url, connections)).body);
      const retried = await getOn(new URL('?second', crossing.url), connections);
      expect((await readAll(retried.body)).equals(body)).toBe(true);
      expect(crossing.connections).toBe(2);
      expect(crossing.requests.filter((request) => request.includes('second'))).toHaveLength(2);

      // Once a response byte came, a failure is the server's: no second try.
      const cutting = await startRawServer((socket, request) => {
        if (request.includes('second')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\nabc');
        else socket.write(lengthResponse(body));
      }, true);
      await readAll((await getOn(cutting.url, connections)).body);
      const cut = await getOn(new URL('?second', cutting.url), connections);
      expect(cut.reusedConnection).toBe(true);
      expect((await failureOf(readAll(cut.body))).code).toBe('PREMATURE_END');
      expect(cutting.connections).toBe(1);
    } finally {
      connections.close();
    }
  });

  it('does not keep the process alive with a connection waiting for the next GET', async () => {
    const body = randomBytes(3 * PIECE_BYTES);
    const server = await startRawServer(async (socket) => {
      socket.unref(); // the server's side does not count: only the client's is looked at
      await dribble(socket, lengthResponse(body), [PIECE_BYTES]);
    }, true);
    const sockets = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;
    const connections = new BulkConnections();
    await sleep(50); // handles of the tests before close
    try {
      const before = sockets();
      const response = await getOn(server.url, connections);
      expect(sockets()).toBe(before + 1);
      await readAll(response.body);
      expect(sockets()).toBe(before);
      const next = await getOn(server.url, connections);
      expect(next.reusedConnection).toBe(true);
      expect(sockets()).toBe(before + 1);
      await readAll(next.body);
    } finally {
      connections.close();
    }
  });

  it('closes idle connections when closed, and a connection given back after that', async () => {
    const body = randomBytes(10);
    const closedByClient: number[] = [];
    const server = await startRawServer((socket, _request, connection) => {
      socket.once('end', () => closedByClient.push(connection));
      socket.write(lengthResponse(body));
    }, true);
    const connections = new BulkConnections();
    await readAll((await getOn(server.url, connections)).body);
    await sleep(50);
    expect(closedByClient).toEqual([]);
    connections.close();
    await sleep(50);
    expect(closedByClient).toEqual([1]);
    await readAll((await getOn(server.url, connections)).body);
    await sleep(50);
    expect(closedByClient).toEqual([1, 2]);
  });
});

describe('connectionKey', () => {
  it('shares connections only between GETs to one origin that trust the same certificates', () => {
    const url = new URL('https://registry.example:5000/v2/a/blobs/sha256:1');
    const other = new URL('https://registry.example:5000/v2/b/blobs/sha256:2');
    // certs.d trust (a client certificate, say): one context per registry client.
    const [first, second] = [createSecureContext(), createSecureContext()];
    expect(connectionKey(url, undefined)).toBe(connectionKey(other, undefined));
    expect(connectionKey(url, { ca: 'A' })).toBe(connectionKey(other, { ca: ['A'] }));
    const keys = [
      connectionKey(url, undefined),
      connectionKey(url, { rejectUnauthorized: false }),
      connectionKey(url, { ca: 'A' }),
      connectionKey(url, { ca: 'B' }),
      connectionKey(url, { ca: ['A', 'B'] }),
      connectionKey(new URL('https://registry.example:5001/v2/'), undefined),
      connectionKey(url, { secureContext: first }),
      connectionKey(url, { secureContext: second }),
      connectionKey(url, { secureContext: first, rejectUnauthorized: false }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(connectionKey(url, { secureContext: first })).toBe(connectionKey(other, { secureContext: first }));
  });
});
