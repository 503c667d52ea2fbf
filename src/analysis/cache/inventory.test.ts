import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeLayer, fakeSummary } from '../../../test/policy/fakes.js';
import type { Digest } from '../../oci/digest.js';
import { fileStampOf } from '../../oci/local/files.js';
import { encodeRecord, recordFileName } from './fingerprint-format.js';
import { listCache, pruneCache } from './inventory.js';
import {
  entryFileName,
  FINGERPRINTS_FOLDER,
  IMAGES_FOLDER,
  isVersionedFolderName,
  LAYERS_FOLDER,
  SUMMARY_VERSION,
  TWIN_PREFIX,
} from './location.js';
import { encodeSummary } from './summary-format.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-inventory-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let roots = 0;

const digest = (n: number): Digest => `sha256:${n.toString(16).padStart(64, '0')}`;
const hours = (n: number) => Date.UTC(2024, 0, 1) / 1000 + n * 3600;

/** Layer entries of `size` bytes and image summaries naming some of them, each last used at an hour given. */
function cacheWith(
  layers: { n: number; size: number; usedAt: number }[],
  images: { n: number; layers: number[]; usedAt: number }[],
): string {
  const root = join(scratch, `root-${++roots}`);
  for (const folder of [LAYERS_FOLDER, IMAGES_FOLDER]) mkdirSync(join(root, folder), { recursive: true });
  for (const layer of layers) {
    const file = join(root, LAYERS_FOLDER, entryFileName(digest(layer.n)));
    writeFileSync(file, Buffer.alloc(layer.size));
    utimesSync(file, hours(layer.usedAt), hours(layer.usedAt));
  }
  for (const image of images) {
    const summary = fakeSummary({ layers: image.layers.map((n, i) => fakeLayer(i, { digest: digest(n) })) });
    const file = join(root, IMAGES_FOLDER, entryFileName(digest(image.n)));
    writeFileSync(file, Buffer.concat(encodeSummary(digest(image.n), SUMMARY_VERSION, summary)));
    utimesSync(file, hours(image.usedAt), hours(image.usedAt));
  }
  return root;
}

const digestsOf = (entries: { digest: Digest }[]) => entries.map((entry) => entry.digest);

describe('two prunes at once', () => {
  it('leave what fits the budget: an entry the other prune removed first counts as gone', async () => {
    const layers = Array.from({ length: 400 }, (_, i) => ({ n: i + 1, size: 100, usedAt: i }));
    const root = cacheWith(layers, []);
    const [first, second] = await Promise.all([pruneCache(root, 200 * 100), pruneCache(root, 200 * 100)]);
    expect(readdirSync(join(root, LAYERS_FOLDER))).toHaveLength(200);
    expect(first.removed.length + second.removed.length).toBe(200);
    expect([first.kept, second.kept, first.keptSize, second.keptSize]).toEqual([200, 200, 20_000, 20_000]);
  });
});

