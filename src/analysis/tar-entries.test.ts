import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ENTRY_TYPES, ItemKind, StringTable } from './layer-items.js';
import { PathTable } from './paths.js';
import { normalisePath, readLayerTar, type TarReadResult } from './tar-entries.js';
import { END_OF_ARCHIVE, gnuLong, rawEntry, tarOf } from './testing.js';

interface Item {
  kind: keyof typeof ItemKind;
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  link?: string;
}

async function read(
  tarBytes: Buffer,
  options: { hideEstargzMetadata?: boolean | (() => boolean); chunk?: number } = {},
) {
  const paths = new PathTable();
  const links = new StringTable();
  const chunk = options.chunk ?? 4096;
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < tarBytes.length; offset += chunk)
    chunks.push(tarBytes.subarray(offset, offset + chunk));
  const result = await readLayerTar(Readable.from(chunks), {
    paths,
    links,
    label: 'layer 1 of test',
    hideEstargzMetadata: options.hideEstargzMetadata,
  });
  return { result, items: itemsOf(result, paths, links) };
}

function itemsOf({ items }: TarReadResult, paths: PathTable, links: StringTable): Item[] {
  const kinds = Object.keys(ItemKind) as (keyof typeof ItemKind)[];
  return Array.from({ length: items.count }, (_, i) => ({
    kind: kinds[items.kinds[i]!]!,
    path: paths.path(items.paths[i]!),
    type: ENTRY_TYPES[items.types[i]!]!,
    mode: items.modes[i]!,
    uid: items.uids[i]!,
    gid: items.gids[i]!,
    size: items.sizes[i]!,
    ...(items.links[i]! >= 0 ? { link: links.get(items.links[i]!) } : {}),
  }));
}

