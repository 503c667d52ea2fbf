import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgscopeError, type PlatformNotFoundError } from '../../src/errors.js';
import { MediaType } from '../../src/oci/media-types.js';
import { formatPlatform } from '../../src/oci/platform.js';
import { indexPlatformsOf } from '../../src/policy/facts.js';
import { openRegistryImage, RegistryClient, type RegistryOptions } from '../../src/registry/index.js';
import { bytesAt, HostileRegistry, json, type Route, tricklingAt } from './hostile-registry.js';
import { type BuiltImage, buildImage, readAll } from './images.js';

const options: RegistryOptions = { env: {}, retries: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } };

async function failure(promise: Promise<unknown>): Promise<ImgscopeError> {
  const error = await promise.then(
    (source) => (source as { close(): Promise<void> }).close(),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImgscopeError);
  expect((error as ImgscopeError).exitCode).toBe(2);
  return error as ImgscopeError;
}

/** The routes that serve `image` under `repository:tag`, by tag and by digest, with its blobs. */
function imageRoutes(repository: string, image: BuiltImage, headers: Record<string, string> = {}): Route[] {
  const manifestHeaders = {
    'content-type': MediaType.OciManifest,
    'docker-content-digest': image.digest,
    ...headers,
  };
  return [
    bytesAt(`/v2/${repository}/manifests/v1`, image.manifest, manifestHeaders),
    bytesAt(`/v2/${repository}/manifests/${image.digest}`, image.manifest, manifestHeaders),
    bytesAt(`/v2/${repository}/blobs/${image.configDescriptor.digest}`, image.config),
    ...image.layers.map((layer) =>
      bytesAt(`/v2/${repository}/blobs/${layer.descriptor.digest}`, layer.bytes),
    ),
  ];
}