describe('cache inventory with image summaries', () => {
  it('lists layer entries and image summaries apart, most recently used first', async () => {
    const root = cacheWith(
      [
        { n: 1, size: 100, usedAt: 1 },
        { n: 2, size: 200, usedAt: 2 },
      ],
      [{ n: 90, layers: [1, 2], usedAt: 3 }],
    );
    const inventory = await listCache(root);
    expect(digestsOf(inventory.entries)).toEqual([digest(2), digest(1)]);
    expect(inventory.totalSize).toBe(300);
    expect(inventory.images.directory).toBe(join(root, IMAGES_FOLDER));
    expect(digestsOf(inventory.images.entries)).toEqual([digest(90)]);
    expect(inventory.images.totalSize).toBe(inventory.images.entries[0]!.size);
  });

  it('prunes summaries and layers in one least-recently-used order, a summary with any of its layers', async () => {
    const root = cacheWith(
      [
        { n: 1, size: 1000, usedAt: 1 },
        { n: 2, size: 1000, usedAt: 5 },
        { n: 3, size: 1000, usedAt: 6 },
      ],
      [
        { n: 90, layers: [3], usedAt: 0 }, // the oldest of all: goes first
        { n: 91, layers: [1, 2], usedAt: 7 }, // goes with layer 1
        { n: 92, layers: [2, 3], usedAt: 8 }, // its layers stay: kept
      ],
    );
    // Twin pointers: to summaries that go, to one that stays, to none, and a pointer that names nothing.
    const pointer = (name: string, text: string) => writeFileSync(join(root, IMAGES_FOLDER, name), text);
    pointer(`${TWIN_PREFIX}${'a'.repeat(64)}`, `${digest(90)}\n`);
    pointer(`${TWIN_PREFIX}${'b'.repeat(64)}`, `${digest(91)}\n`);
    pointer(`${TWIN_PREFIX}${'c'.repeat(64)}`, `${digest(92)}\n`);
    pointer(`${TWIN_PREFIX}${'d'.repeat(64)}`, 'not a digest');
    const { images } = await listCache(root);
    expect(digestsOf(images.entries).sort()).toEqual([digest(90), digest(91), digest(92)]);
    const kept = images.entries.find((entry) => entry.digest === digest(92))!;
    const result = await pruneCache(root, 2000 + kept.size);
    expect(digestsOf(result.removed)).toEqual([digest(1)]);
    expect(digestsOf(result.images.removed).sort()).toEqual([digest(90), digest(91)]);
    expect(result.images).toMatchObject({ kept: 1, keptSize: kept.size });
    expect(readdirSync(join(root, IMAGES_FOLDER)).sort()).toEqual([
      entryFileName(digest(92)),
      `${TWIN_PREFIX}${'c'.repeat(64)}`,
    ]);
    expect(readdirSync(join(root, LAYERS_FOLDER)).sort()).toEqual([
      entryFileName(digest(2)),
      entryFileName(digest(3)),
    ]);
  });

  it('counts a twin pointer with the summary it names, and one naming no summary as stale', async () => {
    const root = cacheWith([{ n: 1, size: 1000, usedAt: 1 }], [{ n: 90, layers: [1], usedAt: 2 }]);
    const summaryFile = join(root, IMAGES_FOLDER, entryFileName(digest(90)));
    const summarySize = statSync(summaryFile).size;
    const pointerText = `${digest(90)}\n`;
    writeFileSync(join(root, IMAGES_FOLDER, `${TWIN_PREFIX}${'a'.repeat(64)}`), pointerText);
    writeFileSync(join(root, IMAGES_FOLDER, `${TWIN_PREFIX}${'b'.repeat(64)}`), `${digest(91)}\n`);
    const inventory = await listCache(root);
    expect(inventory.images.entries[0]!.size).toBe(summarySize + pointerText.length);
    expect(inventory.images.totalSize).toBe(summarySize + pointerText.length);
    expect(inventory.stale).toEqual({ files: 1, size: pointerText.length });
    // A budget one byte short of the layer, the summary and its pointer drops the summary (the oldest
    // goes with its layer) and both pointers; the dangling one is reported as stale.
    const result = await pruneCache(root, 1000 + summarySize + pointerText.length - 1);
    expect(digestsOf(result.removed)).toEqual([digest(1)]);
    expect(result.images.removedSize).toBe(summarySize + pointerText.length);
    expect(result.stale).toMatchObject({ files: 1, size: pointerText.length });
    expect(existsSync(join(root, IMAGES_FOLDER))).toBe(false);
    // Exactly the budget: everything stays.
    const fits = cacheWith([{ n: 1, size: 1000, usedAt: 1 }], [{ n: 90, layers: [1], usedAt: 2 }]);
    writeFileSync(join(fits, IMAGES_FOLDER, `${TWIN_PREFIX}${'a'.repeat(64)}`), pointerText);
    const kept = await pruneCache(fits, 1000 + summarySize + pointerText.length);
    expect([kept.removed.length, kept.images.removed.length, kept.images.keptSize]).toEqual([
      0,
      0,
      summarySize + pointerText.length,
    ]);
  });

  it('removes a summary it cannot read, whatever the budget', async () => {
    const root = cacheWith([{ n: 1, size: 10, usedAt: 1 }], [{ n: 90, layers: [1], usedAt: 2 }]);
    writeFileSync(join(root, IMAGES_FOLDER, entryFileName(digest(91))), 'not a summary');
    const result = await pruneCache(root, 1e9);
    expect(digestsOf(result.images.removed)).toEqual([digest(91)]);
    expect(result.images.kept).toBe(1);
    expect(result.kept).toBe(1);
  });

  it('does not block on a FIFO where a twin pointer should be, and removes it', async () => {
    const root = cacheWith([{ n: 1, size: 10, usedAt: 1 }], [{ n: 90, layers: [1], usedAt: 2 }]);
    const pointer = join(root, IMAGES_FOLDER, `${TWIN_PREFIX}${'a'.repeat(64)}`);
    execFileSync('mkfifo', [pointer]);
    const result = await pruneCache(root, 1e9);
    expect(result.images.kept).toBe(1);
    expect(existsSync(pointer)).toBe(false);
  }, 10_000);

  it('without a budget removes everything: summaries, their twin pointers, their folder, and stale summary folders', async () => {
    const root = cacheWith([{ n: 1, size: 10, usedAt: 1 }], [{ n: 90, layers: [1], usedAt: 2 }]);
    writeFileSync(join(root, IMAGES_FOLDER, `${TWIN_PREFIX}${'a'.repeat(64)}`), `${digest(90)}\n`);
    const stale = join(root, 'images-0.0.1-r1-s1');
    mkdirSync(stale);
    writeFileSync(join(stale, entryFileName(digest(90))), 'an old summary');
    expect((await listCache(root)).stale.files).toBe(1);
    const result = await pruneCache(root);
    expect(result.images.removed).toHaveLength(1);
    expect(result.stale.files).toBe(1);
    expect(readdirSync(root)).toEqual([LAYERS_FOLDER]);
    expect(existsSync(join(root, IMAGES_FOLDER))).toBe(false);
  });
});

