import { execFileSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_TYPES } from './layer-items.js';
import { NameTooLong } from './tar-entries.js';
import { parseNumber, type TarEntry, TarParser, UnsupportedEntryType } from './tar-parser.js';

interface Parsed {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  link: string;
}

function parse(archive: Buffer, chunkSize = archive.length || 1): Parsed[] {
  const entries: Parsed[] = [];
  const parser = new TarParser((entry: TarEntry) => {
    entries.push({
      name: entry.name.toString('utf8', entry.nameStart, entry.nameEnd),
      type: ENTRY_TYPES[entry.type]!,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: entry.size,
      link: entry.link.toString('utf8', entry.linkStart, entry.linkEnd),
    });
  });
  for (let at = 0; at < archive.length; at += chunkSize) parser.write(archive.subarray(at, at + chunkSize));
  parser.end();
  return entries;
}

const TAR_STREAM_TYPES: Record<string, string> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'dir',
  symlink: 'symlink',
  link: 'hardlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

/** What tar-stream, the parser this one replaced, reads from the same bytes. */
async function parseWithTarStream(archive: Buffer): Promise<Parsed[]> {
  const entries: Parsed[] = [];
  const extract = tarStream.extract();
  extract.on('entry', (header, stream, next) => {
    const pax = (header.pax ?? {}) as Record<string, string>;
    entries.push({
      name: header.name,
      type: TAR_STREAM_TYPES[header.type ?? 'file'] ?? 'file',
      mode: header.mode ?? 0,
      uid: pax.uid === undefined ? (header.uid ?? 0) : Number(pax.uid),
      gid: pax.gid === undefined ? (header.gid ?? 0) : Number(pax.gid),
      size: header.size ?? 0,
      link: header.linkname ?? '',
    });
    stream.on('end', next);
    stream.resume();
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  extract.end(archive);
  await done;
  return entries;
}

/** One header block; `fields` overwrite bytes at their offsets, the checksum is computed last. */
function header(name: string, typeflag: string, size: number | Buffer, fields: [number, Buffer][] = []) {
  const block = Buffer.alloc(512);
  block.write(name, 0);
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  if (typeof size === 'number') block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  else size.copy(block, 124);
  block.write(typeflag, 156);
  block.write('ustar\u000000', 257, 'latin1');
  for (const [offset, bytes] of fields) bytes.copy(block, offset);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

function withContent(block: Buffer, content: Buffer): Buffer {
  return Buffer.concat([block, content, Buffer.alloc((512 - (content.length % 512)) % 512)]);
}

function paxRecords(records: Record<string, string>): Buffer {
  let text = '';
  for (const [key, value] of Object.entries(records)) {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (`${length}${body}`.length !== length) length++;
    text += `${length}${body}`;
  }
  return Buffer.from(text);
}

function base256(value: number): Buffer {
  const field = Buffer.alloc(12);
  field[0] = 0x80;
  for (let at = 11, rest = value; at > 0; at--, rest = Math.floor(rest / 256)) field[at] = rest % 256;
  return field;
}

const END = Buffer.alloc(1024);

describe('TarParser against archives written by GNU tar', () => {
  let root: string;
  const longDir = `dir-${'d'.repeat(90)}/sub-${'s'.repeat(70)}`;
  const longFile = `${longDir}/file-${'f'.repeat(120)}.txt`;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'imgscope-tar-parser-'));
    const tree = join(root, 'tree');
    mkdirSync(join(tree, longDir), { recursive: true });
    mkdirSync(join(tree, 'etc/empty'), { recursive: true });
    writeFileSync(join(tree, 'etc/hosts'), '127.0.0.1 localhost\n');
    writeFileSync(join(tree, longFile), Buffer.alloc(70_000, 1));
    writeFileSync(join(tree, 'etc/h\u00e9llo-\u65e5\u672c.conf'), 'x');
    symlinkSync(`../${longFile}`, join(tree, 'etc/long-link'));
    symlinkSync('hosts', join(tree, 'etc/short-link'));
    linkSync(join(tree, 'etc/hosts'), join(tree, 'etc/hosts.hard'));
    // 1 MiB with eight 4 KiB islands of data: more extents than an old GNU header holds.
    mkdirSync(join(root, 'sparse'));
    const sparse = openSync(join(root, 'sparse/sparse.bin'), 'w');
    ftruncateSync(sparse, 1 << 20);
    for (let i = 0; i < 8; i++) writeSync(sparse, Buffer.alloc(4096, 0x44), 0, 4096, i * 131_072);
    closeSync(sparse);
    writeFileSync(join(root, 'sparse/z-after'), 'after');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const archive = (format: string, ...extra: string[]) =>
    execFileSync(
      'tar',
      ['-C', join(root, 'tree'), `--format=${format}`, '--sort=name', ...extra, '-cf', '-', '.'],
      {
        maxBuffer: 64 << 20,
      },
    );

  for (const format of ['gnu', 'pax', 'ustar', 'oldgnu']) {
    it(`reads ${format} archives as tar-stream does, whatever the chunking`, async () => {
      const bytes =
        format === 'ustar'
          ? // ustar cannot store the long names: only the short part of the tree.
            execFileSync('tar', [
              '-C',
              join(root, 'tree'),
              '--format=ustar',
              '--sort=name',
              '-cf',
              '-',
              'etc/hosts',
              'etc/empty',
              'etc/short-link',
              'etc/hosts.hard',
            ])
          : archive(format, '--owner=builder:3000000', '--group=staff:4000000');
      const expected = await parseWithTarStream(bytes);
      expect(expected.length).toBeGreaterThan(3);
      for (const chunkSize of [bytes.length, 4096, 513, 511, 1])
        expect(parse(bytes, chunkSize)).toEqual(expected);
    });
  }

  it('keeps PAX owners past what octal fields hold, long link targets, and UTF-8 names', () => {
    const entries = parse(archive('pax', '--owner=builder:3000000', '--group=staff:4000000'));
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    expect(byName.get(`./${longFile}`)).toMatchObject({
      type: 'file',
      size: 70_000,
      uid: 3_000_000,
      gid: 4_000_000,
    });
    expect(byName.get('./etc/long-link')).toMatchObject({ type: 'symlink', link: `../${longFile}` });
    expect(byName.get('./etc/hosts.hard')).toMatchObject({ type: 'hardlink', link: './etc/hosts' });
    expect(byName.has('./etc/h\u00e9llo-\u65e5\u672c.conf')).toBe(true);
  });

  it('reads PAX GNU sparse files as Go does, by their real name and size, skipping what is stored', () => {
    const sparse = (...options: string[]) =>
      parse(
        execFileSync('tar', [
          '-C',
          join(root, 'sparse'),
          '--sparse',
          ...options,
          '-cf',
          '-',
          'sparse.bin',
          'z-after',
        ]),
      ).map((entry) => `${entry.name} ${entry.type} ${entry.size}`);
    for (const version of ['1.0', '0.1'])
      expect(sparse('--format=posix', `--sparse-version=${version}`)).toEqual([
        `sparse.bin file ${1 << 20}`,
        'z-after file 5',
      ]);
    // Old GNU 'S' headers: Docker and containerd refuse to unpack them.
    expect(() => sparse('--format=gnu')).toThrow(UnsupportedEntryType);
  });

  it('reads v7 archives (no magic), which tar-stream refused', () => {
    const v7 = execFileSync('tar', [
      '-C',
      join(root, 'tree'),
      '--format=v7',
      '-cf',
      '-',
      'etc/hosts',
      'etc/empty',
    ]);
    expect(parse(v7).map((entry) => `${entry.name} ${entry.type} ${entry.size}`)).toEqual([
      'etc/hosts file 20',
      'etc/empty/ dir 0',
    ]);
  });
});

describe('TarParser', () => {
  it('reads base-256 numbers, and skips no data for links whatever their size field says', () => {
    const bytes = Buffer.concat([
      header('huge-link', '2', base256(2 ** 40), [[157, Buffer.from('target')]]),
      withContent(header('after', '0', base256(1000)), Buffer.alloc(1000, 7)),
      header('last', '0', 0),
      END,
    ]);
    expect(parse(bytes, 700).map((entry) => [entry.name, entry.type, entry.size])).toEqual([
      ['huge-link', 'symlink', 2 ** 40],
      ['after', 'file', 1000],
      ['last', 'file', 0],
    ]);
    expect(parseNumber(base256(2 ** 52 + 3), 0, 12)).toBe(2 ** 52 + 3);
  });

  it('takes the size from PAX and skips that much data', () => {
    const records = paxRecords({ size: '5', path: 'from/pax' });
    const bytes = Buffer.concat([
      withContent(header('PaxHeader', 'x', records.length), records),
      withContent(header('short-name', '0', 0), Buffer.from('hello')),
      header('next', '5', 0),
      END,
    ]);
    expect(parse(bytes, 100).map((entry) => [entry.name, entry.type, entry.size])).toEqual([
      ['from/pax', 'file', 5],
      ['next', 'dir', 0],
    ]);
  });

  it('ignores global PAX headers', () => {
    const global = paxRecords({ path: 'everything/renamed', uid: '77' });
    const bytes = Buffer.concat([
      withContent(header('pax_global_header', 'g', global.length), global),
      header('etc/', '5', 0),
      END,
    ]);
    expect(parse(bytes)).toMatchObject([{ name: 'etc/', type: 'dir', uid: 0 }]);
  });

  it('joins the ustar prefix, and reads old directories marked by a trailing slash', () => {
    const prefixed = header('name.txt', '0', 0, [[345, Buffer.from('some/prefix')]]);
    const oldDir = header('old/dir/', '\0', 0);
    expect(parse(Buffer.concat([prefixed, oldDir, END])).map((entry) => [entry.name, entry.type])).toEqual([
      ['some/prefix/name.txt', 'file'],
      ['old/dir/', 'dir'],
    ]);
  });

  it('refuses entry types Docker and containerd do not unpack, naming the entry', () => {
    for (const flag of ['7', 'V', 'D', 'S', 'Z']) {
      const bytes = Buffer.concat([withContent(header('opt/x', flag, 3), Buffer.from('abc')), END]);
      expect(() => parse(bytes)).toThrow(`entry "opt/x" has tar type '${flag}', which Docker and containerd`);
    }
  });

  it('reads a trailing slash as a directory only with the NUL type flag, which then has no data', () => {
    // Go's reader promotes only NUL to a directory, before it sizes the data: size fields say nothing then.
    const bytes = Buffer.concat([
      withContent(header('etc/conf/', '0', 700), Buffer.alloc(700, 0x5a)),
      header('old/dir/', '\0', 512),
      withContent(header('after', '0', 3), Buffer.from('abc')),
      END,
    ]);
    for (const chunkSize of [bytes.length, 100])
      expect(parse(bytes, chunkSize).map((entry) => [entry.name, entry.type, entry.size])).toEqual([
        ['etc/conf/', 'file', 700],
        ['old/dir/', 'dir', 512],
        ['after', 'file', 3],
      ]);
  });

  it('lets a GNU long name win over a PAX path, and a later PAX header replace an earlier one', () => {
    const pax = (records: Record<string, string>) => {
      const data = paxRecords(records);
      return withContent(header('PaxHeader', 'x', data.length), data);
    };
    const longName = Buffer.from('gnu/name\0');
    const bytes = Buffer.concat([
      withContent(header('././@LongLink', 'L', longName.length), longName),
      pax({ path: 'pax/name', uid: '5' }),
      withContent(header('short', '0', 2), Buffer.from('ab')),
      pax({ path: 'first/name', uid: '7', size: '1000' }),
      pax({ gid: '9' }),
      withContent(header('second', '0', 2), Buffer.from('cd')),
      END,
    ]);
    expect(parse(bytes).map((entry) => [entry.name, entry.size, entry.uid, entry.gid])).toEqual([
      ['gnu/name', 2, 5, 0],
      ['second', 2, 0, 9],
    ]);
  });

  it('ignores empty PAX values: the ustar fields stand', () => {
    const records = paxRecords({ path: '', size: '', uid: '' });
    const bytes = Buffer.concat([
      withContent(header('PaxHeader', 'x', records.length), records),
      withContent(header('etc/keep', '0', 3, [[108, Buffer.from('0000012\0')]]), Buffer.from('abc')),
      header('next', '5', 0),
      END,
    ]);
    expect(parse(bytes).map((entry) => [entry.name, entry.size, entry.uid])).toEqual([
      ['etc/keep', 3, 10],
      ['next', 0, 0],
    ]);
  });

  it('ends after any whole entry or block, end-of-archive blocks or not, but not inside a header block', () => {
    const entry = withContent(header('f', '0', 3), Buffer.from('abc'));
    expect(parse(entry)).toHaveLength(1);
    expect(parse(Buffer.concat([entry, Buffer.alloc(512)]))).toHaveLength(1);
    // Go's reader (docker, containerd) reads a header with io.ReadFull: part of a block fails the unpack.
    for (const zeros of [10, 100, 600])
      expect(() => parse(Buffer.concat([entry, Buffer.alloc(zeros)]))).toThrow(/truncated/);
    expect(parse(Buffer.alloc(0))).toHaveLength(0);
    expect(parse(Buffer.alloc(512))).toHaveLength(0);
    expect(() => parse(Buffer.alloc(10))).toThrow(/truncated/);
    // As in Go's reader, a stream may end inside the padding after the data, even with no padding at all.
    for (const end of [512 + 3, 512 + 100]) expect(parse(entry.subarray(0, end))).toHaveLength(1);
  });

  it('reads nothing after two zero blocks, and refuses a header after a single one', () => {
    const entry = (name: string) => withContent(header(name, '0', 3), Buffer.from('abc'));
    // A second archive appended to the first is not part of it (Go's reader stops at the marker).
    const appended = Buffer.concat([entry('a'), END, entry('hidden'), END]);
    for (const chunkSize of [appended.length, 512, 100])
      expect(parse(appended, chunkSize).map((e) => e.name)).toEqual(['a']);
    expect(parse(Buffer.concat([entry('a'), END, Buffer.from('not a tar')])).map((e) => e.name)).toEqual([
      'a',
    ]);
    expect(parse(Buffer.concat([entry('a'), Buffer.alloc(512)])).map((e) => e.name)).toEqual(['a']);
    expect(() => parse(Buffer.concat([entry('a'), Buffer.alloc(512), entry('b'), END]))).toThrow(
      /zero block/,
    );
  });

  it('fails truncated archives, bad checksums, oversized and malformed extended headers', () => {
    const entry = withContent(header('f', '0', 3000), Buffer.alloc(3000));
    expect(() => parse(entry.subarray(0, 1024))).toThrow(/truncated/);
    expect(() => parse(entry.subarray(0, 512 + 2999))).toThrow(/truncated/);
    expect(() => parse(Buffer.concat([entry.subarray(0, 512 + 3072), Buffer.from('half a header')]))).toThrow(
      /truncated/,
    );
    const corrupt = header('f', '0', 0);
    corrupt[10] = 0x41;
    expect(() => parse(corrupt)).toThrow(/checksum/);
    expect(() => parse(header('PaxHeader', 'x', 2 * 1024 * 1024))).toThrow(/exceeds/);
    const bad = Buffer.from('12 path\n');
    expect(() => parse(Buffer.concat([withContent(header('PaxHeader', 'x', bad.length), bad), END]))).toThrow(
      /PAX/,
    );
  });
});

describe('the errors that quote a long entry name', () => {
  it('never cut an emoji of the name in half (no U+FFFD, no lone \\ud83d in JSON)', () => {
    // The cut at 199 and 99 UTF-16 units falls between the halves of 😀.
    const unsupported = new UnsupportedEntryType(0x53, `/${'a'.repeat(197)}😀${'b'.repeat(300)}`).message;
    expect(unsupported).toContain(`entry "/${'a'.repeat(197)}…"`);
    const tooLong = new NameTooLong('name', `/${'a'.repeat(97)}😀${'b'.repeat(5000)}`, 5100).message;
    expect(tooLong).toContain(`entry "/${'a'.repeat(97)}…"`);
    expect(JSON.stringify([unsupported, tooLong])).not.toMatch(/\\ud83d/);
  });
});
