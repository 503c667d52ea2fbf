import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { type Header, extract as tarExtract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, projectRoot } from './helpers/shared.js';

/**
 * The committed fixture images: regenerating them gives the same bytes, and every digest, size and
 * diff_id in them is true — so tests built on them test the code, not a broken fixture.
 */

const SCRIPT = join(projectRoot, 'scripts', 'make-fixtures.js');
const ZSTD = '/usr/bin/zstd';
const LAYOUTS = ['demo', 'multiarch', 'arm64'] as const;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}
interface Manifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}
interface Index {
  mediaType: string;
  manifests: Descriptor[];
}
interface Config {
  architecture: string;
  os: string;
  variant?: string;
  config: {
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    ExposedPorts?: Record<string, object>;
    Labels?: Record<string, string>;
  };
  rootfs: { diff_ids: string[] };
  history: { created_by?: string; empty_layer?: boolean }[];
}
interface Image {
  descriptor: Descriptor;
  manifest: Manifest;
  config: Config;
}
interface TarEntry {
  name: string;
  type: Header['type'];
  size: number;
  linkname: string;
  viaPax: boolean;
  body: Buffer;
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const readJson = <T>(bytes: Uint8Array): T => JSON.parse(Buffer.from(bytes).toString('utf8')) as T;

function zstdSkipReason(): string | undefined {
  if (!existsSync(ZSTD)) return `${ZSTD} is missing (apt-get install zstd)`;
  const pinned = /PINNED_ZSTD_VERSION = '([^']+)'/.exec(readFileSync(SCRIPT, 'utf8'))?.[1];
  const version = execFileSync(ZSTD, ['--version'], { encoding: 'utf8' });
  if (!pinned || !version.includes(`v${pinned}`)) {
    return `${version.trim()} is not the pinned v${pinned}, so its zstd layers legitimately differ`;
  }
  return undefined;
}
const skipRegeneration = zstdSkipReason();
if (skipRegeneration) console.warn(`skipping fixture regeneration test: ${skipRegeneration}`);

/** Relative paths of the files under `dir`, sorted. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((path) => statSync(join(dir, path)).isFile())
    .sort();
}

async function tarEntries(bytes: Uint8Array): Promise<TarEntry[]> {
  const extract = tarExtract();
  const entries: TarEntry[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const { name, type, size, linkname } = entry.header;
      const pax = entry.header.pax as Record<string, string> | null | undefined;
      const viaPax = pax?.path !== undefined;
      entries.push({ name, type, size, linkname, viaPax, body: Buffer.concat(chunks) });
    }
  })();
  extract.end(Buffer.from(bytes));
  await reading;
  return entries;
}

/** Layer bytes → tar bytes, choosing the decoder by magic bytes as the analyser must. */
function uncompressed(blob: Buffer): Buffer {
  if (blob[0] === 0x1f && blob[1] === 0x8b) return gunzipSync(blob);
  if (blob.readUInt32LE(0) === 0xfd2fb528) return Buffer.from(zstdDecompress(blob));
  return blob;
}

const MAGIC_BY_MEDIA_TYPE: Record<string, 'gzip' | 'zstd' | 'tar'> = {
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.v1.tar': 'tar',
};
function magicOf(blob: Buffer): 'gzip' | 'zstd' | 'tar' | 'unknown' {
  if (blob[0] === 0x1f && blob[1] === 0x8b) return 'gzip';
  if (blob.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (blob.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return 'unknown';
}

class Layout {
  constructor(readonly dir: string) {}
  blob(descriptor: Descriptor): Buffer {
    const bytes = readFileSync(join(this.dir, 'blobs', 'sha256', descriptor.digest.slice('sha256:'.length)));
    expect(bytes.length, `size of ${descriptor.digest}`).toBe(descriptor.size);
    return bytes;
  }
  index(): Index {
    return readJson<Index>(readFileSync(join(this.dir, 'index.json')));
  }
  /** Every image manifest reachable from index.json, through nested indexes. */
  images(): Image[] {
    const found: Image[] = [];
    const visit = (descriptor: Descriptor) => {
      if (descriptor.mediaType === 'application/vnd.oci.image.index.v1+json') {
        readJson<Index>(this.blob(descriptor)).manifests.forEach(visit);
        return;
      }
      const manifest = readJson<Manifest>(this.blob(descriptor));
      found.push({ descriptor, manifest, config: readJson<Config>(this.blob(manifest.config)) });
    };
    this.index().manifests.forEach(visit);
    return found;
  }
}

describe.skipIf(skipRegeneration !== undefined)('npm run fixtures', () => {
  let outDir: string;
  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), 'imgscope-fixtures-'));
    execFileSync(process.execPath, [SCRIPT, outDir], { stdio: 'pipe' });
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('regenerates the committed fixtures byte for byte, with no stale files left in them', () => {
    const outputs = readdirSync(outDir).sort();
    expect(outputs).toEqual(['arm64', 'demo', 'demo.docker.tar', 'demo.oci.tar', 'multiarch']);
    for (const output of outputs) {
      const generated = join(outDir, output);
      const committed = fixture(output);
      if (statSync(generated).isDirectory()) {
        expect(filesUnder(committed), `files in fixtures/${output}`).toEqual(filesUnder(generated));
        const differing = filesUnder(generated).filter(
          (path) => !readFileSync(join(generated, path)).equals(readFileSync(join(committed, path))),
        );
        expect(differing, `fixtures/${output} differs from a fresh \`npm run fixtures\``).toEqual([]);
      } else {
        expect(readFileSync(generated).equals(readFileSync(committed)), `fixtures/${output}`).toBe(true);
      }
    }
  });
});

