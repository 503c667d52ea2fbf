import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * A plain-TCP server that records every byte it receives (a TLS ClientHello as much as an HTTP request)
 * and answers HTTP requests with canned responses, one per connection. It stands for a host off this
 * machine: credentials must never reach it in clear unless the user allowed plain HTTP.
 */
export interface RecordingServer {
  host: string;
  url: string;
  /** Everything received, per connection, as latin1 text. */
  received: string[];
  stop(): Promise<void>;
}

/** An IPv4 address of this machine that is not loopback, or undefined when there is none. */
export function nonLoopbackAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}

export type Responder = (requestLine: string) => {
  status: number;
  headers?: Record<string, string>;
  body?: string;
};

export async function startRecordingServer(address: string, respond: Responder): Promise<RecordingServer> {
  const received: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const index = received.push('') - 1;
    socket.on('data', (chunk: Buffer) => {
      received[index] += chunk.toString('latin1');
      const text = received[index]!;
      // Not HTTP (a TLS ClientHello): answer as an HTTP server would, so the client fails at once.
      if (!/^[A-Z]/.test(text)) {
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
        return;
      }
      if (!text.includes('\r\n\r\n')) return;
      const { status, headers = {}, body = '' } = respond(text.slice(0, text.indexOf('\r\n')));
      const head = [
        `HTTP/1.1 ${status} X`,
        'connection: close',
        `content-length: ${Buffer.byteLength(body)}`,
      ];
      for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
      socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    host: `${address}:${port}`,
    url: `http://${address}:${port}`,
    received,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