describe('registries that answer what Distribution never would', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'hostile' });
  });
  afterAll(() => registry?.stop());

  it('checks a Docker-Content-Digest in sha512 against the manifest, in sha512', async () => {
    const sha512 = (bytes: Uint8Array) => `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
    registry.serve(...imageRoutes('app', image, { 'docker-content-digest': sha512(image.manifest) }));
    const source = await openRegistryImage(`${registry.host}/app:v1`, options);
    await source.close();
    expect(source.digest).toBe(image.digest);

    const other = sha512(Buffer.from('another manifest'));
    registry.serve(...imageRoutes('app', image, { 'docker-content-digest': other }));
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(error.code).toBe('DIGEST_MISMATCH');
    expect(error.message).toBe(
      `${registry.host}/app:v1: manifest content is ${sha512(image.manifest)} but the registry says ${other}`,
    );
  });
});

describe('a registry or static mirror that serves manifests with a generic Content-Type', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'generic' });
  });
  afterAll(() => registry?.stop());

  it('goes by the body, as go-containerregistry does, still verifying the digest', async () => {
    for (const type of ['text/plain; charset=utf-8', 'application/octet-stream', 'binary/octet-stream']) {
      registry.serve(...imageRoutes('app', image, { 'content-type': type }));
      const source = await openRegistryImage(`${registry.host}/app:v1`, options);
      await source.close();
      expect(source.digest).toBe(image.digest);
      expect(source.mediaType).toBe(MediaType.OciManifest);
    }
    const other = `sha256:${'0'.repeat(64)}`;
    registry.serve(
      ...imageRoutes('app', image, { 'content-type': 'text/plain', 'docker-content-digest': other }),
    );
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(error.code).toBe('DIGEST_MISMATCH');
  });

  it('refuses a body whose shape does not tell an index from a manifest, saying so', async () => {
    const { config, layers } = JSON.parse(image.manifest.toString('utf8'));
    const entry = { mediaType: MediaType.OciManifest, digest: image.digest, size: image.manifest.length };
    const cases = [
      [
        { schemaVersion: 2, config, layers, manifests: [entry] },
        'and it has both manifests and config or layers',
      ],
      [{ schemaVersion: 2, config, layers, manifests: [] }, 'and it has both manifests and config or layers'],
      [{ schemaVersion: 2 }, 'neither the manifests of an index nor the config and layers of a manifest'],
    ] as const;
    for (const [document, what] of cases) {
      const bytes = Buffer.from(JSON.stringify(document));
      registry.serve(
        bytesAt('/v2/app/manifests/v1', bytes, { 'content-type': 'application/octet-stream' }),
        ...imageRoutes('app', image, { 'content-type': 'application/octet-stream' }).slice(1),
      );
      const error = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
      expect(error.code, what).toBe('MALFORMED');
      expect(error.message).toMatch(
        new RegExp(`^${registry.host}/app:v1: manifest: no media type.*${what}$`),
      );
    }
  });
});

describe('a registry that sends a small document a byte at a time', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'trickle' });
  });
  afterAll(() => registry?.stop());
  const slow: RegistryOptions = { ...options, timeouts: { bodyIdleMs: 200 } };

  it('gives up on a manifest not received whole within twice the idle timeout, naming the URL and the variable', async () => {
    registry.serve(
      tricklingAt('/v2/app/manifests/v1', image.manifest, { 'content-type': MediaType.OciManifest }),
    );
    const started = Date.now();
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, slow));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.code).toBe('NETWORK');
    expect(error.message).toBe(
      `${registry.host}/app:v1: manifest: not received in full within 400 ms from http://${registry.host}/v2/app/manifests/v1`,
    );
    expect(error.hint).toMatch(/raise IMGSCOPE_TIMEOUT_IDLE_MS/);
  });

  it('gives up on a config the same way, but not on a layer', async () => {
    const config = `/v2/app/blobs/${image.configDescriptor.digest}`;
    registry.serve(tricklingAt(config, image.config), ...imageRoutes('app', image));
    const started = Date.now();
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, slow));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.message).toBe(
      `${registry.host}/app:v1: config ${image.configDescriptor.digest}: not received in full within 400 ms from http://${registry.host}${config}`,
    );

    const layer = image.layers[0]!;
    registry.serve(
      tricklingAt(`/v2/app/blobs/${layer.descriptor.digest}`, layer.bytes.subarray(0), {}, 5),
      ...imageRoutes('app', image),
    );
    const source = await openRegistryImage(`${registry.host}/app:v1`, {
      ...options,
      timeouts: { bodyIdleMs: 100 },
    });
    try {
      const bytes = await readAll(await source.openBlob(layer.descriptor));
      expect(bytes.byteLength).toBe(layer.descriptor.size);
    } finally {
      await source.close();
    }
  });

  it("starts a config's deadline when its body does, not while a Retry-After is waited for", async () => {
    const config = `/v2/app/blobs/${image.configDescriptor.digest}`;
    let limited = 0;
    const once: Route = (_req, res, url) => {
      if (url.pathname !== config || limited++ > 0) return false;
      json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }, { 'retry-after': '1' });
      return true;
    };
    registry.serve(once, ...imageRoutes('app', image));
    const notices: string[] = [];
    const source = await openRegistryImage(`${registry.host}/app:v1`, {
      ...slow,
      notice: (line) => notices.push(line),
    });
    await source.close();
    expect(source.digest).toBe(image.digest);
    expect(notices).toHaveLength(1);
  });
});

describe('a registry address that answers with a web page', () => {
  let registry: HostileRegistry;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
  });
  afterAll(() => registry?.stop());

  it('says an HTML page answered, not that the image is corrupt', async () => {
    const page = Buffer.from('<!DOCTYPE html><html><body>Sign in to continue</body></html>');
    registry.serve(bytesAt('/v2/app/manifests/v1', page, { 'content-type': 'text/html; charset=utf-8' }));
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(error.code).toBe('REGISTRY');
    expect(error.message).toBe(
      `${registry.host}/app:v1: http://${registry.host}/v2/app/manifests/v1 answered with an HTML page, not a manifest`,
    );
    expect(error.hint).toMatch(/^check the registry host and port/);
  });

  it('says an HTML 404 page is no registry answer, rather than that the tag does not exist', async () => {
    const page = Buffer.from('<html><body>404 Not Found</body></html>');
    registry.serve(bytesAt(/^\//, page, { 'content-type': 'text/html' }, 404));
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(error.code).toBe('REGISTRY');
    expect(error.message).toBe(
      `${registry.host}/app:v1: http://${registry.host}/v2/app/manifests/v1 answered with an HTML page (HTTP 404), not a manifest`,
    );
  });
});

