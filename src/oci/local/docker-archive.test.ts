import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { decompress } from 'fzstd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addOciImage,
  blobOf,
  gzipLayer,
  hexOf,
  ImageFiles,
  makeTempDir,
  OCI,
  setLayoutIndex,
  tarBytes,
} from '../../../test/helpers/image-files.js';
import { ImgscopeError } from '../../errors.js';
import { sha256Digest } from '../digest.js';
import { MediaType } from '../media-types.js';
import type { ImageSource } from '../source.js';
import { openLocalImage } from './index.js';

let temp: { path: string; remove: () => Promise<void> };
let counter = 0;
beforeAll(async () => {
  temp = await makeTempDir('docker-archive');
});
afterAll(() => temp.remove());

function tempPath(name: string): string {
  counter += 1;
  return join(temp.path, `${counter}-${name}`);
}

async function failure(promise: Promise<unknown>): Promise<ImgscopeError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ImgscopeError);
  return error as ImgscopeError;
}

async function streamEveryBlob(source: ImageSource): Promise<void> {
  for (const descriptor of [source.configDescriptor, ...source.layers])
    await buffer(await source.openBlob(descriptor));
}

/** A zstd frame holding `content` as one raw block (≥ 256 bytes): real zstd, no encoder needed. */
function zstdRaw(content: Buffer): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x60, 0, 0]);
  header.writeUInt16LE(content.length - 256, 5);
  const block = 1 | (content.length << 3); // last block, raw
  return Buffer.concat([
    header,
    Buffer.from([block & 0xff, (block >> 8) & 0xff, (block >> 16) & 0xff]),
    content,
  ]);
}

function dockerConfig(diffIds: string[], architecture = 'amd64') {
  return {
    architecture,
    os: 'linux',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created_by: `RUN step ${i}` })),
  };
}

/** A legacy `docker save` image (`<id>/layer.tar`, `<id>/json`, `<hex>.json`) added to `files`. */
async function addLegacyImage(files: ImageFiles, repoTags: string[], text: string) {
  const layers = [
    await tarBytes([{ name: 'a.txt', content: text }]),
    await tarBytes([{ name: 'b.txt', content: text }]),
  ];
  const diffIds = layers.map((layer) => blobOf(layer).digest);
  const config = blobOf(dockerConfig(diffIds));
  const layerPaths = layers.map((layer, i) => {
    const id = blobOf(`${text}-${i}`).digest.slice(7);
    files.add(`${id}/layer.tar`, layer).add(`${id}/json`, { id }).add(`${id}/VERSION`, '1.0');
    return `${id}/layer.tar`;
  });
  files.add(`${hexOf(config.digest)}.json`, config.bytes);
  return { Config: `${hexOf(config.digest)}.json`, RepoTags: repoTags, Layers: layerPaths, diffIds, config };
}

