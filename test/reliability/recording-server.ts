import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NamespacedHost } from './namespaced-host.js';
import {
  type CannedRule,
  type ListenerMessage,
  type Responder,
  recordingListener,
} from './recording-listener.mjs';

export type { CannedResponse, CannedRule, Responder } from './recording-listener.mjs';
export { cannedResponder } from './recording-listener.mjs';

/**
 * A plain-TCP server that records every byte it receives (a TLS ClientHello as much as an HTTP request)
 * and answers HTTP requests with canned responses, one per connection. Run on a `NamespacedHost`, it
 * stands for a host off this machine: credentials must never reach it in clear unless the user allowed
 * plain HTTP.
 */
export interface RecordingServer {
  host: string;
  url: string;
  /** Everything received, per connection, as latin1 text. */
  received: string[];
  stop(): Promise<void>;
}

const LISTENER = fileURLToPath(new URL('./recording-listener.mjs', import.meta.url));
const START_LIMIT_MS = 10_000;

function recordInto(received: string[]) {
  return (connection: number, data: string) => {
    received[connection] = (received[connection] ?? '') + data;
  };
}

function recordingServer(address: string, port: number, received: string[], stop: () => Promise<void>) {
  const host = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  return { host, url: `http://${host}`, received, stop };
}

/** A recording server in this process, listening on `address` (a loopback one: see the rules of tests). */
export async function startRecordingServer(address: string, respond: Responder): Promise<RecordingServer> {
  const received: string[] = [];
  const { server, stop } = recordingListener(respond, recordInto(received));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, resolve);
  });
  return recordingServer(address, (server.address() as AddressInfo).port, received, stop);
}

/**
 * A recording server running as its own process inside `on`'s network namespace, listening on the
 * namespace's address. It reports what it receives as JSON lines, each written before it answers what
 * it received, so when a client has had its answer and exited, `received` holds what it sent.
 */
export function startRecordingServerOn(on: NamespacedHost, rules: CannedRule[]): Promise<RecordingServer> {
  const child = on.spawn([process.execPath, LISTENER, JSON.stringify({ address: on.address, rules })]);
  const received: string[] = [];
  const record = recordInto(received);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.stdin.end();
    child.kill();
    await exited;
  };
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`recording server in ${on.namespace} ${why}: ${stderr.trim() || 'no output'}`));
    };
    const timer = setTimeout(() => fail(`did not listen within ${START_LIMIT_MS} ms`), START_LIMIT_MS);
    const exitedEarly = (code: number | null) => fail(`exited (${code ?? 'killed'}) before listening`);
    child.once('exit', exitedEarly);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as ListenerMessage;
      if ('listening' in message) {
        clearTimeout(timer);
        child.off('exit', exitedEarly);
        resolve(recordingServer(message.listening.address, message.listening.port, received, stop));
      } else {
        record(message.connection, message.data);
      }
    });
  });
}