describe('artifacts in a registry', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'artifact' });
  });
  afterAll(() => registry?.stop());

  /** `image` with another config (and extra manifest fields), served as `app:v1`. */
  function serveWithConfig(config: Buffer, configMediaType: string, extra: Record<string, unknown> = {}) {
    const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        ...extra,
        config: { mediaType: configMediaType, digest: configDigest, size: config.length },
        layers: image.layers.map((layer) => layer.descriptor),
      }),
    );
    registry.serve(
      bytesAt('/v2/app/manifests/v1', manifest, { 'content-type': MediaType.OciManifest }),
      bytesAt(`/v2/app/blobs/${configDigest}`, config),
    );
  }

  it('says a Helm chart or an OCI 1.1 artifact is an artifact, not a corrupt image', async () => {
    serveWithConfig(
      Buffer.from('{"name":"chart","version":"1.0.0"}'),
      'application/vnd.cncf.helm.config.v1+json',
    );
    const chart = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(chart.code).toBe('UNSUPPORTED');
    expect(chart.message).toBe(
      `${registry.host}/app:v1 is an OCI artifact (config application/vnd.cncf.helm.config.v1+json), not a container image`,
    );
    expect(chart.hint).not.toMatch(/re-push|rebuild/);

    serveWithConfig(Buffer.from('{}'), 'application/vnd.oci.empty.v1+json', {
      artifactType: 'application/spdx+json',
    });
    const sbom = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(sbom.message).toBe(
      `${registry.host}/app:v1 is an OCI artifact of type application/spdx+json (config application/vnd.oci.empty.v1+json), not a container image`,
    );
  });

  it('still reads an image whose config has an unusual media type, and calls a broken image config corrupt', async () => {
    serveWithConfig(image.config, 'application/octet-stream');
    const source = await openRegistryImage(`${registry.host}/app:v1`, options);
    await source.close();
    expect(source.config.rootfs.diff_ids).toHaveLength(1);

    serveWithConfig(Buffer.from('{}'), MediaType.OciConfig);
    expect((await failure(openRegistryImage(`${registry.host}/app:v1`, options))).code).toBe('MALFORMED');
  });
});

describe('a registry whose /v2/ asks for no credentials while its repositories do', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'late-challenge', layers: [{ 'a.txt': 'a' }, { 'b.txt': 'b' }] });
  });
  afterAll(() => registry?.stop());

  it('fetches one token and sends it with every later request, not a 401 and a new token each time', async () => {
    const challenge: Route = (req, res, url) => {
      if (url.pathname === '/token') {
        json(res, 200, { token: 'the-token', expires_in: 300 });
        return true;
      }
      if (url.pathname === '/v2/') {
        json(res, 200, {});
        return true;
      }
      if (req.headers.authorization === 'Bearer the-token') return false;
      json(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
        {
          'www-authenticate': `Bearer realm="http://${registry.host}/token",service="hostile",scope="repository:app:pull"`,
        },
      );
      return true;
    };
    registry.serve(challenge, ...imageRoutes('app', image));
    const source = await openRegistryImage(`${registry.host}/app:v1`, options);
    try {
      for (const layer of source.layers) await readAll(await source.openBlob(layer));
    } finally {
      await source.close();
    }
    const tokenRequests = registry.requests.filter((r) => r.path.startsWith('/token'));
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.path).toBe('/token?service=hostile&scope=repository%3Aapp%3Apull');
    // The manifest is asked for twice (without, then with the token); config and layers once each.
    const unauthorized = registry.requests.filter((r) => r.path.startsWith('/v2/app/') && !r.authorization);
    expect(unauthorized.map((r) => r.path)).toEqual(['/v2/app/manifests/v1']);
  });
});

