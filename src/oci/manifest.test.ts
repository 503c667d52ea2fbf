import { describe, expect, it } from 'vitest';
import { selectPlatform } from './manifest.js';
import { MediaType } from './media-types.js';
import { type Platform, parsePlatform } from './platform.js';
import type { ImageIndex } from './types.js';

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

  it('still takes the only variant an index has when none is asked for', () => {
    const index = indexOf({ os: 'linux', architecture: 'amd64', variant: 'v2' });
    expect(selectPlatform(index, parsePlatform('linux/amd64'), 'app').platform?.variant).toBe('v2');
  });
});
