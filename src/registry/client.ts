import { pipeline, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImgscopeError } from '../errors.js';
import { type Digest, digestInAlgorithmOf, isDigest, VerifyingStream } from '../oci/digest.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { baseMediaType, MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { authenticating } from './auth/authenticator.js';
import { findCredentials } from './auth/credentials.js';
import { type BodyAtOffset, resumableDownload } from './blob-reader.js';
import { certsFolderFor, readCertsDirectory } from './certs-dir.js';
import {
  isInsecureRegistry,
  isMarkedInsecure,
  type RegistryOptions,
  type ResolvedRegistryOptions,
  resolveOptions,
} from './options.js';
import type { ImageReference } from './reference.js';
import { registryFailure } from './registry-errors.js';
import { manifestDigestOf, manifestPayload } from './schema1.js';
import { type BodyDeadline, drain, readSmallBody, withDeadline } from './transport/body.js';
import { ConnectionPools, documentDeadlineMs } from './transport/http.js';
import { logging } from './transport/logging.js';
import {
  closedAfterTlsHandshake,
  isTlsRefusal,
  isTransientNetworkError,
  mayBeRefusedTls,
  networkFailure,
  tlsServerClosed,
  underlyingFailure,
} from './transport/network-errors.js';
import { redactUrl } from './transport/redact.js';
import { followingRedirects } from './transport/redirect.js';
import { backoffDelay, retrying } from './transport/retry.js';
import {
  discard,
  type Exchange,
  type HttpRequest,
  type HttpResponse,
  headerValue,
  stack,
} from './transport/types.js';
import { userAgent } from './transport/user-agent.js';

/** Every manifest format, so the registry never converts (and schema 1 can be recognised and reported). */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
  MediaType.DockerManifestSchema1Signed,
  MediaType.DockerManifestSchema1,
].join(', ');

export interface FetchedManifest {
  bytes: Buffer;
  /**
   * From `Content-Type`, parameters stripped; empty when that is missing or generic (`text/plain`…), and the
   * body's `mediaType` field or shape then tells.
   */
  mediaType: string;
  /** Computed over the bytes and checked against `Docker-Content-Digest` and any requested digest. */
  digest: Digest;
}

type Access = 'pull' | 'pull,push';

export interface RawBlobOptions {
  /**
   * A small document (the config), read whole before anything else: each response's body must arrive
   * within the document deadline, and its error names it so.
   */
  document?: string;
}

/**
 * Content types that say nothing about a manifest: static mirrors and object stores serve manifests as
 * files. go-containerregistry then goes by the body, as imgscope does; the digest is still verified.
 */
const GENERIC_CONTENT_TYPES = new Set([
  'application/json',
  'text/plain',
  'application/octet-stream',
  'binary/octet-stream',
]);

/**
 * The distribution API of one registry: manifests, verified blobs (resumed with `Range` when a download
 * breaks) and uploads, over a layered transport: auth → user agent → redirects → retries → debug log →
 * one keep-alive pool per origin, a connection of its own per large blob, or the proxy from the environment.
 */
export class RegistryClient {
  readonly registry: string;
  private readonly options: ResolvedRegistryOptions;
  private readonly pools: ConnectionPools;
  private readonly unauthenticated: Exchange;
  private readonly exchange: Exchange;
  /** Podman may key credentials by repository; the first repository this client touches decides. */
  private repositoryHint = '';
  private currentOrigin: string;
  /** For a registry reached over plain HTTP: its protocol, settled by the first request (see probe). */
  private protocol: Promise<void> | undefined;
  private probedPing: HttpResponse | undefined;

