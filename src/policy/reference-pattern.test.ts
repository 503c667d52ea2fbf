import { describe, expect, it } from 'vitest';
import { referenceMatches } from './reference-pattern.js';

const ref = 'registry.test:5000/team/app:1.2';

describe('referenceMatches', () => {
  it.each([
    'registry.test:5000/team/app:1.2',
    'registry.test:5000/team/*',
    'registry.test:5000/**',
    'team/app',
    'team/app:*',
    'app:1.?',
    'app',
    '**/app:1.2',
  ])('%s matches %s', (pattern) => {
    expect(referenceMatches(pattern, ref)).toBe(true);
  });

  it.each(['other/app', 'registry.test:5000/*', 'app:2.*', 'ap', 'team/app-*'])(
    '%s does not match',
    (pattern) => {
      expect(referenceMatches(pattern, ref)).toBe(false);
    },
  );

  it('matches digest references with or without the digest', () => {
    const pinned = `docker.io/library/alpine@sha256:${'b'.repeat(64)}`;
    expect(referenceMatches('library/alpine', pinned)).toBe(true);
    expect(referenceMatches('alpine@sha256:*', pinned)).toBe(true);
  });

  it('matches a reference with both a tag and a digest by its tag alone too', () => {
    const pinned = `registry.test:5000/team/app:1.2@sha256:${'b'.repeat(64)}`;
    expect(referenceMatches('team/app:1.2', pinned)).toBe(true);
    expect(referenceMatches('app:1.*', pinned)).toBe(true);
    expect(referenceMatches('team/app', pinned)).toBe(true);
  });

  it('matches a local image given with its transport as given without it', () => {
    for (const given of [
      'oci:fixtures/demo',
      'oci:./fixtures/demo',
      'fixtures/demo',
      'oci:fixtures/demo:v1',
    ]) {
      expect(referenceMatches('fixtures/demo', given)).toBe(true);
    }
    expect(referenceMatches('demo', 'oci:demo')).toBe(true);
    expect(referenceMatches('oci:demo', 'oci:demo')).toBe(true);
    expect(referenceMatches('demo', 'oci-archive:demo.tar')).toBe(false);
    expect(referenceMatches('demo.tar', 'docker-archive:demo.tar')).toBe(true);
  });

  it('matches an image picked from an archive or layout by the file or folder alone', () => {
    for (const given of [
      'docker-archive:build/app.tar:team/app:1.2',
      'docker-archive:build/app.tar:app:1.2',
      'oci-archive:build/app.tar:localhost:5000/app:1.2',
      'docker-archive:build/app.tar:@1',
    ]) {
      expect(referenceMatches('build/app.tar', given)).toBe(true);
      expect(referenceMatches('*.tar', given)).toBe(true);
    }
    expect(referenceMatches('build/app.tar', 'docker-archive:other.tar:build/app.tar:1')).toBe(false);
  });

  it('matches a local folder given or named with a trailing or doubled slash as the folder', () => {
    for (const given of [
      'fixtures/demo/',
      'oci:fixtures/demo/',
      'fixtures//demo',
      'oci:fixtures/demo/:demo',
      'fixtures/demo/:@0',
    ]) {
      expect(referenceMatches('fixtures/demo', given)).toBe(true);
    }
    expect(referenceMatches('fixtures/demo/', 'fixtures/demo')).toBe(true);
    expect(referenceMatches('/', '/')).toBe(true);
  });

  it('treats regex characters literally', () => {
    expect(referenceMatches('team/a.p', 'team/app')).toBe(false);
    expect(referenceMatches('team/a+p', 'team/a+p')).toBe(true);
  });
});
