import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/shared.js';
import { sha256Digest } from '../digest.js';
import { openLocalImage } from './index.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-locate-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// What the cache's fingerprints of local blobs rest on: where each blob's bytes lie, and the stat of the
// file holding them.
describe('locating the blobs of an image on disk', () => {
  it.each([
    ['an OCI layout', 'demo', false],
    ['an oci-archive', 'demo.oci.tar', true],
    ['a docker save', 'demo.docker.tar', true],
  ])(
    "gives for each layer of %s the file and range of its bytes and that file's stat",
    async (_, name, isArchive) => {
      const source = await openLocalImage(fixture(name));
      expect(source.layers).toHaveLength(8);
      for (const layer of source.layers) {
        const blob = await source.locateBlob!(layer);
        expect(blob).toBeDefined();
        const { file, offset, length, stamp } = blob!;
        expect(file).toBe(
          isArchive ? fixture(name) : fixture(name, 'blobs', 'sha256', layer.digest.slice(7)),
        );
        expect(offset > 0).toBe(isArchive);
        expect(length).toBe(layer.size);
        expect(sha256Digest(readFileSync(file).subarray(offset, offset + length))).toBe(layer.digest);
        const stats = statSync(file, { bigint: true });
        expect(stamp).toEqual({
          dev: stats.dev,
          ino: stats.ino,
          size: stats.size,
          mtimeNs: stats.mtimeNs,
          ctimeNs: stats.ctimeNs,
        });
      }
    },
  );

  it('gives nothing for a blob missing from a layout', async () => {
    const dir = join(scratch, 'demo');
    cpSync(fixture('demo'), dir, { recursive: true });
    const source = await openLocalImage(dir);
    const [first] = source.layers;
    rmSync(join(dir, 'blobs', 'sha256', first!.digest.slice(7)));
    expect(await source.locateBlob!(first!)).toBeUndefined();
  });
});
