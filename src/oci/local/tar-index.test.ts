import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTempDir, type TarEntry, writeTar } from '../../../test/helpers/image-files.js';
import { ImgscopeError } from '../../errors.js';
import { TarArchiveFiles } from './tar-index.js';

let temp: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  temp = await makeTempDir('tar-index');
});
afterAll(() => temp.remove());

async function read(files: TarArchiveFiles, path: string): Promise<string> {
  return (await buffer(await files.open(path))).toString();
}

async function failure(promise: Promise<unknown>): Promise<ImgscopeError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ImgscopeError);
  return error as ImgscopeError;
}

describe('TarArchiveFiles', () => {
  it('leaves out members whose name or link target is longer than PATH_MAX, keeping no such name', async () => {
    const file = join(temp.path, 'long-names.tar');
    const long = `${'n'.repeat(5000)}`;
    await writeTar(file, [
      { name: 'kept', content: 'k' },
      { name: long, content: 'x' },
      { name: 'link', type: 'symlink', linkname: `kept/${'t'.repeat(5000)}` },
      // Extracted as `/d/d/…`: 4095 bytes fit, 4096 do not, as for a layer's entries.
      { name: `${'d/'.repeat(2046)}ff`, content: 'deep' },
      { name: `${'e/'.repeat(2047)}f`, content: 'too deep' },
      { name: 'hardlink', type: 'link', linkname: `${'d/'.repeat(2046)}ff` },
      { name: 'too-long-hardlink', type: 'link', linkname: `${'e/'.repeat(2047)}f` },
      // 2,100 UTF-16 code units, 4,200 bytes
      { name: 'é'.repeat(2100), content: 'x' },
    ]);
    const files = await TarArchiveFiles.open(file, 'long-names.tar');
    expect(files.paths()).toEqual(['kept', `${'d/'.repeat(2046)}ff`, 'hardlink']);
    expect(await files.size(long)).toBeUndefined();
  });

  it('names members as docker load extracts them: `..` stops at the root, and PATH_MAX counts from there', async () => {
    const file = join(temp.path, 'dot-dot-names.tar');
    const deep = `${'d/'.repeat(2046)}ff`;
    await writeTar(file, [
      // Extracted as `/d/d/…/ff`, 4095 bytes: it fits, as it does without the `../`.
      { name: `../${deep}`, content: 'deep' },
      { name: '../../kept', content: 'k' },
      { name: 'dir/../../up', content: 'u' },
      { name: 'hardlink', type: 'link', linkname: '../kept' },
      { name: 'dir/symlink', type: 'symlink', linkname: '../../../up' },
      { name: `../${'e/'.repeat(2047)}f`, content: 'too deep' },
    ]);
    const files = await TarArchiveFiles.open(file, 'dot-dot-names.tar');
    expect(files.paths()).toEqual([deep, 'kept', 'up', 'hardlink', 'dir/symlink']);
    expect(await read(files, deep)).toBe('deep');
    expect(await read(files, 'hardlink')).toBe('k');
    expect(await read(files, 'dir/symlink')).toBe('u');
    // A path that refers to a member keeps its `..`: docker load refuses one that leaves its folder.
    expect(await files.size('../kept')).toBeUndefined();
  });

  it('serves members by normalised path without extracting, skipping content it does not read', async () => {
    const file = join(temp.path, 'plain.tar');
    const big = Buffer.alloc(70_000, 7);
    await writeTar(file, [
      { name: 'dir', type: 'directory' },
      { name: 'dir/big.bin', content: big },
      { name: 'dir/small.txt', content: 'small' },
      { name: 'empty', content: '' },
    ]);
    const files = await TarArchiveFiles.open(file, 'plain.tar');
    expect(files.paths()).toEqual(['dir/big.bin', 'dir/small.txt', 'empty']);
    expect(await files.size('./dir/big.bin')).toBe(70_000);
    expect(await read(files, '/dir//small.txt')).toBe('small');
    expect((await buffer(await files.open('dir/big.bin'))).equals(big)).toBe(true);
    expect(await read(files, 'empty')).toBe('');
    expect((await files.head('dir/small.txt', 3)).toString()).toBe('sma');
    const folder = await failure(files.size('dir'));
    expect(folder.message).toBe('plain.tar: "dir" is a directory, not a file');
    const missing = await failure(files.open('nope'));
    expect(missing.code).toBe('NOT_FOUND');
    expect(missing.message).toContain('plain.tar');
    expect(missing.message).toContain('nope');
  });

  it('reads PAX long paths and ustar prefixes', async () => {
    const file = join(temp.path, 'pax.tar');
    const ustarName = `${'p'.repeat(120)}/${'n'.repeat(90)}`; // split into prefix + name
    const paxName = `${'a'.repeat(150)}/${'b'.repeat(150)}/file`; // > 255: tar-stream writes a PAX header
    await writeTar(file, [
      { name: ustarName, content: 'ustar' },
      { name: paxName, content: 'pax' },
    ]);
    expect(readFileSync(file).includes(` path=${paxName}`)).toBe(true);
    const files = await TarArchiveFiles.open(file, 'pax.tar');
    expect(await read(files, ustarName)).toBe('ustar');
    expect(await read(files, paxName)).toBe('pax');
  });

  it('reads GNU long names (././@LongLink) and ./ prefixes written by GNU tar', async () => {
    const source = join(temp.path, 'gnu-src');
    const longDir = 'd'.repeat(120);
    mkdirSync(join(source, longDir), { recursive: true });
    writeFileSync(join(source, longDir, 'f.txt'), 'gnu');
    const file = join(temp.path, 'gnu.tar');
    execFileSync('tar', ['--format=gnu', '-cf', file, '-C', source, '.']);
    expect(readFileSync(file).includes('././@LongLink')).toBe(true);
    const files = await TarArchiveFiles.open(file, 'gnu.tar');
    expect(files.paths()).toEqual([`${longDir}/f.txt`]);
    expect(await read(files, `./${longDir}/f.txt`)).toBe('gnu');
  });

  it('resolves hard links and symlinks to the member they name', async () => {
    const file = join(temp.path, 'links.tar');
    await writeTar(file, [
      { name: 'blobs/sha256/abc', content: 'layer bytes' },
      { name: 'legacy/layer.tar', type: 'symlink', linkname: '../blobs/sha256/abc' },
      { name: 'hard', type: 'link', linkname: 'blobs/sha256/abc' },
      { name: 'loop', type: 'symlink', linkname: 'loop' },
      // GNU tar given a file twice stores the second as a hard link to itself; extracting keeps the file.
      { name: 'manifest.json', content: '[]' },
      { name: './manifest.json', type: 'link', linkname: 'manifest.json' },
    ]);
    const files = await TarArchiveFiles.open(file, 'links.tar');
    expect(await read(files, 'legacy/layer.tar')).toBe('layer bytes');
    expect(await read(files, 'hard')).toBe('layer bytes');
    expect(await files.size('loop')).toBeUndefined();
    expect(await read(files, 'manifest.json')).toBe('[]');
  });

  it('reads the headers of many small members a window at a time, and skips large content unread', async () => {
    const file = join(temp.path, 'many.tar');
    const entries: TarEntry[] = [];
    for (let i = 0; i < 3000; i++) {
      // Sizes that put headers at every offset within a window, PAX names, and large members between.
      const name = i % 97 === 0 ? `${'long/'.repeat(60)}f${i}` : `d${i % 7}/f${i}`;
      entries.push({ name, content: Buffer.alloc(i % 1500, i % 251) });
      if (i % 1000 === 500) entries.push({ name: `big${i}`, content: Buffer.alloc(3 * 1024 * 1024, 1) });
    }
    await writeTar(file, entries);
    const probe = await open(file);
    await probe.close();
    const handleRead = vi.spyOn(Object.getPrototypeOf(probe), 'read');
    try {
      const files = await TarArchiveFiles.open(file, 'many.tar');
      const reads = handleRead.mock.calls.length;
      const bytesRead = handleRead.mock.calls.reduce((sum, call) => sum + (call[2] as number), 0);
      // One read per header would be over 3,000; skipped content would be over 9 MiB.
      expect(reads).toBeLessThan(100);
      expect(bytesRead).toBeLessThan(8 * 1024 * 1024);
      expect(files.paths()).toEqual(entries.map((entry) => entry.name));
      for (const i of [0, 96, 97, 500, 1501, 2999]) {
        const content = Buffer.alloc(i % 1500, i % 251);
        expect(
          (await buffer(await files.open(entries.find((e) => e.name.endsWith(`f${i}`))!.name))).equals(
            content,
          ),
        ).toBe(true);
      }
      expect(await files.size('big1500')).toBe(3 * 1024 * 1024);
    } finally {
      handleRead.mockRestore();
    }
  });

  it('reads GNU base-256 sizes', async () => {
    const file = join(temp.path, 'base256.tar');
    await writeTar(file, [{ name: 'x', content: 'base-256' }]);
    const bytes = readFileSync(file);
    bytes.fill(0, 124, 136);
    bytes[124] = 0x80;
    bytes[135] = 8; // size 8, big-endian binary
    bytes.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += bytes[i]!;
    bytes.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    writeFileSync(file, bytes);
    expect(await read(await TarArchiveFiles.open(file, 'base256.tar'), 'x')).toBe('base-256');
  });

  it('tells the user to gunzip a compressed archive', async () => {
    const file = join(temp.path, 'image.tar.gz');
    await writeTar(join(temp.path, 'inner.tar'), [{ name: 'manifest.json', content: '[]' }]);
    writeFileSync(file, gzipSync(readFileSync(join(temp.path, 'inner.tar'))));
    const error = await failure(TarArchiveFiles.open(file, 'image.tar.gz'));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toBe(
      'image.tar.gz is gzip-compressed; imgscope reads tar archives, gzip- or zstd-compressed ones too',
    );
    expect(error.hint).toContain(`gunzip -k ${file}`);
  });

  it('gives a decompress command that works when the name lacks the compression suffix', async () => {
    const file = join(temp.path, 'piped.tar');
    await writeTar(join(temp.path, 'inner2.tar'), [{ name: 'manifest.json', content: '[]' }]);
    writeFileSync(file, gzipSync(readFileSync(join(temp.path, 'inner2.tar'))));
    const error = await failure(TarArchiveFiles.open(file, 'piped.tar'));
    expect(error.hint).toBe(
      `decompress it first: gunzip -c ${file} > ${join(temp.path, 'piped.decompressed.tar')}`,
    );
  });

  it('quotes a name with spaces or quotes in the decompress command, so it can be pasted into a shell', async () => {
    await writeTar(join(temp.path, 'inner3.tar'), [{ name: 'manifest.json', content: '[]' }]);
    const gz = gzipSync(readFileSync(join(temp.path, 'inner3.tar')));
    const spaced = join(temp.path, 'my image.tar.gz');
    writeFileSync(spaced, gz);
    const first = await failure(TarArchiveFiles.open(spaced, 'my image.tar.gz'));
    expect(first.hint).toBe(`decompress it first: gunzip -k '${spaced}'`);
    const quoted = join(temp.path, "it's.tar");
    writeFileSync(quoted, gz);
    const second = await failure(TarArchiveFiles.open(quoted, "it's.tar"));
    const q = (path: string) => `'${path.replace("'", `'\\''`)}'`;
    expect(second.hint).toBe(
      `decompress it first: gunzip -c ${q(quoted)} > ${q(join(temp.path, "it's.decompressed.tar"))}`,
    );
  });

  it('refuses a file that is not a tar archive, and a truncated one', async () => {
    const text = join(temp.path, 'notes.txt');
    writeFileSync(text, 'just some notes\n'.repeat(100));
    const notTar = await failure(TarArchiveFiles.open(text, 'notes.txt'));
    expect(notTar.code).toBe('BAD_INPUT');
    expect(notTar.message).toMatch(/^notes\.txt is not an image \(not a tar archive\); imgscope reads /);

    const whole = join(temp.path, 'whole.tar');
    await writeTar(whole, [{ name: 'layer.tar', content: Buffer.alloc(4096, 1) }]);
    const cut = join(temp.path, 'cut.tar');
    writeFileSync(cut, readFileSync(whole).subarray(0, 2048));
    const truncated = await failure(TarArchiveFiles.open(cut, 'cut.tar'));
    expect(truncated.code).toBe('MALFORMED');
    expect(truncated.message).toContain('truncated');
    expect(truncated.message).toContain('layer.tar');
  });
});
