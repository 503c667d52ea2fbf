import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addOciImage,
  type Descriptor,
  hexOf,
  ImageFiles,
  makeTempDir,
  OCI,
  setLayoutIndex,
  writeTar,
} from '../../../test/helpers/image-files.js';
import { ImgscopeError, type PlatformNotFoundError } from '../../errors.js';
import { indexPlatformsOf } from '../../policy/facts.js';
import { sha256Digest } from '../digest.js';
import { formatPlatform } from '../platform.js';
import type { ImageSource } from '../source.js';
import { openLocalImage } from './index.js';

let temp: { path: string; remove: () => Promise<void> };
let counter = 0;
beforeAll(async () => {
  temp = await makeTempDir('layout');
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

async function readAll(source: ImageSource, descriptor: Descriptor): Promise<Buffer> {
  return buffer(await source.openBlob(descriptor));
}

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };

/** A layout whose one index.json entry is a multi-platform index (amd64, arm64, an attestation). */
async function multiPlatformLayout() {
  const files = new ImageFiles();
  const amdImage = await addOciImage(files, amd64);
  const armImage = await addOciImage(files, arm64);
  const attestation = {
    ...(await addOciImage(files, amd64)),
    platform: { os: 'unknown', architecture: 'unknown' },
  };
  const manifests = [amdImage, armImage, attestation].map(({ mediaType, digest, size, platform }) => ({
    mediaType,
    digest,
    size,
    platform,
  }));
  const index = files.blob({ schemaVersion: 2, mediaType: OCI.index, manifests }, OCI.index);
  setLayoutIndex(files, [{ ...index, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }]);
  return { files, index, amdImage, armImage };
}

describe('OCI layout directories (oci:DIR)', () => {
  it('selects linux/amd64 from a multi-platform index by default and fills the index', async () => {
    const { files, index, amdImage } = await multiPlatformLayout();
    const dir = await files.writeDirectory(tempPath('multi'));
    const source = await openLocalImage(`oci:${dir}`);
    expect(source.kind).toBe('oci-layout');
    expect(source.reference).toBe(`oci:${dir}`);
    expect(source.digest).toBe(amdImage.digest);
    expect(source.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(source.index?.digest).toBe(index.digest);
    expect(source.index?.manifests.map((m) => m.platform?.architecture)).toEqual([
      'amd64',
      'arm64',
      'unknown',
    ]);
    expect(source.layers).toEqual([amdImage.layer]);
    expect((await readAll(source, source.layers[0]!)).length).toBe(amdImage.layer.size);
    await source.close();
    await source.close();
  });

  it('selects the platform asked for, normalising the config platform', async () => {
    const { files, armImage } = await multiPlatformLayout();
    const dir = await files.writeDirectory(tempPath('multi'));
    const source = await openLocalImage(`oci:${dir}:v1`, {
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(source.reference).toBe(`oci:${dir}:v1`);
    expect(source.digest).toBe(armImage.digest);
    expect(source.platform).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(source.config.architecture).toBe('arm64');
  });

  it('names the platforms an index has when the wanted one is absent', async () => {
    const { files } = await multiPlatformLayout();
    const dir = await files.writeDirectory(tempPath('multi'));
    const error = await failure(openLocalImage(dir, { platform: { os: 'linux', architecture: 's390x' } }));
    expect(error.code).toBe('PLATFORM');
    expect(error.message).toContain('no linux/s390x image; the index has linux/amd64, linux/arm64');
  });

  it('says which platforms are present when a saved index lacks the chosen platform blobs', async () => {
    const { files, amdImage } = await multiPlatformLayout();
    const dir = await files.writeDirectory(tempPath('partial'));
    rmSync(join(dir, 'blobs/sha256', hexOf(amdImage.digest)));
    const error = await failure(openLocalImage(`oci:${dir}`));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('the linux/amd64 image');
    expect(error.message).toContain('present: linux/arm64');
  });

  it('leaves an attestation out of the platforms present, as --platform cannot pick it', async () => {
    const { files, armImage } = await multiPlatformLayout();
    const dir = await files.writeDirectory(tempPath('attested'));
    rmSync(join(dir, 'blobs/sha256', hexOf(armImage.digest)));
    const error = await failure(openLocalImage(dir, { platform: { os: 'linux', architecture: 'arm64' } }));
    expect(error.message).toMatch(/is listed but its blobs are missing; present: linux\/amd64$/);
  });

  it('takes the single image of a layout whatever its platform; platform checks are policy', async () => {
    const files = new ImageFiles();
    setLayoutIndex(files, [await addOciImage(files, { os: 'linux', architecture: 'riscv64' })]);
    const source = await openLocalImage(await files.writeDirectory(tempPath('single')));
    expect(source.kind).toBe('oci-layout');
    expect(source.platform.architecture).toBe('riscv64');
    expect(source.index).toBeUndefined();
  });

  it('fails a tampered layer while streaming it, with DIGEST_MISMATCH', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    setLayoutIndex(files, [image]);
    const dir = await files.writeDirectory(tempPath('tampered'));
    const layerFile = join(dir, 'blobs/sha256', hexOf(image.layer.digest));
    const bytes = readFileSync(layerFile);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(layerFile, bytes);
    const source = await openLocalImage(`oci:${dir}`);
    const error = await failure(readAll(source, source.layers[0]!));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.message).toContain(`layer 1/1 (${image.layer.digest.slice(0, 19)}) of oci:${dir}`);
    expect(error.hint).toMatch(/; write the layout again with the tool that made it/);
    expect(error.hint).not.toMatch(/push/);
  });

  it('fails a tampered config at open', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    setLayoutIndex(files, [image]);
    const dir = await files.writeDirectory(tempPath('bad-config'));
    const configFile = join(dir, 'blobs/sha256', hexOf(image.config.digest));
    writeFileSync(configFile, readFileSync(configFile, 'utf8').replace('amd64', 'arm64'));
    const error = await failure(openLocalImage(`oci:${dir}`));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.message).toContain('config of oci:');
    expect(error.hint).toMatch(/; write the layout again with the tool that made it/);
  });

  it('reports a missing layer blob as NOT_FOUND naming the blob, when it is read', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    setLayoutIndex(files, [image]);
    const dir = await files.writeDirectory(tempPath('missing'));
    rmSync(join(dir, 'blobs/sha256', hexOf(image.layer.digest)));
    const source = await openLocalImage(`oci:${dir}`);
    const error = await failure(source.openBlob(source.layers[0]!));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe(
      `oci:${dir}: blob ${image.layer.digest} is missing (blobs/sha256/${hexOf(image.layer.digest)})`,
    );
  });

  it('says a folder stands where a blob should be, in a layout directory and in an archive, not "missing"', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    setLayoutIndex(files, [image]);
    const manifestPath = `blobs/sha256/${hexOf(image.digest)}`;
    const dir = await files.writeDirectory(tempPath('folder-blob'));
    rmSync(join(dir, manifestPath));
    mkdirSync(join(dir, manifestPath));
    const inDirectory = await failure(openLocalImage(`oci:${dir}`));
    expect(inDirectory.code).toBe('BAD_INPUT');
    expect(inDirectory.message).toBe(`oci:${dir}: "${manifestPath}" is a directory, not a file`);
    expect(inDirectory.hint).toBe('the image is damaged: remove it and save or copy the image again');

    files.files.delete(manifestPath);
    const file = tempPath('folder-blob.tar');
    await writeTar(file, [...files.entries(), { name: manifestPath, type: 'directory' }]);
    const inArchive = await failure(openLocalImage(file));
    expect(inArchive.message).toBe(`${file}: "${manifestPath}" is a directory, not a file`);
  });

  it('names a missing foreign layer (with urls) as such, not as a copy to redo', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    setLayoutIndex(files, [image]);
    const dir = await files.writeDirectory(tempPath('foreign'));
    rmSync(join(dir, 'blobs/sha256', hexOf(image.layer.digest)));
    const source = await openLocalImage(`oci:${dir}`);
    const foreign = { ...source.layers[0]!, urls: ['https://mcr.microsoft.com/v2/windows/blobs/x'] };
    const error = await failure(source.openBlob(foreign));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toBe(
      `oci:${dir}: blob ${image.layer.digest} is a non-distributable (foreign) layer the layout does not hold; it is downloaded from the URLs in its descriptor`,
    );
    expect(error.hint).toContain('--no-layers');
  });

  it('shows the outermost of nested indexes, as for a registry image', async () => {
    const files = new ImageFiles();
    const amdImage = await addOciImage(files, amd64);
    const armImage = await addOciImage(files, arm64);
    const inner = files.blob(
      { schemaVersion: 2, mediaType: OCI.index, manifests: [amdImage, armImage] },
      OCI.index,
    );
    const outer = files.blob(
      { schemaVersion: 2, mediaType: OCI.index, manifests: [{ ...inner, platform: amd64 }] },
      OCI.index,
    );
    setLayoutIndex(files, [outer]);
    const source = await openLocalImage(await files.writeDirectory(tempPath('nested-outer')));
    expect(source.digest).toBe(amdImage.digest);
    expect(source.index?.digest).toBe(outer.digest);
    expect(source.index?.selected?.digest).toBe(inner.digest);
  });

  it('searches every nested index without a platform, and names the outer index when none has it', async () => {
    const files = new ImageFiles();
    const s390x = { os: 'linux', architecture: 's390x' };
    const amdImage = await addOciImage(files, amd64);
    const s390xImage = await addOciImage(files, s390x);
    const armImage = await addOciImage(files, arm64);
    const platformless = (image: Descriptor) =>
      files.blob({ schemaVersion: 2, mediaType: OCI.index, manifests: [image] }, OCI.index);
    const outer = files.blob(
      {
        schemaVersion: 2,
        mediaType: OCI.index,
        manifests: [amdImage, platformless(s390xImage), platformless(armImage)],
      },
      OCI.index,
    );
    setLayoutIndex(files, [outer]);
    const dir = await files.writeDirectory(tempPath('platformless'));
    const source = await openLocalImage(dir, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(source.digest).toBe(armImage.digest);
    expect(source.index?.digest).toBe(outer.digest);
    // The report lists the platforms found, not only those the outer index names.
    const all = ['linux/amd64', 'linux/s390x', 'linux/arm64'];
    expect(indexPlatformsOf(source.index!).map(formatPlatform)).toEqual(all);
    // Found before the search reached every nested index: those it did not need are listed too.
    for (const platform of [amd64, s390x]) {
      const found = await openLocalImage(dir, { platform });
      expect(indexPlatformsOf(found.index!).map(formatPlatform)).toEqual(all);
    }

    const error = await failure(openLocalImage(dir, { platform: { os: 'linux', architecture: 'ppc64le' } }));
    expect(error.message).toBe(
      `${dir}: index ${outer.digest}: no linux/ppc64le image; the index has linux/amd64, linux/s390x, linux/arm64`,
    );
    expect((error as PlatformNotFoundError).index.digest).toBe(outer.digest);
    expect(indexPlatformsOf((error as PlatformNotFoundError).index).map(formatPlatform)).toEqual(all);
  });

  it('accepts indexes nested four deep and refuses a fifth level', async () => {
    const files = new ImageFiles();
    let top: Descriptor = await addOciImage(files, amd64);
    const wrap = (inner: Descriptor): Descriptor =>
      files.blob(
        { schemaVersion: 2, mediaType: OCI.index, manifests: [{ ...inner, platform: amd64 }] },
        OCI.index,
      );
    for (let level = 0; level < 4; level++) top = wrap(top);
    setLayoutIndex(files, [top]);
    const four = await openLocalImage(await files.writeDirectory(tempPath('nested4')));
    expect(four.index?.manifests).toHaveLength(1);
    setLayoutIndex(files, [wrap(top)]);
    const error = await failure(openLocalImage(await files.writeDirectory(tempPath('nested5'))));
    expect(error.code).toBe('MALFORMED');
    expect(error.message).toContain('indexes nest deeper than 4 levels');
  });

  it('stops at an index that points at itself: its bytes cannot hash to their own name', async () => {
    const files = new ImageFiles();
    const selfDigest = `sha256:${'e'.repeat(64)}` as const;
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI.index,
        manifests: [{ mediaType: OCI.index, digest: selfDigest, size: 0, platform: amd64 }],
      }),
    );
    // The size must match to reach the digest check; the digest names the index itself.
    files.add(`blobs/sha256/${'e'.repeat(64)}`, body);
    setLayoutIndex(files, [{ mediaType: OCI.index, digest: selfDigest, size: body.length }]);
    const error = await failure(openLocalImage(await files.writeDirectory(tempPath('self'))));
    expect(error.code).toBe('DIGEST_MISMATCH');
  });

  it('refuses a config that does not name one diff_id per layer, as docker and containerd refuse to unpack it', async () => {
    const files = new ImageFiles();
    const layers = [files.blob(randomBytes(100), OCI.layer), files.blob(randomBytes(100), OCI.layer)];
    const config = files.blob(
      { ...amd64, rootfs: { type: 'layers', diff_ids: [layers[0]!.digest] } },
      OCI.config,
    );
    setLayoutIndex(files, [files.blob({ schemaVersion: 2, config, layers }, OCI.manifest)]);
    const dir = await files.writeDirectory(tempPath('one-diff-id'));
    const error = await failure(openLocalImage(dir));
    expect(error.code).toBe('MALFORMED');
    expect(error.message).toBe(
      `oci:${dir}: the manifest has 2 layers but the config's rootfs.diff_ids has 1`,
    );
    expect(error.hint).toBe('docker and containerd refuse to unpack such an image; rebuild it');
  });

  it('says a blob it cannot reach is unreadable, not missing', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    setLayoutIndex(files, [image]);
    const dir = await files.writeDirectory(tempPath('unreachable'));
    const blob = join(dir, 'blobs', 'sha256', hexOf(image.layer.digest));
    rmSync(blob);
    symlinkSync(blob, blob);
    const source = await openLocalImage(dir);
    const error = await failure(readAll(source, source.layers[0]!));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toBe(`${dir}: cannot read "blobs/sha256/${hexOf(image.layer.digest)}" (ELOOP)`);
    expect(error.hint).toBe('a symbolic link on the way leads back to itself; copy the image again');
  });

  it.skipIf(process.getuid?.() === 0)(
    'says a blob in a folder it may not search is unreadable (EACCES), not missing',
    async () => {
      const files = new ImageFiles();
      const image = await addOciImage(files, amd64);
      setLayoutIndex(files, [image]);
      const dir = await files.writeDirectory(tempPath('unsearchable'));
      const source = await openLocalImage(dir);
      chmodSync(join(dir, 'blobs', 'sha256'), 0o644);
      try {
        const error = await failure(readAll(source, source.layers[0]!));
        expect(error.message).toContain('(EACCES)');
        expect(error.hint).toBe('check the permissions of the image files');
      } finally {
        chmodSync(join(dir, 'blobs', 'sha256'), 0o755);
      }
    },
  );

  it('refuses a directory that is not a layout, naming the path and what imgscope reads', async () => {
    const dir = await new ImageFiles().add('README', 'hello').writeDirectory(tempPath('not-layout'));
    const error = await failure(openLocalImage(dir));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toBe(
      `${dir} is not an image (no oci-layout or manifest.json in it); imgscope reads OCI layout directories, OCI archives and docker save or kaniko tarballs`,
    );
    const named = await failure(openLocalImage(`oci:${dir}`));
    expect(named.code).toBe('BAD_INPUT');
    expect(named.message).toContain(`oci:${dir} is not an image (no oci-layout or index.json file)`);
  });

  it('reads a layout without its oci-layout file, as skopeo and crane do, with one warning', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    setLayoutIndex(files, [image]).files.delete('oci-layout');
    const dir = await files.writeDirectory(tempPath('no-oci-layout'));
    const file = await files.writeTar(tempPath('no-oci-layout.tar'));
    for (const spec of [dir, `oci:${dir}`, file, `oci-archive:${file}`]) {
      const warnings: string[] = [];
      const source = await openLocalImage(spec, { warn: (message) => warnings.push(message) });
      expect(source.digest).toBe(image.digest);
      expect(warnings).toEqual([
        `${spec} has no oci-layout file, which the OCI layout spec requires; reading it from index.json, as skopeo and crane do`,
      ]);
    }
  });

  it('names index.json as what is missing from a layout given as a bare path, not the oci-layout it has', async () => {
    const files = new ImageFiles();
    await addOciImage(files, amd64);
    setLayoutIndex(files, []).files.delete('index.json');
    for (const path of [
      await files.writeDirectory(tempPath('no-index')),
      await files.writeTar(tempPath('no-index.tar')),
    ]) {
      const error = await failure(openLocalImage(path));
      expect(error.code).toBe('NOT_FOUND');
      expect(error.message).toMatch(/: "index\.json" is missing$/);
    }
  });
  it('does not quote the start of a file a crafted layout links its index.json to', async () => {
    const files = new ImageFiles();
    await addOciImage(files, amd64);
    const dir = await setLayoutIndex(files, []).writeDirectory(tempPath('linked-index'));
    const secret = tempPath('secret-token');
    writeFileSync(secret, 'ghp_SECRETTOKEN1234567890');
    rmSync(join(dir, 'index.json'));
    symlinkSync(secret, join(dir, 'index.json'));
    const error = await failure(openLocalImage(dir));
    expect(error.code).toBe('MALFORMED');
    expect(error.message).toContain("not valid JSON (Unexpected token 'g')");
    expect(error.message).not.toContain('SECRET');
  });
});