describe('a token service that rate-limits', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'token-429' });
  });
  afterAll(() => registry?.stop());

  /** A registry whose token service answers 429 with this Retry-After, `times` times, then a token. */
  function limitedTokens(retryAfter: string, times: number): Route {
    let limited = 0;
    return (req, res, url) => {
      if (url.pathname === '/token') {
        if (limited++ < times) {
          json(res, 429, { details: 'too many requests' }, { 'retry-after': retryAfter });
        } else {
          json(res, 200, { token: 'the-token', expires_in: 300 });
        }
        return true;
      }
      if (req.headers.authorization === 'Bearer the-token') return false;
      json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${registry.host}/token",service="h"` });
      return true;
    };
  }

  it('waits the Retry-After of its 429, saying so once, then gets the token', async () => {
    registry.serve(limitedTokens('1', 1), ...imageRoutes('app', image));
    const notices: string[] = [];
    const source = await openRegistryImage(`${registry.host}/app:v1`, {
      ...options,
      notice: (line) => notices.push(line),
    });
    await source.close();
    expect(source.digest).toBe(image.digest);
    expect(notices).toEqual([
      `${registry.host} answered 429 (rate limit): waiting 1 s, as its Retry-After asks, before trying again`,
    ]);
  });

  it('says how long it asks to wait when that is too long to wait for', async () => {
    registry.serve(limitedTokens('3600', 10), ...imageRoutes('app', image));
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(error.code).toBe('REGISTRY');
    expect(error.message).toBe(
      `token service http://${registry.host}/token of registry ${registry.host} (repository app) rate-limited the request (HTTP 429); it asks to wait 3600 s`,
    );
  });
});

describe('an index that misstates a manifest', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'index-size' });
  });
  afterAll(() => registry?.stop());

  it('refuses an index entry whose size is not the manifest it names', async () => {
    const index = (size: number) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciIndex,
          manifests: [
            {
              mediaType: MediaType.OciManifest,
              digest: image.digest,
              size,
              platform: { os: 'linux', architecture: 'amd64' },
            },
          ],
        }),
      );
    const serveIndex = (size: number) =>
      registry.serve(
        bytesAt('/v2/app/manifests/multi', index(size), { 'content-type': MediaType.OciIndex }),
        ...imageRoutes('app', image),
      );
    serveIndex(image.manifest.length);
    const source = await openRegistryImage(`${registry.host}/app:multi`, options);
    await source.close();
    expect(source.digest).toBe(image.digest);

    serveIndex(5);
    const error = await failure(openRegistryImage(`${registry.host}/app:multi`, options));
    expect(error.code).toBe('SIZE_MISMATCH');
    expect(error.message).toBe(
      `${registry.host}/app:multi: manifest ${image.digest} is ${image.manifest.length} bytes, but the index says 5`,
    );
  });
});

