// The benchmark's images, generated deterministically into OCI layouts (gzip layers):
// - base:  a Debian-like base, ~9,000 files in ~250 packages (binaries, docs, man pages, dpkg lists, links);
// - app:   six layers on that same base blob: packages that overwrite base files, a node_modules-like tree,
//          a clean-up layer of whiteouts and an opaque directory, and a large binary written twice;
// - files: one layer of 200,000 small files;
// - big:   one layer of 1.15 GB compressed (large binaries and some text).
// Sizes and counts scale with `scale` (IMGSCOPE_BENCH_SCALE). The big layer's deflate stream is assembled
// from pieces compressed once (bigLayer): gzip at 40 MB/s would otherwise take the bench's whole budget.
import { createHash } from 'node:crypto';
import { copyFileSync, createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, crc32, createGzip, deflateRawSync } from 'node:zlib';
import { noisePool, prng, tarHeader, tarStream, textPool } from './tar-gen.js';

const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';
const MiB = 1024 * 1024;

/**
 * Writes a gzip layer blob from a stream of its bytes, named by its sha256. `tar` is the sha256 of the
 * uncompressed tar, filled while the blob streams: once it has, its digest is the layer's diff_id.
 */
export async function writeBlob(blobs, source, tar) {
  const hash = createHash('sha256');
  let size = 0;
  const temp = join(blobs, `.incoming-${process.pid}`);
  await pipeline(
    source,
    hashing(hash, (chunk) => (size += chunk.length)),
    createWriteStream(temp),
  );
  const hex = hash.digest('hex');
  renameSync(temp, join(blobs, hex));
  return {
    mediaType: LAYER_MEDIA_TYPE,
    digest: `sha256:${hex}`,
    size,
    diffId: `sha256:${tar.digest('hex')}`,
  };
}

/** A pass-through stream that feeds every chunk to `hash`. */
function hashing(hash, onChunk = () => {}) {
  return new Transform({
    transform(chunk, _encoding, callback) {
      hash.update(chunk);
      onChunk(chunk);
      callback(null, chunk);
    },
  });
}

/** A gzip layer blob of tar `entries`, its diff_id taken on the way. */
export function writeGzipLayer(blobs, entries, level) {
  const tar = createHash('sha256');
  const layer = tarStream(entries)
    .pipe(hashing(tar))
    .pipe(createGzip({ level, chunkSize: MiB }));
  return writeBlob(blobs, layer, tar);
}

