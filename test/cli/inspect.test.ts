import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/shared.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-inspect-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** fixtures/demo with its config rewritten by `edit`. */
interface EditableConfig {
  created?: string;
  config: { Labels?: Record<string, string>; ExposedPorts?: Record<string, object> };
  history: { created_by?: string }[];
  rootfs: { diff_ids: string[] };
}

interface EditableManifest {
  layers: { mediaType: string; digest: string; size: number; urls?: string[] }[];
}

/** A scratch copy of a fixture layout: where a blob is, and `put` to store a JSON document as a blob. */
function layoutCopy(name: string) {
  const copy = join(scratch, `${name}-${Math.random().toString(16).slice(2)}`);
  cpSync(fixture(name), copy, { recursive: true });
  const blob = (digest: string) => join(copy, 'blobs', 'sha256', digest.slice(7));
  const put = (value: unknown) => {
    const bytes = Buffer.from(JSON.stringify(value));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    writeFileSync(blob(digest), bytes);
    return { digest, size: bytes.length };
  };
  return { copy, blob, put };
}

function demoWithConfig(
  edit: (config: EditableConfig) => void,
  editManifest: (manifest: EditableManifest) => void = () => {},
): string {
  const { copy, blob, put } = layoutCopy('demo');
  const index = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8'));
  edit(config);
  editManifest(manifest);
  manifest.config = { ...manifest.config, ...put(config) };
  index.manifests[0] = { ...index.manifests[0], ...put(manifest) };
  writeFileSync(join(copy, 'index.json'), JSON.stringify(index));
  return copy;
}

/**
 * fixtures/multiarch with its image of `architecture` swapped for a Windows one of the same manifest,
 * annotations on the index and on the arm64 manifest.
 */