  constructor(reference: Pick<ImageReference, 'registry' | 'apiHost'>, options: RegistryOptions = {}) {
    this.options = resolveOptions(options);
    this.registry = reference.registry;
    const insecure =
      isInsecureRegistry(reference.apiHost, this.options) ||
      isInsecureRegistry(reference.registry, this.options);
    const markedInsecure =
      isMarkedInsecure(reference.apiHost, this.options) || isMarkedInsecure(reference.registry, this.options);
    this.currentOrigin = `${insecure ? 'http' : 'https'}://${reference.apiHost}`;
    if (!insecure) this.protocol = Promise.resolve();
    const { debug } = this.options;
    // As docker: an insecure registry's folder is not read (a broken one cannot stop a local registry).
    const trust = insecure
      ? undefined
      : readCertsDirectory(reference.registry, this.options.env, this.options.notice);
    if (trust) debug?.(`TLS for ${reference.registry}: ${trust.description}`);
    this.pools = new ConnectionPools(
      this.options.timeouts,
      this.options.proxies,
      trust?.secureContext,
      insecure ? undefined : certsFolderFor(reference.registry, this.options.env),
    );
    // Not for a registry insecure only by being on loopback: its token service or storage may be anywhere.
    if (markedInsecure) this.pools.skipEveryCertificateCheck();
    this.unauthenticated = stack(
      this.pools.exchange,
      userAgent(),
      followingRedirects({ insecure: markedInsecure }),
      retrying(this.options.retries, this.options.notice),
      ...(debug ? [logging(debug)] : []),
    );
    const client = this;
    this.exchange = stack(
      this.unauthenticated,
      authenticating({
        registry: reference.registry,
        get origin() {
          return client.origin;
        },
        insecure: markedInsecure,
        tokenDeadlineMs: documentDeadlineMs(this.options.timeouts),
        exchange: this.unauthenticated,
        takePing: () => {
          const ping = this.probedPing;
          this.probedPing = undefined;
          return ping;
        },
        lookupCredentials: () =>
          findCredentials(reference.registry, this.repositoryHint, {
            ...(this.options.credentials ? { explicit: this.options.credentials } : {}),
            env: this.options.env,
            ...(this.options.dockerConfigPath ? { dockerConfigPath: this.options.dockerConfigPath } : {}),
            ...(this.options.aroundCredentialHelper
              ? { aroundHelper: this.options.aroundCredentialHelper }
              : {}),
          }),
      }),
    );
  }

  /** `https://HOST`, or `http://HOST` for a loopback or insecure registry that does not speak TLS. */
  get origin(): string {
    return this.currentOrigin;
  }

  private async request(
    method: HttpRequest['method'],
    repository: string,
    path: string,
    access: Access,
    extra: Partial<HttpRequest> = {},
  ): Promise<HttpResponse> {
    if (!this.repositoryHint) this.repositoryHint = repository;
    await this.knowProtocol(extra.signal);
    const url = new URL(path.startsWith('http') ? path : `/v2/${repository}/${path}`, this.origin);
    return this.exchange({ method, url, headers: {}, scope: `repository:${repository}:${access}`, ...extra });
  }

  /** Settles the protocol of a plain-HTTP registry once; a failed attempt is made again by the next request. */
  private knowProtocol(signal: AbortSignal | undefined): Promise<void> {
    if (!this.protocol) {
      const attempt = this.probe(signal);
      this.protocol = attempt;
      attempt.catch(() => {
        if (this.protocol === attempt) this.protocol = undefined;
      });
    }
    return this.protocol;
  }

