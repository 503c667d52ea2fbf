import { describe, expect, it } from 'vitest';
import { parseNoProxy, proxyFor, proxySettingsFromEnv } from './proxy.js';

const via = (url: string, env: NodeJS.ProcessEnv) =>
  proxyFor(new URL(url), proxySettingsFromEnv(env))?.url.host;

describe('proxies from the environment', () => {
  it('takes HTTPS_PROXY for https URLs and HTTP_PROXY for http ones, uppercase first, as Go does', () => {
    const env = { HTTPS_PROXY: 'http://secure:3128', HTTP_PROXY: 'http://plain:3128' };
    const lower = { https_proxy: 'http://lower:8080' };
    expect(via('https://registry.example.com/v2/', env)).toBe('secure:3128');
    expect(via('http://registry.example.com/v2/', env)).toBe('plain:3128');
    expect(via('https://registry.example.com/v2/', { ...env, ...lower })).toBe('secure:3128');
    expect(via('https://registry.example.com/v2/', lower)).toBe('lower:8080');
    // Empty is unset.
    expect(via('https://registry.example.com/v2/', { HTTPS_PROXY: ' ', ...lower })).toBe('lower:8080');
    expect(via('https://registry.example.com/v2/', { HTTPS_PROXY: '' })).toBeUndefined();
    expect(via('https://registry.example.com/v2/', {})).toBeUndefined();
    expect(proxySettingsFromEnv(env).https?.variable).toBe('HTTPS_PROXY');
    expect(proxySettingsFromEnv({ http_proxy: 'http://p:1' }).http?.variable).toBe('http_proxy');
  });

  it('reads a bare HOST:PORT as an HTTP proxy and keeps its login', () => {
    const settings = proxySettingsFromEnv({ HTTPS_PROXY: 'user:s3cret@proxy.corp:3128' });
    expect(settings.https?.url.href).toBe('http://user:s3cret@proxy.corp:3128/');
    expect(via('https://r.example/v2/', { HTTPS_PROXY: 'proxy.corp:3128' })).toBe('proxy.corp:3128');
  });

  it('never sends loopback hosts through a proxy, as docker and skopeo do', () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128' };
    for (const url of [
      'http://localhost:5000/v2/',
      'http://registry.localhost/v2/',
      'http://127.0.0.1:5000/v2/',
      'http://127.1.2.3/v2/',
      'http://[::1]:5000/v2/',
      'http://[::ffff:127.0.0.1]:5000/v2/',
    ]) {
      expect(via(url, env), url).toBeUndefined();
    }
    expect(via('http://128.0.0.1/v2/', env)).toBe('proxy:3128');
  });

  it('refuses a proxy value that is not a URL, without echoing its password', () => {
    expect(() => proxySettingsFromEnv({ HTTPS_PROXY: 'ftp://user:s3cret@proxy:21' })).toThrow(
      expect.objectContaining({
        code: 'BAD_INPUT',
        message: 'HTTPS_PROXY="ftp://***@proxy:21" is not a proxy URL',
        hint: expect.stringContaining('http://HOST:PORT'),
      }),
    );
    expect(() => proxySettingsFromEnv({ HTTPS_PROXY: 'socks5://proxy:1080' })).toThrow(/is not a proxy URL/);
    expect(() => proxySettingsFromEnv({ http_proxy: 'http://' })).toThrow(
      /^http_proxy="\*\*\*" is not a proxy URL/,
    );
  });

  it('never echoes a password holding @, / or #: masked to the last @, or the whole value when unparsable', () => {
    const message = (value: string) => {
      try {
        proxySettingsFromEnv({ HTTPS_PROXY: value });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(message('socks5://user:p@ss@proxy:1080')).toBe(
      'HTTPS_PROXY="socks5://***@proxy:1080" is not a proxy URL',
    );
    expect(message('http://user:pa/ss@proxy:3128')).toBe('HTTPS_PROXY="***" is not a proxy URL');
    // Parses, but as host `user` port 1234: the rest of the password is the path.
    expect(message('http://user:1234/ss@proxy:3128')).toBe('HTTPS_PROXY="***" is not a proxy URL');
    expect(message('http://user:1234#ss@proxy:3128')).toBe('HTTPS_PROXY="***" is not a proxy URL');
    expect(message('http://user:p@ss@proxy:3128')).toBe('accepted');
    // A `%` not followed by two hex digits: the proxy client could not decode the login.
    expect(message('http://user:50%off@proxy:3128')).toBe(
      'HTTPS_PROXY="http://***@proxy:3128" is not a proxy URL',
    );
    expect(message('http://user:50%25off@proxy:3128')).toBe('accepted');
  });
});

describe('NO_PROXY', () => {
  const matches = (noProxy: string, hostname: string, port = '443') => parseNoProxy(noProxy)(hostname, port);

  it('matches a domain and every host under it, however it is written', () => {
    for (const entry of ['example.com', '.example.com', '*.example.com', 'EXAMPLE.com']) {
      expect(matches(entry, 'example.com'), entry).toBe(true);
      expect(matches(entry, 'registry.example.com'), entry).toBe(true);
      expect(matches(entry, 'notexample.com'), entry).toBe(false);
      expect(matches(entry, 'example.com.evil'), entry).toBe(false);
    }
  });

  it('matches IP addresses, CIDR ranges and ports', () => {
    const noProxy = 'internal.corp:5000, 10.0.0.0/8 192.168.1.7,[fd00::1]:443,fd12::/16';
    expect(matches(noProxy, 'internal.corp', '5000')).toBe(true);
    expect(matches(noProxy, 'internal.corp', '443')).toBe(false);
    expect(matches(noProxy, '10.20.30.40')).toBe(true);
    expect(matches(noProxy, '11.0.0.1')).toBe(false);
    expect(matches(noProxy, '192.168.1.7')).toBe(true);
    expect(matches(noProxy, '192.168.1.8')).toBe(false);
    expect(matches(noProxy, 'fd00::1', '443')).toBe(true);
    expect(matches(noProxy, 'fd00::1', '80')).toBe(false);
    expect(matches(noProxy, 'fd12:3456::9')).toBe(true);
    // A domain rule does not match an address, nor an address rule a name.
    expect(matches('10.0.0.0/8', 'ten.example')).toBe(false);
  });

  it('turns every proxy off with *, and applies to both schemes', () => {
    expect(matches('*', 'anything.example')).toBe(true);
    const env = {
      HTTPS_PROXY: 'http://proxy:3128',
      HTTP_PROXY: 'http://proxy:3128',
      NO_PROXY: 'mirror.corp',
    };
    expect(via('https://mirror.corp/v2/', env)).toBeUndefined();
    expect(via('http://mirror.corp/v2/', env)).toBeUndefined();
    expect(via('https://docker.io/v2/', env)).toBe('proxy:3128');
    expect(via('https://mirror.corp/v2/', { ...env, NO_PROXY: '', no_proxy: 'mirror.corp' })).toBeUndefined();
  });
});