describe('docker-archive: legacy docker save', () => {
  async function twoImages() {
    const files = new ImageFiles();
    const first = await addLegacyImage(files, ['app:1'], 'one');
    const second = await addLegacyImage(files, ['app:2', 'other:latest'], 'two');
    files.add(
      'manifest.json',
      [first, second].map(({ Config, RepoTags, Layers }) => ({ Config, RepoTags, Layers })),
    );
    return { file: await files.writeTar(tempPath('legacy.tar')), first, second };
  }

  it('describes legacy layers by their diff ids and synthesises a deterministic Docker manifest', async () => {
    const { file, second } = await twoImages();
    const source = await openLocalImage(`docker-archive:${file}:app:2`);
    expect(source.kind).toBe('docker-archive');
    expect(source.reference).toBe(`docker-archive:${file}:app:2`);
    expect(source.layers.map((layer) => layer.digest)).toEqual(second.diffIds);
    expect(source.layers.every((layer) => layer.mediaType === MediaType.DockerLayer)).toBe(true);
    expect(source.configDescriptor).toEqual({
      mediaType: MediaType.DockerConfig,
      size: second.config.size,
      digest: second.config.digest,
    });
    expect(JSON.parse(Buffer.from(source.rawManifest).toString())).toEqual({
      schemaVersion: 2,
      mediaType: MediaType.DockerManifest,
      config: { mediaType: MediaType.DockerConfig, size: second.config.size, digest: second.config.digest },
      layers: source.layers.map(({ mediaType, size, digest }) => ({ mediaType, size, digest })),
    });
    expect(source.digest).toBe(sha256Digest(source.rawManifest));
    const again = await openLocalImage(`docker-archive:${file}:other`);
    expect(again.digest).toBe(source.digest);
    await streamEveryBlob(source);
  });

  it('lists the tags when several images are present and none is named', async () => {
    const { file } = await twoImages();
    const error = await failure(openLocalImage(`docker-archive:${file}`));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toBe(`docker-archive:${file} holds 2 images: @0 (app:1); @1 (app:2, other:latest)`);
    const unknown = await failure(openLocalImage(`docker-archive:${file}:app:3`));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toContain('no image tagged "app:3"; it has @0 (app:1); @1 (app:2, other:latest)');
  });

  it('lists at most 20 images of a save of hundreds (docker save $(docker images -q)), saying how many more', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, [], 'one');
    const entries = Array.from({ length: 200 }, (_, i) => ({
      Config: image.Config,
      RepoTags: [`app:${i}`],
      Layers: image.Layers,
    }));
    files.add('manifest.json', entries);
    const file = await files.writeTar(tempPath('hundreds.tar'));
    const listed = Array.from({ length: 20 }, (_, i) => `@${i} (app:${i})`).join('; ');
    expect((await failure(openLocalImage(file))).message).toBe(
      `${file} holds 200 images: ${listed}; and 180 more`,
    );
    expect((await failure(openLocalImage(`${file}:@200`))).message).toBe(
      `${file} has no image @200; it has ${listed}; and 180 more`,
    );
    expect((await openLocalImage(`docker-archive:${file}:app:199`)).configDescriptor.digest).toBe(
      image.config.digest,
    );
  });

  it('names untagged images by position and reads one with @N, as skopeo does', async () => {
    const files = new ImageFiles();
    const first = await addLegacyImage(files, [], 'one');
    const second = await addLegacyImage(files, [], 'two');
    files.add(
      'manifest.json',
      [first, second].map(({ Config, Layers }) => ({ Config, Layers })),
    );
    const file = await files.writeTar(tempPath('untagged.tar'));
    const error = await failure(openLocalImage(file));
    expect(error.message).toBe(`${file} holds 2 images: @0 (untagged); @1 (untagged)`);
    expect(error.hint).toBe(
      `name one: docker-archive:${file}:NAME:TAG, or docker-archive:${file}:@N for the Nth image (from @0)`,
    );
    const chosen = await openLocalImage(`docker-archive:${file}:@1`);
    expect(chosen.configDescriptor.digest).toBe(second.config.digest);
    const beyond = await failure(openLocalImage(`docker-archive:${file}:@2`));
    expect(beyond.code).toBe('NOT_FOUND');
    expect(beyond.message).toBe(
      `docker-archive:${file} has no image @2; it has @0 (untagged); @1 (untagged)`,
    );
    const negative = await failure(openLocalImage(`${file}:@-1`));
    expect(negative.message).toBe(`${file} has no image @-1; it has @0 (untagged); @1 (untagged)`);
  });

  it('reports a layer missing from the archive as NOT_FOUND naming archive and member', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, ['app:1'], 'one');
    files.files.delete(image.Layers[1]!);
    files.add('manifest.json', [{ Config: image.Config, RepoTags: image.RepoTags, Layers: image.Layers }]);
    const file = await files.writeTar(tempPath('missing-layer.tar'));
    const error = await failure(openLocalImage(file));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe(`${file}: "${image.Layers[1]}" is missing`);
  });

  it('refuses a config that is a FIFO in an extracted save rather than waiting for a writer', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, ['app:1'], 'one');
    files.files.delete(image.Config);
    files.add('manifest.json', [{ Config: image.Config, RepoTags: image.RepoTags, Layers: image.Layers }]);
    const dir = await files.writeDirectory(tempPath('fifo-config'));
    execFileSync('mkfifo', [join(dir, image.Config)]);
    const error = await failure(openLocalImage(dir));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toBe(`${dir}: "${image.Config}" is a FIFO, not a file`);
  }, 5000);

  it('says manifest.json is a folder, rather than calling the save one from before Docker 1.10', async () => {
    const files = new ImageFiles();
    await addLegacyImage(files, ['app:1'], 'one');
    files.add('repositories', { app: { '1': 'x' } });
    const dir = await files.writeDirectory(tempPath('folder-manifest'));
    mkdirSync(join(dir, 'manifest.json'));
    const error = await failure(openLocalImage(dir));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toBe(`${dir}: "manifest.json" is a directory, not a file`);
  });

  it('verifies config bytes against the digest in their name', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, ['app:1'], 'one');
    files.add(image.Config, { ...image.config, tampered: true });
    files.add('manifest.json', [{ Config: image.Config, RepoTags: image.RepoTags, Layers: image.Layers }]);
    const error = await failure(openLocalImage(await files.writeTar(tempPath('bad-config.tar'))));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.message).toContain(`expected ${image.config.digest}`);
    expect(error.hint).toBe(
      'the blob was altered in storage or transit; save the archive again with the tool that made it (docker save)',
    );
  });
});

