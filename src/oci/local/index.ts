import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ImgscopeError } from '../../errors.js';
import { parseReference } from '../../registry/reference.js';
import type { ImageSource, OpenOptions } from '../source.js';
import { CompressedTarFiles, isCompressedArchive } from './compressed-tar.js';
import {
  isDockerArchive,
  isPre110DockerSave,
  openDockerArchive,
  pre110DockerSave,
} from './docker-archive.js';
import { DirectoryFiles, type LocalFiles, notAnImage } from './files.js';
import { isLayout, openLayout } from './layout.js';
import { shellQuoted } from './magic.js';
import {
  formatLocalReference,
  isPlainlyPath,
  type LocalTransport,
  parseLocalReference,
  prefixedForms,
} from './reference.js';
import { TarArchiveFiles } from './tar-index.js';

export { isLocalReference, parseLocalReference, prefixedForms } from './reference.js';

/**
 * Opens an image on disk: `oci:DIR[:REF|:@N]`, `oci-archive:FILE[:REF|:@N]`,
 * `docker-archive:FILE[:NAME:TAG|:@N]`, or a bare path (`PATH[:@N]`) whose format is detected. Archives are indexed, never extracted.
 */
export async function openLocalImage(spec: string, options: OpenOptions = {}): Promise<ImageSource> {
  const { transport: named, path, ref } = parseLocalReference(spec);
  const given = named ? `${named}:${path}` : path;
  // A bare PATH:@N names a position only an image on disk has: no registry image to point to.
  const bare = !named && ref === undefined;
  const registryHint = bare ? pointToRegistry(path) : rethrow;
  const isDirectory = await statKind(path, given)
    .catch(bare ? toPrefixedForms(path) : rethrow)
    .catch(registryHint);
  if (named) requireShape(named, isDirectory, given, ref === undefined ? path : `${path}:${ref}`);
  const files: LocalFiles = isDirectory
    ? new DirectoryFiles(path, given)
    : await requireImageAtTop(await openArchiveFiles(path, given, options), path);
  try {
    return await openFiles(files, { named, path, ref, isDirectory, registryHint }, options);
  } catch (error) {
    // A compressed archive may hold paused decompressors from reading its metadata.
    await files.close?.();
    throw error;
  }
}

async function openFiles(
  files: LocalFiles,
  given: {
    named: LocalTransport | undefined;
    path: string;
    ref: string | undefined;
    isDirectory: boolean;
    registryHint: (error: unknown) => never;
  },
  options: OpenOptions,
): Promise<ImageSource> {
  const { named, path, ref, isDirectory, registryHint } = given;
  if (await isPre110DockerSave(files)) throw pre110DockerSave(files.location, path, isDirectory);
  if (named) await requireFormat(named, files, isDirectory, path);
  const transport = named ?? (await detectTransport(files, isDirectory).catch(registryHint));
  options.signal?.throwIfAborted();

  const reference = formatLocalReference(transport, path, ref);
  if (transport === 'docker-archive')
    return openDockerArchive(files, { reference, ref, signal: options.signal });
  return openLayout(files, {
    reference,
    kind: transport === 'oci' ? 'oci-layout' : 'oci-archive',
    dockerSave: await isDockerArchive(files),
    ref,
    platform: options.platform,
    signal: options.signal,
    warn: options.warn,
  });
}

/** An archive's members: indexed in place when it is plain tar, in a streaming pass when it is compressed. */
async function openArchiveFiles(path: string, given: string, options: OpenOptions): Promise<ArchiveFiles> {
  if (!(await isCompressedArchive(path, given))) return TarArchiveFiles.open(path, given);
  const { maxUncompressedBytes, signal, onIndexProgress } = options;
  return CompressedTarFiles.open(path, given, {
    maxUncompressedBytes,
    signal,
    onProgress: onIndexProgress && ((progress) => onIndexProgress(given, progress)),
  });
}

type ArchiveFiles = LocalFiles & { paths(): string[] };

/** What every image archive has at its top: a layout, a docker save, or a save from before Docker 1.10. */
const TOP_LEVEL_MARKERS = ['oci-layout', 'index.json', 'manifest.json', 'repositories'];

/**
 * `tar -cf image.tar out` of a layout or an extracted save puts the image one folder down, where no
 * reader (imgscope, skopeo, docker load) looks: say where it is rather than only "not an image".
 */
async function requireImageAtTop(files: ArchiveFiles, path: string): Promise<ArchiveFiles> {
  for (const marker of TOP_LEVEL_MARKERS) if ((await files.size(marker)) !== undefined) return files;
  const members = new Set(files.paths());
  // An OCI layout, or a docker save (manifest.json beside repositories): a manifest.json alone may be a
  // web app's, in a tarball that holds no image at all.
  const holdsImage = (folder: string): boolean =>
    members.has(`${folder}/oci-layout`) ||
    (members.has(`${folder}/manifest.json`) && members.has(`${folder}/repositories`));
  const folders = [...members]
    .flatMap((member) => /^(.+)\/(?:oci-layout|manifest\.json)$/.exec(member)?.[1] ?? [])
    .filter(holdsImage);
  // The shallowest: `tar -cf image.tar /abs/out` stores `abs/out/oci-layout`.
  const folder = folders.sort((a, b) => a.split('/').length - b.split('/').length)[0];
  if (folder === undefined) return files;
  // tar strips the leading / of `tar -cf image.tar /abs/out`: the folder is /abs/out, not ./abs/out.
  const onDisk = !existsSync(folder) && existsSync(`/${folder}`) ? `/${folder}` : folder;
  throw new ImgscopeError(
    'BAD_INPUT',
    `${files.location} holds an image in its folder ${folder}/, not at the top of the archive`,
    {
      hint: `archive the folder's contents instead (tar -C ${shellQuoted(onDisk)} -cf ${shellQuoted(path)} .), or extract the archive and name the folder`,
    },
  );
}

