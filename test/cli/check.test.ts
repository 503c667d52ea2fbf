import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/report.js';
import { runCli } from '../helpers/cli.js';
import { addOciImage, blobOf, ImageFiles, OCI, setLayoutIndex, tarBytes } from '../helpers/image-files.js';
import { announcePeerImages, fixture, hasPeerImages, peerImage, projectRoot } from '../helpers/shared.js';
import { schemaErrorsOf } from '../policy/report-schema.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function checkJson(...args: string[]): Promise<Report> {
  const result = await runCli(['check', '--json', ...args]);
  expect(result.stderr).toBe('');
  const report = JSON.parse(result.stdout) as Report;
  expect(schemaErrorsOf(report)).toEqual([]);
  return report;
}

// Figures of fixtures/demo, computed by hand in fixtures/README.md and cross-checked by an independent
// re-implementation of dive's efficiency function.
const DEMO = {
  contentSize: 260_882,
  userSize: 219_231,
  wastedBytes: 81_292,
  efficiency: 226_285 / 285_171,
  reclaimableBytes: 54_386,
  // Bytes that leave the final filesystem: also computed by hand in fixtures/README.md.
  deadBytes: 90_675,
};

describe('imgscope check', () => {
  it('prints the summary for the bundled example and exits 0', async () => {
    const result = await runCli(['check', 'fixtures/demo']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(''); // no progress noise when stderr is not a terminal
    expect(result.stdout).toMatch(/^Image {6}oci:fixtures\/demo$/m);
    expect(result.stdout).toMatch(/8 layers/);
    expect(result.stdout).toMatch(/RUN rm -rf \/var\/lib\/apt\/lists\/\*/);
    expect(result.stdout).toMatch(/Efficiency 79\.35 %/);
    expect(result.stdout).toMatch(/\/app\/dist\/bundle\.js/);
    expect(result.stdout).toMatch(/Verdict: PASS/);
  });

  it('reports the demo image with dive-compatible figures in JSON', async () => {
    const report = await checkJson('fixtures/demo');
    expect(report).toMatchObject({
      reportVersion: 2,
      reference: 'oci:fixtures/demo',
      schema: 'oci-v1',
      platform: 'linux/amd64',
      layerCount: 8,
      layersAnalyzed: true,
      ...DEMO,
    });
    expect(report.userWastedPercent).toBeCloseTo(DEMO.wastedBytes / DEMO.userSize, 12);
    expect(report.layers.map((l) => l.compression)).toEqual(expect.arrayContaining(['gzip', 'zstd', 'none']));
    const sum = (key: 'compressedSize' | 'uncompressedSize' | 'contentSize') =>
      report.layers.reduce((total, layer) => total + layer[key], 0);
    expect(report.uncompressedSize).toBe(sum('uncompressedSize'));
    expect(report.contentSize).toBe(sum('contentSize'));
    expect(report.compressedSize).toBeGreaterThan(sum('compressedSize')); // + the config blob
    expect(report.inefficientFiles?.[0]).toMatchObject({ path: '/app/dist/bundle.js', count: 2 });
  });

  it('gives the same figures for the same image as a layout, an oci-archive and a docker save', async () => {
    const layout = await checkJson('fixtures/demo');
    for (const spec of [
      'oci-archive:fixtures/demo.oci.tar',
      'docker-archive:fixtures/demo.docker.tar',
      'fixtures/demo.docker.tar',
    ]) {
      const other = await checkJson(spec);
      expect(other, spec).toMatchObject(DEMO);
      expect(other.layers.map((l) => l.contentSize)).toEqual(layout.layers.map((l) => l.contentSize));
      expect(other.layers.map((l) => l.createdBy)).toEqual(layout.layers.map((l) => l.createdBy));
    }
  });

  it('warns, not fails, a size budget a docker save exceeds only with its layers uncompressed', async () => {
    const budget = ['--no-layers', '--max-compressed', '300KiB'];
    const saved = await checkJson(...budget, 'fixtures/demo.docker.tar');
    expect(saved.checks?.find((c) => c.id === 'max-compressed')?.status).toBe('warn');
    expect(saved.verdict).toBe('warn');
    const layout = await checkJson(...budget, 'fixtures/demo');
    expect(layout.checks?.find((c) => c.id === 'max-compressed')?.status).toBe('pass');
  });

  it('numbers layers from 1 in every table and message, as errors do; the JSON keeps its 0-based fields', async () => {
    const { stdout } = await runCli(['check', 'fixtures/demo']);
    expect(stdout).toMatch(/^│ 1 │ +36\.6 KiB │ .* ADD file:/m);
    expect(stdout).toMatch(/^│ 8 │ +2\.94 KiB │ .* RUN npm run build/m);
    expect(stdout).not.toMatch(/^│ 0 │/m);
    expect(stdout).toMatch(/│ \/app\/dist\/bundle\.js +│ #8 RUN npm run build/);
    expect(stdout).toContain('left by layer 2 (`RUN apt-get');
    expect(stdout).toContain('layer 3 (`RUN rm -rf /var/lib/apt/lists/*`) deleted');

    const report = await checkJson('fixtures/demo');
    expect(report.layers.map((layer) => layer.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(report.inefficientFiles?.[0]?.overwrittenBy.map((o) => o.layer)).toEqual([7]);
    const apt = report.checks
      ?.find((check) => check.id === 'hints')
      ?.details?.find((detail) => detail.path === '/var/cache/apt');
    expect(apt).toMatchObject({ layer: 1 });
    expect(apt?.message).toContain('left by layer 2 (');
  });

  it('skips the layers with --no-layers and says so', async () => {
    const report = await checkJson('--no-layers', 'fixtures/demo');
    expect(report.layersAnalyzed).toBe(false);
    expect(report.efficiency).toBeUndefined();
    expect(report.checks?.find((c) => c.id === 'hints')?.status).toBe('skip');
  });

  it('holds real reports to the schema: analysis fields all there when layers were analysed, none when not', async () => {
    const analysed = await checkJson('fixtures/demo');
    const unanalysed = await checkJson('--no-layers', 'fixtures/demo');
    const { efficiency, ...withoutEfficiency } = analysed;
    expect(schemaErrorsOf(withoutEfficiency)).toContain(" must have required property 'efficiency'");
    expect(schemaErrorsOf({ ...unanalysed, efficiency })).toContain('/efficiency boolean schema is false');
  });

  it('fails the platform check for an arm64 image under the scf profile (exit 1)', async () => {
    const result = await runCli(['check', 'fixtures/arm64']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL {2}platform/);
    expect(result.stdout).toMatch(/Verdict: FAIL/);
  });

  it('says why the layers were not analysed: --full after a failed manifest check, or --no-layers', async () => {
    const note = async (...args: string[]) =>
      (await runCli(['check', ...args])).stdout.split('\n').find((line) => line.includes('not analysed'));
    const afterFailure =
      'Layers were not analysed (manifest-only): the manifest-level checks already failed the verdict; ' +
      'use --full for efficiency and waste.';
    expect(await note('fixtures/arm64')).toBe(afterFailure);
    expect(await note('--max-compressed', '100KB', 'fixtures/demo')).toBe(afterFailure);
    expect(await note('--no-layers', 'fixtures/demo')).toBe(
      'Layers were not analysed (manifest-only): run without --no-layers for efficiency and waste.',
    );
    expect(await note(indexWithoutAmd64())).toBe(
      'Layers were not analysed (manifest-only): the index has no image for this platform.',
    );
  });

  it('points the explorer off a terminal, which takes no --full, at check --full', async () => {
    const result = await runCli(['fixtures/arm64']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'the manifest-level checks already failed the verdict; use imgscope check --full for efficiency and waste.',
    );
    expect(result.stdout).toContain(
      'not evaluated: the manifest-level checks already failed the verdict (use imgscope check --full)',
    );
  });

  it('counts one layer as "1 layer" in every format and in the layer budget', async () => {
    const output = async (...args: string[]) => (await runCli(['check', ...args, 'fixtures/arm64'])).stdout;
    expect(await output()).toMatch(/^Size {7}4\.13 KiB compressed · 1 layer$/m);
    expect(await output('--format', 'markdown')).toContain('| Size | 4.13 KiB compressed · 1 layer |');
    expect(await output('--format', 'github')).toContain('%0A4.13 KiB compressed, 1 layer, linux/arm64%0A');
    expect(await output('--max-layers', '0')).toMatch(
      /FAIL {2}max-layers: 1 layer, budget 0 \(from --max-layers\)/,
    );
    for (const format of ['table', 'markdown', 'github']) {
      expect(await output('--format', format), format).not.toMatch(/\b1 layers\b/);
    }
  });

  it('ends a shortened list of findings in markdown with how many more there are', async () => {
    const markdown = (await runCli(['check', '--format', 'markdown', 'fixtures/demo'])).stdout;
    expect(markdown).toContain('<details><summary>hints: 12 findings</summary>');
    expect(markdown).toMatch(/\n- [^\n]+\n- … and 2 more \(`--json` lists them all\)\n\n<\/details>/);
  });

  it('prints a size the same in the hints as in the tables, rounded', async () => {
    const markdown = (await runCli(['check', '--format', 'markdown', 'fixtures/demo'])).stdout;
    // 6,000 B of InRelease and 16 KiB of Packages.lz4, deleted by layer 3.
    expect(markdown).toContain('bookworm\\_InRelease \\(5.86 KiB\\)');
    expect(markdown).toContain(
      '| 2 | 5.86 KiB | 5.86 KiB | `/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease` |',
    );
    expect(markdown).toContain('amd64\\_Packages.lz4 \\(16 KiB\\)');
    expect(markdown).toContain(
      '| 2 | 16 KiB | 16 KiB | `/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main',
    );
    const table = (await runCli(['check', 'fixtures/demo'])).stdout;
    expect(table).toMatch(/│ 7 │ .* 8\.21 KiB │ COPY \. \./);
    expect(table).toContain('layer 7 (`COPY . .`) overwrote 8.21 KiB');
  });

  it('selects a platform from an index with --platform', async () => {
    const arm = await checkJson('--platform', 'linux/arm64', '--profile', 'none', 'fixtures/multiarch');
    expect(arm.platform).toBe('linux/arm64');
    expect(arm.index?.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    const amd = await checkJson('fixtures/multiarch');
    expect(amd.platform).toBe('linux/amd64');
    expect(amd.digest).not.toBe(arm.digest);
  });

  it('takes a single-platform image asked for by its own platform, however the variant is spelled', async () => {
    for (const platform of ['linux/arm64', 'linux/arm64/v8']) {
      const arm = await checkJson('--platform', platform, '--profile', 'none', 'fixtures/arm64');
      expect(arm.platform, platform).toBe('linux/arm64');
    }
    const amd = await checkJson('--platform', 'linux/amd64', 'docker-archive:fixtures/demo.docker.tar');
    expect(amd.verdict).toBe('pass');
  });

  it('ends quietly by SIGPIPE when the reader closes the pipe early (| head), as git does', async () => {
    for (const args of [
      ['check', '--format', 'markdown', 'fixtures/demo'],
      ['check', '--json', '--max-compressed', '1000', 'fixtures/demo'],
      ['inspect', 'fixtures/demo'],
    ]) {
      const result = await runCli(args, { closeStdout: true });
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.signal, args.join(' ')).toBe('SIGPIPE');
    }
  });

  it('fails with one line and exit 2 when the report cannot be written (a full disk)', async () => {
    const result = await runCli(['check', '--json', 'fixtures/demo'], { stdoutPath: '/dev/full' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'imgscope: cannot write the output (ENOSPC: no space left on device, write)\n',
    );
  });

  it('keeps exit code 2 for an error when the reader of stderr has gone (2>&1 | head)', async () => {
    const error = await runCli(['check', 'fixtures/does-not-exist'], { closeStderr: true });
    expect(error.code).toBe(2);
    const debug = await runCli(['check', '--debug', 'fixtures/does-not-exist'], { closeStderr: true });
    expect(debug.code).toBe(2);
  });

  it('turns an index without linux/amd64 into a failed platform check listing what it has (exit 1)', async () => {
    const layout = indexWithoutAmd64();
    const result = await runCli(['check', '--json', layout]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.verdict).toBe('fail');
    expect(report.index?.platforms).toEqual(['linux/arm64']);
    const platform = report.checks?.find((c) => c.id === 'platform');
    expect(platform?.status).toBe('fail');
    expect(platform?.message).toMatch(/linux\/arm64/);
    // Normalised as for any other image, not echoed as typed.
    expect(report.reference).toBe(`oci:${layout}`);
  });

  it('fails the platform check (exit 1) for an index written flat into index.json, as go-containerregistry writes one', async () => {
    const flat = join(scratch, 'flat-no-amd64');
    cpSync(fixture('multiarch'), flat, { recursive: true });
    const outer = JSON.parse(readFileSync(join(flat, 'index.json'), 'utf8'));
    const innerPath = join(flat, 'blobs', 'sha256', (outer.manifests[0].digest as string).slice(7));
    const inner = JSON.parse(readFileSync(innerPath, 'utf8'));
    inner.manifests[0].platform = { os: 'linux', architecture: 's390x' };
    writeFileSync(join(flat, 'index.json'), JSON.stringify(inner));
    const result = await runCli(['check', '--json', flat]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.index?.platforms).toEqual(['linux/s390x', 'linux/arm64']);
    expect(report.checks?.find((c) => c.id === 'platform')?.status).toBe('fail');
    expect(report.reference).toBe(`oci:${flat}`);
  });

  it('names an archive of such an index as an oci-archive, normalised', async () => {
    const archive = join(scratch, 'arm-only.tar');
    expect(spawnSync('tar', ['cf', archive, '-C', indexWithoutAmd64(), '.']).status).toBe(0);
    const result = await runCli(['check', '--json', archive]);
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as Report).reference).toBe(`oci-archive:${archive}`);
  });
  it.each(['cloudbase', 'none'])(
    'refuses an index without linux/amd64 under --profile %s, which runs its other images (exit 2, no verdict on nothing)',
    async (profile) => {
      const result = await runCli(['check', '--json', '--profile', profile, indexWithoutAmd64()]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /no linux\/amd64 image; the index has linux\/arm64 — pick one with --platform/,
      );
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    },
  );
  it("lists an index's platforms without its attestation manifests, as its checks do", async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, { os: 'linux', architecture: 'amd64' });
    const provenance = files.blob(
      { schemaVersion: 2, mediaType: OCI.manifest, config: image.config, layers: [] },
      OCI.manifest,
    );
    const index = files.blob(
      {
        schemaVersion: 2,
        mediaType: OCI.index,
        manifests: [
          image,
          {
            ...provenance,
            platform: { os: 'unknown', architecture: 'unknown' },
            annotations: {
              'vnd.docker.reference.type': 'attestation-manifest',
              'vnd.docker.reference.digest': image.digest,
            },
          },
        ],
      },
      OCI.index,
    );
    const layout = await setLayoutIndex(files, [index]).writeDirectory(join(scratch, 'attested-index'));
    const report = await checkJson('--no-layers', layout);
    expect(report.index?.platforms).toEqual(['linux/amd64']);
  });

  it('counts every inefficient file, not only the 50 the report lists, fresh or from the cache', async () => {
    // 120 files the second layer overwrites: more than the report's list of inefficient files holds.
    const names = Array.from({ length: 120 }, (_, i) => `f${String(i).padStart(3, '0')}`);
    const tars = [
      await tarBytes(names.map((name, i) => ({ name, content: 'a'.repeat(10 + i) }))),
      await tarBytes(names.map((name, i) => ({ name, content: 'b'.repeat(5 + i) }))),
    ];
    const files = new ImageFiles();
    const layers = tars.map((tar) => files.blob(tar, OCI.layer));
    const config = files.blob(
      {
        os: 'linux',
        architecture: 'amd64',
        config: { Cmd: ['serve'] },
        rootfs: { type: 'layers', diff_ids: tars.map((tar) => blobOf(tar).digest) },
      },
      OCI.config,
    );
    const manifest = files.blob({ schemaVersion: 2, mediaType: OCI.manifest, config, layers }, OCI.manifest);
    const layout = await setLayoutIndex(files, [manifest]).writeDirectory(join(scratch, 'many-inefficient'));
    const cache = join(scratch, 'many-inefficient-cache');
    for (const run of ['fresh', 'cached']) {
      const report = await checkJson('--cache-dir', cache, layout);
      expect([run, report.inefficientFiles?.length, report.inefficientFileCount]).toEqual([run, 50, 120]);
      const table = await runCli(['check', '--cache-dir', cache, layout]);
      expect(table.stdout, run).toContain('Top inefficient files (10 of 120)');
      const markdown = await runCli(['check', '--format', 'markdown', '--cache-dir', cache, layout]);
      expect(markdown.stdout, run).toContain('#### Top waste (10 of 120)');
    }
  });
});

/** fixtures/multiarch with its inner index rewritten to offer only the arm64 image. */
function indexWithoutAmd64(): string {
  const copy = join(scratch, 'arm-only');
  cpSync(fixture('multiarch'), copy, { recursive: true });
  const outer = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8'));
  const innerPath = join(copy, 'blobs', 'sha256', (outer.manifests[0].digest as string).slice(7));
  const inner = JSON.parse(readFileSync(innerPath, 'utf8'));
  inner.manifests = inner.manifests.filter(
    (m: { platform: { architecture: string } }) => m.platform.architecture === 'arm64',
  );
  const bytes = Buffer.from(JSON.stringify(inner));
  const digest = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(copy, 'blobs', 'sha256', digest), bytes);
  outer.manifests[0] = { ...outer.manifests[0], digest: `sha256:${digest}`, size: bytes.length };
  writeFileSync(join(copy, 'index.json'), JSON.stringify(outer));
  return copy;
}