describe('cache inventory with blob fingerprints', () => {
  /** A cache holding a fingerprint of each of `count` fresh blob files, and those files. */
  function cacheWithFingerprints(count: number): { root: string; blobs: string[]; records: string[] } {
    const root = cacheWith([{ n: 1, size: 10, usedAt: 1 }], []);
    mkdirSync(join(root, FINGERPRINTS_FOLDER));
    const blobs: string[] = [];
    const records: string[] = [];
    for (let i = 0; i < count; i++) {
      const file = join(root, `blob-${i}`);
      writeFileSync(file, `blob ${i}`);
      const blob = { file, offset: 0, length: 6, stamp: fileStampOf(statSync(file, { bigint: true })) };
      const name = recordFileName(blob, digest(i));
      writeFileSync(join(root, FINGERPRINTS_FOLDER, name), encodeRecord({ blob, digest: digest(i) }));
      blobs.push(file);
      records.push(name);
    }
    return { root, blobs, records };
  }

  it('counts them apart from the entries', async () => {
    const { root } = cacheWithFingerprints(3);
    const inventory = await listCache(root);
    expect(inventory.fingerprints).toMatchObject({ directory: join(root, FINGERPRINTS_FOLDER), count: 3 });
    expect(inventory.fingerprints.totalSize).toBeGreaterThan(3 * 200);
    expect(inventory.totalSize).toBe(10);
  });

  it('within a budget removes only those whose file changed, vanished or cannot be read', async () => {
    const { root, blobs, records } = cacheWithFingerprints(4);
    // The same bytes in a new file put in its place: another inode.
    writeFileSync(`${blobs[1]}.new`, 'blob 1');
    renameSync(`${blobs[1]}.new`, blobs[1]!);
    rmSync(blobs[2]!);
    writeFileSync(join(root, FINGERPRINTS_FOLDER, records[3]!), 'not a fingerprint');
    const result = await pruneCache(root, 1e9);
    expect(result.fingerprints).toMatchObject({ removed: 3, kept: 1 });
    expect(result.kept).toBe(1);
    expect(readdirSync(join(root, FINGERPRINTS_FOLDER))).toEqual([records[0]]);
  });

  it('without a budget removes them all, their folder, and stale fingerprint folders', async () => {
    const { root } = cacheWithFingerprints(2);
    const stale = join(root, 'fingerprints-0.0.1-f1');
    mkdirSync(stale);
    writeFileSync(join(stale, 'a'.repeat(64)), 'an old fingerprint');
    expect((await listCache(root)).stale.files).toBe(1);
    const result = await pruneCache(root);
    expect(result.fingerprints).toMatchObject({ removed: 2, kept: 0, keptSize: 0 });
    expect(result.stale.files).toBe(1);
    expect(readdirSync(root).filter((name) => !name.startsWith('blob-'))).toEqual([LAYERS_FOLDER]);
  });
});

