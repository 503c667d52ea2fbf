import type { Timeouts } from './transport/http.js';

/** Environment variables that set each timeout in milliseconds (slow networks; tests that provoke stalls). */
export const TIMEOUT_VARIABLES: Readonly<Record<keyof Timeouts, string>> = {
  connectMs: 'IMGSCOPE_TIMEOUT_CONNECT_MS',
  headersMs: 'IMGSCOPE_TIMEOUT_HEADERS_MS',
  bodyIdleMs: 'IMGSCOPE_TIMEOUT_IDLE_MS',
};
