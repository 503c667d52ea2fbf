import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../../src/registry/index.js';
import { runCli } from '../helpers/cli.js';
import { CLEAN_CLI_ENV, registryUnavailable, startRegistry, type TestRegistry } from './harness.js';
import { type BuiltImage, buildImage } from './images.js';

/** What a registry image's layers say about their size must count the same whether or not they are cached. */
describe.skipIf(registryUnavailable)('a manifest that misstates a cached layer', () => {
  let registry: TestRegistry;
  let image: BuiltImage;
  const cache = mkdtempSync(join(tmpdir(), 'imgscope-cached-sizes-'));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));

  beforeAll(async () => {
    registry = await startRegistry();
    image = await buildImage({ label: 'cached-sizes' });
    await pushImage(`${registry.host}/app:good`, image.content);
    for (const [tag, by] of [
      ['larger', 7],
      ['smaller', -7],
    ] as const) {
      const manifest = JSON.parse(image.manifest.toString());
      manifest.layers[0].size += by;
      await pushImage(`${registry.host}/app:${tag}`, {
        ...image.content,
        manifest: Buffer.from(JSON.stringify(manifest)),
      });
    }
  });
  afterAll(() => registry?.stop());

  const check = (tag: string, ...options: string[]) =>
    runCli(['check', ...options, `${registry.host}/app:${tag}`], { env: CLEAN_CLI_ENV });

  it.each([
    ['larger', 7],
    ['smaller', -7],
  ])('is refused as it is uncached (exit 2), its size %s than the blob', async (tag, by) => {
    expect((await check(tag, '--no-cache')).code).toBe(2);
    expect((await check('good', '--cache-dir', cache)).code).toBe(0);
    const cached = await check(tag, '--cache-dir', cache);
    const size = image.layers[0]!.descriptor.size;
    expect(cached.code).toBe(2);
    expect(cached.stderr).toMatch(
      new RegExp(
        `^imgscope: layer 1 of .*: ${size} bytes, but its descriptor promises ${size + by} — the manifest describes this blob wrongly; .*\\n$`,
      ),
    );
  });
});
