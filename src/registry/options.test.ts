import { describe, expect, it } from 'vitest';
import { isInsecureRegistry, isMarkedInsecure, resolveOptions } from './options.js';

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
    expect(isInsecureRegistry('Lab.Internal:5000', options)).toBe(true);
    expect(isInsecureRegistry('Localhost:5000', options)).toBe(true);
  });

  it('refuses an entry that could never match a registry: empty, with a scheme or a path', () => {
    for (const entry of ['', ' ', 'http://lab.internal:5000', 'lab.internal:5000/v2']) {
      expect(() => resolveOptions({ insecureRegistries: [entry], env: {} })).toThrow(
        expect.objectContaining({
          code: 'BAD_INPUT',
          message: `--insecure-registry: "${entry}" is not a registry host`,
        }),
      );
    }
    expect(() =>
      resolveOptions({ env: { IMGSCOPE_INSECURE_REGISTRIES: 'cache.lan,https://lab.internal' } }),
    ).toThrow('IMGSCOPE_INSECURE_REGISTRIES: "https://lab.internal" is not a registry host');
    // Empty items between commas are separators, not entries.
    expect(resolveOptions({ env: { IMGSCOPE_INSECURE_REGISTRIES: 'a,,b,' } }).insecureRegistries).toEqual([
      'a',
      'b',
    ]);
  });
});

describe('timeouts', () => {
  it('come from IMGSCOPE_TIMEOUT_*_MS, under explicit options and over the defaults', () => {
    const env = { IMGSCOPE_TIMEOUT_IDLE_MS: '1500', IMGSCOPE_TIMEOUT_HEADERS_MS: ' 2500 ' };
    expect(resolveOptions({ env }).timeouts).toEqual({
      connectMs: 15_000,
      headersMs: 2500,
      bodyIdleMs: 1500,
    });
    expect(resolveOptions({ env, timeouts: { bodyIdleMs: 10 } }).timeouts.bodyIdleMs).toBe(10);
    expect(resolveOptions({ env: { IMGSCOPE_TIMEOUT_CONNECT_MS: '' } }).timeouts.connectMs).toBe(15_000);
  });

  it('refuse a value that is not a positive whole number of milliseconds, naming the variable', () => {
    for (const value of ['1.5', '-3', '30s', '0x10', '1e3', '30000.0', '+500', '0b11', 'Infinity']) {
      expect(() => resolveOptions({ env: { IMGSCOPE_TIMEOUT_IDLE_MS: value } })).toThrow(
        `IMGSCOPE_TIMEOUT_IDLE_MS="${value}" is not a number of milliseconds`,
      );
    }
  });

  it('refuse 0, saying it does not turn the timeout off, rather than calling it no number', () => {
    for (const value of ['0', '000']) {
      expect(() => resolveOptions({ env: { IMGSCOPE_TIMEOUT_CONNECT_MS: value } })).toThrow(
        expect.objectContaining({
          message: `IMGSCOPE_TIMEOUT_CONNECT_MS="${value}" is 0 ms`,
          hint: '0 does not turn the timeout off: set it to 1 to 2147483647 ms, or unset it for the default',
        }),
      );
    }
  });

  it('refuse a value past the longest timer Node.js sets, which would fire at once', () => {
    expect(resolveOptions({ env: { IMGSCOPE_TIMEOUT_IDLE_MS: '2147483647' } }).timeouts.bodyIdleMs).toBe(
      2147483647,
    );
    for (const name of [
      'IMGSCOPE_TIMEOUT_CONNECT_MS',
      'IMGSCOPE_TIMEOUT_HEADERS_MS',
      'IMGSCOPE_TIMEOUT_IDLE_MS',
    ]) {
      expect(() => resolveOptions({ env: { [name]: '99999999999999' } })).toThrow(
        `${name}="99999999999999" is more than 2147483647 ms`,
      );
      expect(() => resolveOptions({ env: { [name]: '99999999999999999999' } })).toThrow(
        `${name}="99999999999999999999" is more than 2147483647 ms`,
      );
    }
  });
});

describe('marked insecure', () => {
  it('is what the user named, never loopback by itself', () => {
    const options = resolveOptions({ insecureRegistries: ['127.0.0.1:5000', 'lab.internal'], env: {} });
    expect(isMarkedInsecure('127.0.0.1:5000', options)).toBe(true);
    expect(isMarkedInsecure('lab.internal:443', options)).toBe(true);
    expect(isMarkedInsecure('127.0.0.1:5001', options)).toBe(false);
    expect(isMarkedInsecure('localhost:5000', options)).toBe(false);
    expect(isInsecureRegistry('localhost:5000', options)).toBe(true);
  });
});