/** True for a directory, false for a file; NOT_FOUND when there is nothing at the path. */
async function statKind(path: string, given: string): Promise<boolean> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') {
      throw new ImgscopeError('NOT_FOUND', `${given}: no such file or directory`, {
        hint: 'check the path; images on disk are OCI layout directories or tar archives',
        cause: error,
      });
    }
    throw new ImgscopeError('BAD_INPUT', `${given}: cannot read it (${error.code ?? error.message})`, {
      hint: 'check the permissions of the path',
      cause: error,
    });
  });
  if (info.isDirectory()) return true;
  if (info.isFile()) return false;
  if (info.isFIFO()) {
    // `imgscope check <(docker save app)`: an archive is indexed and read at offsets, which a pipe cannot do.
    throw new ImgscopeError('BAD_INPUT', `${given} is a pipe; imgscope reads image archives from files`, {
      hint: 'save the image to a file first: docker save -o image.tar NAME, then imgscope … image.tar',
    });
  }
  throw notAnImage(given, 'neither a file nor a directory');
}

/** An OCI layout wins over manifest.json: modern `docker save` writes both, and the layout has real digests. */
async function detectTransport(files: LocalFiles, isDirectory: boolean): Promise<LocalTransport> {
  const layout = isDirectory ? 'oci' : 'oci-archive';
  if (await isLayout(files)) return layout;
  if (await isDockerArchive(files)) return 'docker-archive';
  // An oci-layout without its index.json: the layout reader names the missing file. An index.json
  // without oci-layout: read as a layout, with a warning, as skopeo and crane read it.
  if ((await files.size('oci-layout')) !== undefined || (await files.size('index.json')) !== undefined)
    return layout;
  throw notAnImage(
    files.location,
    isDirectory ? 'no oci-layout or manifest.json in it' : 'no oci-layout or manifest.json inside',
  );
}

function isRegistryReference(spec: string): boolean {
  try {
    parseReference(spec);
    return true;
  } catch {
    return false;
  }
}

const rethrow = (error: unknown): never => {
  throw error;
};

/** `fixtures/demo:v1`, missing, where `fixtures/demo` is a layout: only its prefixed form takes a ref. */
function toPrefixedForms(spec: string): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof ImgscopeError) || error.code !== 'NOT_FOUND') throw error;
    const forms = prefixedForms(spec);
    if (!forms) throw error;
    throw new ImgscopeError('NOT_FOUND', error.message, {
      hint: `name it with its prefix, ${forms}`,
      cause: error,
    });
  };
}

/**
 * A bare `redis` read as the folder ./redis because one exists, or `bitnami/redis:7` read as a path
 * because a folder ./bitnami exists — and no image there: the user may well have meant the registry
 * image, so the error says how to name it.
 */
function pointToRegistry(spec: string): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof ImgscopeError) || isPlainlyPath(spec)) throw error;
    if (error.code !== 'NOT_FOUND' && error.code !== 'BAD_INPUT') throw error;
    // `App.tar:1`, `MyApp`: no registry image can have that name (repositories are lowercase).
    if (!isRegistryReference(spec)) throw error;
    throw new ImgscopeError(error.code, error.message, {
      hint: `for the registry image of that name write docker://${spec}; for a local image ${error.hint}`,
      cause: error,
    });
  };
}

/** A transport prefix that names the other format: the image is there, so say which prefix reads it. */
async function requireFormat(
  named: LocalTransport,
  files: LocalFiles,
  isDirectory: boolean,
  path: string,
): Promise<void> {
  const wantsLayout = named !== 'docker-archive';
  if (wantsLayout && !(await isLayout(files)) && (await isDockerArchive(files))) {
    throw new ImgscopeError(
      'BAD_INPUT',
      `${files.location} is a docker save archive (manifest.json), not an OCI layout`,
      {
        hint: `read it as ${shellQuoted(`docker-archive:${path}`)}, or give the bare path: the format is detected`,
      },
    );
  }
  if (!wantsLayout && !(await isDockerArchive(files)) && (await isLayout(files))) {
    throw new ImgscopeError(
      'BAD_INPUT',
      `${files.location} is an OCI layout (oci-layout, index.json), not a docker save archive`,
      {
        hint: `read it as ${shellQuoted(`${isDirectory ? 'oci' : 'oci-archive'}:${path}`)}, or give the bare path: the format is detected`,
      },
    );
  }
}

/** `named` given a folder where it reads a file, or the reverse; `spec` is the input after its prefix, ref and all. */
function requireShape(named: LocalTransport, isDirectory: boolean, given: string, spec: string): void {
  if (named === 'oci' && !isDirectory) {
    throw new ImgscopeError('BAD_INPUT', `${given} is a file, but oci: names a layout directory`, {
      hint: `for a tar file of an OCI layout use ${shellQuoted(`oci-archive:${spec}`)}`,
    });
  }
  if (named === 'oci-archive' && isDirectory) {
    throw new ImgscopeError('BAD_INPUT', `${given} is a directory, but oci-archive: names a tar file`, {
      hint: `for an OCI layout directory use ${shellQuoted(`oci:${spec}`)}`,
    });
  }
}