describe('cache inventory: stale folders of other imgscope versions', () => {
  it('are only folders named as imgscope names them, never a folder of the user with a like name', async () => {
    expect([LAYERS_FOLDER, IMAGES_FOLDER, FINGERPRINTS_FOLDER].every(isVersionedFolderName)).toBe(true);
    const root = cacheWith([{ n: 1, size: 10, usedAt: 1 }], []);
    const stale = ['layers-0.0.1-r1', 'images-0.2.0-beta.1-r2-s3', 'fingerprints-1.0.0-f2'];
    const mine = ['images-raw', 'layers-of-paint', 'fingerprints-', 'layers-0.0.1-r1.bak'];
    for (const name of [...stale, ...mine]) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, entryFileName(digest(9))), 'keep me, or not');
    }
    expect((await listCache(root)).stale.files).toBe(3);
    expect((await pruneCache(root)).stale.files).toBe(3);
    expect(readdirSync(root).sort()).toEqual([LAYERS_FOLDER, ...mine].sort());
  });

  it("lose only the files imgscope names: a user's file or subfolder in one stays, and so does the folder", async () => {
    const root = cacheWith([{ n: 1, size: 10, usedAt: 1 }], []);
    const other = join(root, 'layers-0.0.1-r1');
    mkdirSync(join(other, 'sub'), { recursive: true });
    writeFileSync(join(other, entryFileName(digest(2))), 'an old entry');
    writeFileSync(join(other, 'notes.txt'), "the user's");
    writeFileSync(join(other, 'sub', entryFileName(digest(3))), "the user's too");
    expect((await listCache(root)).stale).toEqual({ files: 1, size: 'an old entry'.length });
    expect((await pruneCache(root)).stale).toMatchObject({ files: 1, size: 'an old entry'.length });
    expect(readdirSync(other).sort()).toEqual(['notes.txt', 'sub']);
    expect(readdirSync(join(other, 'sub'))).toEqual([entryFileName(digest(3))]);
  });

  it("count against --max-size and go before this version's entries, and only as far as the budget needs", async () => {
    const root = cacheWith([{ n: 1, size: 100, usedAt: 1 }], []);
    const [olderName, newerName] = ['layers-0.0.1-r1', 'images-99.0.0-r1-s1'];
    const [older, newer] = [join(root, olderName), join(root, newerName)];
    for (const [folder, usedAt] of [
      [older, 2],
      [newer, 3],
    ] as const) {
      mkdirSync(folder);
      const file = join(folder, entryFileName(digest(usedAt)));
      writeFileSync(file, Buffer.alloc(100));
      utimesSync(file, hours(usedAt), hours(usedAt));
    }
    // Everything fits: nothing goes, another version's cache included.
    expect((await pruneCache(root, 300)).stale.files).toBe(0);
    expect(readdirSync(root).sort()).toEqual([LAYERS_FOLDER, newerName, olderName].sort());
    // 100 bytes over: the oldest of the other versions' entries goes, not this version's older entry.
    const result = await pruneCache(root, 200);
    expect(result.stale).toEqual({ files: 1, size: 100, kept: 1, keptSize: 100 });
    expect(result.removed).toEqual([]);
    expect(existsSync(older)).toBe(false);
    expect(readdirSync(newer)).toHaveLength(1);
  });

  it('are kept while another version may be writing to them: a temp file younger than 10 minutes', async () => {
    const root = cacheWith([{ n: 1, size: 10, usedAt: 1 }], []);
    const other = join(root, 'layers-0.2.0-r1');
    mkdirSync(other);
    writeFileSync(join(other, '.tmp-999-abcdef'), 'half written right now');
    writeFileSync(join(other, entryFileName(digest(1))), 'an entry');
    const now = Date.now();
    expect((await listCache(root, now)).stale.files).toBe(0);
    await pruneCache(root, undefined, now);
    expect(readdirSync(other)).toHaveLength(2);
    // Ten minutes on, and the writer gone: abandoned.
    const later = now + 10 * 60 * 1000 + 1000;
    expect((await listCache(root, later)).stale.files).toBe(2);
    await pruneCache(root, undefined, later);
    expect(existsSync(other)).toBe(false);
  });

  it('count a symlink as itself, never what it links to, and prune removes only the link', async () => {
    const root = cacheWith([{ n: 1, size: 10, usedAt: 1 }], []);
    const precious = join(scratch, `precious-${roots}`);
    mkdirSync(join(precious, 'sub'), { recursive: true });
    writeFileSync(join(precious, 'a'), 'x'.repeat(5000));
    writeFileSync(join(precious, 'sub', 'b'), 'x'.repeat(5000));
    const link = join(root, 'layers-0.0.1-r1');
    symlinkSync(precious, link);
    const old = join(root, 'images-0.0.1-r1-s1');
    mkdirSync(old);
    symlinkSync(join(precious, 'a'), join(old, entryFileName(digest(2))));
    const { stale } = await listCache(root);
    expect(stale).toEqual({
      files: 2,
      size: lstatSync(link).size + lstatSync(join(old, entryFileName(digest(2)))).size,
    });
    await pruneCache(root);
    expect(existsSync(link) || existsSync(old)).toBe(false);
    expect(readFileSync(join(precious, 'sub', 'b'), 'utf8')).toHaveLength(5000);
    expect(readFileSync(join(precious, 'a'), 'utf8')).toHaveLength(5000);
  });
});
