import { ImgscopeError } from '../errors.js';
import { type Digest, isDigest, isOtherAlgorithmDigest } from '../oci/digest.js';
import { maskUserinfo } from './transport/redact.js';

/**
 * A registry image reference, normalised the way Docker does it: `alpine` is
 * `docker.io/library/alpine:latest`. `registry` is the name users and credential stores use; `apiHost`
 * is where the HTTP API lives (they differ only for Docker Hub).
 */
export interface ImageReference {
  readonly registry: string;
  readonly apiHost: string;
  readonly repository: string;
  /** Set when the reference names a tag, or `latest` when it names neither tag nor digest. */
  readonly tag?: string;
  /** Set when the reference pins a digest; it wins over the tag when resolving. */
  readonly digest?: Digest;
  /** `registry/repository[:tag][@digest]` */
  toString(): string;
}

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set([DOCKER_HUB, 'index.docker.io', DOCKER_HUB_API_HOST]);

// The grammar of github.com/distribution/reference, one piece at a time.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]{1,5})?$`,
);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const MAX_NAME_LENGTH = 255;

function invalid(
  text: string,
  why: string,
  hint = 'write it as [registry[:port]/]repository[:tag][@sha256:digest]',
) {
  return new ImgscopeError('BAD_INPUT', `image reference "${text}": ${why}`, { hint });
}

/** A URL's scheme before a reference: a URL pasted as it is, or `http://` meant as plain HTTP. */
function schemeError(text: string, scheme: string, bare: string): ImgscopeError {
  const why = `the ${scheme}:// scheme is not part of an image reference`;
  const host = bare.split('/')[0]!;
  if (!/^https?$/i.test(scheme) || host === '') return invalid(text, why);
  const plain =
    scheme.toLowerCase() !== 'http'
      ? ''
      : isLoopbackHost(host)
        ? '; a loopback registry is reached in plain HTTP as it is'
        : `; for plain HTTP, add --insecure-registry ${host}`;
  const suggested = referenceOfUrl(host, bare);
  return invalid(
    text,
    why,
    `write it as ${suggested ? `"${suggested}"` : '[registry[:port]/]repository[:tag][@sha256:digest]'}${plain}`,
  );
}

/** The registry name (as a reference spells it) of an API host: Docker Hub's hosts are `docker.io`. */
export function registryOfHost(host: string): string {
  return DOCKER_HUB_ALIASES.has(host.toLowerCase()) ? DOCKER_HUB : host;
}

/**
 * The reference a URL without its scheme names: a trailing `/` dropped, an API URL
 * (`HOST/v2/NAME/manifests/REF`) read back. None unless it parses with the URL's host as its registry.
 */
