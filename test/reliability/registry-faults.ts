import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IMAGES_FOLDER } from '../../src/analysis/cache/location.js';
import { pushImage } from '../../src/registry/index.js';
import { startRegistry, TEST_USER } from '../registry/harness.js';
import { type BuiltImage, buildImage, noise } from '../registry/images.js';
import { type CliRun, filesUnder } from './cli-run.js';
import { assembleImage, gzipLayer, tarLength } from './images.js';
import { shortError } from './outcomes.js';
import { differences, figures, type Suite } from './suite.js';
import { tarArchive } from './tar-writer.js';

const GROUP = 'registry';
const hexOf = (digest: string) => digest.replace(/^sha256:/, '');
const NOISE_BYTES = 400_000;

/**
 * Every registry fault of issue 7, injected by the fault proxy in front of real Distribution (token
 * auth, credentials from IMGSCOPE_USERNAME/IMGSCOPE_PASSWORD) and met by the built CLI. Transient faults
 * must be recovered with the same figures as a clean run; the rest must fail in one line, in bounded time.
 */
export function describeRegistryFaults(suite: Suite): void {
  describe('registry faults through the proxy', () => {
    let image: BuiltImage;
    let baseline: ReturnType<typeof figures> | undefined;
    let manifestPath: RegExp;
    let configPath: RegExp;
    let layerPath: RegExp;
    let layerDigest: string;

    const push = (name: string, content: BuiltImage['content']) =>
      pushImage(`${suite.registry.host}/private/${name}`, content, {
        credentials: { ...TEST_USER },
        env: {},
      });
    const gets = (path: RegExp) =>
      suite.proxy.requests.filter((r) => r.method === 'GET' && path.test(r.path));
    const sameFigures = (report: Parameters<typeof figures>[0]) => {
      if (!baseline) return ['no baseline: the clean run failed'];
      return differences(report, baseline);
    };
    const seconds = (run: CliRun) => `${(run.ms / 1000).toFixed(1)} s`;

    beforeAll(async () => {
      image = await buildImage({
        label: 'reliability',
        layers: [
          { 'noise.bin': noise(NOISE_BYTES), 'etc/app.conf': 'v1\n' },
          { 'etc/app.conf': 'version 2\n', 'etc/motd': 'hi\n' },
        ],
      });
      await push('app:v1', image.content);
      manifestPath = /\/v2\/private\/app\/manifests\/v1$/;
      configPath = new RegExp(`/blobs/${image.configDescriptor.digest}$`);
      layerDigest = image.layers[0]!.descriptor.digest;
      layerPath = new RegExp(`/blobs/${layerDigest}$`);
    });
    afterEach(() => {
      const pending = suite.proxy.pendingRules;
      suite.proxy.clear();
      // A rule that never fired means the fault was never met: the case proved nothing.
      expect(pending, 'an injected fault never fired').toBe(0);
    });

    it('no fault: the baseline every recovery must match', async () => {
      const { judgement } = await suite.trial({
        group: GROUP,
        fault: 'none (baseline)',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: (report) =>
          differences(report, {
            digest: image.digest,
            layerCount: 2,
            layersAnalyzed: true,
            wastedBytes: 'v1\n'.length + 'version 2\n'.length,
            layers: image.layers.map((layer, i) => ({
              digest: layer.descriptor.digest,
              compressedSize: layer.descriptor.size,
              uncompressedSize: tarLength(layer.bytes),
              contentSize: i === 0 ? NOISE_BYTES + 3 : 10 + 3,
              fileCount: 2,
            })),
          }),
        // The positive control of every `unverified` check: verified layers are cached under their digest.
        verify: (_, __, cached) =>
          image.layers.every((layer) => cached.some((file) => file.includes(hexOf(layer.descriptor.digest))))
            ? []
            : [`the cache holds no entry per layer (${cached.join(', ')})`],
        notes: () => '2 layers, token auth; both layers cached',
      });
      baseline = figures(judgement.report!);
    });

    it('connection reset mid-manifest: asked again', async () => {
      suite.proxy.inject({ method: 'GET', path: manifestPath, fault: { kind: 'reset', afterBytes: 40 } });
      await suite.trial({
        group: GROUP,
        fault: 'connection reset mid-manifest',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        notes: () => `${gets(manifestPath).length} manifest GETs`,
      });
    });

    it('connection reset mid-config: resumed', async () => {
      suite.proxy.inject({ method: 'GET', path: configPath, fault: { kind: 'reset', afterBytes: 100 } });
      await suite.trial({
        group: GROUP,
        fault: 'connection reset mid-config blob',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        notes: () => `resumed with ${gets(configPath)[1]?.headers.range ?? 'no Range'}`,
      });
    });

    it('connection reset mid-layer: resumed with Range from the delivered offset', async () => {
      suite.proxy.inject({ method: 'GET', path: layerPath, fault: { kind: 'reset', afterBytes: 150_000 } });
      await suite.trial({
        group: GROUP,
        fault: 'connection reset mid-blob (layer)',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        verify: () => (gets(layerPath)[1]?.headers.range ? [] : ['the layer was not resumed with Range']),
        notes: () => `resumed with ${gets(layerPath)[1]?.headers.range}`,
      });
    });

    it('a layer reset on every attempt: gives up after the bounded attempts', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: layerPath,
        fault: { kind: 'reset', afterBytes: 1000 },
        times: 4,
      });
      await suite.trial({
        group: GROUP,
        fault: 'connection reset mid-blob, every attempt',
        expected: 'failed cleanly',
        args: [suite.ref('app:v1')],
        unverified: [layerDigest],
      });
    });

    it('a layer body stalled past the idle timeout: resumed', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: layerPath,
        fault: { kind: 'stall', afterBytes: 100_000, ms: 8000 },
      });
      await suite.trial({
        group: GROUP,
        fault: 'stalled layer body (8 s silence, idle timeout 1.5 s)',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        verify: (run) => (run.ms < 8000 ? [] : [`waited out the stall (${run.ms} ms)`]),
        notes: (run) =>
          `resumed with ${gets(layerPath)[1]?.headers.range} after the idle timeout; ${seconds(run)}`,
      });
    });

    it('a manifest body stalled past the idle timeout: asked again', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: manifestPath,
        fault: { kind: 'stall', afterBytes: 40, ms: 8000 },
      });
      await suite.trial({
        group: GROUP,
        fault: 'stalled manifest body (8 s silence)',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        verify: (run) => (run.ms < 8000 ? [] : [`waited out the stall (${run.ms} ms)`]),
        notes: (run) => `${gets(manifestPath).length} manifest GETs; ${seconds(run)}`,
      });
    });

    it('a registry that never answers: bounded by the header timeout and attempts', async () => {
      suite.proxy.inject({ method: 'GET', path: manifestPath, fault: { kind: 'hang' }, times: 4 });
      await suite.trial({
        group: GROUP,
        fault: 'no response headers, every attempt (header timeout 1 s)',
        expected: 'failed cleanly',
        args: [suite.ref('app:v1')],
        env: { IMGSCOPE_TIMEOUT_HEADERS_MS: '1000' },
        verify: (run) => (run.ms < 15_000 ? [] : [`took ${run.ms} ms`]),
      });
    });

    it('429 with Retry-After: waits as told, then recovers', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: manifestPath,
        fault: { kind: 'status', status: 429, retryAfter: '1' },
      });
      await suite.trial({
        group: GROUP,
        fault: '429 with Retry-After: 1',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        notice:
          /^imgscope: [\d.:]+ answered 429 \(rate limit\): waiting 1 s, as its Retry-After asks, before trying again$/,
        checkReport: sameFigures,
        verify: (run) => (run.ms >= 1000 ? [] : [`did not wait for Retry-After (${run.ms} ms)`]),
        notes: (run) => `waited the second, saying so; ${seconds(run)}`,
      });
    });

    it('429 without Retry-After: backs off and recovers', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: layerPath,
        fault: { kind: 'status', status: 429 },
        times: 2,
      });
      await suite.trial({
        group: GROUP,
        fault: '429 without Retry-After (×2 on a layer)',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        notes: () => `${gets(layerPath).length} layer GETs`,
      });
    });

    it('429 with a Retry-After of an hour: reports the rate limit at once', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: manifestPath,
        fault: { kind: 'status', status: 429, retryAfter: '3600' },
      });
      await suite.trial({
        group: GROUP,
        fault: '429 with Retry-After: 3600',
        expected: 'failed cleanly',
        args: [suite.ref('app:v1')],
        verify: (run) => (run.ms < 10_000 ? [] : [`waited ${run.ms} ms`]),
      });
    });

    it('a burst of 500: retried like the other 5xx', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: manifestPath,
        fault: { kind: 'status', status: 500 },
        times: 2,
      });
      await suite.trial({
        group: GROUP,
        fault: '500 ×2 on the manifest',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        notes: () => `${gets(manifestPath).length} manifest GETs`,
      });
    });

    it('a burst of 502/503/504: retried', async () => {
      suite.proxy.inject(
        { method: 'GET', path: manifestPath, fault: { kind: 'status', status: 503 }, times: 2 },
        { method: 'GET', path: configPath, fault: { kind: 'status', status: 502 } },
        { method: 'GET', path: layerPath, fault: { kind: 'status', status: 504 } },
      );
      await suite.trial({
        group: GROUP,
        fault: '503 ×2 on the manifest, 502 on the config, 504 on a layer',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
      });
    });

    it('503 on every attempt: gives up after the bounded attempts', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: manifestPath,
        fault: { kind: 'status', status: 503 },
        times: 4,
      });
      await suite.trial({
        group: GROUP,
        fault: '503 on every attempt',
        expected: 'failed cleanly',
        args: [suite.ref('app:v1')],
      });
    });

    it('a Content-Length larger than the body: resumed', async () => {
      suite.proxy.inject({ method: 'GET', path: layerPath, fault: { kind: 'content-length', delta: 1000 } });
      await suite.trial({
        group: GROUP,
        fault: 'Content-Length +1000 on a layer',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
      });
    });

    it('a Content-Length smaller than the body: the rest is fetched with Range', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: layerPath,
        fault: { kind: 'content-length', delta: -50_000 },
      });
      await suite.trial({
        group: GROUP,
        fault: 'Content-Length −50,000 on a layer',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        notes: () => `rest fetched with ${gets(layerPath)[1]?.headers.range}`,
      });
    });

    it('a Content-Length larger than the manifest: asked again', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: manifestPath,
        fault: { kind: 'content-length', delta: 100 },
      });
      await suite.trial({
        group: GROUP,
        fault: 'Content-Length +100 on the manifest',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
      });
    });

    it('a Content-Length smaller than the manifest: the cut document fails its digest', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: manifestPath,
        fault: { kind: 'content-length', delta: -20 },
      });
      await suite.trial({
        group: GROUP,
        fault: 'Content-Length −20 on the manifest',
        expected: 'failed cleanly',
        args: [suite.ref('app:v1')],
      });
    });

    it('a layer corrupted in transit: refused, and a clean re-run is unaffected', async () => {
      suite.proxy.inject({ method: 'GET', path: layerPath, fault: { kind: 'corrupt', offset: 12_345 } });
      const { cacheDir } = await suite.trial({
        group: GROUP,
        fault: 'blob bytes do not match its digest (1 byte flipped in transit)',
        expected: 'failed cleanly',
        args: [suite.ref('app:v1')],
        unverified: [layerDigest],
      });
      await suite.trial({
        group: GROUP,
        fault: '… then the same image again, same cache dir, no fault',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        cacheDir,
        checkReport: sameFigures,
        notes: () => 'figures equal the baseline',
      });
    });

    const cacheEntry = (cached: string[], digest: string) =>
      cached.find((file) => file.includes(hexOf(digest)));
    const cacheNote = (run: CliRun) =>
      run.stderr.match(/cache entry \S+ discarded \(([^)]*)\)/)?.[1] ?? 'entry not discarded';
    // A warm image summary would answer before any layer entry is read: drop it so the entry is tested.
    const dropImageSummaries = (cacheDir: string) =>
      rmSync(join(cacheDir, IMAGES_FOLDER), { recursive: true, force: true });
    const mustDiscard = (run: CliRun) =>
      cacheNote(run) === 'entry not discarded' ? ['the damaged layer cache entry was not discarded'] : [];

    it('a cache entry corrupted on disk is discarded, not trusted', async () => {
      const cacheDir = suite.newDir('cache');
      await suite.warm(suite.ref('app:v1'), cacheDir);
      dropImageSummaries(cacheDir);
      const entry = join(cacheDir, cacheEntry(filesUnder(cacheDir), layerDigest)!);
      const bytes = readFileSync(entry);
      const middle = bytes.length >> 1;
      bytes[middle] = bytes[middle]! ^ 0xff;
      writeFileSync(entry, bytes);
      await suite.trial({
        group: 'cache',
        fault: 'layer cache entry with a flipped byte',
        expected: 'recovered',
        args: ['--debug', suite.ref('app:v1')],
        cacheDir,
        debug: true,
        checkReport: sameFigures,
        verify: mustDiscard,
        notes: (run) => `discarded: ${shortError(cacheNote(run), 60)}`,
      });
    });

    it("a cache entry holding another layer's analysis is discarded, not trusted", async () => {
      const cacheDir = suite.newDir('cache');
      await suite.warm(suite.ref('app:v1'), cacheDir);
      dropImageSummaries(cacheDir);
      const cached = filesUnder(cacheDir);
      const other = cacheEntry(cached, image.layers[1]!.descriptor.digest)!;
      copyFileSync(join(cacheDir, other), join(cacheDir, cacheEntry(cached, layerDigest)!));
      await suite.trial({
        group: 'cache',
        fault: "layer cache entry swapped for another layer's",
        expected: 'recovered',
        args: ['--debug', suite.ref('app:v1')],
        cacheDir,
        debug: true,
        checkReport: sameFigures,
        verify: mustDiscard,
        notes: (run) => `discarded: ${shortError(cacheNote(run), 60)}`,
      });
    });

    it('a layer altered in the registry storage: refused', async () => {
      const tampered = await buildImage({ label: 'tampered', layers: [{ 'a.bin': noise(50_000, 7) }] });
      await push('tampered:v1', tampered.content);
      const digest = tampered.layers[0]!.descriptor.digest;
      const stored = readFileSync(suite.registry.blobDataPath(digest));
      const middle = stored.length >> 1;
      stored[middle] = stored[middle]! ^ 0xff;
      writeFileSync(suite.registry.blobDataPath(digest), stored);
      await suite.trial({
        group: GROUP,
        fault: 'blob altered in registry storage',
        expected: 'failed cleanly',
        args: [suite.ref('tampered:v1')],
        unverified: [digest],
      });
    });

    it('a truncated gzip layer (pushed that way, digest intact): refused', async () => {
      const tar = tarArchive([{ name: 'data.bin', content: noise(200_000, 3) }]);
      const whole = gzipLayer(tar);
      const truncated = assembleImage({ layers: [{ ...whole, bytes: whole.bytes.subarray(0, 60_000) }] });
      await push('truncated:v1', truncated.content);
      await suite.trial({
        group: GROUP,
        fault: 'truncated gzip (the blob itself ends mid-stream)',
        expected: 'failed cleanly',
        args: [suite.ref('truncated:v1')],
        unverified: [truncated.layers[0]!.descriptor.digest],
      });
    });

    it('a manifest whose Docker-Content-Digest is another digest: refused', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: manifestPath,
        fault: { kind: 'header', name: 'Docker-Content-Digest', value: `sha256:${'0'.repeat(64)}` },
      });
      await suite.trial({
        group: GROUP,
        fault: 'manifest digest ≠ Docker-Content-Digest',
        expected: 'failed cleanly',
        args: [suite.ref('app:v1')],
      });
    });

    it('a manifest asked for by digest that comes back different: refused', async () => {
      suite.proxy.inject({
        method: 'GET',
        path: new RegExp(`/manifests/${image.digest}$`),
        fault: { kind: 'corrupt', offset: 30 },
      });
      await suite.trial({
        group: GROUP,
        fault: 'manifest digest ≠ the requested digest (@sha256:…)',
        expected: 'failed cleanly',
        args: [`${suite.proxy.host}/private/app@${image.digest}`],
      });
    });

    it('blobs redirected to another origin: followed, without Authorization', async () => {
      suite.proxy.inject({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'redirect' }, times: 3 });
      await suite.trial({
        group: GROUP,
        fault: '307 of every blob to another origin (a blob store)',
        expected: 'recovered',
        args: [suite.ref('app:v1')],
        checkReport: sameFigures,
        verify: () => {
          const store = suite.proxy.blobStoreRequests;
          const problems = store.length === 3 ? [] : [`${store.length} blob-store requests, expected 3`];
          if (store.some((request) => request.authorization !== undefined))
            problems.push('the other origin received Authorization');
          return problems;
        },
        notes: () =>
          `${suite.proxy.blobStoreRequests.length} blob-store GETs, ${suite.proxy.blobStoreRequests.filter((r) => r.authorization).length} with Authorization`,
      });
    });

    it('a token endpoint that fails once: retried', async () => {
      suite.registry.issuer!.failNext = { count: 1, with: 503 };
      try {
        await suite.trial({
          group: GROUP,
          fault: 'token endpoint 503 once',
          expected: 'recovered',
          args: [suite.ref('app:v1')],
          checkReport: sameFigures,
        });
      } finally {
        suite.registry.issuer!.failNext = { count: 0, with: 500 };
      }
    });

    it('a token endpoint that keeps failing: one line, bounded', async () => {
      suite.registry.issuer!.failNext = { count: 100, with: 500 };
      try {
        await suite.trial({
          group: GROUP,
          fault: 'token endpoint 500 on every attempt',
          expected: 'failed cleanly',
          args: [suite.ref('app:v1')],
        });
      } finally {
        suite.registry.issuer!.failNext = { count: 0, with: 500 };
      }
    });

    it('a token endpoint that returns garbage: one line', async () => {
      suite.registry.issuer!.failNext = { count: 100, with: 'garbage' };
      try {
        await suite.trial({
          group: GROUP,
          fault: 'token endpoint returns garbage (200, not JSON)',
          expected: 'failed cleanly',
          args: [suite.ref('app:v1')],
        });
      } finally {
        suite.registry.issuer!.failNext = { count: 0, with: 500 };
      }
    });

    it('a timeout setting that is not a number is named, not ignored', async () => {
      await suite.trial({
        group: GROUP,
        fault: 'IMGSCOPE_TIMEOUT_IDLE_MS=soon',
        expected: 'failed cleanly',
        args: [suite.ref('app:v1')],
        env: { IMGSCOPE_TIMEOUT_IDLE_MS: 'soon' },
        names: ['IMGSCOPE_TIMEOUT_IDLE_MS'],
      });
    });

    it('a registry that refuses connections: bounded attempts, one line', async () => {
      const gone = await startRegistry();
      const host = gone.host;
      await gone.stop();
      await suite.trial({
        group: GROUP,
        fault: 'connection refused (registry down)',
        expected: 'failed cleanly',
        args: [`${host}/private/app:v1`],
        names: [host],
      });
    });
  });
}