  /**
   * A registry imgscope may reach in plain HTTP (loopback, or marked insecure) can still speak TLS: a local
   * registry with a certificate of its own, a port-forward to a remote one. docker tries HTTPS first for
   * such registries; imgscope asks `/v2/` over HTTP first, so that plain-HTTP registries cost nothing
   * extra, and when the answer is how a TLS port refuses plain HTTP (a 400, or a dropped connection), asks
   * again over HTTPS without checking the certificate — as docker does for insecure registries — and stays
   * on HTTPS if that answers. The answer is kept as the auth layer's `/v2/` ping.
   * Named without a port, the registry's HTTP and HTTPS are different ports (80 and 443): nothing
   * answering on 80, or 80 redirecting to HTTPS (to a certificate that is then not checked either), still
   * leaves HTTPS on 443.
   */
  private async probe(signal: AbortSignal | undefined): Promise<void> {
    const ping = (origin: string, isAnswer?: (error: unknown) => boolean) =>
      this.unauthenticated({
        method: 'GET',
        url: new URL('/v2/', origin),
        headers: {},
        ...(signal ? { signal } : {}),
        ...(isAnswer ? { isAnswer } : {}),
      });
    // An origin drops a default port (`https://host:443` is `https://host`): connections are keyed by it.
    const secureOrigin = new URL(this.currentOrigin.replace(/^http:/, 'https:')).origin;
    this.pools.skipCertificateCheck(secureOrigin);
    const portless = new URL(this.currentOrigin).port === '';
    const httpsMayAnswer = (error: unknown) =>
      mayBeRefusedTls(error) || (portless && isTransientNetworkError(error));
    const secureUrl = new URL('/v2/', secureOrigin);
    let plain: HttpResponse | undefined;
    try {
      // Not retried when HTTPS may answer: a TLS port drops every plain-HTTP attempt alike.
      plain = await ping(this.currentOrigin, httpsMayAnswer);
      if (plain.status !== 400) {
        // Redirected to HTTPS: stay there, where the registry's requests keep their Authorization.
        if (plain.url.origin === secureOrigin) this.currentOrigin = secureOrigin;
        this.probedPing = plain;
        return;
      }
    } catch (error) {
      if (signal?.aborted || !httpsMayAnswer(error)) throw error;
    }
    try {
      this.probedPing = await ping(secureOrigin, (error) => closedAfterTlsHandshake(error, secureUrl));
      this.currentOrigin = secureOrigin;
      if (plain) discard(plain);
    } catch (error) {
      // A TLS alert (a client certificate wanted) is the registry's answer, not a port that is not HTTPS.
      if (signal?.aborted || isTlsRefusal(error)) throw error;
      if (closedAfterTlsHandshake(error, secureUrl)) {
        throw networkFailure({ method: 'GET', url: secureUrl }, tlsServerClosed(underlyingFailure(error)));
      }
      if (plain) {
        this.probedPing = plain; // neither speaks to us: the plain-HTTP answer stands, as before
        return;
      }
      // Neither answered: the plain-HTTP failure may be a fault of the moment after all, so it is retried.
      this.probedPing = await ping(this.currentOrigin);
    }
  }

  private name(repository: string): string {
    return `${this.registry}/${repository}`;
  }

  /**
   * GETs a manifest or index by tag or digest, capped at 4 MiB, and verifies its digest against
   * `Docker-Content-Digest` and (for a digest reference) the digest asked for. The transport retries
   * until headers arrive; a body that breaks after that is asked for again here, within the same bound.
   */
  async getManifest(
    repository: string,
    identifier: string,
    subject: string,
    signal?: AbortSignal,
  ): Promise<FetchedManifest> {
    const { retries } = this.options;
    for (let attempt = 1; ; attempt++) {
      const response = await this.request('GET', repository, `manifests/${identifier}`, 'pull', {
        headers: { accept: MANIFEST_ACCEPT },
        ...(signal ? { signal } : {}),
      });
      const contentType = headerValue(response, 'content-type');
      if (
        (response.status === 200 || response.status === 404) &&
        baseMediaType(contentType ?? '') === 'text/html'
      ) {
        // A login portal, a proxy's or a web server's page: the address is not (only) the registry API,
        // which answers a missing tag with a MANIFEST_UNKNOWN error document, not a page.
        discard(response);
        const status = response.status === 200 ? '' : ` (HTTP ${response.status})`;
        throw new ImgscopeError(
          'REGISTRY',
          `${subject}: ${redactUrl(response.url)} answered with an HTML page${status}, not a manifest`,
          {
            hint: 'check the registry host and port, and any proxy or login portal between you and the registry',
          },
        );
      }
      if (response.status !== 200) {
        throw await registryFailure(response, {
          subject,
          repositoryName: this.name(repository),
          origin: this.origin,
          what: 'manifest',
        });
      }
      try {
        return await this.readManifest(response, identifier, subject);
      } catch (error) {
        if (signal?.aborted || !isTransientNetworkError(error)) throw error;
        if (attempt >= retries.attempts)
          throw networkFailure({ method: 'GET', url: response.url }, error, attempt);
        await sleep(backoffDelay(attempt, retries), undefined, signal ? { signal } : undefined);
      }
    }
  }

