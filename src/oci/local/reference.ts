import { existsSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { shellQuoted } from './magic.js';

export type LocalTransport = 'oci' | 'oci-archive' | 'docker-archive';

export const LOCAL_TRANSPORTS: readonly LocalTransport[] = ['oci', 'oci-archive', 'docker-archive'];

/** A local image reference split into its parts; `transport` is undefined for a bare path. */
export interface LocalReference {
  transport: LocalTransport | undefined;
  path: string;
  /** `:REF` of oci/oci-archive, `:NAME:TAG` of docker-archive. */
  ref: string | undefined;
}

function transportOf(spec: string): LocalTransport | undefined {
  return LOCAL_TRANSPORTS.find((transport) => spec.startsWith(`${transport}:`));
}

/**
 * skopeo's `:@N` (the Nth image of a layout or archive) after a bare path: no registry reference ends so,
 * since a tag cannot be empty and only a digest follows an `@`.
 */
const POSITION_SUFFIX = /^(.+):(@-?\d+)$/;

/**
 * Whether a spec names a local image: a transport prefix, or a path that exists. A bare `PATH:@N` is
 * local when PATH would be, by the same rules.
 */
export function isLocalReference(spec: string): boolean {
  if (transportOf(spec) !== undefined) return true;
  // The registry's own prefix: `docker://app.tar` is the repository app.tar, even though `app.tar` is a path.
  if (spec === '' || spec.startsWith('docker://')) return false;
  if (existsSync(spec) || looksLikePath(spec)) return true;
  const path = POSITION_SUFFIX.exec(spec)?.[1];
  if (path !== undefined) return existsSync(path) || looksLikePath(path);
  // `app.tar:v1` where app.tar is on disk: the archive, with a :TAG only the prefixed forms take, not a
  // registry repository named app.tar (reached with docker://app.tar:v1).
  const archive = TAG_SUFFIX.exec(spec)?.[1];
  return archive !== undefined && isPlainlyPath(archive) && existsSync(archive);
}

/** A trailing `:TAG` as a registry tag is written (`[\w][\w.-]*`). */
const TAG_SUFFIX = /^(.+):\w[\w.-]*$/;

/**
 * A spec no registry reference can be (`./x`, `/x`, `~/x`, `x.tar`), or whose first segment is a local
 * directory (`fixtures/missing`): read as a path, so a typo gets "no such file" rather than a registry
 * lookup of a name the user never meant.
 */
function looksLikePath(spec: string): boolean {
  if (isPlainlyPath(spec)) return true;
  const slash = spec.indexOf('/');
  if (slash <= 0) return false;
  const first = spec.slice(0, slash);
  return !first.includes(':') && !first.includes('.') && first !== 'localhost' && existsSync(first);
}

/**
 * A spec that can only be a path: `./x`, `/x`, `~/x`, `x.tar`, and a tar compressed as imgscope reads it
 * (gzip, zstd) or refuses it saying how to decompress it (bzip2, xz).
 */
export function isPlainlyPath(spec: string): boolean {
  return (
    /^(?:\.{1,2}|~)?\//.test(spec) ||
    /\.(?:tar|tar\.gz|tgz|tar\.zst|tar\.zstd|tzst|tar\.bz2|tbz2?|tar\.xz|txz)$/.test(spec)
  );
}

/**
 * Splits `TRANSPORT:PATH[:REF]`, and a bare `PATH:@N` whose whole spec is not itself a path. Paths may contain `:` and refs do too (`NAME:TAG`,
 * `localhost:5000/app:1`), so the longest prefix that exists on disk is the path. When nothing exists
 * the first `:` splits, so the error names the path the user most likely meant.
 */
export function parseLocalReference(
  spec: string,
  exists: (path: string) => boolean = existsSync,
): LocalReference {
  const transport = transportOf(spec);
  if (!transport) {
    const position = exists(spec) ? null : POSITION_SUFFIX.exec(spec);
    return { transport: undefined, path: position?.[1] ?? spec, ref: position?.[2] };
  }
  const rest = spec.slice(transport.length + 1);
  if (exists(rest)) return { transport, path: rest, ref: undefined };
  for (let colon = rest.lastIndexOf(':'); colon > 0; colon = rest.lastIndexOf(':', colon - 1)) {
    const path = rest.slice(0, colon);
    if (exists(path)) return { transport, path, ref: rest.slice(colon + 1) || undefined };
  }
  const colon = rest.indexOf(':');
  if (colon <= 0) return { transport, path: rest, ref: undefined };
  return { transport, path: rest.slice(0, colon), ref: rest.slice(colon + 1) || undefined };
}

/**
 * For a bare `PATH:REF`, which no reader takes (a bare path takes only `:@N`): the prefixed forms that
 * name it, when the longest PATH before a `:` exists; else undefined. A spec with an `@` gets none, since
 * a hint repeats it and what precedes an `@` may be a password. With `imagesOnly`, only a folder holding
 * an image (oci-layout, index.json or manifest.json) counts, not a folder or file (a built binary) that
 * merely shares the name; an archive named `*.tar` is read as a path anyway.
 */
export function prefixedForms(spec: string, { imagesOnly = false } = {}): string | undefined {
  if (spec.includes('@')) return undefined;
  for (let colon = spec.lastIndexOf(':'); colon > 0; colon = spec.lastIndexOf(':', colon - 1)) {
    const path = spec.slice(0, colon);
    const info = statOrUndefined(path);
    if (!info) continue;
    const ref = spec.slice(colon + 1) || 'REF';
    if (imagesOnly && !(info.isDirectory() && IMAGE_FILES.some((file) => existsSync(join(path, file))))) {
      return undefined;
    }
    // Quoted for the shell where needed, so a form can be pasted.
    if (!info.isDirectory())
      return `${shellQuoted(`docker-archive:${path}:${ref}`)} or ${shellQuoted(`oci-archive:${path}:${ref}`)}`;
    return shellQuoted(`${isExtractedSave(path) ? 'docker-archive' : 'oci'}:${path}:${ref}`);
  }
  return undefined;
}

const IMAGE_FILES = ['oci-layout', 'index.json', 'manifest.json'];

/** A folder holding an extracted docker save without an OCI layout (Docker before 25), which oci: refuses. */
function isExtractedSave(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json')) && !existsSync(join(dir, 'oci-layout'));
}

export function formatLocalReference(transport: LocalTransport, path: string, ref?: string): string {
  return ref ? `${transport}:${path}:${ref}` : `${transport}:${path}`;
}

/** Undefined for nothing there, and for a path that cannot be read (a file as a folder, no permission). */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