describe('an index holding another index without a platform', () => {
  let registry: HostileRegistry;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
  });
  afterAll(() => registry?.stop());

  it('searches the nested index for a platform the outer one does not list, as containerd does', async () => {
    const amd64 = await buildImage({ label: 'amd64' });
    const arm64 = await buildImage({ label: 'arm64', platform: { os: 'linux', architecture: 'arm64' } });
    const document = (manifests: unknown[]) =>
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
    const entry = (image: BuiltImage, architecture: string) => ({
      mediaType: MediaType.OciManifest,
      digest: image.digest,
      size: image.manifest.length,
      platform: { os: 'linux', architecture },
    });
    const nested = document([entry(arm64, 'arm64')]);
    const nestedDigest = `sha256:${createHash('sha256').update(nested).digest('hex')}`;
    const outer = document([
      entry(amd64, 'amd64'),
      { mediaType: MediaType.OciIndex, digest: nestedDigest, size: nested.length },
    ]);
    const indexType = { 'content-type': MediaType.OciIndex };
    registry.serve(
      bytesAt('/v2/app/manifests/multi', outer, indexType),
      bytesAt(`/v2/app/manifests/${nestedDigest}`, nested, indexType),
      ...imageRoutes('app', amd64),
      ...imageRoutes('app', arm64),
    );
    const source = await openRegistryImage(`${registry.host}/app:multi`, {
      ...options,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    await source.close();
    expect(source.digest).toBe(arm64.digest);
  });

  const indexDocument = (manifests: unknown[]) =>
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests }));
  const platformed = (image: BuiltImage, architecture: string) => ({
    mediaType: MediaType.OciManifest,
    digest: image.digest,
    size: image.manifest.length,
    platform: { os: 'linux', architecture },
  });
  const unplatformed = (document: Buffer) => ({
    mediaType: MediaType.OciIndex,
    digest: `sha256:${createHash('sha256').update(document).digest('hex')}`,
    size: document.length,
  });

  it('searches every index without a platform, not only the first', async () => {
    const amd64 = await buildImage({ label: 'amd64' });
    const s390x = await buildImage({ label: 's390x', platform: { os: 'linux', architecture: 's390x' } });
    const arm64 = await buildImage({ label: 'arm64', platform: { os: 'linux', architecture: 'arm64' } });
    const first = indexDocument([platformed(s390x, 's390x')]);
    const second = indexDocument([platformed(arm64, 'arm64')]);
    const outer = indexDocument([platformed(amd64, 'amd64'), unplatformed(first), unplatformed(second)]);
    const indexType = { 'content-type': MediaType.OciIndex };
    registry.serve(
      bytesAt('/v2/app/manifests/multi', outer, indexType),
      bytesAt(`/v2/app/manifests/${unplatformed(first).digest}`, first, indexType),
      bytesAt(`/v2/app/manifests/${unplatformed(second).digest}`, second, indexType),
      ...imageRoutes('app', amd64),
      ...imageRoutes('app', s390x),
      ...imageRoutes('app', arm64),
    );
    const source = await openRegistryImage(`${registry.host}/app:multi`, {
      ...options,
      platform: { os: 'linux', architecture: 'arm64' },
    });
    await source.close();
    expect(source.digest).toBe(arm64.digest);
    // The report lists the platforms found, not only those the outer index names.
    expect(indexPlatformsOf(source.index!).map(formatPlatform)).toEqual([
      'linux/amd64',
      'linux/s390x',
      'linux/arm64',
    ]);
  });

  it('lists the platforms of the indexes it did not need to search, once the image is found', async () => {
    const amd64 = await buildImage({ label: 'amd64' });
    const s390x = await buildImage({ label: 's390x', platform: { os: 'linux', architecture: 's390x' } });
    const arm64 = await buildImage({ label: 'arm64', platform: { os: 'linux', architecture: 'arm64' } });
    const first = indexDocument([platformed(s390x, 's390x')]);
    const second = indexDocument([platformed(amd64, 'amd64')]);
    // The wanted arm64 image is named by the outer index, amd64 only in the second nested one: the
    // platform check must not say the index has no linux/amd64 image.
    const outer = indexDocument([platformed(arm64, 'arm64'), unplatformed(first), unplatformed(second)]);
    const indexType = { 'content-type': MediaType.OciIndex };
    registry.serve(
      bytesAt('/v2/app/manifests/listed', outer, indexType),
      bytesAt(`/v2/app/manifests/${unplatformed(first).digest}`, first, indexType),
      bytesAt(`/v2/app/manifests/${unplatformed(second).digest}`, second, indexType),
      ...imageRoutes('app', amd64),
      ...imageRoutes('app', s390x),
      ...imageRoutes('app', arm64),
    );
    for (const architecture of ['arm64', 's390x']) {
      const source = await openRegistryImage(`${registry.host}/app:listed`, {
        ...options,
        platform: { os: 'linux', architecture },
      });
      await source.close();
      expect(indexPlatformsOf(source.index!).map(formatPlatform)).toEqual([
        'linux/arm64',
        'linux/s390x',
        'linux/amd64',
      ]);
    }
  });

  it('names the outer index and every platform it holds when none is the one asked for', async () => {
    const amd64 = await buildImage({ label: 'amd64' });
    const s390x = await buildImage({ label: 's390x', platform: { os: 'linux', architecture: 's390x' } });
    const nested = indexDocument([platformed(s390x, 's390x')]);
    // Listed twice: searched once, not taken for an index that refers to itself.
    const outer = indexDocument([platformed(amd64, 'amd64'), unplatformed(nested), unplatformed(nested)]);
    const outerDigest = `sha256:${createHash('sha256').update(outer).digest('hex')}`;
    const indexType = { 'content-type': MediaType.OciIndex };
    registry.serve(
      bytesAt('/v2/app/manifests/multi', outer, indexType),
      bytesAt(`/v2/app/manifests/${unplatformed(nested).digest}`, nested, indexType),
      ...imageRoutes('app', amd64),
      ...imageRoutes('app', s390x),
    );
    const error = await failure(
      openRegistryImage(`${registry.host}/app:multi`, {
        ...options,
        platform: { os: 'linux', architecture: 'arm64' },
      }),
    );
    expect(error.message).toBe(
      `${registry.host}/app:multi: no linux/arm64 image; the index has linux/amd64, linux/s390x`,
    );
    expect((error as PlatformNotFoundError).index.digest).toBe(outerDigest);
    expect(indexPlatformsOf((error as PlatformNotFoundError).index).map(formatPlatform)).toEqual([
      'linux/amd64',
      'linux/s390x',
    ]);
  });
});

