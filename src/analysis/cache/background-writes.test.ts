import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStampOf } from '../../oci/local/files.js';
import { CacheWriteFailure } from './background-writes.js';
import { DiskFingerprintStore, RACY_WINDOW_MS } from './fingerprint-store.js';
import { FINGERPRINTS_FOLDER } from './location.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-writes-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const fsError = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

describe('CacheWriteFailure', () => {
  it('warns once, naming the cache root and the way out that fits the error', () => {
    const warningFor = (code: string) => {
      const warnings: string[] = [];
      const failure = new CacheWriteFailure('/var/cache/imgscope', (message) => warnings.push(message));
      failure.fail(fsError(code));
      failure.fail(fsError('EIO'));
      expect(failure.failed).toBe(true);
      expect(warnings).toHaveLength(1);
      return warnings[0];
    };
    const tail = 'choose another folder with --cache-dir, or pass --no-cache';
    expect(warningFor('ENOSPC')).toBe(
      `cannot write the cache in /var/cache/imgscope (ENOSPC); continuing without storing anything in it — free some space, ${tail}`,
    );
    expect(warningFor('EROFS')).toBe(
      `cannot write the cache in /var/cache/imgscope (EROFS); continuing without storing anything in it — make it writable, ${tail}`,
    );
    expect(warningFor('EIO')).toMatch(/\(EIO\); .* — free some space or make it writable, choose/);
  });

  it('names the file standing where a folder of the cache should be, and says to move it', () => {
    const root = join(scratch, 'cache-root');
    writeFileSync(join(scratch, 'cache-root'), 'not a folder');
    const below = join(root, 'layers-0.1.0-r1');
    const warnings: string[] = [];
    new CacheWriteFailure(root, (message) => warnings.push(message)).fail(
      Object.assign(fsError('ENOTDIR'), { path: below }),
    );
    expect(warnings).toEqual([
      `cannot write the cache in ${root}: it is not a folder; continuing without storing anything in it — move that file away, choose another folder with --cache-dir, or pass --no-cache`,
    ]);
    rmSync(root);
    mkdirSync(root);
    writeFileSync(below, 'not a folder either');
    warnings.length = 0;
    new CacheWriteFailure(root, (message) => warnings.push(message)).fail(
      Object.assign(fsError('EEXIST'), { path: below }),
    );
    expect(warnings[0]).toMatch(new RegExp(`^cannot write the cache in ${root}: ${below} is not a folder; `));
  });

  it('names a cache root linked to a folder that does not exist (a disk not mounted), and says so', async () => {
    const root = join(scratch, 'linked-root');
    symlinkSync(join(scratch, 'unmounted-disk'), root);
    const warnings: string[] = [];
    const store = new DiskFingerprintStore({
      root,
      writeFailure: new CacheWriteFailure(root, (message) => warnings.push(message)),
    });
    const file = join(scratch, 'blob-of-linked-root');
    writeFileSync(file, 'layer bytes');
    const blob = { file, offset: 0, length: 11, stamp: fileStampOf(await stat(file, { bigint: true })) };
    store.remember(blob, `sha256:${'cd'.repeat(32)}`, Date.now() + RACY_WINDOW_MS + 1000);
    await store.flush();
    expect(warnings).toEqual([
      `cannot write the cache in ${root}: it is a symbolic link to ${join(scratch, 'unmounted-disk')}, which does not exist; ` +
        'continuing without storing anything in it — make that folder (or mount its disk), choose another folder with --cache-dir, or pass --no-cache',
    ]);
  });

  it("stops every cache sharing it: after the layer cache's ENOSPC, no fingerprint is written", async () => {
    const root = join(scratch, 'cache');
    const warnings: string[] = [];
    const writeFailure = new CacheWriteFailure(root, (message) => warnings.push(message));
    const store = new DiskFingerprintStore({ root, writeFailure, warn: () => warnings.push('not this') });
    writeFailure.fail(fsError('ENOSPC'));
    const file = join(scratch, 'blob');
    writeFileSync(file, 'layer bytes');
    const blob = { file, offset: 0, length: 11, stamp: fileStampOf(await stat(file, { bigint: true })) };
    store.remember(blob, `sha256:${'ab'.repeat(32)}`, Date.now() + RACY_WINDOW_MS + 1000);
    await store.flush();
    expect(existsSync(join(root, FINGERPRINTS_FOLDER))).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/^cannot write the cache in .*\(ENOSPC\)/)]);
  });
});
