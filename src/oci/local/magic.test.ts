import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { printable } from '../../report/format.js';
import { decompressCommand, shellQuoted } from './magic.js';

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

describe('shellQuoted', () => {
  it('writes a name with control or bidirectional characters in ANSI-C quotes, which print as they read back', () => {
    expect(shellQuoted("it's\x1b]0;x\x07\n.tar")).toBe("$'it\\'s\\x1b]0;x\\x07\\x0a.tar'");
    expect(shellQuoted('a\\b\u202etar.exe')).toBe("$'a\\\\b\\xe2\\x80\\xaetar.exe'");
    expect(printable(shellQuoted('a\x1b\u0085b'))).toBe(shellQuoted('a\x1b\u0085b'));
    expect(shellQuoted("it's app.tar")).toBe("'it'\\''s app.tar'");
  });

  it('reads back to the same bytes in bash, in the C locale as in a UTF-8 one', () => {
    const path = "it's\x1b\n\u0085\u202eé.tar";
    for (const locale of ['C', 'C.UTF-8']) {
      const read = execFileSync('bash', ['-c', `printf %s ${shellQuoted(path)}`], {
        env: { ...process.env, LC_ALL: locale },
      });
      expect(read.toString('utf8')).toBe(path);
    }
  });
});