  private async readManifest(
    response: HttpResponse,
    identifier: string,
    subject: string,
  ): Promise<FetchedManifest> {
    const contentType = headerValue(response, 'content-type');
    const announced = Number(headerValue(response, 'content-length'));
    if (announced > MAX_MANIFEST_BYTES) {
      discard(response);
      throw new ImgscopeError(
        'LIMIT',
        `${subject}: manifest of ${announced} bytes exceeds the ${MAX_MANIFEST_BYTES}-byte limit`,
        {
          hint: 'manifests are a few KiB; this is not an image manifest',
        },
      );
    }
    const bytes = await readSmallBody(
      response.body,
      MAX_MANIFEST_BYTES,
      `${subject}: manifest`,
      this.documentDeadline(response.url),
    );
    if (Number.isFinite(announced) && headerValue(response, 'content-length') && bytes.length !== announced) {
      throw Object.assign(new Error(`manifest body of ${bytes.length} bytes, announced ${announced}`), {
        code: 'PREMATURE_END',
      });
    }
    const digest = manifestDigestOf(bytes);
    const claimed = headerValue(response, 'docker-content-digest');
    const requested = isDigest(identifier) ? identifier : undefined;
    if (requested && digest !== requested) {
      throw new ImgscopeError(
        'DIGEST_MISMATCH',
        `${subject}: the registry returned a manifest with digest ${digest}`,
        {
          hint: 'the manifest was altered in storage or transit; do not deploy it, and re-push the image',
        },
      );
    }
    // The registry may name the manifest in another algorithm (sha512): it is checked in that one.
    const content = claimed ? digestInAlgorithmOf(manifestPayload(bytes), claimed) : undefined;
    if (claimed && content && content !== claimed) {
      throw new ImgscopeError(
        'DIGEST_MISMATCH',
        `${subject}: manifest content is ${content} but the registry says ${claimed}`,
        {
          hint: 'the manifest was altered in storage or transit; re-push the image',
        },
      );
    }
    const mediaType = baseMediaType(contentType ?? '');
    return { bytes, mediaType: GENERIC_CONTENT_TYPES.has(mediaType) ? '' : mediaType, digest };
  }

  /** How long a manifest, config or token may take to arrive whole from `url`. */
  documentDeadline(url: URL): BodyDeadline {
    return { ms: documentDeadlineMs(this.options.timeouts), from: redactUrl(url) };
  }

  /** A small blob (config) read whole, verified, capped like a manifest. */
  async getSmallBlob(
    repository: string,
    descriptor: Descriptor,
    label: string,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    if (descriptor.size > MAX_MANIFEST_BYTES) {
      throw new ImgscopeError(
        'LIMIT',
        `${label}: ${descriptor.size} bytes exceeds the ${MAX_MANIFEST_BYTES}-byte limit`,
        {
          hint: 'image configs are a few KiB; this is not an image config',
        },
      );
    }
    const stream = this.openBlob(repository, descriptor, label, signal, { document: label });
    return readSmallBody(stream, MAX_MANIFEST_BYTES, label);
  }