describe.each(LAYOUTS)('fixtures/%s', (name) => {
  const layout = new Layout(fixture(name));

  it('is an OCI layout whose index names the image', () => {
    expect(readJson(readFileSync(join(layout.dir, 'oci-layout')))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = layout.index();
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name']).toBe(name);
  });

  it('stores every blob under its own sha256, and every blob is referenced', () => {
    const blobsDir = join(layout.dir, 'blobs', 'sha256');
    const stored = readdirSync(blobsDir).sort();
    for (const hex of stored) expect(sha256(readFileSync(join(blobsDir, hex)))).toBe(`sha256:${hex}`);
    const referenced = new Set<string>(layout.index().manifests.map((d) => d.digest));
    const images = layout.images();
    for (const { descriptor, manifest } of images) {
      referenced.add(descriptor.digest);
      referenced.add(manifest.config.digest);
      for (const layer of manifest.layers) referenced.add(layer.digest);
    }
    expect(stored.map((hex) => `sha256:${hex}`)).toEqual([...referenced].sort());
  });

  it('has descriptors with true sizes and diff_ids equal to the sha256 of each uncompressed layer', () => {
    for (const { manifest, config } of layout.images()) {
      const layers = manifest.layers.map((descriptor) => layout.blob(descriptor));
      manifest.layers.forEach((descriptor, i) => {
        expect(magicOf(layers[i]!), `layer ${i} of ${name}`).toBe(MAGIC_BY_MEDIA_TYPE[descriptor.mediaType]);
      });
      expect(config.rootfs.diff_ids).toEqual(layers.map((blob) => sha256(uncompressed(blob))));
      expect(config.history.filter((entry) => !entry.empty_layer)).toHaveLength(layers.length);
    }
  });
});

describe('fixtures/demo', () => {
  const layout = new Layout(fixture('demo'));
  let image: Image | undefined;
  let layers: TarEntry[][];
  beforeAll(async () => {
    [image] = layout.images();
    layers = await Promise.all(image!.manifest.layers.map((d) => tarEntries(uncompressed(layout.blob(d)))));
  });
  const paths = (entries: TarEntry[]) => entries.map((entry) => entry.name.replace(/\/$/, ''));

  it('is a linux/amd64 app image with a runtime config and empty-layer history', () => {
    const { config } = image!;
    expect([config.os, config.architecture]).toEqual(['linux', 'amd64']);
    expect(config.config.Entrypoint).toEqual(['docker-entrypoint.sh']);
    expect(config.config.Cmd).toEqual(['node', 'dist/bundle.js']);
    expect(config.config.ExposedPorts).toEqual({ '9000/tcp': {} });
    expect(config.config.Env).toContain('NODE_ENV=production');
    expect(Object.keys(config.config.Labels ?? {})).toContain('org.opencontainers.image.source');
    const empty = config.history.filter((entry) => entry.empty_layer).map((entry) => entry.created_by);
    expect(empty).toEqual(expect.arrayContaining(['EXPOSE map[9000/tcp:{}]', 'ENV NODE_ENV=production']));
    expect(image!.manifest.layers).toHaveLength(8);
  });

  it('mixes gzip, zstd and uncompressed layers', () => {
    const kinds = new Set(image!.manifest.layers.map((d) => MAGIC_BY_MEDIA_TYPE[d.mediaType]));
    expect([...kinds].sort()).toEqual(['gzip', 'tar', 'zstd']);
  });

  it('exercises the tar features the analyser must handle', () => {
    const all = layers.flat();
    expect(all.some((e) => e.type === 'link' && e.name === 'usr/bin/perl5.36.0')).toBe(true);
    expect(all.filter((e) => e.type === 'symlink').length).toBeGreaterThan(5);
    const long = all.find((e) => e.viaPax);
    expect(long?.name.length).toBeGreaterThan(100);
    expect(all.some((e) => e.name.endsWith('/.wh..wh..opq'))).toBe(true);
    // A layer whose files imply directories it never lists (app/ in the COPY of package*.json).
    expect(paths(layers[4]!)).toEqual(['app/package-lock.json', 'app/package.json']);
  });

  it('overwrites files and deletes files and directories in later layers', () => {
    const layerOf = (path: string) =>
      layers.flatMap((entries, i) => (paths(entries).includes(path) ? [i] : []));
    expect(layerOf('var/lib/dpkg/status')).toEqual([0, 1]);
    expect(layerOf('app/dist/bundle.js')).toEqual([6, 7]);
    // rm -rf /var/lib/apt/lists/*: a file and a directory whiteout, and the apt caches stay behind.
    expect(layerOf('var/lib/apt/lists/.wh.deb.debian.org_debian_dists_bookworm_InRelease')).toEqual([2]);
    expect(layerOf('var/lib/apt/lists/.wh.partial')).toEqual([2]);
    expect(layers[1]!.find((e) => e.name === 'var/lib/apt/lists/partial/')?.type).toBe('directory');
    expect(layerOf('var/cache/apt/pkgcache.bin')).toEqual([1]);
    // The npm cache: content-v2 deleted as a directory later, index-v5 left behind.
    expect(layerOf('root/.npm/_cacache/.wh.content-v2')).toEqual([7]);
    expect(paths(layers[5]!).some((p) => p.startsWith('root/.npm/_cacache/index-v5/'))).toBe(true);
  });

  it('is the same image inside demo.oci.tar', async () => {
    const entries = await tarEntries(readFileSync(fixture('demo.oci.tar')));
    const files = entries.filter((e) => e.type === 'file');
    expect(files.map((e) => e.name).sort()).toEqual(filesUnder(layout.dir));
    for (const entry of files)
      expect(entry.body.equals(readFileSync(join(layout.dir, entry.name)))).toBe(true);
  });

  it('is the same image, as a legacy docker save, inside demo.docker.tar', async () => {
    const entries = await tarEntries(readFileSync(fixture('demo.docker.tar')));
    const byName = new Map(entries.map((entry) => [entry.name, entry.body]));
    const [saved] = readJson<{ Config: string; RepoTags: string[]; Layers: string[] }[]>(
      byName.get('manifest.json')!,
    );
    expect(saved?.RepoTags).toEqual(['imgscope/demo:1.0']);
    const configBytes = byName.get(saved!.Config)!;
    expect(`sha256:${saved!.Config.replace(/\.json$/, '')}`).toBe(sha256(configBytes));
    expect(configBytes.equals(layout.blob(image!.manifest.config))).toBe(true);
    expect(saved!.Layers.map((path) => sha256(byName.get(path)!))).toEqual(image!.config.rootfs.diff_ids);
    for (const path of saved!.Layers) {
      const id = path.replace(/\/layer\.tar$/, '');
      expect(readJson<{ id: string }>(byName.get(`${id}/json`)!).id).toBe(id);
      expect(byName.get(`${id}/VERSION`)?.toString()).toBe('1.0');
    }
    const topId = saved!.Layers.at(-1)!.replace(/\/layer\.tar$/, '');
    expect(readJson(byName.get('repositories')!)).toEqual({ 'imgscope/demo': { '1.0': topId } });
  });
});

describe('fixtures/multiarch and fixtures/arm64', () => {
  it('index the amd64 and arm64/v8 images, each with its own content', async () => {
    const images = new Layout(fixture('multiarch')).images();
    expect(images.map(({ descriptor }) => descriptor.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    const layout = new Layout(fixture('multiarch'));
    for (const { descriptor, manifest, config } of images) {
      expect([config.os, config.architecture, config.variant]).toEqual([
        descriptor.platform?.os,
        descriptor.platform?.architecture,
        descriptor.platform?.variant,
      ]);
      const entries = await tarEntries(uncompressed(layout.blob(manifest.layers[0]!)));
      const release = entries.find((e) => e.name === 'etc/hello-release')?.body.toString();
      expect(release).toContain(`linux/${descriptor.platform?.architecture}`);
    }
  });

  it('holds a single linux/arm64 image in fixtures/arm64', () => {
    const [image, ...others] = new Layout(fixture('arm64')).images();
    expect(others).toEqual([]);
    expect([image?.config.os, image?.config.architecture]).toEqual(['linux', 'arm64']);
  });

  it('keeps the committed fixture images under 1 MB in total', () => {
    const outputs = ['demo', 'demo.docker.tar', 'demo.oci.tar', 'multiarch', 'arm64'].map((name) =>
      fixture(name),
    );
    const bytes = outputs
      .flatMap((path) => (statSync(path).isDirectory() ? filesUnder(path).map((f) => join(path, f)) : [path]))
      .reduce((sum, path) => sum + statSync(path).size, 0);
    expect(bytes).toBeLessThan(1_000_000);
  });
});