describe('imgscope check on bad input', () => {
  it.each([
    [['check', 'fixtures/does-not-exist'], /fixtures\/does-not-exist/],
    [['check', 'oci:fixtures'], /fixtures/],
    [
      ['check', '--frobnicate', 'fixtures/demo'],
      /^imgscope: unknown option --frobnicate — run imgscope --help for the options each command takes\n$/,
    ],
    [['check', 'fixtures/demo', '--max-compressed'], /^imgscope: --max-compressed needs a value — /],
    [['check', '--full=yes', 'fixtures/demo'], /^imgscope: --full takes no value — write --full alone/],
    [
      ['check', '--max-compressed', '-5', 'fixtures/demo'],
      /^imgscope: --max-compressed: "-5" is not a size such as 300MB.* — write for example 300MB/,
    ],
    [
      ['check', '--concurrency', '-1', 'fixtures/demo'],
      /^imgscope: --concurrency "-1" is not a positive whole number — for example --concurrency 4/,
    ],
    [
      ['check', '--no-layers', '--concurrency', '0', 'fixtures/demo'],
      /^imgscope: --concurrency "0" is not a positive whole number/,
    ],
    [
      ['check', '--max-layers', '-1', 'fixtures/demo'],
      /^imgscope: --max-layers: "-1" is not a whole number, 0 or more — write for example 20/,
    ],
    [
      ['check', '--max-compressed', '--full', 'fixtures/demo'],
      /^imgscope: --max-compressed needs a value, but "--full" follows it — write --max-compressed VALUE/,
    ],
    [['check', '--platform', 'amd64', 'fixtures/demo'], /--platform.*"amd64" is not os\/arch/],
    [
      ['check', '--lowestEfficiency', '1.5', 'fixtures/demo'],
      /^imgscope: --lowestEfficiency: "1.5" is not a ratio from 0 to 1/,
    ],
    [
      ['check', '--platform', 'linux/s390x', 'fixtures/multiarch'],
      /no linux\/s390x image; the index has linux\/amd64, linux\/arm64/,
    ],
    [
      ['check', '--platform', 'linux/arm64', 'fixtures/demo'],
      /^imgscope: fixtures\/demo: the image is linux\/amd64, not the requested linux\/arm64 — drop --platform/,
    ],
    [
      ['check', '--platform', 'linux/arm64/v8', 'oci-archive:fixtures/demo.oci.tar'],
      /^imgscope: oci-archive:fixtures\/demo\.oci\.tar: the image is linux\/amd64, not the requested linux\/arm64 /,
    ],
    [
      ['check', '--platform', 'linux/arm64', 'docker-archive:fixtures/demo.docker.tar'],
      /the image is linux\/amd64, not the requested linux\/arm64 — .*pick a tag built for linux\/arm64$/m,
    ],
    [
      ['check', '--platform', 'linux/amd64', 'fixtures/arm64'],
      /the image is linux\/arm64, not the requested/,
    ],
    [['check', '--format', 'yaml', 'fixtures/demo'], /--format "yaml" is not one of/],
    [['check'], /needs an IMAGE/],
    [['check', 'fixtures/demo', 'extra'], /unexpected argument "extra"/],
    [
      ['check', 'ALPINE:3'],
      /^imgscope: image reference "ALPINE:3": repository names must be lowercase — use "alpine:3"\n$/,
    ],
    [['chek', 'fixtures/demo'], /^imgscope: unknown command "chek" — did you mean "check"\?\n$/],
    [
      ['check', '--config', '', 'fixtures/demo'],
      /^imgscope: --config is empty — name the file \(--config FILE\)/,
    ],
    [['check', '--ci-config=', 'fixtures/demo'], /^imgscope: --ci-config is empty — name the file/],
    [
      ['check', '--insecure-registry', '', 'fixtures/demo'],
      /^imgscope: --insecure-registry: "" is not a registry host — name it as HOST or HOST:PORT/,
    ],
    [
      ['inspect', '--insecure-registry', 'http://lab.internal:5000', 'fixtures/demo'],
      /^imgscope: --insecure-registry: "http:\/\/lab.internal:5000" is not a registry host/,
    ],
    [
      ['check', '--username', 'me', 'fixtures/demo'],
      /^imgscope: --username needs --password-stdin — pipe the password in with --password-stdin/,
    ],
    [
      ['inspect', '--password-stdin', 'oci-archive:fixtures/demo.oci.tar'],
      /^imgscope: --password-stdin needs --username — for example: /,
    ],
  ])('%j exits 2 with one line naming the input', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  });

  it('says an archive is empty rather than not a tar archive', async () => {
    const empty = join(scratch, 'empty.tar');
    writeFileSync(empty, '');
    const blank = join(scratch, 'blank.tar');
    writeFileSync(blank, Buffer.alloc(10_240)); // what `tar cf blank.tar --files-from /dev/null` writes
    const emptyFile = await runCli(['check', empty]);
    expect(emptyFile.code).toBe(2);
    expect(emptyFile.stderr).toMatch(/^imgscope: \S+empty\.tar is not an image \(the file is empty\); /);
    const emptyTar = await runCli(['check', blank]);
    expect(emptyTar.code).toBe(2);
    expect(emptyTar.stderr).toMatch(
      /^imgscope: \S+blank\.tar is not an image \(an empty tar archive: no oci-layout or manifest\.json inside\); /,
    );
  });

  it('says the current directory is gone, in one line, when it was removed under the shell', async () => {
    const gone = join(scratch, 'removed-cwd');
    const run = (...args: string[]) =>
      spawnSync(
        'sh',
        [
          '-c',
          'mkdir "$1" && cd "$1" && rmdir "$1" && shift && exec "$@"',
          'sh',
          gone,
          process.execPath,
          join(projectRoot, 'bin', 'imgscope'),
          ...args,
        ],
        { encoding: 'utf8' },
      );
    const result = run('check', fixture('demo'));
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      'imgscope: the current directory no longer exists (ENOENT) — cd to a folder that exists and run imgscope again\n',
    );
    const version = run('--version');
    expect(version.status).toBe(0);
    expect(version.stdout).toMatch(/^imgscope \d/);
  });

  it('refuses a decompression guard that is not a size even with --no-layers', async () => {
    const result = await runCli(['check', '--no-layers', 'fixtures/demo'], {
      env: { IMGSCOPE_DECOMPRESSION_LIMIT: 'lots' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^imgscope: IMGSCOPE_DECOMPRESSION_LIMIT="lots" is not a size — /);
  });

  it('says how to name the registry image when a bare name is read as a local folder that is no image', async () => {
    const cwd = join(scratch, 'service-folders');
    mkdirSync(join(cwd, 'redis'), { recursive: true });
    const result = await runCli(['check', 'redis'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^imgscope: redis is not an image \(no oci-layout or manifest\.json in it\).* — for the registry image of that name write docker:\/\/redis; /,
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    // A path is plainly a path: no registry advice.
    expect((await runCli(['check', './redis'], { cwd })).stderr).not.toMatch(/docker:\/\//);
  });

  it('says how to name the registry image when org/name:tag is read as a path under a local folder', async () => {
    const cwd = join(scratch, 'chart-folders');
    mkdirSync(join(cwd, 'bitnami'), { recursive: true });
    const result = await runCli(['check', 'bitnami/redis:7.2'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^imgscope: bitnami\/redis:7\.2: no such file or directory — for the registry image of that name write docker:\/\/bitnami\/redis:7\.2; for a local image check the path/,
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('reads a bare PATH:@N as its prefixed form when PATH is read as a path, and never as credentials', async () => {
    const cwd = join(scratch, 'positions');
    cpSync(fixture('demo'), join(cwd, 'flat'), { recursive: true });
    cpSync(fixture('demo.docker.tar'), join(cwd, 'image.tar'));
    for (const [image, reference] of [
      ['flat:@0', 'oci:flat:@0'],
      ['image.tar:@0', 'docker-archive:image.tar:@0'],
    ] as const) {
      const result = await runCli(['check', '--json', '--no-layers', image], { cwd });
      expect(result.stderr, image).toBe('');
      expect((JSON.parse(result.stdout) as Report).reference, image).toBe(reference);
    }
    const beyond = await runCli(['check', 'flat:@3'], { cwd });
    expect(beyond.stderr).toMatch(/^imgscope: flat has no image @3: index\.json lists 1 \(@0 to @0\)/);
    const absent = await runCli(['check', 'absent:@0'], { cwd });
    expect(absent.code).toBe(2);
    expect(absent.stderr).toBe(
      'imgscope: image reference "absent:@0": :@N picks an image of a layout or archive on disk, and a registry image has none — for an image on disk name a path that exists: PATH:@N, oci:DIR:@N or docker-archive:FILE:@N\n',
    );
  });

  it('names the prefixed form for a bare PATH:REF of a path on disk, which only the prefixed forms take', async () => {
    const cwd = join(scratch, 'refs');
    cpSync(fixture('demo'), join(cwd, 'flat'), { recursive: true });
    cpSync(fixture('demo.docker.tar'), join(cwd, 'image.tar'));
    const unparsable = await runCli(['check', 'image.tar:imgscope/demo:1.0'], { cwd });
    expect(unparsable.code).toBe(2);
    expect(unparsable.stderr).toBe(
      'imgscope: image reference "image.tar:imgscope/demo:1.0": "image.tar:imgscope" is not a valid registry host — for the image on disk write docker-archive:image.tar:imgscope/demo:1.0 or oci-archive:image.tar:imgscope/demo:1.0\n',
    );
    const missing = await runCli(['check', './flat:demo'], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'imgscope: ./flat:demo: no such file or directory — name it with its prefix, oci:./flat:demo\n',
    );
    const named = await runCli(['check', '--json', '--no-layers', 'oci:./flat:demo'], { cwd });
    expect((JSON.parse(named.stdout) as Report).reference).toBe('oci:./flat:demo');
  });

  it('names the prefixed form when a bare NAME:REF of an image on disk went to the registry and failed', async () => {
    const cwd = join(scratch, 'registry-refs');
    cpSync(fixture('demo'), join(cwd, 'flat'), { recursive: true });
    cpSync(fixture('README.md'), join(cwd, 'nginx', 'README.md'));
    cpSync(fixture('README.md'), join(cwd, 'app'));
    // An unreachable proxy stands for a registry that fails, without leaving this machine.
    const env = { HTTPS_PROXY: 'http://127.0.0.1:1', NO_PROXY: '' };
    const layout = await runCli(['check', 'flat:demo'], { cwd, env });
    expect(layout.code).toBe(2);
    expect(layout.stderr).toMatch(
      /^imgscope: GET https:\/\/registry-1\.docker\.io\/v2\/ .*; for the image on disk write oci:flat:demo\n$/,
    );
    // A folder or file that only shares the name holds no image: the registry's error stands alone.
    const folder = await runCli(['check', 'nginx:1.25'], { cwd, env });
    expect(folder.code).toBe(2);
    expect(folder.stderr).not.toContain('for the image on disk');
    const file = await runCli(['check', 'app:v1'], { cwd, env });
    expect(file.stderr).not.toContain('for the image on disk');
  });

  it('reads a bare ARCHIVE.tar:TAG of an archive on disk from disk, naming its prefixed forms, not from docker.io', async () => {
    const cwd = join(scratch, 'archive-tags');
    cpSync(fixture('demo.docker.tar'), join(cwd, 'image.tar'));
    cpSync(fixture('demo.oci.tar'), join(cwd, 'image.oci.tar.gz'));
    // An unreachable proxy: a registry lookup would fail with the proxy's error, not name the archive.
    const env = { HTTPS_PROXY: 'http://127.0.0.1:1', NO_PROXY: '' };
    for (const [image, forms] of [
      ['image.tar:1.0', 'docker-archive:image.tar:1.0 or oci-archive:image.tar:1.0'],
      ['image.oci.tar.gz:demo', 'docker-archive:image.oci.tar.gz:demo or oci-archive:image.oci.tar.gz:demo'],
    ] as const) {
      const result = await runCli(['inspect', image], { cwd, env });
      expect(result.code, image).toBe(2);
      expect(result.stderr, image).toBe(
        `imgscope: ${image}: no such file or directory — for the registry image of that name write docker://${image}; for a local image name it with its prefix, ${forms}\n`,
      );
    }
    // No such archive: still a registry reference (a repository may be named app.tar).
    const absent = await runCli(['inspect', 'absent.tar:1.0'], { cwd, env });
    expect(absent.stderr).toMatch(/^imgscope: GET https:\/\/registry-1\.docker\.io\/v2\/ /);
  });

  it('names no docker:// form for a path on disk no registry image can be named (uppercase)', async () => {
    const cwd = join(scratch, 'uppercase');
    mkdirSync(join(cwd, 'MyApp'), { recursive: true });
    cpSync(fixture('demo.docker.tar'), join(cwd, 'App.tar'));
    const archive = await runCli(['inspect', 'App.tar:1.0'], { cwd });
    expect(archive.code).toBe(2);
    expect(archive.stderr).toBe(
      'imgscope: App.tar:1.0: no such file or directory — name it with its prefix, docker-archive:App.tar:1.0 or oci-archive:App.tar:1.0\n',
    );
    const folder = await runCli(['inspect', 'MyApp'], { cwd });
    expect(folder.code).toBe(2);
    expect(folder.stderr).toMatch(
      /^imgscope: MyApp is not an image \(no oci-layout or manifest\.json in it\)/,
    );
    expect(folder.stderr).not.toContain('docker://');
  });

  it('names the setting that raises the decompression guard when it trips', async () => {
    const result = await runCli(['check', 'fixtures/demo'], {
      env: { IMGSCOPE_DECOMPRESSION_LIMIT: '10KB' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /exceed 10000 bytes \(the decompression guard\) — .*raise IMGSCOPE_DECOMPRESSION_LIMIT only if the image is trusted\n$/,
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('reads a path pasted with spaces around it from disk, not from docker.io', async () => {
    // An unreachable proxy: a registry lookup fails rather than leave this machine.
    const env = { HTTPS_PROXY: 'http://127.0.0.1:1', NO_PROXY: '' };
    for (const pasted of [' fixtures/demo', 'fixtures/demo ', ' fixtures/demo:@0 ']) {
      const result = await runCli(['check', '--no-layers', pasted], { env });
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^Image +oci:fixtures\/demo(:@0)?\n/);
    }
    // A folder named with the space is what it names.
    const spaced = join(scratch, 'spaced ');
    cpSync(fixture('demo'), spaced, { recursive: true });
    const kept = await runCli(['check', '--no-layers', spaced], { env });
    expect(kept.stdout).toContain(`oci:${spaced}\n`);
  });

  it('applies the decompression guard to the pass that indexes a compressed archive', async () => {
    const archive = join(scratch, 'bomb.tar.gz');
    const tar = await tarBytes([
      { name: 'manifest.json', content: '[{"Config":"c.json","Layers":["l.tar"]}]' },
      { name: 'l.tar', content: Buffer.alloc(2 * 1024 * 1024) },
    ]);
    writeFileSync(archive, gzipSync(tar));
    const result = await runCli(['check', '--no-layers', archive], {
      env: { IMGSCOPE_DECOMPRESSION_LIMIT: '1MiB' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `imgscope: ${archive}: the archive decompresses to more than 1048576 bytes (the decompression guard) — this looks like a decompression bomb; raise IMGSCOPE_DECOMPRESSION_LIMIT only if the image is trusted\n`,
    );
  });

  it('detects a tampered layer blob while streaming (exit 2, digest named)', async () => {
    const copy = join(scratch, 'tampered');
    cpSync(fixture('demo'), copy, { recursive: true });
    const manifestDigest = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8')).manifests[0]
      .digest as string;
    const manifest = JSON.parse(readFileSync(join(copy, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8'));
    const layerFile = join(copy, 'blobs', 'sha256', (manifest.layers[3].digest as string).slice(7));
    const bytes = readFileSync(layerFile);
    const middle = bytes.length >> 1;
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    writeFileSync(layerFile, bytes);
    const result = await runCli(['check', copy]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`expected ${manifest.layers[3].digest}`));
    expect(result.stderr).toMatch(/layer 4[/ ]/); // the fourth layer, numbered as the table numbers it
    expect(result.stderr).toMatch(
      / — the blob was altered in storage or transit; write the layout again with the tool/,
    );
    expect(result.stderr).not.toMatch(/push/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('holds a single-platform image to the platform a config file asks for, as to --platform', async () => {
    const config = join(scratch, 'arm64.config.json');
    writeFileSync(config, JSON.stringify({ platform: 'linux/arm64' }));
    for (const image of ['fixtures/demo', 'docker-archive:fixtures/demo.docker.tar']) {
      const result = await runCli(['check', '--config', config, image]);
      expect(result.code, image).toBe(2);
      expect(result.stderr).toMatch(
        /the image is linux\/amd64, not the requested linux\/arm64 — remove "platform" from \S*arm64\.config\.json/,
      );
    }
    const own = await runCli(['check', '--config', config, 'fixtures/arm64']);
    expect(own.stderr).not.toMatch(/not the requested/);
  });

  it('points a refused connection at the registry address, naming no setting that does not exist', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const result = await runCli(['check', `127.0.0.1:${port}/team/app:1`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `imgscope: GET http://127.0.0.1:${port}/v2/: connection refused (after 4 attempts) — ` +
        `nothing accepts connections at 127.0.0.1:${port}: check the registry's name and port, and that it runs\n`,
    );
  });

  it('shows the stack trace only with --debug', async () => {
    const result = await runCli(['check', '--debug', 'fixtures/does-not-exist']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});

describe.skipIf(!announcePeerImages())("imgscope check on dive's own test image", () => {
  it("reports exactly dive's figures", async () => {
    const report = await checkJson(peerImage('test-docker-image.tar'));
    expect(report.contentSize).toBe(1_220_598);
    expect(report.wastedBytes).toBe(32_025);
    expect(report.efficiency).toBe(0.9844212134184309);
    expect(report.deadBytes).toBe(32_025); // every copy dive counts is really dead in this image
    expect(report.userSize).toBe(1_220_598 - 1_154_361);
    expect(report.userWastedPercent).toBe(32_025 / (1_220_598 - 1_154_361));
    expect(report.inefficientFiles?.slice(0, 3).map((f) => [f.path, f.count, f.wastedBytes])).toEqual([
      ['/root/saved.txt', 2, 12_810],
      ['/root/example/somefile1.txt', 2, 12_810],
      ['/root/example/somefile3.txt', 2, 6_405],
    ]);
  });
  void hasPeerImages;
});