function referenceOfUrl(host: string, bare: string): string | undefined {
  const path = bare.replace(/\/+$/, '');
  const api = /^([^/]+)\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
  const candidate = api ? `${api[1]}/${api[2]}${api[3]!.includes(':') ? '@' : ':'}${api[3]}` : path;
  try {
    const registry = parseReference(candidate).registry;
    return registry === registryOfHost(host) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `***@host/app`: credentials, unless what follows the `@` is one word that is no host, or a digest of
 * another algorithm (`md5:…`, not `host:5000`) — a mistyped digest.
 */
function userinfoError(shown: string): ImgscopeError {
  const afterAt = shown.slice(shown.indexOf('@') + 1);
  const otherDigest = isOtherAlgorithmDigest(afterAt) && !/:\d+$/.test(afterAt);
  if (!afterAt.includes('/') && (!looksLikeRegistry(afterAt) || otherDigest)) {
    return invalid(
      shown,
      `"${afterAt}" is not a sha256 digest`,
      'digests look like sha256: and 64 lowercase hex',
    );
  }
  return new ImgscopeError(
    'BAD_INPUT',
    `image reference "${shown}": credentials do not belong in an image reference`,
    {
      hint: 'pass them with --username and --password-stdin, or IMGSCOPE_USERNAME and IMGSCOPE_PASSWORD',
    },
  );
}

/** Whether the first path component names a registry host rather than a Docker Hub namespace. */
function looksLikeRegistry(component: string): boolean {
  return (
    component.includes('.') || component.includes(':') || component === 'localhost' || /[A-Z]/.test(component)
  );
}

/** Parses and normalises a Docker/OCI image reference; throws a BAD_INPUT ImgscopeError on bad input. */
export function parseReference(text: string): ImageReference {
  const input = text.trim();
  let rest = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  if (rest === '') throw invalid(text, 'is empty');
  // `flat:@0` is no user `flat` with an empty password but skopeo's position in a layout or archive;
  // one word before it holds no password, so it can be repeated.
  if (/^[^@:]+:@-?\d+$/.test(rest)) {
    throw invalid(
      text,
      ':@N picks an image of a layout or archive on disk, and a registry image has none',
      'for an image on disk name a path that exists: PATH:@N, oci:DIR:@N or docker-archive:FILE:@N',
    );
  }
  // Only a digest may follow an `@`; what comes before any other `@` is never repeated: it may be a password.
  const shown = maskUserinfo(rest);
  if (shown !== rest) throw userinfoError(shown);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest);
  if (scheme) throw schemeError(text, scheme[1]!, rest.slice(scheme[0].length));
  if (/\s/.test(rest)) throw invalid(text, 'contains whitespace');

  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const digestText = rest.slice(at + 1);
    if (!isDigest(digestText)) {
      throw invalid(
        text,
        `"${digestText}" is not a sha256 digest`,
        'digests look like sha256: and 64 lowercase hex',
      );
    }
    digest = digestText;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(text, `"${tag}" is not a valid tag`, 'tags are up to 128 letters, digits, _, . and -');
    }
  }

  const name = rest;
  const slash = rest.indexOf('/');
  let registry = DOCKER_HUB;
  let repository = rest;
  if (slash !== -1 && looksLikeRegistry(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) throw invalid(text, `"${registry}" is not a valid registry host`);
    const port = /:(\d+)$/.exec(registry)?.[1];
    if (port !== undefined && Number(port) > 65535) {
      throw invalid(text, `port ${port} of "${registry}" is above 65535`);
    }
  }
  if (DOCKER_HUB_ALIASES.has(registry.toLowerCase())) {
    registry = DOCKER_HUB;
    if (!repository.includes('/')) repository = `library/${repository}`;
  }

  if (repository === '') throw invalid(text, 'names no repository');
  if (repository !== repository.toLowerCase()) {
    // The name as typed, lowercased whole (`MyOrg/App` means Docker Hub's myorg/app), tag and digest kept.
    const lowercase = `${name.toLowerCase()}${tag === undefined ? '' : `:${tag}`}${digest ? `@${digest}` : ''}`;
    throw invalid(text, 'repository names must be lowercase', `use "${lowercase}"`);
  }
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        text,
        `"${component}" is not a valid repository path component`,
        'repository components are lowercase letters and digits, separated by ".", "_", "__" or "-"',
      );
    }
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    throw invalid(text, `the name is longer than ${MAX_NAME_LENGTH} characters`);
  }

  if (tag === undefined && digest === undefined) tag = 'latest';
  return makeReference(registry, repository, tag, digest);
}

function makeReference(registry: string, repository: string, tag?: string, digest?: Digest): ImageReference {
  const name = `${registry}/${repository}`;
  const text = `${name}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return {
    registry,
    apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    toString: () => text,
  };
}

/** The same repository pinned to `digest` (the line to deploy with: `name@sha256:…`). */
export function withDigest(reference: ImageReference, digest: Digest): ImageReference {
  return makeReference(reference.registry, reference.repository, undefined, digest);
}

/** What the distribution API calls the manifest to fetch: the digest when pinned, else the tag. */
export function manifestIdentifier(reference: ImageReference): string {
  return reference.digest ?? reference.tag ?? 'latest';
}

/** `localhost`, 127.0.0.0/8 and ::1: hosts where plain HTTP never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  // Host names are case-insensitive: `Localhost:5000` is this machine too.
  const lower = host.toLowerCase();
  const hostname = lower.startsWith('[') ? lower.slice(1, lower.indexOf(']')) : lower.replace(/:\d+$/, '');
  return hostname === 'localhost' || hostname === '::1' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}