describe('a foreign (non-distributable) layer', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'foreign' });
  });
  afterAll(() => registry?.stop());

  it('that the registry does not hold is named as such, not as an image to re-push', async () => {
    const layer = { ...image.layers[0]!.descriptor, urls: ['https://example.invalid/layer.tar.gz'] };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: image.configDescriptor,
        layers: [{ ...layer, mediaType: MediaType.OciLayerNondistributableGzip }],
      }),
    );
    registry.serve(
      bytesAt('/v2/app/manifests/v1', manifest, { 'content-type': MediaType.OciManifest }),
      bytesAt(`/v2/app/blobs/${image.configDescriptor.digest}`, image.config),
    );
    const source = await openRegistryImage(`${registry.host}/app:v1`, options);
    try {
      const error = await failure(source.openBlob(source.layers[0]!).then(readAll));
      expect(error.code).toBe('UNSUPPORTED');
      expect(error.message).toMatch(/: a non-distributable \(foreign\) layer the registry does not hold;/);
      expect(error.hint).not.toMatch(/re-push/);
    } finally {
      await source.close();
    }
  });
});

describe('an index naming a manifest the registry lacks', () => {
  let registry: HostileRegistry;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
  });
  afterAll(() => registry?.stop());

  it('says the image is incomplete, not that the tag may be wrong', async () => {
    const missing = `sha256:${'ab'.repeat(32)}`;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          {
            mediaType: MediaType.OciManifest,
            digest: missing,
            size: 500,
            platform: { os: 'linux', architecture: 'amd64' },
          },
        ],
      }),
    );
    registry.serve(bytesAt('/v2/app/manifests/multi', index, { 'content-type': MediaType.OciIndex }));
    const error = await failure(openRegistryImage(`${registry.host}/app:multi`, options));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toBe(
      `${registry.host}/app:multi: the index lists linux/amd64 as ${missing}, but the registry does not have that manifest`,
    );
    expect(error.hint).toBe('the image is incomplete in the registry; push it again with all its platforms');
  });
});

describe('a manifest body cut short on every attempt', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'cut' });
  });
  afterAll(() => registry?.stop());

  it('ends in one NETWORK line naming the request and the attempts, not an unexpected error', async () => {
    registry.serve((_req, res, url) => {
      if (url.pathname !== '/v2/app/manifests/v1') return false;
      res.writeHead(200, {
        'content-type': MediaType.OciManifest,
        'content-length': image.manifest.length + 100,
      });
      res.write(image.manifest);
      setTimeout(() => res.destroy(), 10);
      return true;
    });
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(error.code).toBe('NETWORK');
    expect(error.message).toMatch(
      new RegExp(`^GET http://${registry.host}/v2/app/manifests/v1: .* \\(after 2 attempts\\)$`),
    );
  });
});

describe('a config that does not describe the manifest', () => {
  let registry: HostileRegistry;
  let image: BuiltImage;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
    image = await buildImage({ label: 'diff-ids', layers: [{ 'a.txt': 'a' }, { 'b.txt': 'b' }] });
  });
  afterAll(() => registry?.stop());

  it('is refused when its diff_ids do not count the manifest layers, as docker refuses to unpack it', async () => {
    const config = JSON.parse(image.config.toString()) as { rootfs: { diff_ids: string[] } };
    config.rootfs.diff_ids.pop();
    const configBytes = Buffer.from(JSON.stringify(config));
    const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}`;
    const manifest = Buffer.from(
      JSON.stringify({
        ...JSON.parse(image.manifest.toString()),
        config: { ...image.configDescriptor, digest: configDigest, size: configBytes.length },
      }),
    );
    registry.serve(
      bytesAt('/v2/app/manifests/v1', manifest, { 'content-type': MediaType.OciManifest }),
      bytesAt(`/v2/app/blobs/${configDigest}`, configBytes),
    );
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, options));
    expect(error.code).toBe('MALFORMED');
    expect(error.message).toBe(
      `${registry.host}/app:v1: the manifest has 2 layers but the config's rootfs.diff_ids has 1`,
    );
  });
});

