#!/usr/bin/env node
// Generates the fixture images under fixtures/ (or the directory given as the first argument).
// Every byte is a function of this file: fixed mtimes and owners, entries sorted in walk order, gzip by
// node:zlib with a pinned level and a header without name or mtime, zstd by a pinned CLI invocation.
// fixtures/README.md describes each image layer by layer; test/fixtures.test.ts regenerates and compares.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';

const EPOCH = new Date('2024-01-01T00:00:00Z');
const GZIP_LEVEL = 9;
const ZSTD_BINARY = '/usr/bin/zstd';
/** Single-threaded so the frame layout never depends on the machine; the content checksum is kept. */
const ZSTD_ARGS = ['-19', '--single-thread', '--no-progress', '-q', '-c'];
/** The zstd release the committed fixtures were made with; others may choose different matches. */
const PINNED_ZSTD_VERSION = '1.5.4';

const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};
const LAYER_MEDIA_TYPE = {
  none: MediaType.OciLayer,
  gzip: MediaType.OciLayerGzip,
  zstd: MediaType.OciLayerZstd,
};
const REF_NAME = 'org.opencontainers.image.ref.name';

// ─── deterministic content ──────────────────────────────────────────────────────────────────────────────

const sha256Hex = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Incompressible bytes: SHA-256 in counter mode over the seed. */
function noise(seed, size) {
  const out = Buffer.alloc(size);
  for (let offset = 0, block = 0; offset < size; offset += 32, block++) {
    createHash('sha256').update(`${seed}:${block}`).digest().copy(out, offset);
  }
  return out;
}

/** An executable-looking blob: ELF magic, then noise. */
function elf(seed, size) {
  const bytes = noise(seed, size);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]).copy(bytes);
  return bytes;
}

/** A seeded stream of small integers for picking words and numbers. */
function picker(seed) {
  let pool = Buffer.alloc(0);
  let counter = 0;
  return (n) => {
    if (pool.length < 4) pool = createHash('sha256').update(`${seed}#${counter++}`).digest();
    const value = pool.readUInt32BE(0);
    pool = pool.subarray(4);
    return value % n;
  };
}

/** Repeats `line(pick, i)` until `size` bytes, cut to exactly `size` with a final newline. */
function sizedText(seed, size, line) {
  const pick = picker(seed);
  let text = '';
  for (let i = 0; text.length < size; i++) text += line(pick, i);
  return Buffer.from(`${text.slice(0, size - 1)}\n`, 'latin1');
}

const WORDS = `
  request response buffer stream handler router layer config options value result error status header
  payload session cache token index entry digest mount signal socket timeout retry limit chunk encode
  decode parse format
`
  .trim()
  .split(/\s+/);
const word = (pick) => WORDS[pick(WORDS.length)];
const hexOf = (pick, length) => Array.from({ length }, () => pick(16).toString(16)).join('');

/** Plausible minified-ish JavaScript of an exact size. */
const js = (seed, size) =>
  sizedText(seed, size, (pick, i) => {
    const [a, b, c] = [word(pick), word(pick), word(pick)];
    return `function ${a}_${i}(${b}, ${c}) { const ${a} = ${b}.${c} ?? ${pick(1000)}; return ${c}(${a}, '${b}'); }\n`;
  });

const DEBIAN_PACKAGES = `
  adduser apt base-files base-passwd bash bsdutils coreutils dash debconf debian-archive-keyring
  debianutils diffutils dpkg e2fsprogs findutils gpgv grep gzip hostname init-system-helpers libc-bin
  libc6 login mawk mount ncurses-base passwd perl-base sed sysvinit-utils tar tzdata util-linux zlib1g
`
  .trim()
  .split(/\s+/);
const ADDED_PACKAGES = ['ca-certificates', 'curl', 'libcurl4', 'libnghttp2-14', 'libssl3', 'openssl'];
const ALL_PACKAGES = [...DEBIAN_PACKAGES, ...ADDED_PACKAGES];

/** A dpkg status database cycling through `packages` until it is `size` bytes. */
const dpkgStatus = (seed, packages, size) =>
  sizedText(seed, size, (pick, i) => {
    const name = packages[i % packages.length];
    return [
      `Package: ${name}`,
      'Status: install ok installed',
      `Priority: ${pick(2) ? 'required' : 'important'}`,
      `Installed-Size: ${100 + pick(4000)}`,
      'Maintainer: Debian Developers <debian-devel@lists.debian.org>',
      'Architecture: amd64',
      `Version: ${1 + pick(9)}.${pick(40)}-${1 + pick(5)}`,
      `Description: ${word(pick)} ${word(pick)} ${word(pick)} for the ${name} package`,
      '',
      '',
    ].join('\n');
  });