function writeJsonBlob(blobs, value) {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(blobs, hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/** An OCI layout in `dir` with one image tagged `latest`; returns its layers' descriptors. */
export async function writeLayout(dir, layerSources, commands) {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layers = [];
  for (const source of layerSources) layers.push(await source(blobs));
  const config = writeJsonBlob(blobs, {
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    history: commands.map((created_by) => ({ created_by })),
  });
  const manifest = writeJsonBlob(blobs, {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map(({ diffId: _diffId, ...descriptor }) => descriptor),
  });
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
  return layers;
}

function copyBlob(layout, blobs, descriptor) {
  const hex = descriptor.digest.slice('sha256:'.length);
  copyFileSync(join(layout, 'blobs', 'sha256', hex), join(blobs, hex));
  return descriptor;
}

/** Pools of bytes file contents are sliced from: text (compresses ~4:1) and noise (incompressible). */
function pools(seed) {
  const random = prng(seed);
  const text = textPool(8 * MiB, random);
  const noise = noisePool(32 * MiB, random);
  const slice = (pool, size) => {
    if (size > pool.length) return Buffer.concat([pool, slice(pool, size - pool.length)]);
    const offset = Math.floor(random() * (pool.length - size));
    return pool.subarray(offset, offset + size);
  };
  return {
    random,
    text: (size) => slice(text, size),
    noise: (size) => slice(noise, size),
    /** Executable-like: half code (incompressible), half strings and tables (compressible). */
    binary: (size) => Buffer.concat([slice(noise, size >> 1), slice(text, size - (size >> 1))]),
  };
}

/** A Debian-like root filesystem. */
function* debianBase(scale) {
  const { random, text, noise, binary } = pools(101);
  const packages = Math.max(4, Math.round(250 * scale));
  const dirs = [
    'bin/',
    'etc/',
    'etc/apt/',
    'lib/',
    'lib/x86_64-linux-gnu/',
    'usr/',
    'usr/bin/',
    'usr/lib/',
    'usr/lib/x86_64-linux-gnu/',
    'usr/share/',
    'usr/share/doc/',
    'usr/share/man/',
    'usr/share/man/man1/',
    'var/',
    'var/lib/',
    'var/lib/dpkg/',
    'var/lib/dpkg/info/',
    'tmp/',
  ];
  for (const dir of dirs) yield { name: dir, type: '5', mode: dir === 'tmp/' ? 0o1777 : 0o755 };
  for (let pkg = 0; pkg < packages; pkg++) {
    const name = `pkg${pkg}`;
    yield { name: `usr/share/doc/${name}/`, type: '5', mode: 0o755 };
    yield { name: `usr/share/doc/${name}/copyright`, size: 1500, content: text };
    yield {
      name: `usr/share/doc/${name}/changelog.Debian.gz`,
      size: 800 + Math.floor(random() * 4000),
      content: noise,
    };
    const binaries = 1 + Math.floor(random() * 4);
    for (let b = 0; b < binaries; b++) {
      const size = 10_000 + Math.floor(random() * (random() < 0.05 ? 1_000_000 : 110_000));
      yield { name: `usr/bin/${name}-tool${b}`, size, mode: 0o755, content: binary };
      yield { name: `usr/share/man/man1/${name}-tool${b}.1.gz`, size: 2_000, content: noise };
    }
    yield {
      name: `usr/lib/x86_64-linux-gnu/lib${name}.so.1.0.0`,
      size: 20_000 + Math.floor(random() * 280_000),
      content: binary,
    };
    yield { name: `usr/lib/x86_64-linux-gnu/lib${name}.so.1`, type: '2', linkname: `lib${name}.so.1.0.0` };
    const dataFiles = 10 + Math.floor(random() * 30);
    yield { name: `usr/share/${name}/`, type: '5', mode: 0o755 };
    for (let f = 0; f < dataFiles; f++)
      yield {
        name: `usr/share/${name}/data${f}.txt`,
        size: 200 + Math.floor(random() * 12_000),
        content: text,
      };
    yield { name: `var/lib/dpkg/info/${name}.list`, size: 3_000, content: text };
    yield { name: `var/lib/dpkg/info/${name}.md5sums`, size: 2_500, content: text };
  }
  yield { name: 'bin/sh', type: '2', linkname: 'dash' };
  yield { name: 'bin/dash', size: 125_000, mode: 0o755, content: binary };
  yield { name: 'etc/os-release', size: 267, content: text };
  yield { name: 'var/lib/dpkg/status', size: 400_000, content: text };
}

/** Packages installed over the base: new files and overwritten base files. */
function* aptInstall(scale) {
  const { random, text, noise } = pools(202);
  const packages = Math.max(2, Math.round(120 * scale));
  for (let pkg = 0; pkg < packages; pkg++) {
    yield { name: `usr/lib/extra${pkg}/`, type: '5', mode: 0o755 };
    for (let f = 0; f < 20; f++) {
      const size =
        random() < 0.2 ? 100_000 + Math.floor(random() * 1_500_000) : 500 + Math.floor(random() * 20_000);
      yield { name: `usr/lib/extra${pkg}/mod${f}.so`, size, content: random() < 0.5 ? noise : text };
    }
    // Upgrades rewrite files the base already had.
    yield { name: `usr/share/doc/pkg${pkg}/copyright`, size: 1600, content: text };
    yield { name: `var/lib/dpkg/info/pkg${pkg}.list`, size: 3_100, content: text };
  }
  yield { name: 'var/lib/dpkg/status', size: 450_000, content: text };
}

/** A node_modules-like tree. */
function* appTree(scale) {
  const { random, text } = pools(303);
  const modules = Math.max(2, Math.round(800 * scale));
  yield { name: 'app/', type: '5', mode: 0o755 };
  yield { name: 'app/node_modules/', type: '5', mode: 0o755 };
  for (let m = 0; m < modules; m++) {
    yield { name: `app/node_modules/mod${m}/`, type: '5', mode: 0o755 };
    yield { name: `app/node_modules/mod${m}/lib/`, type: '5', mode: 0o755 };
    for (let f = 0; f < 24; f++)
      yield {
        name: `app/node_modules/mod${m}/lib/file${f}.js`,
        size: 100 + Math.floor(random() * 6_000),
        content: text,
      };
    yield { name: `app/node_modules/mod${m}/package.json`, size: 700, content: text };
  }
}

/** Clean-up: whiteouts of installed files, an opaque cache dir, rewritten files. */
function* cleanUp(scale) {
  const { random, text } = pools(404);
  const packages = Math.max(2, Math.round(120 * scale));
  for (let pkg = 0; pkg < packages; pkg += 2) {
    yield { name: `usr/lib/.wh.extra${pkg}` };
    yield { name: `usr/lib/extra${pkg + 1}/.wh.mod3.so` };
  }
  yield { name: 'app/node_modules/mod1/.wh..wh..opq' };
  yield { name: 'app/node_modules/mod1/index.js', size: 300, content: text };
  const modules = Math.max(2, Math.round(800 * scale));
  for (let m = 0; m < modules; m += 4) {
    const f = Math.floor(random() * 24);
    yield { name: `app/node_modules/mod${m}/lib/file${f}.js`, size: 5_000, content: text };
  }
}

/** A large binary, built (twice: the second layer rewrites it). */
function* build(scale, seed) {
  const { binary } = pools(seed);
  yield { name: 'app/bin/', type: '5', mode: 0o755 };
  yield {
    name: 'app/bin/server',
    size: Math.max(MiB, Math.round(90 * MiB * scale)),
    mode: 0o755,
    content: binary,
  };
}

/** 200,000 small text files, 50 a directory. */
export function* manyFiles(count) {
  const { random, text } = pools(505);
  for (let i = 0; i < count; i++) {
    if (i % 50 === 0) yield { name: `usr/share/doc/p${Math.floor(i / 50)}/`, type: '5', mode: 0o755 };
    yield {
      name: `usr/share/doc/p${Math.floor(i / 50)}/f${i % 50}.txt`,
      size: Math.floor(random() * 700),
      content: text,
    };
  }
}

const PIECE = 4 * MiB;

/** Raw deflate of `data` ending on a byte boundary with no final block, so that such pieces concatenate. */
const deflatePiece = (data, level = 6) =>
  deflateRawSync(data, { level, finishFlush: constants.Z_FULL_FLUSH });

/**
 * A layer of `compressedTarget` gzip bytes: large binaries (80%) and text files (20%). It is one gzip
 * member, as docker and buildkit write layers, assembled from 4 MiB pieces deflated once: each piece is
 * flushed to a byte boundary with its history reset (Z_FULL_FLUSH), so the pieces concatenate into one
 * valid deflate stream; the trailer's CRC-32 is computed over the assembled contents.
 */
async function bigLayer(blobs, compressedTarget) {
  const random = prng(606);
  const noise = noisePool(8 * PIECE, random);
  const text = textPool(8 * PIECE, random);
  const pieces = [];
  for (let i = 0; i < 8; i++) {
    const data = noise.subarray(i * PIECE, (i + 1) * PIECE);
    pieces.push({ data, deflated: deflatePiece(data, 1) });
  }
  for (let i = 0; i < 8; i++) {
    const data = text.subarray(i * PIECE, (i + 1) * PIECE);
    pieces.push({ data, deflated: deflatePiece(data, 6) });
  }
  const tar = createHash('sha256');
  function* member() {
    let crc = 0;
    let size = 0;
    const contents = (data, deflated = deflatePiece(data)) => {
      crc = crc32(data, crc);
      tar.update(data);
      size += data.length;
      return deflated;
    };
    yield Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    let written = 10;
    yield contents(tarHeader('opt/', { type: '5', mode: 0o755 }));
    yield contents(tarHeader('opt/big/', { type: '5', mode: 0o755 }));
    for (let file = 0; written < compressedTarget; file++) {
      const binary = random() < 0.8;
      const count = binary ? 1 + Math.floor(random() * 16) : 1 + Math.floor(random() * 2);
      const header = contents(
        tarHeader(`opt/big/${binary ? `lib${file}.so` : `data${file}.txt`}`, { size: count * PIECE }),
      );
      written += header.length;
      yield header;
      for (let p = 0; p < count; p++) {
        const piece = pieces[(binary ? 0 : 8) + Math.floor(random() * 8)];
        written += piece.deflated.length;
        yield contents(piece.data, piece.deflated);
      }
    }
    const end = Buffer.alloc(1024);
    yield contents(end, deflateRawSync(end)); // the final block
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(size % 2 ** 32, 4);
    yield trailer;
  }
  const { Readable } = await import('node:stream');
  return writeBlob(blobs, Readable.from(member()), tar);
}

/** Generates every image as the layout `root/NAME/image`; returns { NAME: { dir, layers } }. */
export async function generateImages(root, scale) {
  const images = {};
  const base = join(root, 'base', 'image');
  const baseLayers = await writeLayout(
    base,
    [(blobs) => writeGzipLayer(blobs, debianBase(scale), 6)],
    ['ADD rootfs.tar.xz /'],
  );
  images.base = { dir: base, layers: baseLayers };

  const app = join(root, 'app', 'image');
  images.app = {
    dir: app,
    layers: await writeLayout(
      app,
      [
        (blobs) => copyBlob(base, blobs, baseLayers[0]), // the base image's layer, byte for byte
        (blobs) => writeGzipLayer(blobs, aptInstall(scale), 6),
        (blobs) => writeGzipLayer(blobs, appTree(scale), 6),
        (blobs) => writeGzipLayer(blobs, cleanUp(scale), 6),
        (blobs) => writeGzipLayer(blobs, build(scale, 707), 6),
        (blobs) => writeGzipLayer(blobs, build(scale, 808), 6),
      ],
      [
        'ADD rootfs.tar.xz /',
        'RUN apt-get update && apt-get install -y extras',
        'COPY app /app',
        'RUN rm -rf /usr/lib/extra* /app/node_modules/mod1 && npm prune',
        'RUN make server',
        'RUN make server # again',
      ],
    ),
  };

  const files = join(root, 'files', 'image');
  images.files = {
    dir: files,
    layers: await writeLayout(
      files,
      [(blobs) => writeGzipLayer(blobs, manyFiles(Math.max(100, Math.round(200_000 * scale))), 1)],
      ['COPY docs /usr/share/doc'],
    ),
  };

  const big = join(root, 'big', 'image');
  images.big = {
    dir: big,
    layers: await writeLayout(
      big,
      [(blobs) => bigLayer(blobs, Math.round(1.15e9 * scale))],
      ['COPY big /opt/big'],
    ),
  };
  return images;
}
