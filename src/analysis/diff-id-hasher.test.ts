import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../test/helpers/shared.js';
import { beginDiffIdHash, type StreamHash } from './diff-id-hasher.js';

const MiB = 1024 * 1024;
const WORKER = 1024 * MiB; // a compressed size that sends the hash to the worker
const INLINE = 1000;

function sha256(chunks: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

async function feed(hash: StreamHash, chunks: readonly Uint8Array[]): Promise<string> {
  for (const chunk of chunks) await hash.update(chunk);
  return hash.digest();
}

/** Sizes that straddle the ring's wrap in every way: tiny, odd, a MiB and change, more than the ring. */
function unevenChunks(): Buffer[] {
  return [1, 1023, MiB + 7, 3 * MiB - 5, 0, 9 * MiB, 511, 2 * MiB].map((size) => randomBytes(size));
}

describe('diff_id hashing', () => {
  it.each([
    ['on the worker', WORKER],
    ['inline, for a small layer', INLINE],
  ])('gives the sha256 of every byte fed, in order, %s', async (_, size) => {
    const chunks = unevenChunks();
    expect(await feed(beginDiffIdHash(size), chunks)).toBe(sha256(chunks));
    expect(await feed(beginDiffIdHash(size), [])).toBe(sha256([]));
  });

  it('keeps layers hashed at the same time apart', async () => {
    const layers = [unevenChunks(), unevenChunks().reverse(), [randomBytes(5 * MiB)]];
    const hashes = layers.map(() => beginDiffIdHash(WORKER));
    // Interleave the layers' chunks, as layers streaming side by side feed them.
    const longest = Math.max(...layers.map((chunks) => chunks.length));
    for (let i = 0; i < longest; i++) {
      for (const [layer, chunks] of layers.entries()) if (chunks[i]) await hashes[layer]!.update(chunks[i]!);
    }
    const digests = await Promise.all(hashes.map((hash) => hash.digest()));
    expect(digests).toEqual(layers.map(sha256));
  });

  describe('of a big layer, placed once its first 8 MiB have shown how hard its decoder works', () => {
    it.each([
      ['on the main thread, in slices, when the decoder expands its input (compressible data)', 2.5, 'main'],
      ['on the worker when it barely does (incompressible data decodes at memcpy speed)', 1.05, 'worker'],
    ])('%s', async (_, expansion, thread) => {
      const hash = beginDiffIdHash(WORKER, () => expansion);
      const chunks = unevenChunks(); // 15 MiB
      await hash.update(chunks[0]!);
      expect(hash.thread).toBeUndefined();
      expect(await feed(hash, chunks.slice(1))).toBe(sha256(chunks));
      expect(hash.thread).toBe(thread);
    });

    it('hashes a stream that ends within the sample on the main thread', async () => {
      const hash = beginDiffIdHash(WORKER, () => 1);
      const chunks = [randomBytes(MiB), randomBytes(3 * MiB + 1)];
      expect(await feed(hash, chunks)).toBe(sha256(chunks));
      expect(hash.thread).toBe('main');
      expect(
        await feed(
          beginDiffIdHash(WORKER, () => 1),
          [],
        ),
      ).toBe(sha256([]));
    });

    it('drops a discarded sample and goes on', async () => {
      const dropped = beginDiffIdHash(WORKER, () => 1);
      await dropped.update(randomBytes(5 * MiB));
      dropped.discard();
      const chunks = unevenChunks();
      expect(
        await feed(
          beginDiffIdHash(WORKER, () => 1),
          chunks,
        ),
      ).toBe(sha256(chunks));
    });
  });

  it.each([
    ['on the worker', undefined],
    ['while a big layer is sampled, then on the main thread', () => 3],
    ['while a big layer is sampled, then on the worker', () => 1],
  ])(
    'copies what it is given %s: the caller may reuse its buffer as soon as update returns',
    async (_, expansion) => {
      const reused = Buffer.alloc(MiB);
      const expected = createHash('sha256');
      const hash = beginDiffIdHash(WORKER, expansion);
      for (let round = 0; round < 12; round++) {
        reused.fill(round);
        expected.update(reused);
        await hash.update(reused);
      }
      expect(await hash.digest()).toBe(`sha256:${expected.digest('hex')}`);
    },
  );

  it('makes the caller wait once the worker is a ring behind, instead of queueing the layer', async () => {
    const hash = beginDiffIdHash(WORKER);
    const chunk = randomBytes(MiB);
    const waits: boolean[] = [];
    for (let i = 0; i < 16; i++) {
      const behind = hash.update(chunk);
      waits.push(behind !== undefined);
      await behind;
    }
    expect(waits.some(Boolean)).toBe(true);
    expect(await hash.digest()).toBe(sha256(Array.from({ length: 16 }, () => chunk)));
  });

  it('goes on after a discarded hash', async () => {
    const dropped = beginDiffIdHash(WORKER);
    await dropped.update(randomBytes(MiB));
    dropped.discard();
    const chunks = unevenChunks();
    expect(await feed(beginDiffIdHash(WORKER), chunks)).toBe(sha256(chunks));
  });

  const built = join(projectRoot, 'dist', 'analysis', 'diff-id-hasher.js');
  it.skipIf(!existsSync(built))(
    'never keeps the process alive once its hashes are done (built dist/)',
    () => {
      const script = `
      const { beginDiffIdHash } = await import(${JSON.stringify(built)});
      const hash = beginDiffIdHash(${WORKER});
      await hash.update(new Uint8Array(3 << 20));
      console.log(await hash.digest());
      beginDiffIdHash(${WORKER}).discard();`;
      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(output.trim()).toBe(sha256([new Uint8Array(3 * MiB)]));
    },
  );
});
