import { describe, expect, it } from 'vitest';
import {
  matchPlatform,
  parseConfig,
  parseManifest,
  platformlessIndexes,
  platformNotFound,
} from './manifest.js';

import { MediaType } from './media-types.js';
import { type Platform, parsePlatform } from './platform.js';
import type { Descriptor, ImageIndex } from './types.js';

/** What the registry and layout readers do at one index: its match, else an index to search, else the error. */
function selectPlatform(index: ImageIndex, wanted: Platform, label: string): Descriptor {
  const found = matchPlatform(index, wanted, label) ?? platformlessIndexes(index)[0];
  if (found) return found;
  throw platformNotFound(index, wanted, label, '');
}

function indexOf(...platforms: Platform[]): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: platforms.map((platform, i) => ({
      mediaType: MediaType.OciManifest,
      digest: `sha256:${String(i).repeat(64)}`,
      size: 100,
      platform,
    })),
  };
}

describe('selectPlatform', () => {
  it('searches an index without a platform when no entry with one matches, as containerd does', () => {
    const nested: Descriptor = {
      mediaType: MediaType.OciIndex,
      digest: `sha256:${'e'.repeat(64)}`,
      size: 300,
    };
    const index = indexOf({ os: 'linux', architecture: 'amd64' });
    index.manifests.push(nested);
    expect(selectPlatform(index, parsePlatform('linux/arm64'), 'app')).toEqual(nested);
    expect(selectPlatform(index, parsePlatform('linux/amd64'), 'app').platform).toEqual({
      os: 'linux',
      architecture: 'amd64',
    });
  });

  it('prefers the exact variant to one listed before it, as containerd does', () => {
    const index = indexOf(
      { os: 'linux', architecture: 'amd64', variant: 'v3' },
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    );
    const pick = (wanted: string) => selectPlatform(index, parsePlatform(wanted), 'app').platform;
    expect(pick('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(pick('linux/amd64/v3')).toEqual({ os: 'linux', architecture: 'amd64', variant: 'v3' });
    expect(pick('linux/arm')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
  });

  it('falls back to a lower variant, closest first, never to a higher one, as containerd does', () => {
    const arm = indexOf(
      { os: 'linux', architecture: 'arm', variant: 'v5' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
      { os: 'linux', architecture: 'arm', variant: 'v8' },
    );
    const pick = (index: ImageIndex, wanted: string) =>
      selectPlatform(index, parsePlatform(wanted), 'app').platform;
    expect(pick(arm, 'linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(pick(arm, 'linux/arm64')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v8' });
    expect(pick(arm, 'linux/arm/v5')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v5' });
    const amd64 = indexOf(
      { os: 'linux', architecture: '386' },
      { os: 'linux', architecture: 'amd64', variant: 'v3' },
      { os: 'linux', architecture: 'amd64', variant: 'v2' },
    );
    expect(pick(amd64, 'linux/amd64/v4')).toEqual({ os: 'linux', architecture: 'amd64', variant: 'v3' });
    expect(pick(amd64, 'linux/amd64')).toEqual({ os: 'linux', architecture: '386' });
  });

  it('reads arm64/v8.0 as arm64 and arm64/9.0 as v9, as containerd normalises them', () => {
    const v80 = indexOf({ os: 'linux', architecture: 'arm64', variant: 'v8.0' });
    expect(selectPlatform(v80, parsePlatform('linux/arm64'), 'app').digest).toBe(v80.manifests[0]!.digest);
    const plain = indexOf({ os: 'linux', architecture: 'arm64' });
    for (const wanted of ['linux/arm64/v8.0', 'linux/arm64/9', 'linux/arm64/v9.0']) {
      expect(selectPlatform(plain, parsePlatform(wanted), 'app').digest, wanted).toBe(
        plain.manifests[0]!.digest,
      );
    }
    const v9 = indexOf({ os: 'linux', architecture: 'arm64', variant: '9.0' });
    expect(selectPlatform(v9, parsePlatform('linux/arm64/v9'), 'app').digest).toBe(v9.manifests[0]!.digest);
  });

  it('does not take a higher variant than the one asked for', () => {
    const index = indexOf({ os: 'linux', architecture: 'amd64', variant: 'v2' });
    expect(() => selectPlatform(index, parsePlatform('linux/amd64'), 'app')).toThrow(
      'app: no linux/amd64 image; the index has linux/amd64/v2',
    );
    const arm = indexOf({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(() => selectPlatform(arm, parsePlatform('linux/arm/v6'), 'app')).toThrow(
      /no linux\/arm\/v6 image/,
    );
  });
});

describe('the platforms a refusal names', () => {
  it('names each platform once and at most 20 of them, so an index of thousands stays one short line', () => {
    const windows = { os: 'windows', architecture: 'amd64' };
    const many = Array.from({ length: 3000 }, (_, i) => ({ os: 'linux', architecture: `riscv${i}` }));
    expect(() => selectPlatform(indexOf(windows, windows), parsePlatform('linux/arm64'), 'app')).toThrow(
      'app: no linux/arm64 image; the index has windows/amd64',
    );
    let message = '';
    try {
      selectPlatform(indexOf(...many), parsePlatform('linux/arm64'), 'app');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/the index has linux\/riscv0, linux\/riscv1, .*, linux\/riscv19 and 2980 more$/);
    expect(message.length).toBeLessThan(500);
  });
});

describe('an index entry named by a sha512 digest', () => {
  const sha512 = `sha512:${'a'.repeat(128)}`;
  const raw = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {
          mediaType: MediaType.OciManifest,
          digest: sha512,
          size: 9,
          platform: { os: 'linux', architecture: 's390x' },
        },
        {
          mediaType: MediaType.OciManifest,
          digest: `sha256:${'1'.repeat(64)}`,
          size: 9,
          platform: { os: 'linux', architecture: 'amd64' },
        },
        {
          mediaType: MediaType.OciManifest,
          digest: sha512,
          size: 9,
          platform: { os: 'linux', architecture: 'arm64' },
        },
      ],
    }),
  );

  it('is skipped when another entry is selected, as containerd and go-containerregistry do', () => {
    const parsed = parseManifest(raw, 'app');
    if (parsed.kind !== 'index') throw new Error('not an index');
    expect(selectPlatform(parsed.index, parsePlatform('linux/amd64'), 'app').digest).toBe(
      `sha256:${'1'.repeat(64)}`,
    );
  });

  it('fails, naming the platform and digest, only when it is the one selected', () => {
    const parsed = parseManifest(raw, 'app');
    if (parsed.kind !== 'index') throw new Error('not an index');
    expect(() => selectPlatform(parsed.index, parsePlatform('linux/arm64'), 'app')).toThrow(
      `app: the linux/arm64 image is named by the digest ${sha512}`,
    );
    expect(() => selectPlatform(parsed.index, parsePlatform('linux/s390x'), 'app')).toThrow(
      /linux\/s390x image/,
    );
  });

  it('still fails the index when the digest is malformed', () => {
    const bad = Buffer.from(raw.toString().replace(sha512, 'sha512:ZZ!'));
    expect(() => parseManifest(bad, 'app')).toThrow(/is not a sha256 digest/);
  });
});

describe('platform fields of the wrong type', () => {
  it('are left out of an index entry and a config rather than crashing the run', () => {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          {
            mediaType: MediaType.OciManifest,
            digest: `sha256:${'1'.repeat(64)}`,
            size: 100,
            platform: { os: 'linux', architecture: 'amd64', variant: 3, 'os.version': 10 },
          },
        ],
      }),
    );
    const parsed = parseManifest(index, 'app');
    expect(parsed.kind === 'index' && parsed.index.manifests[0]?.platform).toEqual({
      os: 'linux',
      architecture: 'amd64',
    });
    const config = parseConfig(
      Buffer.from(
        JSON.stringify({ os: 'linux', architecture: 'arm64', variant: 8, rootfs: { diff_ids: [] } }),
      ),
      'config',
    );
    expect(config.variant).toBeUndefined();
  });
});

