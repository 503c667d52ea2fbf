import { ImgscopeError, PlatformNotFoundError } from '../errors.js';
import { isLocalReference, openLocalImage, prefixedForms } from '../oci/local/index.js';
import { type Platform, parsePlatform, platformMismatch } from '../oci/platform.js';
import type { ImageSource, OpenOptions } from '../oci/source.js';
import type { Setting } from '../policy/index.js';
import { checkInsecureEntry } from '../registry/insecure-entry.js';
import { parseReference } from '../registry/reference.js';
import { printableLine } from '../report/format.js';
import { decompressionLimit, type ParsedOptions } from './args.js';
import type { Output } from './output.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * How a caller follows the opening of an image on disk (the indexing of a compressed archive), and stops
 * the opening of any image: that pass, or a registry's manifest and config requests.
 */
export type LoadingOptions = Pick<OpenOptions, 'signal' | 'onIndexProgress'>;

/**
 * Opens IMAGE from wherever it lives: a local layout or archive, else a registry. A platform asked for
 * (--platform, or "platform" in a config file) picks from an index, and a single-manifest image must be
 * that platform.
 */
export async function openImage(
  image: string,
  options: ParsedOptions,
  io: Output,
  configuredPlatform?: Setting<Platform>,
  loading: LoadingOptions = {},
): Promise<ImageSource> {
  // Checked for an image on disk too: a CI line tried on a local archive first must not pass with a
  // host, or a half of the credentials, that would fail (or be ignored) against the registry.
  for (const host of options['insecure-registry'] ?? []) checkInsecureEntry(host, '--insecure-registry');
  checkCredentialOptions(options);
  // Refused for a registry image too: inspect of an archive on disk reads it (the compressed one's index pass).
  decompressionLimit(io.env);
  const wanted = options.platform
    ? { value: parsePlatform(options.platform), origin: '--platform' }
    : configuredPlatform;
  const source = await openSource(image, options, io, wanted, loading);
  const mismatch =
    wanted && !source.index
      ? platformMismatch(image, source.platform, wanted.value, wanted.origin)
      : undefined;
  if (mismatch) {
    await source.close();
    throw new ImgscopeError('PLATFORM', mismatch.message, { hint: mismatch.hint });
  }
  return source;
}

/**
 * IMAGE as config-file overrides match it: a registry reference normalised as the report shows it
 * (`alpine` is `docker.io/library/alpine:latest`), a local one as given. One that does not parse is
 * left for openImage to refuse.
 */
export function policyReference(image: string): string {
  if (isLocalReference(image)) return image;
  try {
    return parseReference(image).toString();
  } catch {
    return image;
  }
}

/** --username and --password-stdin come as a pair: either alone names no credentials. */
function checkCredentialOptions(options: ParsedOptions): void {
  if (options['password-stdin'] && !options.username) {
    throw new ImgscopeError('BAD_INPUT', '--password-stdin needs --username', {
      hint: 'for example: echo "$TOKEN" | imgscope check --username me --password-stdin IMAGE',
    });
  }
  if (options.username && !options['password-stdin']) {
    throw new ImgscopeError('BAD_INPUT', '--username needs --password-stdin', {
      hint: 'pipe the password in with --password-stdin, or set IMGSCOPE_USERNAME and IMGSCOPE_PASSWORD',
    });
  }
}

/**
 * Refuses IMAGE that is no registry reference before anything is read; when it is a bare `PATH:REF` of
 * a path on disk, the hint names the prefixed form that reads it.
 */
function refuseUnparsable(image: string): void {
  try {
    parseReference(image);
  } catch (error) {
    if (!(error instanceof ImgscopeError) || image.startsWith('docker://')) throw error;
    const forms = prefixedForms(image);
    if (!forms) throw error;
    throw new ImgscopeError(error.code, error.message, {
      hint: `for the image on disk write ${forms}`,
      cause: error,
    });
  }
}

async function openSource(
  image: string,
  options: ParsedOptions,
  io: Output,
  wanted: Setting<Platform> | undefined,
  { signal, onIndexProgress }: LoadingOptions,
): Promise<ImageSource> {
  const platform = wanted?.value;
  if (image === '-') {
    // `docker save app | imgscope check -`: an archive is indexed and read at offsets, which a pipe cannot do.
    throw new ImgscopeError(
      'BAD_INPUT',
      'IMAGE "-" names standard input; imgscope reads image archives from files',
      {
        hint: 'save the image to a file first: docker save -o image.tar NAME, then imgscope … image.tar',
      },
    );
  }
  if (isLocalReference(image)) {
    const warn = (message: string) => io.stderr.write(`imgscope: warning: ${printableLine(message)}\n`);
    const maxUncompressedBytes = decompressionLimit(io.env);
    return openLocalImage(image, { platform, warn, maxUncompressedBytes, signal, onIndexProgress });
  }

  refuseUnparsable(image);
  let credentials: { username: string; password: string } | undefined;
  if (options['password-stdin'] && options.username) {
    if (io.stdin.isTTY) {
      throw new ImgscopeError(
        'BAD_INPUT',
        '--password-stdin reads the password from standard input, which is a terminal',
        {
          hint: 'pipe the password in: echo "$TOKEN" | imgscope … --password-stdin',
        },
      );
    }
    const password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
    if (password === '') {
      throw new ImgscopeError('BAD_INPUT', '--password-stdin read an empty password from standard input', {
        hint: 'pipe the password in: echo "$TOKEN" | imgscope … --password-stdin IMAGE (an unset variable pipes nothing)',
      });
    }
    credentials = { username: options.username, password };
  }
  // undici and the auth stack load only for registry images.
  const { openRegistryImage } = await import('../registry/index.js');
  return openRegistryImage(image, {
    platform,
    platformOrigin: wanted?.origin,
    insecureRegistries: options['insecure-registry'] ?? [],
    credentials,
    env: io.env,
    debug: options.debug ? (line: string) => io.stderr.write(`debug: ${printableLine(line)}\n`) : undefined,
    notice: (line, wait) => {
      io.stderr.write(`imgscope: ${printableLine(line)}\n`);
      if (wait) io.onRegistryWait?.(wait);
    },
    aroundCredentialHelper: io.aroundCredentialHelper,
    signal,
  }).catch(pointToDisk(image));
}

/**
 * `app:v1`, where ./app is an image on disk, names a registry image (a bare path takes no `:REF`); when
 * the registry fails it, say how to read the image on disk, which the user most likely meant.
 */
function pointToDisk(image: string): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof ImgscopeError) || error instanceof PlatformNotFoundError) throw error;
    const forms = image.startsWith('docker://') ? undefined : prefixedForms(image, { imagesOnly: true });
    if (!forms) throw error;
    const hint = `${error.hint ? `${error.hint}; ` : ''}for the image on disk write ${forms}`;
    throw new ImgscopeError(error.code, error.message, { hint, cause: error, exitCode: error.exitCode });
  };
}
