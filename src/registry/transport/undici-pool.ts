import { createRequire } from 'node:module';
import type {
  Dispatcher,
  ProxyAgent,
  buildConnector as UndiciBuildConnector,
  Pool as UndiciPool,
} from 'undici';

/**
 * undici's package entry loads all of undici — fetch, WebSocket, caches, mocks, proxy agents: 80 ms of
 * every registry command's start-up. imgscope needs `Pool`, and the `request` method that the entry
 * attaches to every dispatcher. Those two modules load in 20 ms. undici-pool.test.ts
 * checks that they are the very objects the entry exports, so an undici upgrade that moves them fails
 * the tests, not a user.
 */
const require = createRequire(import.meta.url);

export const Pool: typeof UndiciPool = require('undici/lib/dispatcher/pool.js');

export const undiciRequest: (
  this: Dispatcher,
  options: Dispatcher.RequestOptions,
) => Promise<Dispatcher.ResponseData> = require('undici/lib/api/api-request.js');

export const buildConnector: typeof UndiciBuildConnector = require('undici/lib/core/connect.js');

/**
 * Only runs behind a proxy load it, and through the entry: ProxyAgent opens its tunnels with the
 * `connect` method that the entry attaches to dispatchers.
 */
export function loadProxyAgent(): typeof ProxyAgent {
  return require('undici').ProxyAgent;
}

export type { Dispatcher as UndiciDispatcher, UndiciPool };
