export type Compression = 'gzip' | 'zstd' | 'bzip2' | 'xz';

/** Compression named by a file's first bytes: media types lie or are absent, magic bytes do not. */
export function detectCompression(head: Uint8Array): Compression | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  // A skippable frame (magic 0x184D2A50–0x184D2A5F) may come first: pzstd writes one before every frame.
  if ((head[0]! & 0xf0) === 0x50 && head[1] === 0x2a && head[2] === 0x4d && head[3] === 0x18) return 'zstd';
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bzip2';
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a)
    return 'xz';
  return undefined;
}

const DECOMPRESS_COMMAND: Record<Compression, string> = {
  gzip: 'gunzip',
  zstd: 'unzstd',
  bzip2: 'bunzip2',
  xz: 'unxz',
};

/** Names each command decompresses in place (`-k`); any other name it refuses ("unknown suffix"). */
const KNOWN_SUFFIX: Record<Compression, RegExp> = {
  gzip: /\.(?:gz|tgz|taz|z)$/i,
  zstd: /\.(?:zst|tzst)$/i,
  bzip2: /\.(?:bz2|bz|tbz2|tbz)$/i,
  xz: /\.(?:xz|txz)$/i,
};

/** What `printable` escapes when a hint is printed: inside single quotes, its escape would not read back. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028-\u2029\u202a-\u202e\u2066-\u2069]/;

/**
 * A path as a shell reads it back: as is when it is plain, else in single quotes; one with control
 * characters or bidirectional controls in ANSI-C quotes (`$'app\x1b.tar'`, bash and zsh), which print
 * as they read back, in any locale.
 */
export function shellQuoted(path: string): string {
  if (/^[\w./@%+=:,-]+$/.test(path)) return path;
  if (!UNPRINTABLE.test(path)) return `'${path.replaceAll("'", `'\\''`)}'`;
  const escaped = path.replace(new RegExp(`[\\\\']|${UNPRINTABLE.source}`, 'g'), (c) => {
    if (c === '\\' || c === "'") return `\\${c}`;
    // Its UTF-8 bytes, not `\u0085`: bash reads `\u` as a character only in a UTF-8 locale (not in C).
    return [...Buffer.from(c)].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('');
  });
  return `$'${escaped}'`;
}

/** The shell command that undoes a compression of `file`, for hints; `flags` go before the file. */
export function decompressCommand(compression: Compression, given: string, flags = ''): string {
  // A name starting with `-` would be read as options: `./-app.tar.gz` is the same file.
  const file = given.startsWith('-') ? `./${given}` : given;
  const command = flags ? `${DECOMPRESS_COMMAND[compression]} ${flags}` : DECOMPRESS_COMMAND[compression];
  if (KNOWN_SUFFIX[compression].test(file)) return `${command} -k ${shellQuoted(file)}`;
  // `docker save | gzip > image.tar`: the command cannot derive an output name, so give it one.
  const output = /\.tar$/i.test(file) ? `${file.slice(0, -4)}.decompressed.tar` : `${file}.tar`;
  return `${command} -c ${shellQuoted(file)} > ${shellQuoted(output)}`;
}
