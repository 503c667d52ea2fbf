// Deterministic tar streams for the benchmarks: ustar headers written by hand, contents sliced from a
// text pool (compresses like source and config files) or a noise pool (like already-compressed binaries).
import { Readable, Transform } from 'node:stream';

const BLOCK = 512;

/** A seeded xorshift32: the same bytes every run. */
export function prng(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
}

const WORDS = (
  'the of and to in is that for it as with was on be by this are from or at which an have not all but ' +
  'they has one were their there been if more when will would who so no config value name path file ' +
  'return function const let import export default static struct int char void include define error ' +
  'license copyright version library module package install build release debug info warning'
).split(' ');

/** Text-like bytes (about 3:1 under gzip). */
export function textPool(size, random = prng(7)) {
  const pool = Buffer.alloc(size);
  let offset = 0;
  while (offset < size) {
    const word = WORDS[Math.floor(random() * WORDS.length)];
    offset += pool.write(word, offset);
    if (offset < size) pool[offset++] = random() < 0.1 ? 0x0a : 0x20;
  }
  return pool;
}

/** Incompressible bytes. */
export function noisePool(size, random = prng(11)) {
  const pool = Buffer.alloc(size);
  for (let offset = 0; offset + 4 <= size; offset += 4)
    pool.writeUInt32LE((random() * 0x1_0000_0000) >>> 0, offset);
  return pool;
}

function octal(value, width) {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar header. Names up to 100 bytes (the generators keep them short). */
export function tarHeader(name, { size = 0, type = '0', mode = 0o644, linkname = '' } = {}) {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100);
  header.write(octal(mode, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136);
  header.write(type, 156);
  if (linkname) header.write(linkname, 157, 100);
  header.write('ustar\u000000', 257, 'latin1');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += header[i];
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

const PADDING = Buffer.alloc(BLOCK);

/**
 * A tar stream of the given entries ({ name, size?, type?, mode?, linkname?, content?: (size) => Buffer }),
 * produced lazily: nothing but the current entry is ever in memory.
 */
export function tarStream(entries) {
  return Readable.from(
    (function* generate() {
      for (const entry of entries) {
        const size = entry.size ?? 0;
        yield tarHeader(entry.name, { ...entry, size });
        if (size > 0) {
          yield entry.content(size);
          const pad = (BLOCK - (size % BLOCK)) % BLOCK;
          if (pad > 0) yield PADDING.subarray(0, pad);
        }
      }
      yield Buffer.alloc(2 * BLOCK);
    })(),
    { objectMode: false },
  );
}

/** A pass-through that feeds every chunk to `hash` and counts the bytes: `{ stream, size() }`. */
export function hashingTap(hash) {
  let size = 0;
  const stream = new Transform({
    transform(chunk, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, size: () => size };
}
