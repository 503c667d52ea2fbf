import { describe, expect, it } from 'vitest';
import { isInsecureRegistry, resolveOptions } from './options.js';

describe('insecure registries', () => {
  it('are loopback hosts, --insecure-registry entries and IMGSCOPE_INSECURE_REGISTRIES', () => {
    const options = resolveOptions({
      insecureRegistries: ['lab.internal:5000'],
      env: { IMGSCOPE_INSECURE_REGISTRIES: ' cache.lan , other:8080' },
    });
    expect(options.insecureRegistries).toEqual(['lab.internal:5000', 'cache.lan', 'other:8080']);
    expect(isInsecureRegistry('localhost:5000', options)).toBe(true);
    expect(isInsecureRegistry('lab.internal:5000', options)).toBe(true);
    expect(isInsecureRegistry('lab.internal:5001', options)).toBe(false);
    expect(isInsecureRegistry('cache.lan:443', options)).toBe(true);
    expect(isInsecureRegistry('ghcr.io', options)).toBe(false);
  });
});
