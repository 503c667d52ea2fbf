import { describe, expect, it } from 'vitest';
import { formatPlatform, normalizePlatform, parsePlatform, platformMatches } from './platform.js';

describe('platforms', () => {
  it('normalises the aliases registries and build tools use', () => {
    expect(normalizePlatform({ os: 'linux', architecture: 'aarch64' })).toEqual({
      os: 'linux',
      architecture: 'arm64',
    });
    expect(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toEqual({
      os: 'linux',
      architecture: 'arm64',
    });
    expect(normalizePlatform({ os: 'Linux', architecture: 'x86_64' })).toEqual({
      os: 'linux',
      architecture: 'amd64',
    });
    expect(normalizePlatform({ os: 'linux', architecture: 'armhf' })).toEqual({
      os: 'linux',
      architecture: 'arm',
      variant: 'v7',
    });
  });

  it('parses --platform values and rejects malformed ones with the fix', () => {
    expect(formatPlatform(parsePlatform('linux/arm64/v8'))).toBe('linux/arm64');
    expect(formatPlatform(parsePlatform('linux/arm/v6'))).toBe('linux/arm/v6');
    expect(formatPlatform(parsePlatform('linux/amd64/v1'))).toBe('linux/amd64');
    expect(formatPlatform(parsePlatform('linux/amd64/v3'))).toBe('linux/amd64/v3');
    expect(() => parsePlatform('amd64')).toThrow(/--platform "amd64" is not os\/arch/);
    expect(() => parsePlatform('linux//v7')).toThrow(/not os\/arch/);
  });

  it('refuses characters no platform uses, as containerd does, and keeps its aliases', () => {
    for (const text of [
      'linux/amd 64',
      'linux /arm',
      'linux/&arm',
      'linux/arm/v7/x',
      '../arm/v7',
      'linux/amd64/',
    ]) {
      expect(() => parsePlatform(text), text).toThrow(`--platform "${text}" is not os/arch[/variant]`);
    }
    expect(() => parsePlatform('linux/amd 64')).toThrow(
      expect.objectContaining({
        hint: expect.stringMatching(/^use letters, digits, _ or - between the slashes, for example /),
      }),
    );
    expect(formatPlatform(parsePlatform(' Linux/x86_64 '))).toBe('linux/amd64');
    expect(formatPlatform(parsePlatform('linux/aarch64'))).toBe('linux/arm64');
    expect(formatPlatform(parsePlatform('linux/x86-64'))).toBe('linux/amd64');
    expect(formatPlatform(parsePlatform('linux/arm64/v8.2'))).toBe('linux/arm64/v8.2');
  });

  it('matches the platform asked for and the lower variants it runs, as containerd does', () => {
    expect(
      platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, parsePlatform('linux/arm')),
    ).toBe(true);
    expect(
      platformMatches({ os: 'linux', architecture: 'arm', variant: 'v6' }, parsePlatform('linux/arm/v7')),
    ).toBe(true);
    expect(
      platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, parsePlatform('linux/arm/v6')),
    ).toBe(false);
    expect(
      platformMatches({ os: 'linux', architecture: 'amd64', variant: 'v3' }, parsePlatform('linux/amd64')),
    ).toBe(false);
    expect(platformMatches({ os: 'linux', architecture: '386' }, parsePlatform('linux/amd64'))).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'amd64' }, parsePlatform('linux/386'))).toBe(false);
    expect(
      platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, parsePlatform('linux/arm64')),
    ).toBe(true);
    expect(
      platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, parsePlatform('linux/arm64')),
    ).toBe(true);
    expect(platformMatches({ os: 'windows', architecture: 'amd64' }, parsePlatform('linux/amd64'))).toBe(
      false,
    );
  });
});
