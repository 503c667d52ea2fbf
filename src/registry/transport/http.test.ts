import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionPools, DEFAULT_TIMEOUTS } from './http.js';

const sockets: Socket[] = [];
const closers: (() => void)[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const close of closers.splice(0)) close();
});

/** A server that takes requests and never answers them. */
async function silentServer(): Promise<URL> {
  const server = createServer((socket) => sockets.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/a/blobs/sha256:1`);
}

describe('ConnectionPools', () => {
  it('ends a bulk GET still waiting for its response when the pools close, instead of waiting out its timeout', async () => {
    const url = await silentServer();
    const pools = new ConnectionPools(DEFAULT_TIMEOUTS);
    const waiting = pools.exchange({ method: 'GET', url, headers: {}, bulk: true });
    const outcome = waiting.then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await pools.close();
    expect(await outcome).toBe('failed');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