describe('docker-archive: kaniko and crane tarballs', () => {
  it('takes layer digests from <hex>.tar.gz names and media types from magic bytes', async () => {
    const gzip = await gzipLayer('gz.txt', 'gzip layer');
    const zstdTar = await tarBytes([{ name: 'zstd.txt', content: 'zstd layer' }]);
    const zstd = zstdRaw(zstdTar);
    expect(Buffer.from(decompress(zstd)).equals(zstdTar)).toBe(true);
    const [gzipBlob, zstdBlob] = [blobOf(gzip.bytes), blobOf(zstd)];
    const config = blobOf(dockerConfig([gzip.diffId, blobOf(zstdTar).digest]));
    const files = new ImageFiles()
      .add(`sha256:${hexOf(config.digest)}`, config.bytes)
      .add(`${hexOf(gzipBlob.digest)}.tar.gz`, gzip.bytes)
      .add(`${hexOf(zstdBlob.digest)}.tar.gz`, zstd)
      .add('manifest.json', [
        {
          Config: `sha256:${hexOf(config.digest)}`,
          RepoTags: ['kaniko:latest'],
          Layers: [`${hexOf(gzipBlob.digest)}.tar.gz`, `${hexOf(zstdBlob.digest)}.tar.gz`],
        },
      ]);
    const source = await openLocalImage(await files.writeTar(tempPath('kaniko.tar')));
    expect(source.kind).toBe('docker-archive');
    expect(source.layers).toEqual([
      { mediaType: MediaType.DockerLayerGzip, size: gzipBlob.size, digest: gzipBlob.digest },
      { mediaType: MediaType.OciLayerZstd, size: zstdBlob.size, digest: zstdBlob.digest },
    ]);
    expect(source.configDescriptor.digest).toBe(config.digest);
    await streamEveryBlob(source);
  });

  it('takes a layer that starts with a skippable frame (as pzstd writes) for zstd', async () => {
    const tar = await tarBytes([{ name: 'pzstd.txt', content: 'pzstd layer' }]);
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 0, 0, 0, 0]);
    const pzstd = Buffer.concat([skippable, zstdRaw(tar)]);
    const blob = blobOf(pzstd);
    const config = blobOf(dockerConfig([blobOf(tar).digest]));
    const files = new ImageFiles()
      .add(`sha256:${hexOf(config.digest)}`, config.bytes)
      .add(`${hexOf(blob.digest)}.tar.zst`, pzstd)
      .add('manifest.json', [
        {
          Config: `sha256:${hexOf(config.digest)}`,
          RepoTags: ['pz:1'],
          Layers: [`${hexOf(blob.digest)}.tar.zst`],
        },
      ]);
    const source = await openLocalImage(await files.writeTar(tempPath('pzstd.tar')));
    expect(source.layers).toEqual([
      { mediaType: MediaType.OciLayerZstd, size: blob.size, digest: blob.digest },
    ]);
  });

  it('hashes a layer once at open when neither its name nor the config gives its digest', async () => {
    const gzip = await gzipLayer('x.txt', 'unnamed');
    const config = blobOf(dockerConfig([gzip.diffId]));
    const files = new ImageFiles()
      .add('config.json', config.bytes)
      .add('layer0.tar.gz', gzip.bytes)
      .add('manifest.json', [{ Config: 'config.json', RepoTags: null, Layers: ['./layer0.tar.gz'] }]);
    const source = await openLocalImage(await files.writeTar(tempPath('unnamed.tar')));
    expect(source.layers[0]!.digest).toBe(blobOf(gzip.bytes).digest);
    expect(source.configDescriptor.digest).toBe(config.digest);
    await streamEveryBlob(source);
  });
});

