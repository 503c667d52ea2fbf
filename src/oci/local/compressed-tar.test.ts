import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type * as fs from 'node:fs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTempDir, tarBytes } from '../../../test/helpers/image-files.js';
import { CompressedTarFiles, type IndexProgress } from './compressed-tar.js';

/** Compressed bytes read from each file, as the archive's decompressors pull them. */
const bytesRead = new Map<string, number>();
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof fs>();
  return {
    ...actual,
    createReadStream: (...args: Parameters<typeof fs.createReadStream>) => {
      const stream = actual.createReadStream(...args);
      const path = String(args[0]);
      // Counted as the file stream pushes them: a 'data' listener would make the stream flow.
      const push = stream.push.bind(stream);
      stream.push = (chunk: Buffer | null) => {
        if (chunk) bytesRead.set(path, (bytesRead.get(path) ?? 0) + chunk.length);
        return push(chunk);
      };
      return stream;
    },
  };
});

let temp: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  temp = await makeTempDir('compressed-tar');
});
afterAll(() => temp.remove());

const MiB = 1024 * 1024;

describe('a member of a compressed archive', () => {
  it('stops decompressing towards the member once its stream is destroyed', async () => {
    // 48 MiB stored before the member: gzip level 0, so compressed bytes read are decompressed bytes reached.
    const tar = await tarBytes([
      { name: 'first', content: randomBytes(48 * MiB) },
      { name: 'last', content: 'the member at the end' },
    ]);
    const file = join(temp.path, 'archive.tar.gz');
    writeFileSync(file, gzipSync(tar, { level: 0 }));
    const files = await CompressedTarFiles.open(file, file);
    try {
      bytesRead.clear();
      const stream = await files.open('last');
      stream.resume();
      await new Promise((resolve) => setImmediate(resolve));
      // As LocalBlobs.requirePresent does, and as an aborted layer read ends.
      stream.destroy();
      await once(stream, 'close');
      expect(bytesRead.get(file) ?? 0).toBeLessThan(24 * MiB);
    } finally {
      await files.close();
    }
  });
});

describe('indexing a compressed archive', () => {
  it('stops at the decompression guard, naming the archive, as a layer read stops', async () => {
    const tar = await tarBytes([
      { name: 'manifest.json', content: '[]' },
      { name: 'bomb', content: Buffer.alloc(4 * MiB) },
    ]);
    const file = join(temp.path, 'bomb.tar.gz');
    writeFileSync(file, gzipSync(tar));
    await expect(
      CompressedTarFiles.open(file, `docker-archive:${file}`, { maxUncompressedBytes: MiB }),
    ).rejects.toMatchObject({
      code: 'LIMIT',
      exitCode: 2,
      message: `docker-archive:${file}: the archive decompresses to more than ${MiB} bytes (the decompression guard)`,
      hint: expect.stringContaining('raise IMGSCOPE_DECOMPRESSION_LIMIT only if the image is trusted'),
    });
    const files = await CompressedTarFiles.open(file, file, { maxUncompressedBytes: 8 * MiB });
    expect(files.paths()).toEqual(['manifest.json', 'bomb']);
    await files.close();
  });
});

describe('the indexing pass', () => {
  it('fails on a wrong CRC-32 in the gzip trailer, naming the archive: no digest covers manifest.json', async () => {
    const tar = await tarBytes([{ name: 'manifest.json', content: '[]' }]);
    const file = join(temp.path, 'wrong-crc.tar.gz');
    const gzipped = gzipSync(tar);
    gzipped.writeUInt32LE(~gzipped.readUInt32LE(gzipped.length - 8) >>> 0, gzipped.length - 8);
    writeFileSync(file, gzipped);
    await expect(CompressedTarFiles.open(file, file)).rejects.toMatchObject({
      code: 'MALFORMED',
      exitCode: 2,
      message: `${file}: cannot decompress the archive (gzip trailer CRC-32 does not match the inflated data)`,
      hint: 'the archive is damaged or cut short; save the image again',
    });
  });

  it('checks the CRC-32 after megabytes of data past the tar end (cat a.tar b.tar | gzip), without parsing them', async () => {
    const tar = await tarBytes([{ name: 'manifest.json', content: '[]' }]);
    const file = join(temp.path, 'wrong-crc-after-padding.tar.gz');
    const gzipped = gzipSync(Buffer.concat([tar, randomBytes(8 * MiB)]), { level: 1 });
    writeFileSync(file, gzipped);
    const files = await CompressedTarFiles.open(file, file);
    expect(files.paths()).toEqual(['manifest.json']);
    await files.close();
    gzipped.writeUInt32LE(~gzipped.readUInt32LE(gzipped.length - 8) >>> 0, gzipped.length - 8);
    writeFileSync(file, gzipped);
    await expect(CompressedTarFiles.open(file, file)).rejects.toMatchObject({
      code: 'MALFORMED',
      message: `${file}: cannot decompress the archive (gzip trailer CRC-32 does not match the inflated data)`,
    });
    // The data past the tar's end counts towards the decompression guard like the rest.
    await expect(
      CompressedTarFiles.open(file, file, { maxUncompressedBytes: 4 * MiB }),
    ).rejects.toMatchObject({ code: 'LIMIT' });
  });

  it('reports how far it has read the file, up to its end', async () => {
    const tar = await tarBytes([{ name: 'member', content: randomBytes(4 * MiB) }]);
    const file = join(temp.path, 'progress.tar.gz');
    const gzipped = gzipSync(tar, { level: 0 });
    writeFileSync(file, gzipped);
    const reports: IndexProgress[] = [];
    const files = await CompressedTarFiles.open(file, file, { onProgress: (read) => reports.push(read) });
    await files.close();
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.every((read) => read.totalBytes === gzipped.length)).toBe(true);
    expect(reports.at(-1)!.bytesRead).toBe(gzipped.length);
    expect(reports.at(-1)!.decompressedBytes).toBeGreaterThanOrEqual(4 * MiB);
  });

  it('stops at its next chunk once its signal is aborted, not at the end of the archive', async () => {
    const tar = await tarBytes([{ name: 'member', content: randomBytes(48 * MiB) }]);
    const file = join(temp.path, 'aborted.tar.gz');
    writeFileSync(file, gzipSync(tar, { level: 0 }));
    const quit = new AbortController();
    let decompressed = 0;
    const opening = CompressedTarFiles.open(file, file, {
      signal: quit.signal,
      onProgress: (read) => {
        decompressed = read.decompressedBytes;
        quit.abort();
      },
    });
    await expect(opening).rejects.toMatchObject({ name: 'AbortError' });
    expect(decompressed).toBeLessThan(24 * MiB);
  });
});
