import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../../test/helpers/image-files.js';
import { CompressedTarFiles } from '../oci/local/compressed-tar.js';
import { analyzeImage } from './analyze.js';
import type * as Hasher from './diff-id-hasher.js';
import { fakeImage, gzip, tarOf, zstd } from './testing.js';

const OUT_OF_MEMORY = 'Worker terminated due to reaching memory limit: JS heap out of memory';

/** Every worker thread dies of memory as soon as it starts, as one does when the heap is exhausted. */
vi.mock('node:worker_threads', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:worker_threads')>()),
  Worker: class extends EventEmitter {
    constructor() {
      super();
      setImmediate(() => {
        this.emit('error', Object.assign(new Error(OUT_OF_MEMORY), { code: 'ERR_WORKER_OUT_OF_MEMORY' }));
        this.emit('exit', 1);
      });
    }
    ref() {}
    unref() {}
    postMessage() {}
    terminate() {
      return Promise.resolve(1);
    }
  },
}));

/** Every layer's hash on that worker, however small the layer (the real threshold is 128 MiB). */
vi.mock('./diff-id-hasher.js', async (importOriginal) => {
  const actual = await importOriginal<typeof Hasher>();
  return { ...actual, beginDiffIdHash: () => actual.beginDiffIdHash(Number.MAX_SAFE_INTEGER) };
});

describe('a helper thread dying', () => {
  it('says the hashing thread stopped and why, not that the layer cannot be decompressed', async () => {
    const layer = gzip(await tarOf(['etc/', 'etc/motd:100']));
    const failure = analyzeImage(fakeImage([layer]));
    await expect(failure).rejects.toMatchObject({
      message: expect.stringMatching(
        new RegExp(
          `^layer 1 of fake:image \\(sha256:[0-9a-f]{64}\\): the thread hashing its uncompressed content stopped \\(${OUT_OF_MEMORY}\\)$`,
        ),
      ),
      hint: 'the image is not at fault; free some memory or lower --concurrency, and run again',
    });
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringContaining('decompress') });
  });

  it('says the zstd decoding thread stopped and why, not that the zstd data is invalid', async () => {
    const layer = zstd(await tarOf(['etc/', 'etc/motd:100']));
    const failure = analyzeImage(fakeImage([layer]));
    await expect(failure).rejects.toMatchObject({
      message: expect.stringMatching(
        new RegExp(
          `^layer 1 of fake:image \\(sha256:[0-9a-f]{64}\\): the thread decoding its zstd content stopped \\(${OUT_OF_MEMORY}\\)$`,
        ),
      ),
      hint: 'the image is not at fault; free some memory or lower --concurrency, and run again',
    });
  });

  it('says a zstd archive could not be read because its decoding thread stopped, not that it is damaged', async () => {
    const temp = await makeTempDir('thread-death');
    try {
      const file = join(temp.path, 'app.tar.zst');
      writeFileSync(file, zstd(await tarOf(['manifest.json:100'])));
      await expect(CompressedTarFiles.open(file, file)).rejects.toMatchObject({
        code: 'LIMIT',
        message: `${file}: cannot decompress the archive (the thread decoding its zstd content stopped (${OUT_OF_MEMORY}))`,
        hint: 'the image is not at fault; free some memory or lower --concurrency, and run again',
      });
    } finally {
      await temp.remove();
    }
  });
});
