import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { parseDigest, sha256Digest, VerifyingStream } from './digest.js';

const content = Buffer.from('hello, layer');
const digest = sha256Digest(content);

async function drain(chunks: Buffer[], expectation: ConstructorParameters<typeof VerifyingStream>[0]) {
  const verifier = new VerifyingStream(expectation);
  let bytes = 0;
  await pipeline(
    Readable.from(chunks),
    verifier,
    new Writable({
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done();
      },
    }),
  );
  return bytes;
}

describe('VerifyingStream', () => {
  it('passes bytes through when digest and size match', async () => {
    expect(
      await drain([content.subarray(0, 5), content.subarray(5)], {
        digest,
        size: content.length,
        label: 'blob',
      }),
    ).toBe(content.length);
  });

  it('fails on a single altered byte, naming the blob and both digests', async () => {
    const tampered = Buffer.from(content);
    tampered[0] = 0x48;
    await expect(drain([tampered], { digest, size: content.length, label: 'layer 2' })).rejects.toMatchObject(
      {
        code: 'DIGEST_MISMATCH',
        message: expect.stringMatching(/^layer 2: content is sha256:[a-f0-9]{64}, expected sha256:/),
      },
    );
  });

  it('fails on truncation and on excess bytes', async () => {
    await expect(
      drain([content.subarray(0, 4)], { digest, size: content.length, label: 'b' }),
    ).rejects.toMatchObject({
      code: 'SIZE_MISMATCH',
    });
    await expect(
      drain([content, Buffer.from('x')], { digest, size: content.length, label: 'b' }),
    ).rejects.toMatchObject({
      code: 'SIZE_MISMATCH',
    });
  });

  it('ends its hint with the remedy its caller gives, and gives none of its own', async () => {
    const tampered = Buffer.from(content);
    tampered[0] = 0x48;
    await expect(
      drain([tampered], { digest, size: content.length, label: 'b', remedy: 'save the archive again' }),
    ).rejects.toMatchObject({ hint: 'the blob was altered in storage or transit; save the archive again' });
    await expect(
      drain([content.subarray(0, 4)], { digest, size: content.length, label: 'b' }),
    ).rejects.toMatchObject({ hint: 'the blob is truncated or the manifest is wrong' });
  });

  it('hashes a big chunk in slices, letting the event loop turn, and still checks every byte', async () => {
    const big = Buffer.alloc(1024 * 1024 + 7, 1);
    const expectation = { digest: sha256Digest(big), size: big.length, label: 'layer 1' };
    let turns = 0;
    let ticker = setImmediate(function tick() {
      turns++;
      ticker = setImmediate(tick);
    });
    try {
      expect(await drain([big], expectation)).toBe(big.length);
    } finally {
      clearImmediate(ticker);
    }
    expect(turns).toBeGreaterThanOrEqual(3);
    const altered = Buffer.from(big);
    altered[altered.length - 1] = 2;
    await expect(drain([altered], expectation)).rejects.toThrow(/layer 1: content is sha256:/);
  });
});

describe('parseDigest', () => {
  it('accepts sha256 digests and rejects anything else by name', () => {
    expect(parseDigest(digest, 'x')).toBe(digest);
    expect(() => parseDigest('sha256:ABC', 'manifest layers[0]')).toThrow(
      /manifest layers\[0\]: "sha256:ABC" is not a sha256 digest/,
    );
    expect(() => parseDigest(42, 'x')).toThrow(/not a sha256 digest/);
  });
});
