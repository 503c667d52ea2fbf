import { describe, expect, it } from 'vitest';
import { isImgscopeError } from '../errors.js';
import { isLoopbackHost, manifestIdentifier, parseReference, withDigest } from './reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}` as const;

function parsed(text: string) {
  const ref = parseReference(text);
  return {
    registry: ref.registry,
    apiHost: ref.apiHost,
    repository: ref.repository,
    tag: ref.tag,
    digest: ref.digest,
  };
}

function rejection(text: string): string {
  try {
    parseReference(text);
  } catch (error) {
    if (isImgscopeError(error) && error.code === 'BAD_INPUT') return error.message;
    throw error;
  }
  throw new Error(`${text} was accepted`);
}

describe('parseReference', () => {
  it('normalises a Docker Hub short name to library/ and latest', () => {
    expect(parsed('alpine')).toEqual({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'library/alpine',
      tag: 'latest',
      digest: undefined,
    });
    expect(parseReference('alpine').toString()).toBe('docker.io/library/alpine:latest');
  });

  it('keeps a Docker Hub user namespace and treats the hub aliases as Docker Hub', () => {
    expect(parseReference('bitnami/redis:7').toString()).toBe('docker.io/bitnami/redis:7');
    expect(parseReference('index.docker.io/alpine').toString()).toBe('docker.io/library/alpine:latest');
    expect(parsed('registry-1.docker.io/library/alpine:3.20')).toMatchObject({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      repository: 'library/alpine',
    });
  });

  it('recognises registry hosts by a dot, a port or localhost', () => {
    expect(parsed('ghcr.io/owner/app:v1')).toMatchObject({
      registry: 'ghcr.io',
      apiHost: 'ghcr.io',
      tag: 'v1',
    });
    expect(parsed('localhost/app')).toMatchObject({
      registry: 'localhost',
      repository: 'app',
      tag: 'latest',
    });
    expect(parsed('127.0.0.1:5000/a/b/c:1.0')).toMatchObject({
      registry: '127.0.0.1:5000',
      repository: 'a/b/c',
      tag: '1.0',
    });
    expect(parsed('[::1]:5000/app')).toMatchObject({ registry: '[::1]:5000', repository: 'app' });
  });

  it('keeps both tag and digest, and the digest is what gets fetched', () => {
    const ref = parseReference(`quay.io/org/app:1.2@${DIGEST}`);
    expect(ref.tag).toBe('1.2');
    expect(ref.digest).toBe(DIGEST);
    expect(manifestIdentifier(ref)).toBe(DIGEST);
    expect(ref.toString()).toBe(`quay.io/org/app:1.2@${DIGEST}`);
    expect(parseReference(`alpine@${DIGEST}`).tag).toBeUndefined();
    expect(withDigest(ref, DIGEST).toString()).toBe(`quay.io/org/app@${DIGEST}`);
  });

  it('accepts the docker:// transport prefix', () => {
    expect(parseReference('docker://alpine:3.20').toString()).toBe('docker.io/library/alpine:3.20');
  });

  it('rejects uppercase repositories, naming the lowercase spelling', () => {
    expect(rejection('MyApp')).toMatch(/"MyApp": repository names must be lowercase/);
    expect(rejection('ghcr.io/Owner/app')).toMatch(/lowercase/);
  });

  it('suggests the lowercase spelling with the tag and digest kept', () => {
    const suggestion = (text: string) => {
      try {
        parseReference(text);
      } catch (error) {
        return (error as { hint?: string }).hint;
      }
      throw new Error(`${text} was accepted`);
    };
    expect(suggestion('ALPINE:3')).toBe('use "alpine:3"');
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(suggestion(`ghcr.io/Owner/App:V1@${digest}`)).toBe(`use "ghcr.io/owner/app:V1@${digest}"`);
    expect(suggestion('MyOrg/App')).toBe('use "myorg/app"');
    expect(suggestion(`localhost:5000/Team/app@${digest}`)).toBe(`use "localhost:5000/team/app@${digest}"`);
  });

  it('says how to write a reference given as a URL, and how plain HTTP is asked for', () => {
    const hint = (text: string) => {
      try {
        parseReference(text);
      } catch (error) {
        return (error as { hint?: string }).hint;
      }
      throw new Error(`${text} was accepted`);
    };
    expect(hint('https://ghcr.io/org/app:v1')).toBe('write it as "ghcr.io/org/app:v1"');
    expect(hint('http://registry.lan:5000/app:v1')).toBe(
      'write it as "registry.lan:5000/app:v1"; for plain HTTP, add --insecure-registry registry.lan:5000',
    );
    expect(hint('http://localhost:5000/app')).toBe(
      'write it as "localhost:5000/app"; a loopback registry is reached in plain HTTP as it is',
    );
    // Never a suggestion that is itself refused, or that names another registry.
    const digest = `sha256:${'b'.repeat(64)}`;
    expect(hint('https://ghcr.io/org/app/')).toBe('write it as "ghcr.io/org/app"');
    expect(hint(`https://ghcr.io/v2/org/app/manifests/${digest}`)).toBe(
      `write it as "ghcr.io/org/app@${digest}"`,
    );
    expect(hint('https://ghcr.io/v2/org/app/manifests/v1')).toBe('write it as "ghcr.io/org/app:v1"');
    const grammar = 'write it as [registry[:port]/]repository[:tag][@sha256:digest]';
    expect(hint('https://ghcr.io/')).toBe(grammar);
    expect(hint('https://ghcr.io/org/app?tab=tags')).toBe(grammar);
    expect(hint('https://ghcr.io/Org/App:v1')).toBe(grammar);
    expect(hint('http://registry:5000')).toBe(
      `${grammar}; for plain HTTP, add --insecure-registry registry:5000`,
    );
    expect(hint('https://registry/app')).toBe(grammar);
  });

  it('rejects malformed references with a message naming the input', () => {
    expect(rejection('')).toMatch(/is empty/);
    expect(rejection('https://ghcr.io/app')).toMatch(/https:\/\/ scheme/);
    expect(rejection('alpine:')).toMatch(/"" is not a valid tag/);
    expect(rejection('alpine@sha256:abc')).toMatch(/not a sha256 digest/);
    expect(rejection('alpine:-bad')).toMatch(/not a valid tag/);
    expect(rejection('ghcr.io/')).toMatch(/names no repository/);
    expect(rejection('a//b')).toMatch(/not a valid repository path component/);
    expect(rejection('my app')).toMatch(/whitespace/);
    expect(rejection('bad_host-.io:5000/app')).toMatch(/not a valid registry host/);
    expect(rejection('registry.example.com:99999/app')).toBe(
      'image reference "registry.example.com:99999/app": port 99999 of "registry.example.com:99999" is above 65535',
    );
    expect(parsed('[::1]:65535/app').registry).toBe('[::1]:65535');
    expect(rejection(`ghcr.io/${'a'.repeat(300)}`)).toMatch(/longer than 255/);
  });

  it('refuses credentials in a reference without repeating them', () => {
    for (const [text, shown] of [
      ['me:pa55@ghcr.io/app:v1', '***@ghcr.io/app:v1'],
      ['https://me:pa55@ghcr.io/app', 'https://***@ghcr.io/app'],
      ['me@127.0.0.1:5000/app@sha256:abc', '***@127.0.0.1:5000/app@sha256:abc'],
    ] as const) {
      const message = rejection(text);
      expect(message).toBe(`image reference "${shown}": credentials do not belong in an image reference`);
      expect(message).not.toContain('pa55');
    }
    expect(parseReference(`ghcr.io/app@sha256:${'a'.repeat(64)}`).repository).toBe('app');
  });

  it('masks up to the last @ that starts no digest, whatever the password holds, in every message', () => {
    for (const [text, shown] of [
      ['alice:P@ssw0rd@registry.example.com/app', '***@registry.example.com/app'],
      ['alice:Pa/ssw0rd@registry.example.com/app', '***@registry.example.com/app'],
      ['alice:Pa:ss0rd@registry.example.com:5000', '***@registry.example.com:5000'],
      ['alice:Pass0rd@localhost', '***@localhost'],
      ['https://alice:Pa/ss0rd@registry.example.com/app', 'https://***@registry.example.com/app'],
      ['docker://alice:P@ss0rd@ghcr.io/app@sha256:abc', '***@ghcr.io/app@sha256:abc'],
    ] as const) {
      const message = rejection(text);
      expect(message, text).toBe(
        `image reference "${shown}": credentials do not belong in an image reference`,
      );
      expect(message, text).not.toMatch(/ss0rd|ssw0rd/);
    }
    // One word after the @ is a mistyped digest; what came before it is still not repeated.
    expect(rejection('alice:Pass0rd@abc123')).toBe(
      'image reference "***@abc123": "abc123" is not a sha256 digest',
    );
    expect(rejection('ghcr.io/app@sha256:abc')).toMatch(/^image reference "ghcr.io\/app@sha256:abc": /);
    // So is a digest of an algorithm imgscope does not read, while a host:port after the @ is credentials.
    expect(rejection('127.0.0.1:5000/app@md5:d41d8cd98f00b204e9800998ecf8427e')).toBe(
      'image reference "***@md5:d41d8cd98f00b204e9800998ecf8427e": "md5:d41d8cd98f00b204e9800998ecf8427e" is not a sha256 digest',
    );
    expect(rejection('alice:Pass0rd@registry:5000')).toBe(
      'image reference "***@registry:5000": credentials do not belong in an image reference',
    );
  });

  it("refuses skopeo's PATH:@N as a position only a local image has, not as credentials", () => {
    for (const text of ['flat:@0', 'docker://image.tar:@12', 'team/flat:@1', 'a:@-1']) {
      expect(rejection(text), text).toBe(
        `image reference "${text}": :@N picks an image of a layout or archive on disk, and a registry image has none`,
      );
    }
    // A colon before it may be a user:password: masked as before.
    expect(rejection('alice:Pass0rd:@0')).toBe('image reference "***@0": "0" is not a sha256 digest');
  });
});

describe('isLoopbackHost', () => {
  it('accepts localhost, 127/8 and ::1 with or without a port, and nothing else', () => {
    for (const host of [
      'localhost',
      'localhost:5000',
      'Localhost:5000',
      'LOCALHOST',
      '127.0.0.1:5000',
      '127.1.2.3',
      '[::1]:5000',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['ghcr.io', '10.0.0.1:5000', '127.example.com', 'localhost.evil.io']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});
