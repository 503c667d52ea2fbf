import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Digest } from '../../oci/digest.js';
import { fileStampOf } from '../../oci/local/files.js';
import type { StoredBlob } from '../../oci/source.js';
import { decodeRecord, encodeRecord, recordFileName } from './fingerprint-format.js';
import { DiskFingerprintStore, RACY_WINDOW_MS } from './fingerprint-store.js';
import { FINGERPRINTS_FOLDER } from './location.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-fingerprints-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let count = 0;
const newPath = (name: string) => join(scratch, `${name}-${++count}`);

const DIGEST: Digest = `sha256:${'ab'.repeat(32)}`;
/** A time long enough after any file made here that its stat is not racy. */
const later = () => Date.now() + RACY_WINDOW_MS + 1000;

async function blobFile(content = 'layer bytes'): Promise<StoredBlob> {
  const file = newPath('blob');
  writeFileSync(file, content);
  const stats = await stat(file, { bigint: true });
  return { file, offset: 0, length: content.length, stamp: fileStampOf(stats) };
}

function storeAt(root: string) {
  const lines: string[] = [];
  const warnings: string[] = [];
  const store = new DiskFingerprintStore({
    root,
    debug: (line) => lines.push(line),
    warn: (message) => warnings.push(message),
  });
  return { store, lines, warnings };
}

describe('DiskFingerprintStore', () => {
  it('vouches for bytes it was told were verified while their file keeps the same stat', async () => {
    const blob = await blobFile();
    const root = newPath('cache');
    const { store, lines } = storeAt(root);
    expect(await store.vouchesFor(blob, DIGEST)).toBe(false);
    store.remember(blob, DIGEST, later());
    await store.flush();
    expect(await store.vouchesFor(blob, DIGEST)).toBe(true);
    expect(lines).toEqual([
      `blob fingerprint miss ${DIGEST}`,
      `blob fingerprint stored ${DIGEST}`,
      `blob fingerprint hit ${DIGEST}`,
    ]);
    // Another process reads the same record.
    expect(await storeAt(root).store.vouchesFor(blob, DIGEST)).toBe(true);
    // The same file at another offset or length, or other expected bytes, is another record.
    expect(await store.vouchesFor({ ...blob, offset: 512 }, DIGEST)).toBe(false);
    expect(await store.vouchesFor({ ...blob, length: 3 }, DIGEST)).toBe(false);
    expect(await store.vouchesFor(blob, `sha256:${'cd'.repeat(32)}`)).toBe(false);
  });

  it('does not vouch once any field of the stat differs', async () => {
    const blob = await blobFile();
    const { store, lines } = storeAt(newPath('cache'));
    store.remember(blob, DIGEST, later());
    await store.flush();
    for (const field of ['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'] as const) {
      const stamp = { ...blob.stamp, [field]: blob.stamp[field] + 1n };
      expect(await store.vouchesFor({ ...blob, stamp }, DIGEST)).toBe(false);
    }
    expect(lines.at(-1)).toBe(`blob fingerprint miss ${DIGEST} (${blob.file} changed since)`);
  });

  it('does not record a file changed within the racy window before its stat was taken', async () => {
    const blob = await blobFile();
    const { store, lines } = storeAt(newPath('cache'));
    store.remember(blob, DIGEST, Date.now());
    await store.flush();
    expect(lines).toEqual([
      `blob fingerprint not stored ${DIGEST} (${blob.file} changed just before it was read)`,
    ]);
    expect(await store.vouchesFor(blob, DIGEST)).toBe(false);
  });

  it('waits two seconds after a change of a file with whole-second timestamps, 100 ms with finer ones', async () => {
    const blob = await blobFile();
    const { store } = storeAt(newPath('cache'));
    const statTakenAt = 1_700_000_000_000;
    const msBefore = (ms: number) => BigInt(statTakenAt - ms) * 1_000_000n;
    const cases: [string, bigint, boolean][] = [
      ['fine, 500 ms before', msBefore(500) + 123n, true],
      ['fine, 50 ms before', msBefore(50) + 123n, false],
      ['whole seconds, 1 s before', msBefore(1000), false],
      ['whole seconds, 3 s before', msBefore(3000), true],
    ];
    const stored = async ([, changedAt]: [string, bigint, boolean], index: number) => {
      const digest: Digest = `sha256:${String(index).repeat(64)}`;
      const changed = { ...blob, stamp: { ...blob.stamp, mtimeNs: changedAt, ctimeNs: changedAt } };
      store.remember(changed, digest, statTakenAt);
      await store.flush();
      return store.vouchesFor(changed, digest);
    };
    for (const [index, testCase] of cases.entries())
      expect(await stored(testCase, index), testCase[0]).toBe(testCase[2]);
  });

  it('treats a corrupt or truncated record as a miss, and replaces it when told again', async () => {
    const blob = await blobFile();
    const root = newPath('cache');
    const { store, lines } = storeAt(root);
    store.remember(blob, DIGEST, later());
    await store.flush();
    const file = join(root, FINGERPRINTS_FOLDER, recordFileName(blob, DIGEST));
    const bytes = readFileSync(file);
    // The ctime's last digit changed: the checksum catches it.
    bytes[bytes.lastIndexOf('"}') - 1]! ^= 1;
    writeFileSync(file, bytes);
    expect(await store.vouchesFor(blob, DIGEST)).toBe(false);
    expect(lines.at(-1)).toBe(`blob fingerprint miss ${DIGEST} (corrupt: checksum mismatch)`);
    writeFileSync(file, bytes.subarray(0, 40));
    expect(await store.vouchesFor(blob, DIGEST)).toBe(false);
    expect(lines.at(-1)).toBe(`blob fingerprint miss ${DIGEST} (corrupt: not an imgscope fingerprint)`);

    store.remember(blob, DIGEST, later());
    await store.flush();
    expect(await store.vouchesFor(blob, DIGEST)).toBe(true);
    expect(readdirSync(join(root, FINGERPRINTS_FOLDER))).toEqual([recordFileName(blob, DIGEST)]);
  });

  it('warns once and stops writing when the folder cannot be written', async () => {
    const blocker = newPath('blocker');
    writeFileSync(blocker, 'a file where the cache root should be');
    const { store, warnings } = storeAt(blocker);
    const blob = await blobFile();
    store.remember(blob, DIGEST, later());
    store.remember(blob, DIGEST, later());
    await store.flush();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^cannot write the cache in .*: .* is not a folder; continuing without storing anything in it — move/,
    );
    expect(await store.vouchesFor(blob, DIGEST)).toBe(false);
  });
});

describe('fingerprint records', () => {
  it('round-trip every field, nanosecond stamps and negative times included, in a few hundred bytes', async () => {
    const blob = await blobFile();
    const record = {
      blob: { ...blob, offset: 1536, stamp: { ...blob.stamp, mtimeNs: -1_234_567_891n } },
      digest: DIGEST,
    };
    const bytes = encodeRecord(record);
    expect(bytes.length).toBeLessThan(400 + blob.file.length);
    expect(decodeRecord(bytes)).toEqual(record);
  });

  it('are named by what they vouch for, never by the stat', async () => {
    const blob = await blobFile();
    const name = recordFileName(blob, DIGEST);
    expect(name).toMatch(/^[0-9a-f]{64}$/);
    const otherStat: StoredBlob = { ...blob, stamp: { ...blob.stamp, ino: 1n } };
    expect(recordFileName(otherStat, DIGEST)).toBe(name);
    expect(recordFileName({ ...blob, file: `${blob.file}x` }, DIGEST)).not.toBe(name);
  });
});