describe('docker-archive: modern docker save (manifest.json over an OCI layout)', () => {
  async function modernArchive() {
    const files = new ImageFiles();
    const image = await addOciImage(files, { os: 'linux', architecture: 'amd64' });
    setLayoutIndex(files, [
      {
        ...image,
        annotations: {
          'io.containerd.image.name': 'docker.io/library/app:1',
          'org.opencontainers.image.ref.name': '1',
        },
      },
    ]);
    const layerPath = `blobs/sha256/${hexOf(image.layer.digest)}`;
    files.symlink('0123abcd/layer.tar', `../${layerPath}`);
    files.add('manifest.json', [
      {
        Config: `blobs/sha256/${hexOf(image.config.digest)}`,
        RepoTags: ['app:1'],
        Layers: ['0123abcd/layer.tar'],
      },
    ]);
    return { file: await files.writeTar(tempPath('modern.tar')), image };
  }

  it('auto-detects an oci-archive (real digests) and reads the same image as docker-archive on request', async () => {
    const { file, image } = await modernArchive();
    const asOci = await openLocalImage(file);
    expect(asOci.kind).toBe('oci-archive');
    expect(asOci.digest).toBe(image.digest);
    expect(asOci.mediaType).toBe(OCI.manifest);

    const asDocker = await openLocalImage(`docker-archive:${file}:app:1`);
    expect(asDocker.kind).toBe('docker-archive');
    expect(asDocker.mediaType).toBe(MediaType.DockerManifest);
    expect(asDocker.configDescriptor.digest).toBe(image.config.digest);
    // The legacy path is a symlink into blobs/; gzip magic gives the media type, the diff id is not used.
    expect(asDocker.layers).toEqual([
      { mediaType: MediaType.DockerLayerGzip, size: image.layer.size, digest: image.layer.digest },
    ]);
    await streamEveryBlob(asDocker);
  });

  it('marks the image as a docker save whichever reader opens it, and a plain OCI layout as not one', async () => {
    const { file } = await modernArchive();
    expect((await openLocalImage(file)).dockerSave).toBe(true);
    expect((await openLocalImage(`oci-archive:${file}:1`)).dockerSave).toBe(true);
    expect((await openLocalImage(`docker-archive:${file}`)).dockerSave).toBe(true);

    const layout = new ImageFiles();
    setLayoutIndex(layout, [await addOciImage(layout, { os: 'linux', architecture: 'amd64' })]);
    expect((await openLocalImage(await layout.writeTar(tempPath('plain.tar')))).dockerSave).toBe(false);
  });

  it('names the prefix that reads an image given under the other format, rather than "not an image"', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, ['app:1'], 'one');
    files.add('manifest.json', [{ Config: image.Config, RepoTags: image.RepoTags, Layers: image.Layers }]);
    const saved = await files.writeTar(tempPath('saved.tar'));
    const asOci = await failure(openLocalImage(`oci-archive:${saved}`));
    expect(asOci.code).toBe('BAD_INPUT');
    expect(asOci.message).toBe(
      `oci-archive:${saved} is a docker save archive (manifest.json), not an OCI layout`,
    );
    expect(asOci.hint).toBe(
      `read it as docker-archive:${saved}, or give the bare path: the format is detected`,
    );

    const layout = new ImageFiles();
    setLayoutIndex(layout, [await addOciImage(layout, { os: 'linux', architecture: 'amd64' })]);
    const dir = await layout.writeDirectory(tempPath('layout'));
    const asDocker = await failure(openLocalImage(`docker-archive:${dir}`));
    expect(asDocker.message).toBe(
      `docker-archive:${dir} is an OCI layout (oci-layout, index.json), not a docker save archive`,
    );
    expect(asDocker.hint).toBe(`read it as oci:${dir}, or give the bare path: the format is detected`);
    // Quoted where the shell would split it, so it can be pasted.
    const spaced = await layout.writeDirectory(tempPath('my layout'));
    expect((await failure(openLocalImage(`docker-archive:${spaced}`))).hint).toBe(
      `read it as 'oci:${spaced}', or give the bare path: the format is detected`,
    );
  });
});

