import { describe, expect, it } from 'vitest';
import { isImgscopeError } from '../errors.js';
import { memoryAgainstTier, memoryTierOf, profileNamed } from './profiles.js';
import { GiB, MiB } from './sizes.js';

const scf = profileNamed('scf');

describe('the scf profile (platform-limits.md)', () => {
  it('accepts Docker v2 schema 2 and OCI v1, linux/amd64, images smaller than 1 GiB', () => {
    expect(scf.acceptedSchemas).toEqual(['docker-v2s2', 'oci-v1']);
    expect([scf.os, scf.architecture]).toEqual(['linux', 'amd64']);
    expect(scf.compressedLimitBytes).toBe(GiB);
    expect(scf.startup).toEqual({ needsCommand: true, port: 9000, timeoutSeconds: 30 });
    expect(scf.pullsByDigest).toBe(true);
  });

  it.each([
    [255 * MiB, 1],
    [256 * MiB - 1, 1],
    [256 * MiB, 2],
    [257 * MiB, 2],
    [511 * MiB, 2],
    [512 * MiB, 3],
    [513 * MiB, 3],
    [1023 * MiB, 3],
    [GiB - 1, 3],
  ])('puts a %d-byte image in tier %d', (bytes, level) => {
    expect(memoryTierOf(scf, bytes)?.level).toBe(level);
  });

  it('has no tier at or above 1 GiB (1024 MiB)', () => {
    expect(memoryTierOf(scf, 1024 * MiB)).toBeUndefined();
    expect(memoryTierOf(scf, 5 * GiB)).toBeUndefined();
  });

  it('recommends the memory ranges of the document', () => {
    expect(scf.memoryTiers!.map((t) => t.recommended)).toEqual([
      '256 MiB < memory < 512 MiB',
      '512 MiB < memory < 1 GiB',
      'memory > 1 GiB',
    ]);
  });

  it('reads the memory bounds as strict: the lower bound itself is too low', () => {
    const [tier1, , tier3] = scf.memoryTiers!;
    expect(memoryAgainstTier(tier1!, 256)).toBe('below');
    expect(memoryAgainstTier(tier1!, 384)).toBe('within');
    expect(memoryAgainstTier(tier1!, 512)).toBe('above');
    expect(memoryAgainstTier(tier3!, 1024)).toBe('below');
    expect(memoryAgainstTier(tier3!, 1536)).toBe('within');
  });
});

describe('profiles', () => {
  it('cloudbase wants Linux, any architecture, no size limit', () => {
    const cloudbase = profileNamed('cloudbase');
    expect(cloudbase.os).toBe('linux');
    expect(cloudbase.architecture).toBeUndefined();
    expect(cloudbase.compressedLimitBytes).toBeUndefined();
    expect(cloudbase.memoryTiers).toBeUndefined();
  });

  it('none states no platform facts', () => {
    const none = profileNamed('none');
    expect([none.os, none.acceptedSchemas, none.compressedLimitBytes, none.startup]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('refuses an unknown profile naming the flag and the choices', () => {
    try {
      profileNamed('lambda');
      expect.unreachable();
    } catch (error) {
      expect(isImgscopeError(error) && error.code).toBe('BAD_INPUT');
      expect((error as Error).message).toBe('--profile: unknown profile "lambda"');
      expect(isImgscopeError(error) && error.hint).toBe('use one of scf, cloudbase, none');
    }
  });
});
