import { execFile } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestHex } from '../../src/oci/digest.js';
import { openLocalImage } from '../../src/oci/local/index.js';
import { parsePlatform } from '../../src/oci/platform.js';
import type { ImageSource } from '../../src/oci/source.js';
import type { Descriptor } from '../../src/oci/types.js';
import { openRegistryImage, pushImage } from '../../src/registry/index.js';
import { fixture } from '../helpers/shared.js';
import { registryUnavailable, startRegistry, TEST_USER, type TestRegistry } from './harness.js';
import { readAll } from './images.js';

const run = promisify(execFile);
const SKOPEO = '/usr/bin/skopeo';
const missing =
  registryUnavailable ??
  (!existsSync(fixture('multiarch', 'index.json')) ? 'fixtures/ has no multiarch layout' : undefined) ??
  (!existsSync(SKOPEO) ? `${SKOPEO} is missing (apt-get install skopeo)` : undefined);
if (missing && !registryUnavailable) console.warn(`skipping registry fixture tests: ${missing}`);

const blobPath = (layout: string, descriptor: Pick<Descriptor, 'digest'>) =>
  fixture(layout, 'blobs', 'sha256', digestHex(descriptor.digest));

/** The facts every source must agree on, whatever transport it came through. */
function facts(source: ImageSource) {
  return {
    digest: source.digest,
    mediaType: source.mediaType,
    schema: source.schema,
    platform: source.platform,
    config: source.config,
    configDescriptor: source.configDescriptor,
    layers: source.layers,
    rawManifest: Buffer.from(source.rawManifest).toString('base64'),
    index: source.index && {
      digest: source.index.digest,
      platforms: source.index.manifests.map((m) => m.platform),
    },
  };
}

async function opened<T>(open: Promise<ImageSource>, use: (source: ImageSource) => Promise<T>): Promise<T> {
  const source = await open;
  try {
    return await use(source);
  } finally {
    await source.close();
  }
}

describe.skipIf(missing)('fixture images through a real registry', () => {
  let registry: TestRegistry;
  const options = { env: {}, credentials: { ...TEST_USER } };

  beforeAll(async () => {
    registry = await startRegistry({ auth: 'token' });
  });
  afterAll(() => registry?.stop());

  it('reads an index pushed by skopeo exactly as the OCI layout it came from, for each platform', async () => {
    const target = `${registry.host}/fixtures/multiarch:1`;
    await run(SKOPEO, [
      'copy',
      '--quiet',
      '--all',
      '--preserve-digests',
      '--dest-tls-verify=false',
      `--dest-creds=${TEST_USER.username}:${TEST_USER.password}`,
      `oci:${fixture('multiarch')}:multiarch`,
      `docker://${target}`,
    ]);
    for (const platform of ['linux/amd64', 'linux/arm64/v8']) {
      const open = { platform: parsePlatform(platform) };
      const local = await opened(openLocalImage(`oci:${fixture('multiarch')}`, open), async (s) => facts(s));
      const remote = await opened(openRegistryImage(target, { ...options, ...open }), async (source) => {
        for (const layer of source.layers) await readAll(await source.openBlob(layer));
        return facts(source);
      });
      expect(remote, platform).toEqual(local);
    }
  });

  it('pushes the demo layout with pushImage, streaming blobs from disk, and reads it back identically', async () => {
    const local = await openLocalImage(`oci:${fixture('demo')}`);
    try {
      const pushed = await pushImage(
        `${registry.host}/fixtures/demo:1.0`,
        {
          manifest: local.rawManifest,
          config: readFileSync(blobPath('demo', local.configDescriptor)),
          blobs: (descriptor) => createReadStream(blobPath('demo', descriptor)),
          chunkSize: 256 * 1024,
        },
        options,
      );
      expect(pushed.digest).toBe(local.digest);
      await opened(
        openRegistryImage(`${registry.host}/fixtures/demo@${local.digest}`, options),
        async (remote) => {
          expect(facts(remote)).toEqual(facts(local));
          for (const layer of remote.layers) {
            const fromRegistry = await readAll(await remote.openBlob(layer));
            expect(fromRegistry.equals(readFileSync(blobPath('demo', layer))), layer.digest).toBe(true);
          }
        },
      );
    } finally {
      await local.close();
    }
  });
});