describe('inputs that are not images', () => {
  it('reads a gzip- or zstd-compressed save (docker save app | gzip) as the plain one, and asks to unxz an xz one', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, ['app:1'], 'one');
    files.add('manifest.json', [{ Config: image.Config, RepoTags: image.RepoTags, Layers: image.Layers }]);
    const tarFile = await files.writeTar(tempPath('saved.tar'));
    const plain = await openLocalImage(tarFile);
    const expected = await Promise.all(
      plain.layers.map(async (layer) => buffer(await plain.openBlob(layer))),
    );
    await plain.close();
    const gzFile = `${tarFile}.gz`;
    writeFileSync(gzFile, gzipSync(readFileSync(tarFile)));
    const zstFile = `${tarFile}.zst`;
    execFileSync('zstd', ['-q', '-f', tarFile, '-o', zstFile]);
    for (const spec of [gzFile, `docker-archive:${gzFile}`, zstFile]) {
      const source = await openLocalImage(spec);
      try {
        expect(source.digest, spec).toBe(plain.digest);
        // Last layer first, then both at once: each read finds its bytes wherever the cursors stand.
        expect(await buffer(await source.openBlob(source.layers[1]!))).toEqual(expected[1]);
        const both = await Promise.all(
          source.layers.map(async (layer) => buffer(await source.openBlob(layer))),
        );
        expect(both).toEqual(expected);
      } finally {
        await source.close();
      }
    }
    const xzFile = `${tarFile}.xz`;
    execFileSync('xz', ['-k', '-f', tarFile]);
    const error = await failure(openLocalImage(xzFile));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toContain('is xz-compressed');
    expect(error.hint).toContain('unxz');
  });

  it('says a compressed save cut short cannot be decompressed, in one line', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, ['app:1'], 'one');
    files.add('manifest.json', [{ Config: image.Config, RepoTags: image.RepoTags, Layers: image.Layers }]);
    const gz = gzipSync(readFileSync(await files.writeTar(tempPath('whole.tar'))));
    const cut = tempPath('cut.tar.gz');
    writeFileSync(cut, gz.subarray(0, gz.length - 100));
    const error = await failure(openLocalImage(cut));
    expect(error.code).toBe('MALFORMED');
    expect(error.message).toBe(`${cut}: cannot decompress the archive (unexpected end of file)`);
  });

  it('says what a compressed file that holds no tar decompresses to, not that the file is empty', async () => {
    const empty = tempPath('empty.tar.gz');
    writeFileSync(empty, gzipSync(Buffer.alloc(0)));
    expect((await failure(openLocalImage(empty))).message).toContain(
      `${empty} is not an image (it decompresses to nothing);`,
    );
    const text = tempPath('notes.tar.gz');
    writeFileSync(text, gzipSync('hello\n'));
    const notTar = await failure(openLocalImage(text));
    expect(notTar.code).toBe('BAD_INPUT');
    expect(notTar.message).toContain(
      `${text} is not an image (it decompresses to something other than a tar archive);`,
    );
  });

  it('says a zstd archive with a window over 128 MiB needs decompressing, not that it is damaged', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, ['app:1'], 'one');
    files.add('manifest.json', [{ Config: image.Config, RepoTags: image.RepoTags, Layers: image.Layers }]);
    const tar = readFileSync(await files.writeTar(tempPath('whole.tar')));
    // `docker save app | zstd --long=30`: a stream of unknown size keeps its whole 1 GiB window.
    const long = tempPath('long.tar.zst');
    writeFileSync(long, execFileSync('zstd', ['-q', '--long=30', '-c'], { input: tar }));
    const error = await failure(openLocalImage(long));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `${long}: cannot decompress the archive (the zstd frame at byte 0 needs a 1024 MiB window; imgscope decodes windows up to 128 MiB)`,
    );
    expect(error.hint).toBe(
      `decompress it first: unzstd --long=31 -k ${long}, or compress it with zstd --long=27 at most`,
    );
  });

  it('names a pre-1.10 docker save (repositories, no manifest.json) and how to convert it', async () => {
    const files = new ImageFiles();
    const image = await addLegacyImage(files, ['app:1'], 'one');
    const top = image.Layers[1]!.split('/')[0]!;
    files.add('repositories', { app: { '1': top } });
    const archive = await files.writeTar(tempPath('pre110.tar'));
    for (const spec of [archive, `docker-archive:${archive}`, `oci-archive:${archive}`]) {
      const error = await failure(openLocalImage(spec));
      expect(error.code).toBe('UNSUPPORTED');
      expect(error.exitCode).toBe(2);
      expect(error.message).toBe(
        `${spec} is a docker save from before Docker 1.10 (a repositories file, no manifest.json), which imgscope cannot read`,
      );
      expect(error.hint).toContain(`docker load -i ${archive}, then docker save -o image.tar NAME`);
      expect(error.hint).toContain('skopeo never read them');
    }
    const dir = await files.writeDirectory(tempPath('pre110'));
    const extracted = await failure(openLocalImage(dir));
    expect(extracted.code).toBe('UNSUPPORTED');
    expect(extracted.hint).toContain(`tar -C ${dir} -c . | docker load`);
    const spaced = await files.writeTar(tempPath('pre 1.10.tar'));
    expect((await failure(openLocalImage(spaced))).hint).toContain(`docker load -i '${spaced}'`);
  });

  it('names the path and what imgscope reads for a plain file, a tar without an image, and nothing', async () => {
    const text = tempPath('notes.txt');
    writeFileSync(text, 'hello\n');
    const plain = await failure(openLocalImage(text));
    expect(plain.code).toBe('BAD_INPUT');
    expect(plain.message).toContain(`${text} is not an image (not a tar archive); imgscope reads`);
    expect(plain.message).not.toContain('\n');

    const other = await new ImageFiles().add('README', 'hi').writeTar(tempPath('other.tar'));
    const noImage = await failure(openLocalImage(other));
    expect(noImage.code).toBe('BAD_INPUT');
    expect(noImage.message).toContain(`${other} is not an image (no oci-layout or manifest.json inside)`);
    const named = await failure(openLocalImage(`docker-archive:${other}`));
    expect(named.message).toContain(`docker-archive:${other} is not an image (no manifest.json)`);

    const pipe = tempPath('saved.fifo');
    execFileSync('mkfifo', [pipe]);
    const piped = await failure(openLocalImage(pipe));
    expect(piped.code).toBe('BAD_INPUT');
    expect(piped.message).toBe(`${pipe} is a pipe; imgscope reads image archives from files`);
    expect(piped.hint).toContain('docker save -o image.tar');

    const absent = await failure(openLocalImage(`oci-archive:${tempPath('absent.tar')}:v1`));
    expect(absent.code).toBe('NOT_FOUND');
    expect(absent.message).toMatch(/absent\.tar: no such file or directory$/);
  });
});

