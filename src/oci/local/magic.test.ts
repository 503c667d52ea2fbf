import { describe, expect, it } from 'vitest';
import { decompressCommand } from './magic.js';

describe('decompressCommand', () => {
  it('names a file as the shell and the command read it back', () => {
    expect(decompressCommand('xz', 'app.tar.xz')).toBe('unxz -k app.tar.xz');
    expect(decompressCommand('bzip2', 'my app.tar.bz2')).toBe("bunzip2 -k 'my app.tar.bz2'");
    expect(decompressCommand('gzip', 'saved.tar')).toBe('gunzip -c saved.tar > saved.decompressed.tar');
  });

  it('keeps a name that starts with - from being read as options', () => {
    expect(decompressCommand('bzip2', '-app.tar.bz2')).toBe('bunzip2 -k ./-app.tar.bz2');
    expect(decompressCommand('zstd', '-app.tar', '--long=31')).toBe(
      'unzstd --long=31 -c ./-app.tar > ./-app.decompressed.tar',
    );
  });
});
