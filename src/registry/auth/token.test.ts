import { describe, expect, it } from 'vitest';
import { ImgscopeError } from '../../errors.js';
import { tokenRealm } from './token.js';

const challenge = (realm: string) => ({ scheme: 'bearer', params: { realm, service: 's' } });

describe('tokenRealm', () => {
  it('accepts HTTPS realms, and plain-HTTP realms on loopback for a loopback registry', () => {
    expect(
      tokenRealm(challenge('https://auth.example/token'), { registry: 'r.example', insecure: false }).host,
    ).toBe('auth.example');
    expect(
      tokenRealm(challenge('http://127.0.0.1:9/token'), { registry: 'localhost:5000', insecure: false }).port,
    ).toBe('9');
  });

  it('refuses a plain-HTTP realm on loopback named by a registry elsewhere, unless it is marked insecure', () => {
    const refuse = () =>
      tokenRealm(challenge('http://127.0.0.1:9/token'), { registry: 'r.example', insecure: false });
    expect(refuse).toThrow(/sent imgscope to a plain-HTTP token service \(127\.0\.0\.1:9\)/);
    expect(
      tokenRealm(challenge('http://127.0.0.1:9/token'), { registry: 'r.example', insecure: true }).port,
    ).toBe('9');
  });

  it('refuses a plain-HTTP realm off this machine unless the registry is marked insecure', () => {
    const refuse = () =>
      tokenRealm(challenge('http://10.0.0.8/token'), { registry: 'r.example', insecure: false });
    expect(refuse).toThrow(ImgscopeError);
    expect(refuse).toThrow(/sent imgscope to a plain-HTTP token service \(10\.0\.0\.8\)/);
    expect(
      tokenRealm(challenge('http://10.0.0.8/token'), { registry: 'r.example', insecure: true }).href,
    ).toBe('http://10.0.0.8/token');
  });

  it('refuses realms that are not http(s) URLs', () => {
    for (const realm of ['file:///etc/passwd', 'not a url', '']) {
      expect(() => tokenRealm(challenge(realm), { registry: 'r.example', insecure: true }), realm).toThrow(
        /unusable token service/,
      );
    }
  });
});