  /**
   * Size of a blob from a HEAD request, or undefined when the registry does not have it. A registry that
   * does not take HEAD (405, 501) is asked for the blob's first byte, whose `Content-Range` has the size.
   */
  async blobSize(repository: string, digest: Digest, signal?: AbortSignal): Promise<number | undefined> {
    const path = `blobs/${digest}`;
    let response = await this.request('HEAD', repository, path, 'pull', signal ? { signal } : {});
    discard(response);
    if (response.status === 405 || response.status === 501) {
      response = await this.request('GET', repository, path, 'pull', {
        headers: { range: 'bytes=0-0' },
        ...(signal ? { signal } : {}),
      });
      if (response.status === 206) {
        response.body.on('error', () => {}).destroy();
        const total = /^bytes 0-0\/(\d+)$/.exec(headerValue(response, 'content-range') ?? '')?.[1];
        return total === undefined ? undefined : Number(total);
      }
      // A registry that ignored the range is sending the whole blob: its length is all that is needed.
      if (response.status === 200) response.body.on('error', () => {}).destroy();
    }
    if (response.status === 404) return undefined;
    if (response.status !== 200) {
      throw await registryFailure(response, {
        subject: digest,
        repositoryName: this.name(repository),
        origin: this.origin,
        what: 'blob',
      });
    }
    const size = Number(headerValue(response, 'content-length'));
    return Number.isSafeInteger(size) ? size : undefined;
  }

  /** Streams a blob through a VerifyingStream: sha256 and size are checked as the bytes pass. */
  openBlob(
    repository: string,
    descriptor: Descriptor,
    label: string,
    signal?: AbortSignal,
    options: RawBlobOptions = {},
  ): Readable {
    const verified = new VerifyingStream({
      digest: descriptor.digest,
      size: descriptor.size,
      label,
      remedy: 're-push the image',
    });
    return pipeline(this.openRawBlob(repository, descriptor, label, signal, options), verified, () => {});
  }

  /**
   * The blob's bytes, unverified — for `assembleImage`, which puts the VerifyingStream in front. A broken
   * download resumes from the delivered offset with `Range`.
   */
  openRawBlob(
    repository: string,
    descriptor: Descriptor,
    label: string,
    signal?: AbortSignal,
    options: RawBlobOptions = {},
  ): Readable {
    const path = `blobs/${descriptor.digest}`;
    const subject = label;
    // From each response's headers on, as for a manifest: not while a Retry-After is waited for.
    const timed = (response: HttpResponse): Readable =>
      options.document
        ? withDeadline(response.body, options.document, this.documentDeadline(response.url))
        : response.body;
    const open = async (offset: number): Promise<BodyAtOffset> => {
      const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
      const response = await this.request('GET', repository, path, 'pull', {
        headers,
        bulk: descriptor.size >= this.options.bulkDownloadBytes,
        ...(signal ? { signal } : {}),
      });
      if (response.status === 200) return { body: timed(response), skip: offset, url: response.url };
      if (response.status === 206 && offset > 0) {
        const range = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(headerValue(response, 'content-range') ?? '');
        if (range && Number(range[1]) === offset)
          return { body: timed(response), skip: 0, url: response.url };
        discard(response);
        throw new ImgscopeError(
          'REGISTRY',
          `${subject}: the registry answered a resume from byte ${offset} with the wrong range`,
          {
            hint: 'the registry mishandles Range requests; try again',
          },
        );
      }
      if (response.status === 416 && offset > 0) {
        // Nothing left at `offset`: the blob is shorter than the manifest says, which no retry mends.
        discard(response);
        throw new ImgscopeError(
          'REGISTRY',
          `${subject}: the blob ends after ${offset} bytes, but the manifest gives its size as ${descriptor.size}`,
          { hint: 'the manifest describes this blob wrongly; rebuild and push the image again' },
        );
      }
      if (response.status === 404 && descriptor.urls?.length) {
        // A foreign (non-distributable) layer: pushing again leaves it out again, as docker push does.
        discard(response);
        throw new ImgscopeError(
          'UNSUPPORTED',
          `${subject}: a non-distributable (foreign) layer the registry does not hold; it is downloaded from the URLs in its descriptor`,
          {
            hint: 'imgscope reads layers from the registry only: use --no-layers for the manifest-level checks',
          },
        );
      }
      throw await registryFailure(response, {
        subject,
        repositoryName: this.name(repository),
        origin: this.origin,
        what: 'blob',
      });
    };
    return resumableDownload({
      open,
      size: descriptor.size,
      maxResumes: this.options.retries.attempts - 1,
      delayMs: (resume) => backoffDelay(resume, this.options.retries),
      request: { method: 'GET', url: new URL(`/v2/${repository}/${path}`, this.origin) },
      ...(signal ? { signal } : {}),
    });
  }

