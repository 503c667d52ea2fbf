import { VERSION } from '../../version.js';
import type { Layer } from './types.js';

export const USER_AGENT = `imgscope/${VERSION}`;

/** Names imgscope in every request, as registries ask clients to (and rate-limit anonymous ones by). */
export function userAgent(value = USER_AGENT): Layer {
  return (next) => (request) => next({ ...request, headers: { 'user-agent': value, ...request.headers } });
}
