import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Pool, undiciRequest } from './undici-pool.js';

describe('undici, loaded module by module', () => {
  it('is the Pool and the request method that the undici entry exports', () => {
    const undici = createRequire(import.meta.url)('undici');
    expect(Pool).toBe(undici.Pool);
    expect(undiciRequest).toBe(undici.Dispatcher.prototype.request);
    expect(undiciRequest).toBe(undici.Pool.prototype.request);
  });
});