describe('OCI archives (oci-archive:FILE[:REF])', () => {
  /** Two entries: v1 a multi-platform index, v2 a single arm64 image also named by containerd. */
  async function twoImageArchive() {
    const { files, index, amdImage } = await multiPlatformLayout();
    const single = await addOciImage(files, arm64);
    setLayoutIndex(files, [
      { ...index, annotations: { 'org.opencontainers.image.ref.name': 'v1' } },
      {
        ...single,
        annotations: {
          'org.opencontainers.image.ref.name': 'v2',
          'io.containerd.image.name': 'docker.io/library/app:v2',
        },
      },
    ]);
    return { file: await files.writeTar(tempPath('two.tar')), single, amdImage };
  }

  it('selects an image by its ref name or its containerd image name', async () => {
    const { file, single, amdImage } = await twoImageArchive();
    const byRef = await openLocalImage(`oci-archive:${file}:v2`);
    expect(byRef.kind).toBe('oci-archive');
    expect(byRef.digest).toBe(single.digest);
    expect(byRef.index).toBeUndefined();
    expect((await readAll(byRef, byRef.layers[0]!)).length).toBe(single.layer.size);
    expect((await openLocalImage(`oci-archive:${file}:app:v2`)).digest).toBe(single.digest);
    expect((await openLocalImage(`oci-archive:${file}:docker.io/library/app:v2`)).digest).toBe(single.digest);
    const multi = await openLocalImage(`oci-archive:${file}:v1`);
    expect(multi.digest).toBe(amdImage.digest);
    expect(multi.index).toBeDefined();
  });

  it('lists the refs and platforms when the image is ambiguous or the ref unknown', async () => {
    const { file } = await twoImageArchive();
    const ambiguous = await failure(openLocalImage(file));
    expect(ambiguous.code).toBe('PLATFORM');
    expect(ambiguous.message).toContain(
      'holds 2 images and none for linux/amd64: v1 (no platform), v2 (docker.io/library/app:v2, linux/arm64)',
    );
    expect(ambiguous.hint).toBe(
      `name one with oci-archive:${file}:REF, or choose with --platform os/arch[/variant]`,
    );
    const unknown = await failure(openLocalImage(`oci-archive:${file}:v3`));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toBe(
      `oci-archive:${file} has no image named "v3"; it has v1 (no platform), v2 (docker.io/library/app:v2, linux/arm64)`,
    );
  });

  it('asks for a ref, not a platform, when no entry of several names its platform', async () => {
    const files = new ImageFiles();
    const first = await addOciImage(files, amd64);
    const second = await addOciImage(files, arm64);
    const unplatformed = ({ mediaType, digest, size }: Descriptor, name: string) => ({
      mediaType,
      digest,
      size,
      annotations: { 'org.opencontainers.image.ref.name': name },
    });
    setLayoutIndex(files, [unplatformed(first, 'a'), unplatformed(second, 'b')]);
    const dir = await files.writeDirectory(tempPath('two-unnamed-platforms'));
    const error = await failure(openLocalImage(dir));
    expect(error.code).toBe('BAD_INPUT');
    expect(error.message).toBe(`${dir} holds 2 images: a (no platform), b (no platform)`);
    expect(error.hint).toBe(`name one with oci:${dir}:REF`);
    expect((await openLocalImage(`oci:${dir}:b`)).digest).toBe(second.digest);
  });

  it('selects an untagged image by its position, @N, as skopeo does, and lists unnamed images so', async () => {
    const files = new ImageFiles();
    const first = await addOciImage(files, amd64);
    const second = await addOciImage(files, arm64);
    const bare = ({ mediaType, digest, size }: Descriptor) => ({ mediaType, digest, size });
    const sha512 = { mediaType: OCI.manifest, digest: `sha512:${'a'.repeat(128)}`, size: 10 };
    setLayoutIndex(files, [bare(first), sha512 as unknown as Descriptor, bare(second)]);
    const dir = await files.writeDirectory(tempPath('untagged'));
    const ambiguous = await failure(openLocalImage(dir));
    expect(ambiguous.message).toBe(
      `${dir} holds 2 images: @0 ${first.digest.slice(0, 19)} (no platform), @2 ${second.digest.slice(0, 19)} (no platform)`,
    );
    expect(ambiguous.hint).toBe(`name one with oci:${dir}:@N for the Nth (from @0)`);
    expect((await openLocalImage(`oci:${dir}:@0`)).digest).toBe(first.digest);
    expect((await openLocalImage(`oci:${dir}:@2`)).digest).toBe(second.digest);
    expect((await failure(openLocalImage(`oci:${dir}:@1`))).code).toBe('UNSUPPORTED');
    const beyond = await failure(openLocalImage(`oci:${dir}:@3`));
    expect(beyond.code).toBe('NOT_FOUND');
    expect(beyond.message).toBe(`oci:${dir} has no image @3: index.json lists 3 (@0 to @2)`);
    // Echoed as typed: not rounded past 2^53, not taken for a name or a registry image when negative.
    for (const position of ['@99999999999999999999', '@-1']) {
      for (const spec of [`oci:${dir}:${position}`, `${dir}:${position}`]) {
        const none = await failure(openLocalImage(spec));
        expect(none.message, spec).toMatch(` has no image ${position}: index.json lists 3 (@0 to @2)`);
      }
    }
    const file = await files.writeTar(tempPath('untagged.tar'));
    expect((await openLocalImage(`oci-archive:${file}:@2`)).digest).toBe(second.digest);
  });

  it('refuses an image named by a sha512 digest when its ref selects it, rather than calling it absent', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    const sha512 = {
      mediaType: OCI.manifest,
      digest: `sha512:${'a'.repeat(128)}`,
      size: 10,
      annotations: { 'org.opencontainers.image.ref.name': 'strong' },
    };
    setLayoutIndex(files, [sha512 as unknown as Descriptor, image]);
    const dir = await files.writeDirectory(tempPath('sha512-named'));
    const error = await failure(openLocalImage(`oci:${dir}:strong`));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.message).toBe(
      `oci:${dir}: image "strong" is named by the digest ${sha512.digest}, which imgscope cannot verify (it reads sha256 only)`,
    );
    expect((await openLocalImage(dir)).digest).toBe(image.digest);
  });

  it('lists images that share a ref name (docker save a:latest b:latest) by their full names', async () => {
    const files = new ImageFiles();
    const alpine = await addOciImage(files, amd64);
    const busybox = await addOciImage(files, arm64);
    const saved = ({ mediaType, digest, size }: Descriptor, name: string) => ({
      mediaType,
      digest,
      size,
      annotations: {
        'io.containerd.image.name': `docker.io/library/${name}:latest`,
        'org.opencontainers.image.ref.name': 'latest',
      },
    });
    setLayoutIndex(files, [saved(alpine, 'alpine'), saved(busybox, 'busybox')]);
    const file = await files.writeTar(tempPath('docker-save-two.tar'));
    const listing =
      'docker.io/library/alpine:latest (no platform), docker.io/library/busybox:latest (no platform)';
    expect((await failure(openLocalImage(file))).message).toBe(`${file} holds 2 images: ${listing}`);
    const byTag = await failure(openLocalImage(`oci-archive:${file}:latest`));
    expect(byTag.message).toBe(`oci-archive:${file} holds 2 images named "latest": ${listing}`);
    const chosen = await openLocalImage(`oci-archive:${file}:docker.io/library/busybox:latest`);
    expect(chosen.digest).toBe(busybox.digest);
  });

  it('lists the images of a Docker 25+ save (docker save app:1 other:2) with the image each tag is of', async () => {
    const files = new ImageFiles();
    const app = await addOciImage(files, amd64);
    const other = await addOciImage(files, arm64);
    const saved = ({ mediaType, digest, size }: Descriptor, name: string, tag: string) => ({
      mediaType,
      digest,
      size,
      annotations: {
        'io.containerd.image.name': `docker.io/library/${name}:${tag}`,
        'org.opencontainers.image.ref.name': tag,
      },
    });
    setLayoutIndex(files, [saved(app, 'app', '1'), saved(other, 'other', '2')]);
    const file = await files.writeTar(tempPath('docker-save-tags.tar'));
    expect((await failure(openLocalImage(file))).message).toBe(
      `${file} holds 2 images: 1 (docker.io/library/app:1, no platform), 2 (docker.io/library/other:2, no platform)`,
    );
    expect((await openLocalImage(`oci-archive:${file}:2`)).digest).toBe(other.digest);
  });

  it('picks among several images by platform when their index entries carry one', async () => {
    const files = new ImageFiles();
    const amdImage = await addOciImage(files, amd64);
    const armImage = await addOciImage(files, arm64);
    setLayoutIndex(files, [amdImage, armImage]);
    const file = await files.writeTar(tempPath('by-platform.tar'));
    expect((await openLocalImage(file)).digest).toBe(amdImage.digest);
    const arm = await openLocalImage(file, { platform: { os: 'linux', architecture: 'arm64' } });
    expect(arm.digest).toBe(armImage.digest);
    // Such an index.json is the image's index (go-containerregistry writes one so), listed as a nested one is.
    expect(arm.index?.digest).toBe(sha256Digest(files.files.get('index.json') as Buffer));
    expect(arm.index?.manifests.map((m) => m.digest)).toEqual([amdImage.digest, armImage.digest]);
  });

  it('prefers the exact platform to one the wanted platform also runs (amd64 over 386)', async () => {
    const files = new ImageFiles();
    const amdImage = await addOciImage(files, amd64);
    const i386Image = await addOciImage(files, { os: 'linux', architecture: '386' });
    setLayoutIndex(files, [amdImage, i386Image]);
    const file = await files.writeTar(tempPath('amd64-386.tar'));
    expect((await openLocalImage(file)).digest).toBe(amdImage.digest);
    const i386 = await openLocalImage(file, { platform: { os: 'linux', architecture: '386' } });
    expect(i386.digest).toBe(i386Image.digest);
  });

  it('names at most 20 entries when an index.json of thousands has none for the platform', async () => {
    const files = new ImageFiles();
    const images = [];
    for (let i = 0; i < 30; i++)
      images.push(await addOciImage(files, { os: 'linux', architecture: `riscv${i}` }));
    setLayoutIndex(files, images);
    const dir = tempPath('many-platforms');
    await files.writeDirectory(dir);
    const error = await failure(openLocalImage(dir, { platform: { os: 'linux', architecture: 'ppc64le' } }));
    expect(error.message).toMatch(
      /holds 30 images and none for linux\/ppc64le: @0 .*\(linux\/riscv19\) and 10 more$/,
    );
  });

  it('fails a truncated blob while streaming it, with SIZE_MISMATCH', async () => {
    const files = new ImageFiles();
    const image = await addOciImage(files, amd64);
    setLayoutIndex(files, [image]);
    const path = `blobs/sha256/${hexOf(image.layer.digest)}`;
    const stored = files.files.get(path) as Buffer;
    files.files.set(path, stored.subarray(0, stored.length - 10));
    const file = await files.writeTar(tempPath('truncated.tar'));
    const source = await openLocalImage(`oci-archive:${file}`);
    const error = await failure(readAll(source, source.layers[0]!));
    expect(error.code).toBe('SIZE_MISMATCH');
    expect(error.message).toContain(
      `${stored.length - 10} bytes, but its descriptor promises ${stored.length}`,
    );
    expect(error.hint).toBe(
      'the blob is truncated or the manifest is wrong; export the archive again with the tool that made it (skopeo copy, docker buildx --output type=oci)',
    );
  });

  it('releases the archive file when a reader stops early', async () => {
    const files = new ImageFiles();
    const layer = files.blob(randomBytes(4 * 1024 * 1024), OCI.layer);
    const config = files.blob({ ...amd64, rootfs: { type: 'layers', diff_ids: [layer.digest] } }, OCI.config);
    setLayoutIndex(files, [files.blob({ schemaVersion: 2, config, layers: [layer] }, OCI.manifest)]);
    const archive = await files.writeTar(tempPath('early.tar'));
    const source = await openLocalImage(archive);
    const openHandles = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === archive;
        } catch {
          return false; // closed between listing and reading
        }
      }).length;
    expect(openHandles()).toBe(0);
    const stream = await source.openBlob(source.layers[0]!);
    await new Promise((resolve) => stream.once('data', resolve));
    expect(openHandles()).toBe(1);
    stream.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(openHandles()).toBe(0);
  });

  it('refuses a directory given as oci-archive and a file given as oci', async () => {
    const files = new ImageFiles();
    setLayoutIndex(files, [await addOciImage(files, amd64)]);
    const dir = await files.writeDirectory(tempPath('dir'));
    const file = await files.writeTar(tempPath('file.tar'));
    // The hint names the input, its ref kept, so it can be pasted.
    expect((await failure(openLocalImage(`oci-archive:${dir}`))).hint).toBe(
      `for an OCI layout directory use oci:${dir}`,
    );
    expect((await failure(openLocalImage(`oci:${file}:v1`))).hint).toBe(
      `for a tar file of an OCI layout use oci-archive:${file}:v1`,
    );
  });

  it('says where the image is when the archive holds its folder (tar -cf image.tar out) rather than its contents', async () => {
    const files = new ImageFiles();
    setLayoutIndex(files, [await addOciImage(files, amd64)]);
    const inFolder = new ImageFiles();
    for (const [path, content] of files.files) inFolder.files.set(`out/${path}`, content);
    const file = await inFolder.writeTar(tempPath('folder.tar'));
    for (const spec of [file, `oci-archive:${file}`]) {
      const error = await failure(openLocalImage(spec));
      expect(error.code).toBe('BAD_INPUT');
      expect(error.message).toBe(`${spec} holds an image in its folder out/, not at the top of the archive`);
      expect(error.hint).toBe(
        `archive the folder's contents instead (tar -C out -cf ${file} .), or extract the archive and name the folder`,
      );
    }
    // `tar -cf image.tar /abs/out` stores abs/out/…: the folder to archive is /abs/out.
    const absolute = await files.writeDirectory(tempPath('absolute-out'));
    const stripped = new ImageFiles();
    for (const [path, content] of files.files) stripped.files.set(`${absolute.slice(1)}/${path}`, content);
    const fromRoot = await stripped.writeTar(tempPath('absolute.tar'));
    expect((await failure(openLocalImage(fromRoot))).hint).toBe(
      `archive the folder's contents instead (tar -C ${absolute} -cf ${fromRoot} .), or extract the archive and name the folder`,
    );
    // A web app's manifest.json in a folder is no image: the archive is simply not one.
    const web = await new ImageFiles()
      .add('site/public/manifest.json', { name: 'app' })
      .writeTar(tempPath('web.tar'));
    expect((await failure(openLocalImage(web))).message).toBe(
      `${web} is not an image (no oci-layout or manifest.json inside); imgscope reads OCI layout directories, OCI archives and docker save or kaniko tarballs`,
    );
  });
});

