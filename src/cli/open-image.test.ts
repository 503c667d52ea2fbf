import { describe, expect, it } from 'vitest';
import { policyReference } from './open-image.js';

describe('policyReference', () => {
  it('normalises a registry reference as the report shows it, so overrides match its full name', () => {
    expect(policyReference('alpine')).toBe('docker.io/library/alpine:latest');
    expect(policyReference('alpine:3.20')).toBe('docker.io/library/alpine:3.20');
    expect(policyReference('docker://localhost:5000/team/app')).toBe('localhost:5000/team/app:latest');
  });

  it('keeps a local reference, and one that is no reference, as given', () => {
    expect(policyReference('oci:fixtures/demo')).toBe('oci:fixtures/demo');
    expect(policyReference('fixtures/demo')).toBe('fixtures/demo');
    expect(policyReference('Not A Reference')).toBe('Not A Reference');
  });
});
