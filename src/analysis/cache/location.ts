import { join, resolve } from 'node:path';
import { homeDirectory, xdgDirectory } from '../../home.js';
import { type Digest, digestHex } from '../../oci/digest.js';
import { VERSION } from '../../version.js';

/**
 * Bump when parsing a layer yields different items for the same bytes (new whiteout rules, a changed
 * LayerItems column) or an entry's format changes: entries of older revisions are then never read again,
 * and two builds of one version sharing a cache do not keep discarding each other's entries. The package
 * version is part of the key too, so a release never trusts another release's entries.
 */
export const ANALYSER_REVISION = 12;

/** What an entry's header must name to be used. */
export const ANALYSER_VERSION = `${VERSION}-r${ANALYSER_REVISION}`;

/** The folder of this analyser's entries under a cache root; those of other versions are stale. */
export const LAYERS_FOLDER = `layers-${ANALYSER_VERSION}`;

/**
 * Bump when the summary of the same image changes (another waste figure, new hint findings, a changed
 * field): image summaries of older revisions are then never read again. Layer analyses stay valid.
 */
export const SUMMARY_REVISION = 15;

/** What an image summary's header must name to be used: the analyser and the summary's revision. */
export const SUMMARY_VERSION = `${ANALYSER_VERSION}-s${SUMMARY_REVISION}`;

/** The folder of image summaries (by manifest digest) under a cache root; those of other versions are stale. */
export const IMAGES_FOLDER = `images-${SUMMARY_VERSION}`;

/**
 * Bump when what a fingerprint record vouches for changes (another stat field, another racy rule): records
 * of older revisions are then never read again, and each local blob is hashed once more.
 */
export const FINGERPRINT_REVISION = 1;

/**
 * The folder of local blob fingerprints (fingerprint-store.ts) under a cache root; those of other versions
 * are stale.
 */
export const FINGERPRINTS_FOLDER = `fingerprints-${VERSION}-f${FINGERPRINT_REVISION}`;

/** A package version as semver spells it: 1.2.3, 1.2.3-beta.1, 1.2.3+build.5. */
const ANY_VERSION = String.raw`\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?`;
const VERSIONED_FOLDER = new RegExp(
  String.raw`^(?:layers-${ANY_VERSION}-r\d+|images-${ANY_VERSION}-r\d+-s\d+|fingerprints-${ANY_VERSION}-f\d+)$`,
);

/**
 * Whether a name is one the three folders above have in some imgscope version and revision: only those
 * can be another version's stale folder. (A cache root may be a folder the user keeps other things in.)
 */
export function isVersionedFolderName(name: string): boolean {
  return VERSIONED_FOLDER.test(name);
}

/**
 * The cache root: `--cache-dir`, else `IMGSCOPE_CACHE_DIR`, else `$XDG_CACHE_HOME/imgscope` (the XDG base
 * directory spec ignores a relative XDG_CACHE_HOME), else `~/.cache/imgscope`; undefined when there is no
 * home folder to put it in (see homeDirectory).
 */
export function cacheRoot(options: {
  flag?: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  home?: string;
}): string | undefined {
  if (options.flag) return resolve(options.cwd, options.flag);
  const { IMGSCOPE_CACHE_DIR: explicit, XDG_CACHE_HOME: xdg } = options.env;
  if (explicit) return resolve(options.cwd, explicit);
  const xdgCache = xdgDirectory(xdg);
  if (xdgCache) return join(xdgCache, 'imgscope');
  const home = options.home ?? homeDirectory(options.env);
  return home === undefined ? undefined : join(home, '.cache', 'imgscope');
}

/** Why cacheRoot found no folder, and the ways to name one. */
export const NO_CACHE_ROOT =
  'no folder for the layer cache: HOME is unset or not absolute, and this user has no home folder';
export const NO_CACHE_ROOT_FIX = 'set XDG_CACHE_HOME or IMGSCOPE_CACHE_DIR, or pass --cache-dir DIR';

/** `IMGSCOPE_NO_CACHE` set to anything but '' or '0'. */
export function cacheDisabledByEnv(env: NodeJS.ProcessEnv): boolean {
  const value = env.IMGSCOPE_NO_CACHE;
  return value !== undefined && value !== '' && value !== '0';
}

const ENTRY_NAME = /^sha256-([0-9a-f]{64})$/;
/**
 * Twin pointers in the images folder: `twin-<hex>`, a hash of the layers and the commands that made them,
 * holding the manifest digest of the summary last analysed for them (see DiskSummaryCache).
 */
export const TWIN_PREFIX = 'twin-';

/** Temp files of writes in progress (or of writers killed mid-write): never read, removed by prune. */
export const TEMP_PREFIX = '.tmp-';

/** Whether a name is one imgscope gives the files of its folders, in any version: prune removes no other. */
export function isCacheFileName(name: string): boolean {
  return CACHE_FILE_NAME.test(name) || name.startsWith(TEMP_PREFIX);
}
// Entries and summaries (`sha256-<hex>`), twin pointers (`twin-<hex>`), fingerprint records (`<hex>`).
const CACHE_FILE_NAME = /^(?:sha256-|twin-)?[0-9a-f]{64}$/;

/**
 * `sha256-<hex>`: one entry per layer digest, or per manifest digest in the images folder (no colon, so
 * the name is valid on every filesystem).
 */
export function entryFileName(digest: Digest): string {
  return `sha256-${digestHex(digest)}`;
}

/** The digest an entry file is named after, or undefined for any other file. */
export function digestOfEntryFile(name: string): Digest | undefined {
  const match = ENTRY_NAME.exec(name);
  return match ? `sha256:${match[1]!}` : undefined;
}
