import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { drain } from './body.js';

describe('drain', () => {
  it('reads a small body to its end', async () => {
    const body = Readable.from([Buffer.from('{"errors":'), Buffer.from('[]}')]);
    await drain(body);
    expect(body.readableEnded).toBe(true);
  });

  it('drops a body larger than 64 KiB, or one that does not end within a second, instead of reading on', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 16 * 1024;
        this.push(Buffer.alloc(16 * 1024));
      },
    });
    await drain(endless);
    expect(endless.destroyed).toBe(true);
    expect(produced).toBeLessThan(256 * 1024);

    const stalled = new Readable({ read() {} });
    stalled.push('{');
    const started = Date.now();
    await drain(stalled);
    expect(stalled.destroyed).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('swallows the error of a body that breaks', async () => {
    const broken = new Readable({
      read() {
        this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      },
    });
    await expect(drain(broken)).resolves.toBeUndefined();
  });
});