describe('a layout whose metadata does not parse', () => {
  it('says to write the layout or archive again, not to re-push it, for index.json and for a manifest blob', async () => {
    const layout = new ImageFiles()
      .add('oci-layout', '{"imageLayoutVersion":"1.0.0"}')
      .add('index.json', '{"schemaVersion":2}');
    const dir = await layout.writeDirectory(tempPath('bad-index'));
    const archive = await layout.writeTar(tempPath('bad-index.tar'));
    const fromDir = await openLocalImage(`oci:${dir}`).catch((error: ImgscopeError) => error);
    expect(fromDir).toMatchObject({
      code: 'MALFORMED',
      message: `oci:${dir}: index.json: index has no manifests array`,
      hint: 'the image metadata is corrupt or not an OCI/Docker image; write the layout again with the tool that made it (skopeo copy, docker buildx --output type=oci)',
    });
    const fromArchive = await openLocalImage(archive).catch((error: ImgscopeError) => error);
    expect((fromArchive as ImgscopeError).hint).toMatch(
      /; export the archive again with the tool that made it/,
    );

    const files = new ImageFiles().add('oci-layout', '{"imageLayoutVersion":"1.0.0"}');
    const manifest = files.blob({ schemaVersion: 2, layers: 'none' }, OCI.manifest);
    const withBadManifest = await setLayoutIndex(files, [manifest]).writeDirectory(tempPath('bad-manifest'));
    const fromManifest = await openLocalImage(withBadManifest).catch((error: ImgscopeError) => error);
    expect((fromManifest as ImgscopeError).hint).toMatch(
      /; write the layout again with the tool that made it/,
    );
  });
});

describe('an image a layout does not have', () => {
  it('is answered with a hint naming the input itself, not a PATH placeholder', async () => {
    const files = new ImageFiles().add('oci-layout', '{"imageLayoutVersion":"1.0.0"}');
    const image = await addOciImage(files, { os: 'linux', architecture: 'amd64' });
    const archive = await setLayoutIndex(files, [image]).writeTar(tempPath('one.tar'));
    const past = await openLocalImage(`${archive}:@3`).catch((error: ImgscopeError) => error);
    expect(past).toMatchObject({
      message: `${archive} has no image @3: index.json lists 1 (@0 to @0)`,
      hint: `name one of them: oci-archive:${archive}:@N`,
    });
    const named = await openLocalImage(`oci-archive:${archive}:v2`).catch((error: ImgscopeError) => error);
    expect((named as ImgscopeError).hint).toBe(
      `name one of them: oci-archive:${archive}:REF, or oci-archive:${archive}:@N for the Nth (from @0)`,
    );
  });
});
