import type { Server } from 'node:net';

export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** `response` answers a request whose request line starts with `when`; a rule without `when` answers any. */
export interface CannedRule {
  when?: string;
  response: CannedResponse;
}

/** What the listener run as a process prints, one JSON object a line (see recording-listener.mjs). */
export type ListenerMessage =
  | { listening: { address: string; port: number } }
  | { connection: number; data: string };

export type Responder = (requestLine: string) => CannedResponse;

export function cannedResponder(rules: CannedRule[]): Responder;

export function recordingListener(
  respond: Responder,
  record: (connection: number, data: string) => void,
): { server: Server; stop(): Promise<void> };
