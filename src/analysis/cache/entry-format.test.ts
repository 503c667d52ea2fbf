import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../oci/digest.js';
import { ENTRY_TYPES, LayerItems, NO_LINK, StringTable } from '../layer-items.js';
import { PathTable } from '../paths.js';
import { readLayerTar } from '../tar-entries.js';
import { tarOf } from '../testing.js';
import {
  decodeEntry,
  encodeEntry,
  type InternTables,
  type LayerAnalysis,
  UnusableEntryError,
} from './entry-format.js';

const DIGEST: Digest = `sha256:${'ab'.repeat(32)}`;
const ANALYSER = 'test-r1';

const freshTables = (): InternTables => ({ paths: new PathTable(), links: new StringTable() });

async function parse(entries: Parameters<typeof tarOf>[0], tables: InternTables): Promise<LayerAnalysis> {
  const tar = await tarOf(entries);
  const result = await readLayerTar(Readable.from([tar]), { ...tables, label: 'test layer' });
  return { ...result, compression: 'gzip', blobSize: tar.length };
}

const LAYER = [
  'etc/',
  'etc/passwd:120',
  { name: 'usr/bin/tool', content: 'x'.repeat(300), mode: 0o4755, uid: 1000, gid: 70_000 },
  { name: 'usr/bin/alias', type: 'symlink', linkname: 'tool' },
  { name: 'usr/bin/hard', type: 'link', linkname: './usr/bin/tool' },
  { name: 'usr/lib/other', type: 'symlink', linkname: 'tool' },
  'var/cache/.wh.apt',
  'var/lib/.wh..wh..opq',
  'var/.wh..wh.plnk',
  'srv/naïve – ünïcode/日本語.txt:7',
  { name: 'dev/null', type: 'character-device' },
] as const;

/** A layer's items with ids spelled out, comparable across tables. */
function spelled(layer: LayerAnalysis, tables: InternTables) {
  const { items } = layer;
  return {
    rows: Array.from({ length: items.count }, (_, i) => [
      items.kinds[i],
      tables.paths.path(items.paths[i]!),
      ENTRY_TYPES[items.types[i]!],
      items.modes[i],
      items.uids[i],
      items.gids[i],
      items.sizes[i],
      items.links[i] === NO_LINK ? null : tables.links.get(items.links[i]!),
    ]),
    compression: layer.compression,
    fileCount: layer.fileCount,
    contentSize: layer.contentSize,
    uncompressedSize: layer.uncompressedSize,
    diffId: layer.diffId,
    blobSize: layer.blobSize,
  };
}

function encode(layer: LayerAnalysis, tables: InternTables): Buffer {
  const chunks = encodeEntry(DIGEST, ANALYSER, layer, tables);
  if (!chunks) throw new Error('not encodable');
  return Buffer.concat(chunks);
}

/** Re-signs an entry after it was edited, as a forger with write access to the cache could. */
function resign(entry: Buffer, edit: (header: Record<string, unknown>, payload: Buffer) => void): Buffer {
  const length = entry.readUInt32LE(8);
  const header = JSON.parse(entry.toString('utf8', 12, 12 + length)) as Record<string, unknown>;
  const payload = Buffer.from(entry.subarray((12 + length + 7) & ~7, -4));
  edit(header, payload);
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc((12 + json.length + 7) & ~7);
  prefix.write('IMGSCOPE', 0, 'latin1');
  prefix.writeUInt32LE(json.length, 8);
  json.copy(prefix, 12);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc32(Buffer.concat([prefix, payload])));
  return Buffer.concat([prefix, payload, trailer]);
}