describe('readLayerTar', () => {
  it('reads every entry type with its mode, owner, size and link target', async () => {
    const tar = await tarOf([
      { name: 'bin/', mode: 0o755 },
      { name: 'bin/busybox', content: 'x'.repeat(1000), mode: 0o4755, uid: 1000, gid: 50 },
      { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
      { name: 'bin/ls', type: 'link', linkname: './bin/busybox' },
      { name: 'dev/null', type: 'character-device' },
      { name: 'dev/sda', type: 'block-device' },
      { name: 'run/pipe', type: 'fifo' },
    ]);
    const { result, items } = await read(tar);
    expect(items).toEqual([
      { kind: 'Entry', path: '/bin', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 },
      { kind: 'Entry', path: '/bin/busybox', type: 'file', mode: 0o4755, uid: 1000, gid: 50, size: 1000 },
      {
        kind: 'Entry',
        path: '/bin/sh',
        type: 'symlink',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 0,
        link: 'busybox',
      },
      {
        kind: 'Entry',
        path: '/bin/ls',
        type: 'hardlink',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 0,
        link: '/bin/busybox',
      },
      { kind: 'Entry', path: '/dev/null', type: 'char', mode: 0o644, uid: 0, gid: 0, size: 0 },
      { kind: 'Entry', path: '/dev/sda', type: 'block', mode: 0o644, uid: 0, gid: 0, size: 0 },
      { kind: 'Entry', path: '/run/pipe', type: 'fifo', mode: 0o644, uid: 0, gid: 0, size: 0 },
    ]);
    expect(result.fileCount).toBe(7);
    expect(result.contentSize).toBe(1000);
    expect(result.uncompressedSize).toBe(tar.length);
  });

  it('drains large contents without holding them, counting the uncompressed bytes exactly', async () => {
    const tar = await tarOf([{ name: 'big', content: Buffer.alloc(3_000_001, 7) }, 'small:10']);
    const { result, items } = await read(tar, { chunk: 65536 });
    expect(items.map((item) => [item.path, item.size])).toEqual([
      ['/big', 3_000_001],
      ['/small', 10],
    ]);
    expect(result.uncompressedSize).toBe(tar.length);
    expect(result.contentSize).toBe(3_000_011);
  });

  it('resolves PAX long names, link names and owners', async () => {
    const longDir = `${'d'.repeat(120)}/${'e'.repeat(90)}`;
    const tar = await tarOf([
      { name: `${longDir}/${'f'.repeat(150)}`, content: 'abc' },
      { name: 'link', type: 'symlink', linkname: `/${'t'.repeat(200)}` },
      { name: 'owned', content: 'x', pax: { uid: '3000000', gid: '4000000' } },
    ]);
    const { items } = await read(tar, { chunk: 100 });
    expect(items[0]).toMatchObject({ path: `/${longDir}/${'f'.repeat(150)}`, size: 3 });
    expect(items[1]).toMatchObject({ path: '/link', link: `/${'t'.repeat(200)}` });
    expect(items[2]).toMatchObject({ path: '/owned', uid: 3_000_000, gid: 4_000_000 });
  });

  it('resolves GNU long names and long link names', async () => {
    const name = `usr/${'n'.repeat(180)}`;
    const target = `usr/${'t'.repeat(160)}`;
    const tar = Buffer.concat([
      gnuLong('L', name),
      rawEntry({ name: name.slice(0, 100), typeflag: '0', content: Buffer.from('hello'), gnu: true }),
      gnuLong('L', `${name}-hard`),
      gnuLong('K', target),
      rawEntry({ name: 'short', typeflag: '1', linkname: target.slice(0, 100), gnu: true }),
      END_OF_ARCHIVE,
    ]);
    const { items } = await read(tar);
    expect(items).toEqual([
      { kind: 'Entry', path: `/${name}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 5 },
      {
        kind: 'Entry',
        path: `/${name}-hard`,
        type: 'hardlink',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 0,
        link: `/${target}`,
      },
    ]);
  });

  it('normalises ./ and / prefixes, //, . and .., never leaving the root', async () => {
    const tar = await tarOf([
      './',
      '/',
      './etc/',
      '/etc/hosts:1',
      'etc//./resolv.conf:2',
      '../../../../etc/shadow:3',
      'usr/lib/../bin/./env:4',
      'a/b/../../..:5',
    ]);
    const { result, items } = await read(tar);
    expect(items.map((item) => item.path)).toEqual([
      '/etc',
      '/etc/hosts',
      '/etc/resolv.conf',
      '/etc/shadow',
      '/usr/bin/env',
    ]);
    // The root entries and the name that normalises to the root are not part of the tree.
    expect(result.fileCount).toBe(5);
  });

  it('tells apart directories whose names have the same length, and spells every path one way', async () => {
    const tar = await tarOf([
      'usr/lib/a:1',
      'usr/bin/b:1',
      'usr/lib/c:1',
      './usr/bin/d:1',
      '/usr/lib/e:1',
      'h\u00e9/f:1',
    ]);
    const paths = new PathTable();
    const result = await readLayerTar(Readable.from([tar]), { paths, links: new StringTable(), label: 'l' });
    expect(itemsOf(result, paths, new StringTable()).map((item) => item.path)).toEqual([
      '/usr/lib/a',
      '/usr/bin/b',
      '/usr/lib/c',
      '/usr/bin/d',
      '/usr/lib/e',
      '/h\u00e9/f',
    ]);
    expect(paths.find('/usr/lib')).toBe(paths.parent(paths.find('/usr/lib/e')));
    expect(paths.size).toBe(1 + 3 + 5 + 2);
  });

  it('classifies whiteouts, opaque markers and other aufs metadata', async () => {
    const tar = await tarOf([
      'etc/.wh.motd',
      'var/cache/.wh..wh..opq',
      '.wh.tmp',
      '.wh..wh.plnk/',
      '.wh..wh.plnk/.wh.',
    ]);
    const { items } = await read(tar);
    expect(items.map((item) => [item.kind, item.path])).toEqual([
      ['Whiteout', '/etc/motd'],
      ['Opaque', '/var/cache'],
      ['Whiteout', '/tmp'],
      ['Marker', '/.wh..wh.plnk'],
      ['Marker', '/.wh..wh.plnk/.wh.'],
    ]);
  });

  it('marks what is inside aufs metadata directories at the root, which docker skips, under its own path', async () => {
    const tar = await tarOf([
      '.wh..wh.plnk/',
      '.wh..wh.plnk/234.567:500',
      'x/.wh..wh.orph/r/s:9',
      './x/.wh..wh.orph/../../y:1',
      'a/b/c:2',
    ]);
    const { items, result } = await read(tar);
    expect(items.map((item) => [item.kind, item.path, item.size])).toEqual([
      ['Marker', '/.wh..wh.plnk', 0],
      ['Marker', '/.wh..wh.plnk/234.567', 500],
      ['Entry', '/x/.wh..wh.orph/r/s', 9],
      ['Entry', '/y', 1],
      ['Entry', '/a/b/c', 2],
    ]);
    // dive's layer size counts every entry.
    expect([result.fileCount, result.contentSize]).toEqual([5, 512]);
  });

  it('refuses a hardlink into aufs’s link folder whose file the layer does not hold, as docker does', async () => {
    const tar = await tarOf([
      '.wh..wh.plnk/',
      '.wh..wh.plnk/234.567:500',
      { name: 'usr/bin/tool', type: 'link', linkname: '.wh..wh.plnk/234.567' },
    ]);
    const { items } = await read(tar);
    // dive reads the link as it is; the merge makes it a copy of the file (model.ts).
    expect(items.at(-1)).toMatchObject({ kind: 'Entry', path: '/usr/bin/tool', type: 'hardlink', size: 0 });
    const orphan = await tarOf([{ name: 'usr/bin/tool', type: 'link', linkname: '.wh..wh.plnk/1.2' }]);
    await expect(read(orphan)).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringContaining(
        'entry "usr/bin/tool" is a hardlink to "/.wh..wh.plnk/1.2", an aufs link file',
      ),
    });
  });

  it('fails a whiteout of a folder itself or its parent (`.wh.`, `.wh..`, `.wh...`), as containerd refuses it', async () => {
    for (const name of ['.wh.', '.wh..', '.wh...', 'etc/.wh.', 'etc/.wh..', './etc/.wh...']) {
      await expect(read(await tarOf(['etc/', 'etc/a:1', name])), name).rejects.toMatchObject({
        code: 'UNSUPPORTED',
        message: expect.stringContaining(`entry "${name}" is a whiteout of its own folder or the one above`),
        hint: expect.stringContaining('cannot be pulled'),
      });
    }
    // Names that only start like them are whiteouts of files.
    const { items } = await read(await tarOf(['etc/.wh..a', 'etc/.wh....', 'etc/.wh..wh.']));
    expect(items.map((item) => [item.kind, item.path])).toEqual([
      ['Whiteout', '/etc/.a'],
      ['Whiteout', '/etc/...'],
      ['Whiteout', '/etc/.wh.'],
    ]);
  });

  it('reads `.wh..wh.` names below the root as docker does: a whiteout of `.wh.NAME`, files in it', async () => {
    // docker and containerd skip only archive names that start with `.wh..wh.`: aufs keeps its metadata
    // at a branch's root. A copy of such a branch deeper in an image is unpacked like any other names.
    const tar = await tarOf([
      'backup/.wh..wh.plnk/',
      'backup/.wh..wh.plnk/42.1:100',
      'backup/.wh..wh.aufs:1',
      'backup/.wh..wh..opq',
      'x/../.wh..wh.orph/o:3',
    ]);
    const { items, result } = await read(tar);
    expect(items.map((item) => [item.kind, item.path, item.size])).toEqual([
      ['Whiteout', '/backup/.wh.plnk', 0],
      ['Entry', '/backup/.wh..wh.plnk/42.1', 100],
      ['Whiteout', '/backup/.wh.aufs', 1],
      ['Opaque', '/backup', 0],
      ['Marker', '/.wh..wh.orph/o', 3],
    ]);
    expect([result.fileCount, result.contentSize]).toEqual([5, 104]);
  });

  it('hides estargz metadata at the root, and only there, when asked', async () => {
    const tar = await tarOf([
      '.prefetch.landmark:1',
      'etc/hosts:5',
      '.no.prefetch.landmark:1',
      'usr/stargz.index.json:7',
      'stargz.index.json:900',
    ]);
    const hidden = await read(tar, { hideEstargzMetadata: true });
    expect(hidden.items.map((item) => item.path)).toEqual(['/etc/hosts', '/usr/stargz.index.json']);
    expect(hidden.result.fileCount).toBe(2);
    expect(hidden.result.contentSize).toBe(12);
    const shown = await read(tar);
    expect(shown.result.fileCount).toBe(5);
  });

  it('holds estargz metadata back until the layer ends, then hides it or adds it in order', async () => {
    const tar = await tarOf(['.prefetch.landmark:1', 'etc/hosts:5', 'stargz.index.json:900']);
    const estargz = await read(tar, { hideEstargzMetadata: () => true });
    expect(estargz.items.map((item) => item.path)).toEqual(['/etc/hosts']);
    const plain = await read(tar, { hideEstargzMetadata: () => false });
    expect(plain.items.map((item) => item.path)).toEqual([
      '/etc/hosts',
      '/.prefetch.landmark',
      '/stargz.index.json',
    ]);
    expect(plain.result.fileCount).toBe(3);
    expect(plain.result.contentSize).toBe(906);
  });

  it('survives names that are not UTF-8', async () => {
    const tar = Buffer.concat([
      rawEntry({
        name: Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2f, 0x66]),
        typeflag: '0',
        content: Buffer.from('1'),
      }),
      END_OF_ARCHIVE,
    ]);
    const { items } = await read(tar);
    expect(items).toHaveLength(1);
    // Each byte that is not UTF-8 becomes U+DC00 + byte, as Python's surrogateescape.
    expect(items[0]!.path).toBe('/bad\udcff\udcfe/f');
  });

  it('keeps names that differ only in bytes that are not UTF-8 apart, as docker and dive do', async () => {
    const entry = (last: number, size: number) =>
      rawEntry({ name: Buffer.from([0x78, last]), typeflag: '0', content: Buffer.alloc(size) });
    const tar = Buffer.concat([entry(0xff, 1), entry(0xfe, 2), entry(0xc3, 3), END_OF_ARCHIVE]);
    const { items } = await read(tar);
    expect(items.map((item) => item.path)).toEqual(['/x\udcff', '/x\udcfe', '/x\udcc3']);
  });

  it('fails a stream that is not a tar with a MALFORMED error naming the layer', async () => {
    await expect(read(Buffer.from('this is not a tar archive'.repeat(40)))).rejects.toMatchObject({
      code: 'MALFORMED',
      message: expect.stringContaining('layer 1 of test: not a valid tar stream'),
    });
  });

  it('fails a layer with an entry type Docker cannot unpack as UNSUPPORTED, saying what to do', async () => {
    const tar = Buffer.concat([rawEntry({ name: 'vol', typeflag: 'V' }), END_OF_ARCHIVE]);
    await expect(read(tar)).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: `layer 1 of test: entry "vol" has tar type 'V', which Docker and containerd refuse to unpack`,
      hint: expect.stringContaining('cannot be pulled'),
    });
  });

  it('fails a layer with a name or link target longer than PATH_MAX, as unpacking it fails', async () => {
    const deep = `${'d/'.repeat(2100)}f`;
    await expect(read(await tarOf([{ name: deep, content: 'x' }]))).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(
        /^layer 1 of test: entry "d\/d\/.*…" has a name of 4202 bytes from the root, and Linux takes paths of at most 4095 \(its 4096-byte PATH_MAX counts the NUL\)/,
      ),
      hint: expect.stringContaining('cannot be pulled'),
    });
    const symlink = { name: 'l', type: 'symlink' as const, linkname: 'x'.repeat(5000) };
    await expect(read(await tarOf([symlink]))).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringContaining('entry "l" has a link target of 5000 bytes'),
    });
    // PATH_MAX counts bytes: 2,100 'é' are 2,100 UTF-16 code units but 4,200 bytes.
    const accented = 'é'.repeat(2100);
    await expect(read(await tarOf([{ name: accented, content: 'x' }]))).rejects.toMatchObject({
      message: expect.stringContaining('has a name of 4201 bytes'),
    });
    const accentedLink = { name: 'l', type: 'symlink' as const, linkname: accented };
    await expect(read(await tarOf([accentedLink]))).rejects.toMatchObject({
      message: expect.stringContaining('entry "l" has a link target of 4200 bytes'),
    });
  });

  it('reads a long name that normalises within PATH_MAX, and the longest one Linux takes', async () => {
    const longest = `/${'n'.repeat(255)}`.repeat(17).slice(0, 4095);
    const roundabout = `${'x/../'.repeat(1000)}a`;
    const { items } = await read(await tarOf([{ name: longest }, { name: roundabout, content: 'a' }]));
    expect(items.map((item) => item.path)).toEqual([longest, '/a']);
  });

  it('counts a name from the root, however it is spelled: 4095 bytes and the NUL fill PATH_MAX', async () => {
    const name = 'n'.repeat(4095); // unpacked as `/n…`: 4096 bytes
    for (const spelling of [name, `/${name}`, `./${name}`, `x/../${name}`]) {
      await expect(read(await tarOf([{ name: spelling, content: 'x' }]))).rejects.toMatchObject({
        message: expect.stringContaining('has a name of 4096 bytes from the root'),
      });
    }
    for (const spelling of [name.slice(1), `x/../${name.slice(1)}`]) {
      const { items } = await read(await tarOf([{ name: spelling, content: 'x' }]));
      expect(items.map((item) => item.path)).toEqual([`/${name.slice(1)}`]);
    }
    // A hardlink links from the root too; a symlink's target is taken as written.
    const hardlink = { name: 'l', type: 'link' as const, linkname: name };
    await expect(read(await tarOf([hardlink]))).rejects.toMatchObject({
      message: expect.stringContaining('entry "l" has a link target of 4096 bytes from the root, and'),
    });
    const symlink = { name: 's', type: 'symlink' as const, linkname: name };
    await expect(read(await tarOf([symlink]))).resolves.toBeDefined();
    await expect(read(await tarOf([{ ...symlink, linkname: `${name}n` }]))).rejects.toMatchObject({
      message: expect.stringContaining('entry "s" has a link target of 4096 bytes, and'),
    });
  });

  it('fails a truncated tar', async () => {
    const tar = await tarOf([{ name: 'f', content: Buffer.alloc(5000) }]);
    await expect(read(tar.subarray(0, 2048))).rejects.toMatchObject({ code: 'MALFORMED' });
  });
});

describe('normalisePath', () => {
  it('spells every path one way', () => {
    expect(normalisePath('./a/b/')).toBe('/a/b');
    expect(normalisePath('a//b')).toBe('/a/b');
    expect(normalisePath('/x/../a/./b')).toBe('/a/b');
    expect(normalisePath('../..')).toBe('/');
  });
});
