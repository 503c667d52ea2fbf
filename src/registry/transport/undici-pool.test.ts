import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { buildConnector, Pool, undiciRequest } from './undici-pool.js';

describe('undici, loaded module by module', () => {
  it('is the Pool, the request method and the connector that the undici entry exports', () => {
    const undici = createRequire(import.meta.url)('undici');
    expect(Pool).toBe(undici.Pool);
    expect(undiciRequest).toBe(undici.Dispatcher.prototype.request);
    expect(undiciRequest).toBe(undici.Pool.prototype.request);
    expect(buildConnector).toBe(undici.buildConnector);
  });
});