  /** Whether the registry already has a blob (so a push can skip it). */
  async hasBlob(repository: string, digest: Digest): Promise<boolean> {
    const response = await this.request('HEAD', repository, `blobs/${digest}`, 'pull,push');
    discard(response);
    return response.status === 200;
  }

  /**
   * Uploads one blob: POST to open an upload session, then one PUT with the whole stream (monolithic),
   * or PATCHes of `chunkSize` bytes and a closing PUT (chunked).
   */
  async uploadBlob(
    repository: string,
    descriptor: Descriptor,
    content: Readable | Uint8Array,
    chunkSize?: number,
  ) {
    const subject = `blob ${descriptor.digest} of ${this.name(repository)}`;
    const context = { subject, repositoryName: this.name(repository), what: 'upload' as const };
    const start = await this.request('POST', repository, 'blobs/uploads/', 'pull,push', {
      headers: { 'content-length': '0' },
      body: new Uint8Array(0),
    });
    if (start.status !== 202) throw await registryFailure(start, context);
    await drain(start.body);
    let location = this.uploadLocation(start, subject);

    if (chunkSize && !(content instanceof Uint8Array)) {
      let offset = 0;
      for await (const chunk of chunked(content, chunkSize)) {
        const response = await this.request('PATCH', repository, location.href, 'pull,push', {
          headers: {
            'content-type': 'application/octet-stream',
            'content-range': `${offset}-${offset + chunk.length - 1}`,
            'content-length': String(chunk.length),
          },
          body: chunk,
        });
        if (response.status !== 202) throw await registryFailure(response, context);
        await drain(response.body);
        location = this.uploadLocation(response, subject);
        offset += chunk.length;
      }
      content = new Uint8Array(0);
    }
    location.searchParams.set('digest', descriptor.digest);
    const size = content instanceof Uint8Array ? content.byteLength : descriptor.size;
    const done = await this.request('PUT', repository, location.href, 'pull,push', {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: content,
    });
    if (done.status !== 201) throw await registryFailure(done, context);
    await drain(done.body);
  }

  private uploadLocation(response: HttpResponse, subject: string): URL {
    const location = headerValue(response, 'location');
    if (!location) {
      throw new ImgscopeError('REGISTRY', `${subject}: the registry opened an upload without a Location`, {
        hint: 'the registry does not follow the distribution spec',
      });
    }
    return new URL(location, response.url);
  }

  /** PUTs a manifest or index under a tag or digest; returns the digest the registry stored it as. */
  async putManifest(
    repository: string,
    identifier: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<Digest> {
    const subject = `${this.name(repository)}:${identifier}`;
    const response = await this.request('PUT', repository, `manifests/${identifier}`, 'pull,push', {
      headers: { 'content-type': mediaType, 'content-length': String(bytes.byteLength) },
      body: bytes,
    });
    if (response.status !== 201)
      throw await registryFailure(response, {
        subject,
        repositoryName: this.name(repository),
        what: 'upload',
      });
    discard(response);
    return manifestDigestOf(bytes);
  }

  async close(): Promise<void> {
    await this.pools.close();
  }
}

/** Re-slices a stream into buffers of exactly `size` bytes (the last may be shorter). */
async function* chunked(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= size) {
      const all = Buffer.concat(pending, pendingBytes);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      pendingBytes -= size;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