describe('a registry that does not take HEAD', () => {
  let registry: HostileRegistry;
  const blob = Buffer.from('a schema 1 layer of 32 bytes....');
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}` as const;
  const notAllowed: Route = (req, res) => {
    if (req.method !== 'HEAD') return false;
    res.writeHead(405).end();
    return true;
  };
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
  });
  afterAll(() => registry?.stop());

  it("sizes a blob (schema 1's layers) from the first byte's Content-Range, or a whole answer's length", async () => {
    const client = new RegistryClient({ registry: registry.host, apiHost: registry.host }, options);
    try {
      registry.serve(notAllowed, (req, res, url) => {
        if (url.pathname !== `/v2/app/blobs/${digest}`) return false;
        expect(req.headers.range).toBe('bytes=0-0');
        res.writeHead(206, { 'content-range': `bytes 0-0/${blob.length}`, 'content-length': 1 });
        res.end(blob.subarray(0, 1));
        return true;
      });
      expect(await client.blobSize('app', digest)).toBe(blob.length);
      registry.serve(notAllowed, bytesAt(`/v2/app/blobs/${digest}`, blob));
      expect(await client.blobSize('app', digest)).toBe(blob.length);
      registry.serve(notAllowed);
      expect(await client.blobSize('app', digest)).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});

describe('a registry whose error text quotes the request credentials', () => {
  let registry: HostileRegistry;
  beforeAll(async () => {
    registry = await new HostileRegistry().start();
  });
  afterAll(() => registry?.stop());
  const password = 'hunter2-secret';
  const env = { IMGSCOPE_USERNAME: 'alice', IMGSCOPE_PASSWORD: password };

  /** Answers every repository request with `status`, quoting the Authorization header and its password. */
  const echoing =
    (status: number, code: string): Route =>
    (req, res, url) => {
      if (!url.pathname.startsWith('/v2/app/')) return false;
      const sent = req.headers.authorization ?? '';
      const decoded = Buffer.from(sent.replace(/^Basic /, ''), 'base64').toString();
      json(res, status, { errors: [{ code, message: `refused "${sent}" (${decoded}, ${password})` }] });
      return true;
    };

  it.each([
    [403, 'DENIED'],
    [400, 'WEIRD'],
  ])('never prints a Basic password the registry echoes in a %i', async (status, code) => {
    const basic: Route = (req, res, url) => {
      if (url.pathname !== '/v2/' || req.headers.authorization) return false;
      json(res, 401, {}, { 'www-authenticate': 'Basic realm="hostile"' });
      return true;
    };
    registry.serve(basic, echoing(status, code));
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, { ...options, env }));
    const basicValue = Buffer.from(`alice:${password}`).toString('base64');
    expect(error.message).toContain('refused "Basic ***" (***, ***)');
    expect(`${error.message} ${error.hint}`).not.toContain(password);
    expect(error.message).not.toContain(basicValue);
  });

  it('never prints a bearer token the registry echoes', async () => {
    const bearer: Route = (req, res, url) => {
      if (url.pathname === '/token') {
        json(res, 200, { token: 'the-secret-token', expires_in: 300 });
        return true;
      }
      if (req.headers.authorization) return false;
      json(res, 401, {}, { 'www-authenticate': `Bearer realm="http://${registry.host}/token",service="h"` });
      return true;
    };
    registry.serve(bearer, echoing(403, 'DENIED'));
    const error = await failure(openRegistryImage(`${registry.host}/app:v1`, { ...options, env }));
    expect(error.message).toContain('refused "Bearer ***"');
    expect(error.message).not.toContain('the-secret-token');
  });
});