describe('an archive with no image in it', () => {
  it('is refused alike as docker-archive and oci-archive, naming the archive and how to save it again', async () => {
    const docker = tempPath('empty-save.tar');
    await new ImageFiles().add('manifest.json', '[]').writeTar(docker);
    const oci = tempPath('empty-layout.tar');
    const layout = new ImageFiles()
      .add('oci-layout', '{"imageLayoutVersion":"1.0.0"}')
      .add('index.json', '{"schemaVersion":2,"manifests":[]}');
    await layout.writeTar(oci);
    const fromDocker = await failure(openLocalImage(docker));
    const fromOci = await failure(openLocalImage(`oci-archive:${oci}`));
    expect([fromDocker.message, fromDocker.hint]).toEqual([
      `${docker} holds no image: its manifest.json lists none`,
      `save the image into it again: docker save -o ${docker} NAME`,
    ]);
    expect([fromOci.message, fromOci.hint]).toEqual([
      `oci-archive:${oci} holds no image: its index.json lists none`,
      `save the image into it again: skopeo copy … oci-archive:${oci}, or docker save -o ${oci} NAME`,
    ]);
    expect([fromDocker.code, fromDocker.exitCode]).toEqual([fromOci.code, fromOci.exitCode]);

    // The hint names the input as given, quoted for the shell, so it can be pasted.
    const directory = await layout.writeDirectory(tempPath('empty layout'));
    expect((await failure(openLocalImage(`oci:${directory}`))).hint).toBe(
      `save the image into it again: skopeo copy … 'oci:${directory}'`,
    );
    // An extracted save is a folder: docker's output is extracted into it.
    const extracted = tempPath('empty save');
    mkdirSync(extracted);
    writeFileSync(join(extracted, 'manifest.json'), '[]');
    expect((await failure(openLocalImage(extracted))).hint).toBe(
      `save the image into it again: docker save NAME | tar -x -C '${extracted}'`,
    );
    // No saving tool compresses: docker's output is piped through the archive's compressor.
    const compressed = tempPath('empty-save.tar.gz');
    writeFileSync(compressed, gzipSync(readFileSync(docker)));
    expect((await failure(openLocalImage(compressed))).hint).toBe(
      `save the image into it again: docker save NAME | gzip > ${compressed}`,
    );
  });

  it('keeps the :REF the user typed in the command that saves it again (not a position @N)', async () => {
    const layout = new ImageFiles()
      .add('oci-layout', '{"imageLayoutVersion":"1.0.0"}')
      .add('index.json', '{"schemaVersion":2,"manifests":[]}');
    const directory = await layout.writeDirectory(tempPath('empty-tagged-layout'));
    expect((await failure(openLocalImage(`oci:${directory}:v1`))).hint).toBe(
      `save the image into it again: skopeo copy … oci:${directory}:v1`,
    );
    expect((await failure(openLocalImage(`oci:${directory}:@0`))).hint).toBe(
      `save the image into it again: skopeo copy … oci:${directory}`,
    );
    const oci = tempPath('empty-tagged-layout.tar');
    await layout.writeTar(oci);
    expect((await failure(openLocalImage(`oci-archive:${oci}:v1`))).hint).toBe(
      `save the image into it again: skopeo copy … oci-archive:${oci}:v1, or docker save -o ${oci} NAME`,
    );
    const docker = tempPath('empty-tagged-save.tar');
    await new ImageFiles().add('manifest.json', '[]').writeTar(docker);
    expect((await failure(openLocalImage(`docker-archive:${docker}:app:v1`))).hint).toBe(
      `save the image into it again: docker save -o ${docker} app:v1`,
    );
  });
});

describe('a docker save whose manifest.json does not parse', () => {
  it('says to save the archive again, not to re-push it', async () => {
    const archive = tempPath('bad-manifest.tar');
    await new ImageFiles().add('manifest.json', Buffer.from('[{"Config":')).writeTar(archive);
    const error = await failure(openLocalImage(archive));
    expect(error.message).toMatch(/^.*: manifest\.json: not valid JSON \(/);
    expect(error.hint).toBe(
      'the image metadata is corrupt or not an OCI/Docker image; save the archive again with the tool that made it (docker save)',
    );
  });
});