/** A signed Release file as apt stores it under /var/lib/apt/lists. */
const inRelease = (suite, size) =>
  sizedText(`InRelease ${suite}`, size, (pick, i) =>
    i === 0
      ? `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nSuite: ${suite}\nSHA256:\n`
      : ` ${hexOf(pick, 64)} ${1000 + pick(900000)} main/binary-amd64/Packages${pick(2) ? '.xz' : ''}\n`,
  );

/** A PEM certificate (or bundle) of an exact size; the base64 body is noise, as it is in real ones. */
function pem(seed, size) {
  const body = noise(seed, size).toString('base64');
  let text = '';
  for (let offset = 0; text.length < size; offset += 64 * 20) {
    const lines = body.slice(offset, offset + 64 * 20).match(/.{1,64}/g) ?? [];
    text += `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
  }
  return Buffer.from(`${text.slice(0, size - 1)}\n`, 'ascii');
}

/** apt's binary package cache: a header, then records of package names and offsets. */
const aptCache = (seed, size) =>
  sizedText(seed, size, (pick, i) =>
    i === 0
      ? 'APT-CACHE\0\0\x10\0'
      : `${ALL_PACKAGES[pick(ALL_PACKAGES.length)]}\0${String.fromCharCode(1 + pick(200))}\0\0`,
  );

const logLines = (seed, size, verbs) =>
  sizedText(seed, size, (pick, i) => {
    const second = String(i % 60).padStart(2, '0');
    const name = ALL_PACKAGES[pick(ALL_PACKAGES.length)];
    return `2024-01-01 00:02:${second} ${verbs[pick(verbs.length)]} ${name}:amd64 <none> ${1 + pick(9)}.${pick(40)}\n`;
  });

// ─── tar entries ────────────────────────────────────────────────────────────────────────────────────────

const EXECUTABLE = { mode: 0o755 };
const dir = (path, options = {}) => ({ type: 'directory', path, mode: 0o755, ...options });
const file = (path, body, options = {}) => ({
  type: 'file',
  path,
  mode: 0o644,
  ...options,
  body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
});
const symlink = (path, target) => ({ type: 'symlink', path, mode: 0o777, target });
const hardlink = (path, target) => ({ type: 'link', path, mode: 0o755, target });
/** Overlay whiteout: `.wh.NAME` beside the deleted file or directory. */
const whiteout = (path) =>
  file(posix.join(posix.dirname(path), `.wh.${posix.basename(path)}`), '', { mode: 0o600 });
/** Overlay opaque marker: the directory's lower contents are gone. */
const opaque = (dirPath) => file(posix.join(dirPath, '.wh..wh..opq'), '', { mode: 0o600 });

/** Filesystem walk order: parents before children, siblings by name. */
function byWalkOrder(a, b) {
  const left = a.path.split('/').filter(Boolean);
  const right = b.path.split('/').filter(Boolean);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i] < right[i] ? -1 : 1;
  }
  return left.length - right.length;
}

/** A tar stream of `entries`, in walk order, with fixed times and owners. */
async function tarOf(entries) {
  const sorted = [...entries].sort(byWalkOrder);
  for (let i = 1; i < sorted.length; i++) {
    if (byWalkOrder(sorted[i - 1], sorted[i]) === 0) throw new Error(`duplicate tar entry ${sorted[i].path}`);
  }
  const pack = tarStream.pack();
  const chunks = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk);
  })();
  for (const entry of sorted) {
    const header = {
      name: entry.type === 'directory' ? `${entry.path.replace(/\/$/, '')}/` : entry.path,
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: EPOCH,
      size: entry.body?.length ?? 0,
      linkname: entry.target,
    };
    await new Promise((done, fail) => {
      pack.entry(header, entry.body, (error) => (error ? fail(error) : done()));
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

function compress(tar, compression) {
  if (compression === 'none') return tar;
  if (compression === 'gzip') return gzipSync(tar, { level: GZIP_LEVEL });
  if (compression === 'zstd')
    return execFileSync(ZSTD_BINARY, ZSTD_ARGS, { input: tar, maxBuffer: 64 << 20 });
  throw new Error(`unknown compression ${compression}`);
}

// ─── images, blobs, layouts, archives ───────────────────────────────────────────────────────────────────

const json = (value) => Buffer.from(JSON.stringify(value), 'utf8');

/** A content-addressed blob and the descriptor that names it. */
function blob(mediaType, bytes, extra = {}) {
  return {
    bytes,
    descriptor: { mediaType, digest: `sha256:${sha256Hex(bytes)}`, size: bytes.length, ...extra },
  };
}

const minutesAfterEpoch = (minutes) =>
  new Date(EPOCH.getTime() + minutes * 60_000).toISOString().replace('.000', '');

/**
 * Turns an image declared as steps (history entries, some with a layer) into its layer tars, blobs,
 * config and manifest.
 */
async function buildImage(image) {
  const layers = [];
  const history = [];
  for (const [i, step] of image.steps.entries()) {
    const entry = { created: minutesAfterEpoch(i), created_by: step.createdBy, comment: step.comment };
    if (!step.entries) entry.empty_layer = true;
    history.push(entry);
    if (!step.entries) continue;
    const tar = await tarOf(step.entries);
    const layerBlob = blob(LAYER_MEDIA_TYPE[step.compression], compress(tar, step.compression));
    layers.push({ tar, diffId: `sha256:${sha256Hex(tar)}`, blob: layerBlob });
  }
  const config = blob(
    MediaType.OciConfig,
    json({
      architecture: image.platform.architecture,
      ...(image.platform.variant ? { variant: image.platform.variant } : {}),
      config: image.config,
      created: minutesAfterEpoch(image.steps.length - 1),
      history,
      os: image.platform.os,
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
    }),
  );
  const manifest = blob(
    MediaType.OciManifest,
    json({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: config.descriptor,
      layers: layers.map((layer) => layer.blob.descriptor),
    }),
  );
  return {
    platform: image.platform,
    runConfig: image.config,
    layers,
    history,
    config,
    manifest,
    blobs: [config, manifest, ...layers.map((layer) => layer.blob)],
  };
}

/** An OCI image layout as a map of relative path → bytes. */
function ociLayout(blobs, indexDescriptors) {
  const files = new Map();
  files.set('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
  files.set(
    'index.json',
    json({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: indexDescriptors }),
  );
  for (const { bytes, descriptor } of blobs) {
    files.set(`blobs/sha256/${descriptor.digest.slice('sha256:'.length)}`, bytes);
  }
  return files;
}

const withRefName = (descriptor, refName) => ({ ...descriptor, annotations: { [REF_NAME]: refName } });

/** A tar of a map of files, with the directory entries a real archiver writes. */
function archiveOf(files) {
  const entries = [];
  const dirs = new Set();
  for (const [path, bytes] of files) {
    for (let parent = posix.dirname(path); parent !== '.'; parent = posix.dirname(parent)) dirs.add(parent);
    entries.push(file(path, bytes));
  }
  for (const path of dirs) entries.push(dir(path));
  return tarOf(entries);
}

/**
 * The legacy `docker save` format (Docker ≤ 24): one directory per layer with an uncompressed
 * layer.tar, the v1 JSON and VERSION; the config as <hex>.json; manifest.json and repositories.
 */
function dockerLegacyArchive(image, repoTag) {
  const [repository, tag] = repoTag.split(':');
  const configName = `${image.config.descriptor.digest.slice('sha256:'.length)}.json`;
  const files = new Map([[configName, image.config.bytes]]);
  const layerSteps = image.history.filter((entry) => !entry.empty_layer);
  const layerPaths = [];
  let parent;
  let chainId;
  for (const [i, layer] of image.layers.entries()) {
    chainId = chainId ? `sha256:${sha256Hex(`${chainId} ${layer.diffId}`)}` : layer.diffId;
    const isTop = i === image.layers.length - 1;
    const v1 = {
      ...(parent ? { parent } : {}),
      created: layerSteps[i].created,
      container_config: { Cmd: [layerSteps[i].created_by] },
      ...(isTop ? { architecture: image.platform.architecture, config: image.runConfig } : {}),
      os: image.platform.os,
    };
    // Like docker's v1.CreateID: the ID hashes the v1 JSON together with the layer's chain ID.
    const id = sha256Hex(json({ ...v1, layer_id: chainId }));
    files.set(`${id}/VERSION`, Buffer.from('1.0'));
    files.set(`${id}/json`, json({ id, ...v1 }));
    files.set(`${id}/layer.tar`, layer.tar);
    layerPaths.push(`${id}/layer.tar`);
    parent = id;
  }
  const manifest = [{ Config: configName, RepoTags: [repoTag], Layers: layerPaths }];
  files.set('manifest.json', Buffer.from(`${JSON.stringify(manifest)}\n`));
  files.set('repositories', Buffer.from(`${JSON.stringify({ [repository]: { [tag]: parent } })}\n`));
  return archiveOf(files);
}

// ─── the images ─────────────────────────────────────────────────────────────────────────────────────────

const BUILDKIT = 'buildkit.dockerfile.v0';

const OS_RELEASE = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`;
const PASSWD = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
nogroup:x:65534:
`;
const DEBIAN_SOURCES = `Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;
const ENTRYPOINT_SH = `#!/bin/sh
set -e
# Run through node when the first argument is an option or not a command on PATH.
if [ "\${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1; then
  set -- node "$@"
fi
exec "$@"
`;
const PACKAGE_JSON = `${JSON.stringify(
  {
    name: 'imgscope-demo',
    version: '1.0.0',
    private: true,
    description: 'A small file service: the image imgscope explains in its README',
    main: 'dist/bundle.js',
    scripts: { build: 'rm -rf dist && mkdir dist && node build.js', start: 'node dist/bundle.js' },
    dependencies: { debug: '^4.3.4', express: '^4.18.2', semver: '^7.5.4' },
    engines: { node: '>=20' },
  },
  null,
  2,
)}\n`;
const lockPackage = (name, version, pick) => ({
  version,
  resolved: `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${version}.tgz`,
  integrity: `sha512-${noise(`${name}@${version}`, 48).toString('base64')}`,
  license: 'MIT',
  ...(pick(3) === 0 ? { engines: { node: '>= 0.10.0' } } : {}),
});
/** The dependency tree npm locked: name@version. */
const LOCKED = `
  accepts@1.3.8 array-flatten@1.1.1 body-parser@1.20.1 bytes@3.1.2 content-disposition@0.5.4
  content-type@1.0.5 cookie@0.5.0 debug@4.3.4 depd@2.0.0 destroy@1.2.0 encodeurl@1.0.2
  escape-html@1.0.3 etag@1.8.1 express@4.18.2 finalhandler@1.2.0 fresh@0.5.2 http-errors@2.0.0
  iconv-lite@0.4.24 merge-descriptors@1.0.1 methods@1.1.2 mime@1.6.0 ms@2.1.2 on-finished@2.4.1
  parseurl@1.3.3 path-to-regexp@0.1.7 qs@6.11.0 range-parser@1.2.1 semver@7.5.4 send@0.18.0
`
  .trim()
  .split(/\s+/)
  .map((spec) => spec.split('@'));
/** package-lock.json, or with `hidden` npm's node_modules/.package-lock.json (no root package entry). */
function packageLock({ hidden }) {
  const pick = picker('package-lock');
  const packages = hidden ? {} : { '': { name: 'imgscope-demo', version: '1.0.0' } };
  for (const [name, version] of LOCKED) packages[`node_modules/${name}`] = lockPackage(name, version, pick);
  const lock = { name: 'imgscope-demo', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
  return `${JSON.stringify(lock, null, 2)}\n`;
}
const DOCKERFILE = `FROM node:20.11.1-bookworm-slim AS node
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl
RUN rm -rf /var/lib/apt/lists/*
ENV NODE_VERSION=20.11.1
COPY --from=node /usr/local /usr/local
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY . .
RUN npm run build && rm -rf /app/.git /root/.npm/_cacache/content-v2
LABEL org.opencontainers.image.source=https://github.com/example/imgscope-demo org.opencontainers.image.version=1.0
EXPOSE 9000
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node", "dist/bundle.js"]
`;
const NPM_LOG = (seed, size) =>
  sizedText(
    seed,
    size,
    (pick, i) =>
      `${i} ${['verbose', 'timing', 'silly', 'http'][pick(4)]} ${word(pick)} ${word(pick)} ${pick(900)}ms\n`,
  );
const cacacheKey = (name) => sha256Hex(`cacache ${name}`);
const CACHED_TARBALLS = [
  ['express', 6144],
  ['debug', 4096],
  ['semver', 3072],
];
/** A generated SDK model file whose name alone is over 100 bytes: ustar cannot hold it, PAX must. */
const LONG_NAME =
  'GetObjectAttributesRequestWithExpectedBucketOwnerChecksumModeAndPartNumberMarkerSerializer.generated.d.ts';
const GIT_PACK = `pack-${sha256Hex('git pack').slice(0, 40)}`;
const LISTS = 'var/lib/apt/lists';
const APT_LISTS = [
  ['deb.debian.org_debian_dists_bookworm-updates_InRelease', () => inRelease('bookworm-updates', 2500)],
  ['deb.debian.org_debian_dists_bookworm_InRelease', () => inRelease('bookworm', 6000)],
  [
    'deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4',
    () => noise('Packages bookworm', 16384),
  ],
  [
    'deb.debian.org_debian-security_dists_bookworm-security_InRelease',
    () => inRelease('bookworm-security', 3000),
  ],
  [
    'deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4',
    () => noise('Packages bookworm-security', 4096),
  ],
];

/** imgscope/demo:1.0 — a small Node.js file service built the way many real images are: with waste. */
const demoImage = {
  platform: { os: 'linux', architecture: 'amd64' },
  config: {
    Env: [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'NODE_VERSION=20.11.1',
      'NODE_ENV=production',
    ],
    Entrypoint: ['docker-entrypoint.sh'],
    Cmd: ['node', 'dist/bundle.js'],
    WorkingDir: '/app',
    ExposedPorts: { '9000/tcp': {} },
    Labels: {
      'org.opencontainers.image.source': 'https://github.com/example/imgscope-demo',
      'org.opencontainers.image.version': '1.0',
    },
  },
  steps: [
    {
      createdBy:
        '/bin/sh -c #(nop) ADD file:6f1c0a3e2b7d94c58e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f in / ',
      compression: 'gzip',
      entries: [
        symlink('bin', 'usr/bin'),
        dir('etc'),
        dir('etc/apt'),
        dir('etc/apt/sources.list.d'),
        file('etc/apt/sources.list.d/debian.sources', DEBIAN_SOURCES),
        file('etc/debian_version', '12.5\n'),
        file('etc/group', GROUP),
        symlink('etc/localtime', '/usr/share/zoneinfo/Etc/UTC'),
        file('etc/os-release', OS_RELEASE),
        file('etc/passwd', PASSWD),
        dir('home'),
        symlink('lib', 'usr/lib'),
        dir('root', { mode: 0o700 }),
        symlink('sbin', 'usr/sbin'),
        dir('tmp', { mode: 0o1777 }),
        dir('usr'),
        dir('usr/bin'),
        file('usr/bin/bash', elf('bash', 8192), EXECUTABLE),
        file('usr/bin/dash', elf('dash', 6144), EXECUTABLE),
        file('usr/bin/perl', elf('perl', 8192), EXECUTABLE),
        hardlink('usr/bin/perl5.36.0', 'usr/bin/perl'),
        symlink('usr/bin/sh', 'dash'),
        dir('usr/lib'),
        dir('usr/lib/x86_64-linux-gnu'),
        file('usr/lib/x86_64-linux-gnu/libc.so.6', elf('libc', 12288), EXECUTABLE),
        dir('usr/sbin'),
        dir('usr/share'),
        // usr/share/zoneinfo and usr/share/zoneinfo/Etc are implied by this path: no entries of their own.
        file('usr/share/zoneinfo/Etc/UTC', Buffer.concat([Buffer.from('TZif2'), noise('UTC', 109)])),
        dir('var'),
        dir('var/cache'),
        dir('var/cache/apt'),
        dir('var/lib'),
        dir('var/lib/apt'),
        dir(LISTS),
        dir('var/lib/dpkg'),
        file('var/lib/dpkg/status', dpkgStatus('status base', DEBIAN_PACKAGES, 6000)),
        dir('var/log'),
      ],
    },
    { createdBy: '/bin/sh -c #(nop)  CMD ["bash"]' },
    {
      createdBy:
        'RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends ca-certificates curl # buildkit',
      comment: BUILDKIT,
      compression: 'zstd',
      entries: [
        dir('etc'),
        dir('etc/ssl'),
        dir('etc/ssl/certs'),
        symlink('etc/ssl/certs/4042bcee.0', 'ISRG_Root_X1.pem'),
        symlink(
          'etc/ssl/certs/DigiCert_Global_Root_G2.pem',
          '/usr/share/ca-certificates/mozilla/DigiCert_Global_Root_G2.crt',
        ),
        symlink('etc/ssl/certs/ISRG_Root_X1.pem', '/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt'),
        file('etc/ssl/certs/ca-certificates.crt', pem('ca bundle', 12000)),
        dir('usr'),
        dir('usr/bin'),
        file('usr/bin/curl', elf('curl', 6144), EXECUTABLE),
        dir('usr/lib'),
        dir('usr/lib/x86_64-linux-gnu'),
        symlink('usr/lib/x86_64-linux-gnu/libcurl.so.4', 'libcurl.so.4.8.0'),
        file('usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0', elf('libcurl', 12288)),
        dir('usr/share'),
        dir('usr/share/ca-certificates'),
        dir('usr/share/ca-certificates/mozilla'),
        file('usr/share/ca-certificates/mozilla/DigiCert_Global_Root_G2.crt', pem('digicert g2', 1294)),
        file('usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt', pem('isrg x1', 1939)),
        dir('var'),
        dir('var/cache'),
        dir('var/cache/apt'),
        dir('var/cache/apt/archives'),
        file('var/cache/apt/archives/lock', '', { mode: 0o640 }),
        dir('var/cache/apt/archives/partial', { mode: 0o700 }),
        file('var/cache/apt/pkgcache.bin', aptCache('pkgcache', 8192)),
        file('var/cache/apt/srcpkgcache.bin', aptCache('srcpkgcache', 8192)),
        dir('var/lib'),
        dir('var/lib/apt'),
        dir(LISTS),
        dir(`${LISTS}/auxfiles`),
        ...APT_LISTS.map(([name, body]) => file(`${LISTS}/${name}`, body())),
        file(`${LISTS}/lock`, '', { mode: 0o640 }),
        dir(`${LISTS}/partial`, { mode: 0o700 }),
        dir('var/lib/dpkg'),
        file('var/lib/dpkg/status', dpkgStatus('status installed', ALL_PACKAGES, 9000)),
        dir('var/log'),
        dir('var/log/apt'),
        file('var/log/apt/history.log', logLines('apt history', 800, ['install'])),
        file('var/log/apt/term.log', logLines('apt term', 1500, ['Unpacking', 'Setting up'])),
        file('var/log/dpkg.log', logLines('dpkg log', 2500, ['install', 'configure', 'status installed'])),
      ],
    },
    {
      createdBy: 'RUN /bin/sh -c rm -rf /var/lib/apt/lists/* # buildkit',
      comment: BUILDKIT,
      compression: 'gzip',
      // Only the lists directory itself is written; var, var/lib and var/lib/apt are implied.
      entries: [
        dir(LISTS),
        whiteout(`${LISTS}/auxfiles`),
        ...APT_LISTS.map(([name]) => whiteout(`${LISTS}/${name}`)),
        whiteout(`${LISTS}/lock`),
        whiteout(`${LISTS}/partial`),
      ],
    },
    { createdBy: 'ENV NODE_VERSION=20.11.1', comment: BUILDKIT },
    {
      createdBy: 'COPY --from=node /usr/local /usr/local # buildkit',
      comment: BUILDKIT,
      compression: 'zstd',
      entries: [
        dir('usr'),
        dir('usr/local'),
        dir('usr/local/bin'),
        file('usr/local/bin/docker-entrypoint.sh', ENTRYPOINT_SH, EXECUTABLE),
        file('usr/local/bin/node', elf('node', 16384), EXECUTABLE),
        symlink('usr/local/bin/npm', '../lib/node_modules/npm/bin/npm-cli.js'),
        symlink('usr/local/bin/npx', '../lib/node_modules/npm/bin/npx-cli.js'),
        dir('usr/local/lib'),
        dir('usr/local/lib/node_modules'),
        dir('usr/local/lib/node_modules/npm'),
        file(
          'usr/local/lib/node_modules/npm/bin/npm-cli.js',
          "#!/usr/bin/env node\nrequire('../lib/cli.js')(process)\n",
          EXECUTABLE,
        ),
        file(
          'usr/local/lib/node_modules/npm/bin/npx-cli.js',
          "#!/usr/bin/env node\nrequire('../lib/npx.js')(process)\n",
          EXECUTABLE,
        ),
        file('usr/local/lib/node_modules/npm/lib/cli.js', js('npm cli', 3000)),
        file('usr/local/lib/node_modules/npm/lib/commands/ci.js', js('npm ci', 4000)),
        file(
          'usr/local/lib/node_modules/npm/package.json',
          '{"name":"npm","version":"10.2.4","bin":{"npm":"bin/npm-cli.js","npx":"bin/npx-cli.js"}}\n',
        ),
      ],
    },
    { createdBy: 'ENV NODE_ENV=production', comment: BUILDKIT },
    { createdBy: 'WORKDIR /app', comment: BUILDKIT },
    {
      createdBy: 'COPY package.json package-lock.json ./ # buildkit',
      comment: BUILDKIT,
      compression: 'none',
      // No directory entries at all: /app exists only because these paths imply it.
      entries: [
        file('app/package-lock.json', packageLock({ hidden: false })),
        file('app/package.json', PACKAGE_JSON),
      ],
    },
    {
      createdBy: 'RUN /bin/sh -c npm ci --omit=dev # buildkit',
      comment: BUILDKIT,
      compression: 'gzip',
      entries: [
        dir('app'),
        dir('app/node_modules'),
        dir('app/node_modules/.bin'),
        symlink('app/node_modules/.bin/semver', '../semver/bin/semver.js'),
        file('app/node_modules/.package-lock.json', packageLock({ hidden: true })),
        file(
          `app/node_modules/@example/storage-client/dist-types/models/${LONG_NAME}`,
          js('long name', 1500),
        ),
        dir('app/node_modules/debug'),
        file(
          'app/node_modules/debug/package.json',
          '{"name":"debug","version":"4.3.4","main":"./src/index.js"}\n',
        ),
        file('app/node_modules/debug/src/index.js', js('debug index', 900)),
        dir('app/node_modules/express'),
        file(
          'app/node_modules/express/index.js',
          "'use strict';\nmodule.exports = require('./lib/express');\n",
        ),
        file('app/node_modules/express/lib/express.js', js('express', 2400)),
        file('app/node_modules/express/lib/router/index.js', js('router', 3000)),
        file('app/node_modules/express/package.json', '{"name":"express","version":"4.18.2"}\n'),
        dir('app/node_modules/semver'),
        file('app/node_modules/semver/bin/semver.js', js('semver bin', 1200), EXECUTABLE),
        file('app/node_modules/semver/index.js', js('semver', 1800)),
        file(
          'app/node_modules/semver/package.json',
          '{"name":"semver","version":"7.5.4","bin":{"semver":"bin/semver.js"}}\n',
        ),
        dir('root', { mode: 0o700 }),
        dir('root/.npm'),
        dir('root/.npm/_cacache'),
        dir('root/.npm/_cacache/content-v2'),
        // The sha512/xx/yy fan-out directories are implied.
        ...CACHED_TARBALLS.map(([name, size]) => {
          const key = cacacheKey(name);
          return file(
            `root/.npm/_cacache/content-v2/sha512/${key.slice(0, 2)}/${key.slice(2, 4)}/${key.slice(4)}`,
            noise(`tarball ${name}`, size),
          );
        }),
        dir('root/.npm/_cacache/index-v5'),
        ...CACHED_TARBALLS.map(([name]) => {
          const key = sha256Hex(`index ${name}`);
          const record = {
            key: `make-fetch-happen:request-cache:https://registry.npmjs.org/${name}`,
            integrity: `sha512-${cacacheKey(name)}`,
          };
          return file(
            `root/.npm/_cacache/index-v5/${key.slice(0, 2)}/${key.slice(2, 4)}/${key.slice(4)}`,
            `${sha256Hex(name)}\t${JSON.stringify(record)}\n`,
          );
        }),
        dir('root/.npm/_cacache/tmp'),
        dir('root/.npm/_logs'),
        file('root/.npm/_logs/2024-01-01T00_09_00_000Z-debug-0.log', NPM_LOG('npm ci log', 2200)),
      ],
    },
    {
      createdBy: 'COPY . . # buildkit',
      comment: BUILDKIT,
      compression: 'gzip',
      // No .dockerignore: the build context's .git and a stale dist/ come along.
      entries: [
        dir('app'),
        dir('app/.git'),
        file('app/.git/HEAD', 'ref: refs/heads/main\n'),
        file('app/.git/config', '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n'),
        file('app/.git/index', noise('git index', 1500)),
        // objects/, objects/pack/, refs/ and refs/heads/ are implied.
        file(`app/.git/objects/pack/${GIT_PACK}.idx`, noise('git idx', 1156)),
        file(`app/.git/objects/pack/${GIT_PACK}.pack`, noise('git pack', 8192)),
        file('app/.git/refs/heads/main', `${sha256Hex('head').slice(0, 40)}\n`),
        file('app/Dockerfile', DOCKERFILE),
        file(
          'app/README.md',
          sizedText('readme', 1200, (pick) => `The demo service ${word(pick)}s ${word(pick)}s.\n`),
        ),
        dir('app/dist'),
        file('app/dist/bundle.js', js('stale bundle', 8000)),
        file(
          'app/dist/bundle.js.map',
          sizedText('source map', 12000, (pick) => `;${hexOf(pick, 6)},AAAA${word(pick)}`),
        ),
        file('app/package-lock.json', packageLock({ hidden: false })),
        file('app/package.json', PACKAGE_JSON),
        file('app/server.js', js('server', 1800)),
        file('app/src/routes/files.js', js('files route', 2100)),
        file('app/src/routes/health.js', js('health route', 400)),
      ],
    },
    {
      createdBy: 'RUN /bin/sh -c npm run build && rm -rf /app/.git /root/.npm/_cacache/content-v2 # buildkit',
      comment: BUILDKIT,
      compression: 'gzip',
      entries: [
        dir('app'),
        whiteout('app/.git'),
        // `rm -rf dist && mkdir dist` in the build script: overlayfs marks the new directory opaque.
        dir('app/dist'),
        opaque('app/dist'),
        file('app/dist/bundle.js', js('fresh bundle', 9500)),
        // root and root/.npm are implied here.
        dir('root/.npm/_cacache'),
        whiteout('root/.npm/_cacache/content-v2'),
        dir('root/.npm/_logs'),
        file('root/.npm/_logs/2024-01-01T00_11_00_000Z-debug-0.log', NPM_LOG('npm build log', 1100)),
      ],
    },
    {
      createdBy:
        'LABEL org.opencontainers.image.source=https://github.com/example/imgscope-demo org.opencontainers.image.version=1.0',
      comment: BUILDKIT,
    },
    { createdBy: 'EXPOSE map[9000/tcp:{}]', comment: BUILDKIT },
    { createdBy: 'ENTRYPOINT ["docker-entrypoint.sh"]', comment: BUILDKIT },
    { createdBy: 'CMD ["node" "dist/bundle.js"]', comment: BUILDKIT },
  ],
};

/** A one-layer `hello` image per platform; its files say which platform they are for. */
function helloImage(platform, binarySize) {
  const name = [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
  return {
    platform,
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/usr/bin/hello'] },
    steps: [
      {
        createdBy: 'COPY hello /usr/bin/hello # buildkit',
        comment: BUILDKIT,
        compression: 'gzip',
        entries: [
          dir('etc'),
          file('etc/hello-release', `hello 1.0 for ${name}\n`),
          dir('usr'),
          dir('usr/bin'),
          file('usr/bin/hello', elf(`hello ${name}`, binarySize), EXECUTABLE),
        ],
      },
      { createdBy: 'CMD ["/usr/bin/hello"]', comment: BUILDKIT },
    ],
  };
}

// ─── output ─────────────────────────────────────────────────────────────────────────────────────────────

function writeTree(root, files) {
  rmSync(root, { recursive: true, force: true });
  for (const [path, bytes] of files) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
}

function checkZstd() {
  if (!existsSync(ZSTD_BINARY))
    throw new Error(`${ZSTD_BINARY} is missing: install the zstd package (apt-get install zstd)`);
  const version = execFileSync(ZSTD_BINARY, ['--version'], { encoding: 'utf8' });
  if (!version.includes(`v${PINNED_ZSTD_VERSION}`)) {
    console.warn(
      `warning: ${version.trim()} is not v${PINNED_ZSTD_VERSION}; zstd layers will differ from the committed ones`,
    );
  }
}

async function main() {
  const scriptDir = dirname(fileURLToPath(import.meta.url));
  const outDir = resolve(process.argv[2] ?? join(scriptDir, '..', 'fixtures'));
  checkZstd();
  mkdirSync(outDir, { recursive: true });

  const demo = await buildImage(demoImage);
  const demoLayout = ociLayout(demo.blobs, [withRefName(demo.manifest.descriptor, 'demo')]);
  writeTree(join(outDir, 'demo'), demoLayout);
  writeFileSync(join(outDir, 'demo.oci.tar'), await archiveOf(demoLayout));
  writeFileSync(join(outDir, 'demo.docker.tar'), await dockerLegacyArchive(demo, 'imgscope/demo:1.0'));

  const amd64 = await buildImage(helloImage({ os: 'linux', architecture: 'amd64' }, 3000));
  const arm64 = await buildImage(helloImage({ os: 'linux', architecture: 'arm64', variant: 'v8' }, 3400));
  const multiarchIndex = blob(
    MediaType.OciIndex,
    json({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        { ...amd64.manifest.descriptor, platform: { architecture: 'amd64', os: 'linux' } },
        { ...arm64.manifest.descriptor, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      ],
    }),
  );
  const multiarchBlobs = [multiarchIndex, ...amd64.blobs, ...arm64.blobs];
  writeTree(
    join(outDir, 'multiarch'),
    ociLayout(multiarchBlobs, [withRefName(multiarchIndex.descriptor, 'multiarch')]),
  );
  writeTree(join(outDir, 'arm64'), ociLayout(arm64.blobs, [withRefName(arm64.manifest.descriptor, 'arm64')]));

  console.log(`fixtures written to ${outDir}`);
}

await main();