describe('config fields of the wrong type', () => {
  const config = (fields: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { diff_ids: [] }, ...fields }));

  it('take a string Entrypoint or Cmd as one argument, as Docker does', () => {
    const parsed = parseConfig(config({ config: { Cmd: '/app/server', Entrypoint: null } }), 'config');
    expect(parsed.config?.Cmd).toEqual(['/app/server']);
    expect(parsed.config?.Entrypoint).toBeNull();
  });

  it('fail the config as malformed, naming the field, instead of crashing a check', () => {
    for (const [fields, why] of [
      [{ config: { Entrypoint: 5 } }, 'config.config.Entrypoint is neither a string nor a list of strings'],
      [{ config: { Cmd: ['/bin/sh', 1] } }, 'config.config.Cmd is neither a string nor a list of strings'],
      [{ config: { Env: 'A=1' } }, 'config.config.Env is not a list of strings'],
      [{ config: { Labels: [1, 2] } }, 'config.config.Labels is not an object of strings'],
      [{ config: { ExposedPorts: '9000/tcp' } }, 'config.config.ExposedPorts is not an object'],
      [{ config: 'x' }, 'config.config is not an object'],
      [{ created: 5 }, 'config.created is not a string'],
      [{ history: [{ created_by: 5 }] }, 'history[0].created_by is not a string'],
      [{ history: [{ empty_layer: 'yes' }] }, 'history[0].empty_layer is not a boolean'],
    ] as const) {
      expect(() => parseConfig(config(fields), 'config of app'), why).toThrow(`config of app: ${why}`);
    }
  });
});

const parsedConfig = (doc: object) =>
  parseConfig(Buffer.from(JSON.stringify({ ...doc, rootfs: { type: 'layers', diff_ids: [] } })), 'config');

describe('parseConfig', () => {
  it('reads a missing or empty os and architecture as unknown, so a platform is never shown blank', () => {
    expect(parsedConfig({})).toMatchObject({ os: 'unknown', architecture: 'unknown' });
    expect(parsedConfig({ os: '', architecture: '' })).toMatchObject({
      os: 'unknown',
      architecture: 'unknown',
    });
    expect(parsedConfig({ os: 'linux', architecture: 'amd64' })).toMatchObject({
      os: 'linux',
      architecture: 'amd64',
    });
  });
});
