import type { Platform } from './oci/platform.js';
import type { Descriptor, UnusableEntry } from './oci/types.js';

/**
 * Errors are values with a stable code and the exit code the CLI should use. They are raised where the
 * cause is known (with the input named and the fix said) and rendered once, as one line, by the CLI.
 */
export type ErrorCode =
  | 'BAD_INPUT' // the user's reference, flag or file is wrong
  | 'NOT_FOUND' // image, tag, blob or file does not exist
  | 'DIGEST_MISMATCH' // bytes do not match the digest they were promised under
  | 'SIZE_MISMATCH' // bytes do not match the size they were promised under
  | 'UNSUPPORTED' // a format we recognise but do not handle
  | 'MALFORMED' // JSON or tar that does not parse
  | 'PLATFORM' // requested platform not present
  | 'AUTH' // 401/403 from a registry
  | 'NETWORK' // connection, timeout, retries exhausted
  | 'REGISTRY' // other registry error response
  | 'LIMIT'; // a safety guard tripped (oversized manifest, decompression bomb)

export class ImgscopeError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  /** One short sentence telling the user what to do about it. */
  readonly hint: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; exitCode?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ImgscopeError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 2;
  }
}

export function isImgscopeError(error: unknown): error is ImgscopeError {
  return error instanceof ImgscopeError;
}

/** An index has no image for the wanted platform: carries the index so policy can report what it offers. */
export class PlatformNotFoundError extends ImgscopeError {
  /** The index searched; its digest is '' when the caller did not know it. */
  readonly index: {
    digest: string;
    mediaType: string;
    manifests: Descriptor[];
    unusable?: UnusableEntry[];
    annotations?: Record<string, string>;
    /** Every platform the search found, those of nested indexes included (ResolvedIndex.platforms). */
    platforms?: Platform[];
  };
  /** The image as its source names it (normalised, as a report shows it), once the source has said. */
  image:
    | { reference: string; kind: 'registry' | 'oci-layout' | 'oci-archive' | 'docker-archive' }
    | undefined;

  constructor(message: string, hint: string, index: PlatformNotFoundError['index']) {
    super('PLATFORM', message, { hint });
    this.index = index;
  }
}

/** Rethrows `error`, naming the image on a PlatformNotFoundError that does not name it yet. */
export function namingImage(image: NonNullable<PlatformNotFoundError['image']>): (error: unknown) => never {
  return (error) => {
    if (error instanceof PlatformNotFoundError) error.image ??= image;
    throw error;
  };
}