function multiarchWithout(architecture: string): string {
  const { copy, blob, put } = layoutCopy('multiarch');
  const top = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8'));
  const index = JSON.parse(readFileSync(blob(top.manifests[0].digest), 'utf8'));
  index.annotations = { 'org.opencontainers.image.created': '2024-05-01T00:00:00Z' };
  index.manifests = index.manifests.map((entry: { platform: { architecture: string }; digest: string }) => {
    if (entry.platform.architecture === architecture) {
      return {
        ...entry,
        platform: { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.5458' },
      };
    }
    const manifest = JSON.parse(readFileSync(blob(entry.digest), 'utf8'));
    return { ...entry, ...put({ ...manifest, annotations: { 'org.opencontainers.image.title': 'hello' } }) };
  });
  // The arm64 entry first, as the assertions read them.
  index.manifests.sort((a: { platform: { os: string } }) => (a.platform.os === 'linux' ? -1 : 1));
  top.manifests[0] = { ...top.manifests[0], ...put(index) };
  writeFileSync(join(copy, 'index.json'), JSON.stringify(top));
  return copy;
}

describe('imgscope inspect', () => {
  it('describes an index and the selected image without reading layers', async () => {
    const result = await runCli(['inspect', '--json', 'fixtures/multiarch']);
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info.platform).toBe('linux/amd64');
    expect(info.index.manifests.map((m: { platform: string }) => m.platform)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(info.index.manifests.map((m: { selected: boolean }) => m.selected)).toEqual([true, false]);
    expect(info.layers).toHaveLength(1);
    expect(info.compressedSize).toBe(info.config.size + info.layers[0].size);
  });

  it('lists an index without linux/amd64, with its annotations and os.version, rather than refusing it', async () => {
    const layout = multiarchWithout('amd64');
    const result = await runCli(['inspect', layout]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(
      /^Platform {4}none: the index has no linux\/amd64 image for check to take \(name one with --platform/m,
    );
    expect(result.stdout).toMatch(/^ {12}linux\/arm64 +\d+ B {2}sha256:[0-9a-f]{64}$/m);
    expect(result.stdout).toMatch(/^ {12}windows\/amd64 10\.0\.17763\.5458 +\d+ B {2}sha256:[0-9a-f]{64}$/m);
    expect(result.stdout).toMatch(
      /^ {12}annotations: org\.opencontainers\.image\.created=2024-05-01T00:00:00Z$/m,
    );
    expect(result.stdout).not.toMatch(/^(Created|Layers)/m);

    const info = JSON.parse((await runCli(['inspect', '--json', layout])).stdout);
    expect(info).toMatchObject({ platform: null, config: null, layers: [], compressedSize: null });
    expect(info.index.annotations).toEqual({ 'org.opencontainers.image.created': '2024-05-01T00:00:00Z' });
    expect(info.index.manifests.map((m: { osVersion: string | null }) => m.osVersion)).toEqual([
      null,
      '10.0.17763.5458',
    ]);

    const arm64 = await runCli(['inspect', '--platform', 'linux/arm64', layout]);
    expect(arm64.stdout).toMatch(/^ {12}linux\/arm64 .* {2}← selected$/m);
    expect(arm64.stdout).toMatch(/^Annotations org\.opencontainers\.image\.title=hello$/m);
    const arm64Json = JSON.parse(
      (await runCli(['inspect', '--json', '--platform', 'linux/arm64', layout])).stdout,
    );
    expect(arm64Json.annotations).toEqual({ 'org.opencontainers.image.title': 'hello' });
  });

  it('lists an index entry named by a sha512 digest, as skopeo inspect --raw shows it, without reading it', async () => {
    const { copy, blob, put } = layoutCopy('multiarch');
    const top = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8'));
    const index = JSON.parse(readFileSync(blob(top.manifests[0].digest), 'utf8'));
    const sha512 = `sha512:${'a'.repeat(128)}`;
    index.manifests.splice(1, 0, {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: sha512,
      size: 400,
      platform: { os: 'linux', architecture: 's390x' },
    });
    top.manifests[0] = { ...top.manifests[0], ...put(index) };
    writeFileSync(join(copy, 'index.json'), JSON.stringify(top));
    const result = await runCli(['inspect', copy]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Index .*, 3 entries$/m);
    expect(result.stdout).toMatch(
      /^ {12}linux\/amd64 .* {2}← selected\n {12}linux\/s390x +400 B {2}sha512:a{128}\n/m,
    );
    const info = JSON.parse((await runCli(['inspect', '--json', copy])).stdout);
    expect(info.index.manifests.map((m: { digest: string }) => m.digest.slice(0, 7))).toEqual([
      'sha256:',
      'sha512:',
      'sha256:',
    ]);
    expect(info.index.manifests[1]).toMatchObject({ platform: 'linux/s390x', size: 400, selected: false });
  });

  it('refuses a --platform the index does not have, naming what it has (exit 2)', async () => {
    const result = await runCli(['inspect', '--platform', 'linux/s390x', 'fixtures/multiarch']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/no linux\/s390x image; the index has linux\/amd64, linux\/arm64/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('prints config facts a deploy depends on', async () => {
    const result = await runCli(['inspect', 'fixtures/demo']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Platform {4}linux\/amd64$/m);
    expect(result.stdout).toMatch(/^Ports {7}9000\/tcp$/m);
    expect(result.stdout).toMatch(/^Layers {6}8, /m);
    expect(result.stdout).toMatch(/^ {3}1 {4}36\.6 KiB {2}d9d14808aa9d {2}ADD file:/m);
    expect(result.stdout).toMatch(/^ {3}8 {4}2\.94 KiB {2}964142c3403c {2}RUN npm run build/m);
  });

  it('refuses a single-platform image for another --platform, in one line (exit 2)', async () => {
    const result = await runCli(['inspect', '--platform', 'linux/arm64', 'fixtures/demo']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'imgscope: fixtures/demo: the image is linux/amd64, not the requested linux/arm64 — ' +
        'drop --platform to take the image as it is, or pick a tag built for linux/arm64\n',
    );
  });

  it('shows control characters from the image config as \\x1b, never sends them to the terminal', async () => {
    const sequence = '\x1b]0;owned\x07\x1b[31m';
    const layout = demoWithConfig((config) => {
      config.created = `2024${sequence}`;
      config.config.Labels = { [`key${sequence}`]: `value${sequence}` };
      config.config.ExposedPorts = { [`80/tcp${sequence}`]: {} };
      config.history[0]!.created_by = `/bin/sh -c echo ${sequence}`;
    });
    const result = await runCli(['inspect', layout]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(result.stdout).toMatch(/^Labels {6}key\\x1b\]0;owned\\x07\\x1b\[31m=value\\x1b/m);
    expect(result.stdout).toMatch(/^ {3}1 .* RUN echo \\x1b\]0;owned/m);
    // JSON keeps the values as they are, escaped by JSON itself.
    const json = JSON.parse((await runCli(['inspect', '--json', layout])).stdout);
    expect(json.config.created).toBe(`2024${sequence}`);
  });

  it('counts the compressed size as the registry stores it: a repeated layer once, a foreign one not', async () => {
    const foreign = {
      mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
      digest: `sha256:${'ab'.repeat(32)}`,
      size: 100_000_000,
      urls: ['https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:abab'],
    };
    const layout = demoWithConfig(
      (config) => {
        const diffIds = config.rootfs.diff_ids;
        config.rootfs.diff_ids = [`sha256:${'cd'.repeat(32)}`, ...diffIds, diffIds[1]!];
      },
      (manifest) => {
        manifest.layers = [foreign, ...manifest.layers, manifest.layers[1]!];
      },
    );
    const plain = JSON.parse((await runCli(['inspect', '--json', 'fixtures/demo'])).stdout);
    const result = await runCli(['inspect', '--json', layout]);
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info.layers).toHaveLength(10);
    const configGrowth = info.config.size - plain.config.size;
    expect(info.compressedSize).toBe(plain.compressedSize + configGrowth);
    expect(info.uncountedBytes).toEqual({ foreign: 100_000_000, repeated: plain.layers[1].size });
    const text = (await runCli(['inspect', layout])).stdout;
    expect(text).toMatch(
      /^Layers {6}10, .* compressed \(config included; not counted: 95\.4 MiB of foreign layers the registry does not store, 63\.7 KiB of layers listed again, stored once\)$/m,
    );
  });

  it('cuts long values and long lists from the image in the table, never in --json', async () => {
    const huge = 'x'.repeat(300_000);
    const labels: Record<string, string> = { description: huge };
    for (let i = 0; i < 30; i++) labels[`label${i}`] = `${i}`;
    const layout = demoWithConfig((config) => {
      config.config.Labels = labels;
    });
    const result = await runCli(['inspect', layout]);
    expect(result.code).toBe(0);
    const longest = Math.max(...result.stdout.split('\n').map((line) => line.length));
    expect(longest).toBeLessThan(5000);
    expect(result.stdout).toMatch(
      /^Labels {6}description=x+…, label0=0, .*, … 11 more \(--json lists them all\)$/m,
    );
    const json = JSON.parse((await runCli(['inspect', '--json', layout])).stdout);
    expect(json.config.labels.description).toBe(huge);

    // A Windows entry's os.version sets the width every entry line of the index is padded to.
    const { copy, blob, put } = layoutCopy('multiarch');
    const top = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8'));
    const index = JSON.parse(readFileSync(blob(top.manifests[0].digest), 'utf8'));
    index.manifests[1].platform = {
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.'.repeat(50_000),
    };
    top.manifests[0] = { ...top.manifests[0], ...put(index) };
    writeFileSync(join(copy, 'index.json'), JSON.stringify(top));
    const listing = await runCli(['inspect', copy]);
    expect(listing.code).toBe(0);
    expect(Math.max(...listing.stdout.split('\n').map((line) => line.length))).toBeLessThan(200);
    expect(listing.stdout).toMatch(/^ {12}windows\/amd64 10\.10\.[0-9.]*… +\d+ B {2}sha256:[0-9a-f]{64}$/m);
  });

  it('counts a single environment variable as "1 variable"', async () => {
    const result = await runCli(['inspect', 'fixtures/arm64']);
    expect(result.stdout).toMatch(/^Env {9}1 variable$/m);
  });

  it('refuses IMAGE "-" (docker save app | imgscope inspect -) as standard input, not as a repository name', async () => {
    const result = await runCli(['inspect', '-'], { input: 'not read' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'imgscope: IMAGE "-" names standard input; imgscope reads image archives from files — save the image to a file first: docker save -o image.tar NAME, then imgscope … image.tar\n',
    );
  });

  it('refuses an empty --password-stdin in one line (exit 2) before reaching any registry', async () => {
    for (const input of ['', '\n']) {
      const result = await runCli(
        ['inspect', '--username', 'me', '--password-stdin', 'registry.invalid/app:v1'],
        { input },
      );
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^imgscope: --password-stdin read an empty password from standard input — .*\n$/,
      );
    }
  });
});

describe('imgscope inspect and the decompression guard', () => {
  it('refuses one that is not a size, for an image on disk or in a registry alike', async () => {
    const env = { IMGSCOPE_DECOMPRESSION_LIMIT: 'lots', HTTPS_PROXY: 'http://127.0.0.1:1', NO_PROXY: '' };
    for (const image of ['fixtures/demo', 'registry.example/app:1']) {
      const result = await runCli(['inspect', image], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^imgscope: IMGSCOPE_DECOMPRESSION_LIMIT="lots" is not a size — /);
    }
  });
});