describe('cache entry format', () => {
  it('round-trips a layer into other tables: same paths, links, modes, owners, sizes and counts', async () => {
    const source = freshTables();
    const layer = await parse(LAYER, source);
    const entry = encode(layer, source);

    const target = freshTables();
    target.paths.intern(['unrelated', 'path']); // ids in the target differ from the source's
    target.links.intern('unrelated target');
    const loaded = decodeEntry(entry, { digest: DIGEST, analyser: ANALYSER }, target);

    expect(spelled(loaded, target)).toEqual(spelled(layer, source));
    expect(spelled(loaded, target).rows).toContainEqual([
      0,
      '/usr/bin/tool',
      'file',
      0o4755,
      1000,
      70_000,
      300,
      null,
    ]);
  });

  it('interns paths in the order the tar parser does, so ids match a parse into the same tables', async () => {
    const parsedTables = freshTables();
    parsedTables.paths.intern(['etc']); // what an earlier layer left in the table
    const layer = await parse(LAYER, parsedTables);

    const encodedFrom = freshTables();
    const entry = encode(await parse(LAYER, encodedFrom), encodedFrom);
    const loadedTables = freshTables();
    loadedTables.paths.intern(['etc']);
    const loaded = decodeEntry(entry, { digest: DIGEST, analyser: ANALYSER }, loadedTables);

    expect(Array.from(loaded.items.paths.subarray(0, loaded.items.count))).toEqual(
      Array.from(layer.items.paths.subarray(0, layer.items.count)),
    );
    expect(loadedTables.paths.size).toBe(parsedTables.paths.size);
  });

  it('round-trips an empty layer', async () => {
    const tables = freshTables();
    const layer = await parse([], tables);
    const loaded = decodeEntry(encode(layer, tables), { digest: DIGEST, analyser: ANALYSER }, freshTables());
    expect(loaded.items.count).toBe(0);
    expect(loaded.uncompressedSize).toBe(layer.uncompressedSize);
  });

  it('covers every column of LayerItems (a new column must be added to the entry format)', () => {
    const columns = Object.entries(new LayerItems())
      .filter(([, value]) => ArrayBuffer.isView(value))
      .map(([name]) => name)
      .sort();
    expect(columns).toEqual(['gids', 'kinds', 'links', 'modes', 'paths', 'sizes', 'types', 'uids']);
  });

  it('does not encode a layer with a name that UTF-8 cannot carry (a lone surrogate)', () => {
    const tables = freshTables();
    const items = new LayerItems();
    items.push(0, tables.paths.intern(['bad\ud800name']), 0, 0o644, 0, 0, 0, NO_LINK);
    const layer = {
      items,
      compression: 'none' as const,
      fileCount: 1,
      contentSize: 0,
      uncompressedSize: 1024,
      diffId: DIGEST,
      blobSize: 1024,
    };
    expect(encodeEntry(DIGEST, ANALYSER, layer, tables)).toBeUndefined();
  });

  describe('refuses, without touching the tables,', () => {
    async function entry(): Promise<Buffer> {
      const tables = freshTables();
      return encode(await parse(LAYER, tables), tables);
    }

    function refusal(
      bytes: Uint8Array,
      expected = { digest: DIGEST, analyser: ANALYSER },
    ): UnusableEntryError {
      const tables = freshTables();
      try {
        decodeEntry(bytes, expected, tables);
      } catch (error) {
        expect(error).toBeInstanceOf(UnusableEntryError);
        expect(tables.paths.size).toBe(1);
        return error as UnusableEntryError;
      }
      throw new Error('the entry was accepted');
    }

    it('an entry of another analyser version (stale)', async () => {
      expect(refusal(await entry(), { digest: DIGEST, analyser: 'test-r2' }).reason).toBe('stale');
    });

    it('an entry of another format version (stale)', async () => {
      const other = resign(await entry(), (header) => {
        header.format = 999;
      });
      expect(refusal(other).reason).toBe('stale');
    });

    it('an entry of format 1, whose checksum covered only the payload (stale)', async () => {
      // Format 1 had the payload's CRC-32 in the header and no trailer.
      const old = resign(await entry(), (header) => {
        header.format = 1;
        header.crc32 = 0;
      }).subarray(0, -4);
      expect(refusal(old).message).toBe('stale: entry format 1');
    });

    it('an entry of format 2, written before entries carried the diff_id (stale)', async () => {
      const old = resign(await entry(), (header) => {
        header.format = 2;
        delete header.diffId;
      });
      expect(refusal(old).message).toBe('stale: entry format 2');
    });

    it('an entry whose diff_id is not a sha256 digest', async () => {
      const forged = resign(await entry(), (header) => {
        header.diffId = 'sha256:short';
      });
      expect(refusal(forged).message).toBe('corrupt: no diff_id');
    });

    it('an entry filed under the wrong digest', async () => {
      expect(refusal(await entry(), { digest: `sha256:${'cd'.repeat(32)}`, analyser: ANALYSER }).reason).toBe(
        'corrupt',
      );
    });

    it('a truncated entry, at any length', async () => {
      const bytes = await entry();
      for (const length of [0, 7, 11, 40, bytes.length >> 1, bytes.length - 1])
        expect(refusal(bytes.subarray(0, length)).reason).toBe('corrupt');
    });

    it('an entry with any single payload byte flipped (the checksum)', async () => {
      const bytes = await entry();
      const headerEnd = (12 + bytes.readUInt32LE(8) + 7) & ~7;
      for (let at = headerEnd; at < bytes.length; at += 97) {
        const flipped = Buffer.from(bytes);
        flipped[at]! ^= 0x01;
        expect(refusal(flipped).message).toMatch(/checksum/);
      }
    });

    it('an entry with any single header bit flipped, its counts and sizes included (the checksum)', async () => {
      const bytes = await entry();
      const headerEnd = (12 + bytes.readUInt32LE(8) + 7) & ~7;
      for (let at = 0; at < headerEnd; at++)
        for (let bit = 0; bit < 8; bit++) {
          const flipped = Buffer.from(bytes);
          flipped[at]! ^= 1 << bit;
          refusal(flipped);
        }
      // A digit of contentSize one bit off ('1' and '0', '2' and '3', …) is still a valid header.
      const at = bytes.indexOf('"contentSize":') + '"contentSize":'.length;
      const flipped = Buffer.from(bytes);
      flipped[at]! ^= 0x01;
      expect(refusal(flipped).message).toBe('corrupt: checksum mismatch');
    });

    it('a re-signed entry with a count 2^32 too large (no 32-bit arithmetic on counts)', async () => {
      const raised = resign(await entry(), (header) => {
        header.nameBytes = (header.nameBytes as number) + 2 ** 32;
      });
      expect(refusal(raised).message).toBe('corrupt: section sizes disagree with the counts');
    });

    it('garbage, an unreadable header, and a header missing fields', async () => {
      expect(refusal(Buffer.from('not an entry at all, just some text')).reason).toBe('corrupt');
      const bytes = await entry();
      const badJson = Buffer.from(bytes);
      badJson[12] = 0x7b + 1;
      expect(refusal(badJson).message).toMatch(/header/);
      expect(
        refusal(
          resign(bytes, (header) => {
            delete header.items;
          }),
        ).message,
      ).toMatch(/header/);
    });

    it('a re-signed entry whose indexes point outside its tables', async () => {
      const bytes = await entry();
      const outOfRange = (section: 'paths' | 'parents') =>
        resign(bytes, (header, payload) => {
          const items = header.items as number;
          // sizes (f64) come first, then item paths; node parents follow paths, links, uids and gids.
          const pad = (n: number) => (n + 7) & ~7;
          const at = section === 'paths' ? pad(8 * items) : pad(8 * items) + 4 * pad(4 * items);
          payload.writeInt32LE(section === 'paths' ? 1_000_000 : 5, at + (section === 'paths' ? 0 : 4));
        });
      expect(refusal(outOfRange('paths')).message).toMatch(/out of range/);
      expect(refusal(outOfRange('parents')).message).toMatch(/out of range|root/);
    });
  });
});
