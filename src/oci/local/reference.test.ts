import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/helpers/image-files.js';
import { isLocalReference, parseLocalReference, prefixedForms } from './reference.js';

let temp: { path: string; remove: () => Promise<void> };
beforeAll(async () => {
  temp = await makeTempDir('reference');
  mkdirSync(join(temp.path, 'lay:out'));
  mkdirSync(join(temp.path, 'lay'));
  writeFileSync(join(temp.path, 'app.tar'), '');
});
afterAll(() => temp.remove());

describe('parseLocalReference', () => {
  it('leaves a bare path whole, without a ref', () => {
    expect(parseLocalReference('images/app.tar')).toEqual({
      transport: undefined,
      path: 'images/app.tar',
      ref: undefined,
    });
  });

  it('splits TRANSPORT:PATH:REF at the longest existing path, so paths may contain colons', () => {
    const dir = temp.path;
    expect(parseLocalReference(`oci:${dir}/lay:out`)).toEqual({
      transport: 'oci',
      path: `${dir}/lay:out`,
      ref: undefined,
    });
    expect(parseLocalReference(`oci:${dir}/lay:out:v1`)).toEqual({
      transport: 'oci',
      path: `${dir}/lay:out`,
      ref: 'v1',
    });
    expect(parseLocalReference(`oci:${dir}/lay:v1`)).toEqual({
      transport: 'oci',
      path: `${dir}/lay`,
      ref: 'v1',
    });
  });

  it('keeps NAME:TAG (and a registry port) whole as the docker-archive ref', () => {
    const file = join(temp.path, 'app.tar');
    expect(parseLocalReference(`docker-archive:${file}:app:1.2`)).toEqual({
      transport: 'docker-archive',
      path: file,
      ref: 'app:1.2',
    });
    expect(parseLocalReference(`docker-archive:${file}:localhost:5000/app:1`).ref).toBe(
      'localhost:5000/app:1',
    );
  });

  it('splits at the first colon when nothing exists, so the error names the likely path', () => {
    const none = () => false;
    expect(parseLocalReference('oci-archive:missing.tar:v1', none)).toEqual({
      transport: 'oci-archive',
      path: 'missing.tar',
      ref: 'v1',
    });
    expect(parseLocalReference('oci:missing', none)).toEqual({
      transport: 'oci',
      path: 'missing',
      ref: undefined,
    });
    expect(parseLocalReference('oci:dir:', (path) => path === 'dir').ref).toBeUndefined();
  });

  it("splits a bare PATH:@N, skopeo's position, unless the whole spec is a path", () => {
    expect(parseLocalReference(`${temp.path}/lay:@1`)).toEqual({
      transport: undefined,
      path: `${temp.path}/lay`,
      ref: '@1',
    });
    expect(parseLocalReference('./absent:@0', () => false)).toEqual({
      transport: undefined,
      path: './absent',
      ref: '@0',
    });
    expect(parseLocalReference('odd:@0', (path) => path === 'odd:@0').path).toBe('odd:@0');
    expect(parseLocalReference('lay:v1', () => true).ref).toBeUndefined();
  });
});

describe('isLocalReference', () => {
  it('is true for the transport prefixes and for paths that exist', () => {
    expect(isLocalReference('oci:anything')).toBe(true);
    expect(isLocalReference('oci-archive:x.tar')).toBe(true);
    // A compressed save that is not there yet is still a path: `no such file`, not a registry lookup.
    for (const name of ['app.tar.gz', 'app.tgz', 'app.tar.zst', 'app.tzst', 'app.tar.zstd'])
      expect(isLocalReference(name), name).toBe(true);
    // Refused once read (saying how to decompress them), but paths all the same, not registry images.
    for (const name of ['app.tar.xz', 'app.txz', 'app.tar.bz2', 'app.tbz2', 'app.tbz'])
      expect(isLocalReference(name), name).toBe(true);
    expect(isLocalReference('docker-archive:x.tar:app:1')).toBe(true);
    expect(isLocalReference(join(temp.path, 'app.tar'))).toBe(true);
    expect(isLocalReference(join(temp.path, 'lay:out'))).toBe(true);
  });

  it('is false for registry references, even ones whose path does not exist', () => {
    // docker:// names the registry, whatever the name ends in: app.tar is a valid repository, 1.0.tgz a tag.
    for (const name of [
      'docker://app.tar',
      'docker://reg.example/app:1.0.tgz',
      'docker://app:v1.tar.xz',
      'docker://app.tar:@0',
    ])
      expect(isLocalReference(name), name).toBe(false);
    expect(isLocalReference('alpine:3.20')).toBe(false);
    expect(isLocalReference('library/alpine')).toBe(false);
    expect(isLocalReference('localhost:5000/app:1')).toBe(false);
    expect(isLocalReference('ghcr.io/owner/app@sha256:abc')).toBe(false);
    expect(isLocalReference('')).toBe(false);
  });

  it('reads specs no registry reference could be as paths, so a typo gets "no such file"', () => {
    expect(isLocalReference(join(temp.path, 'absent'))).toBe(true); // absolute
    expect(isLocalReference('./absent')).toBe(true);
    expect(isLocalReference('../absent')).toBe(true);
    expect(isLocalReference('absent.tar')).toBe(true);
    expect(isLocalReference('src/absent')).toBe(true); // its first segment is a local directory
  });

  it('reads a bare PATH:@N by the rules of its PATH', () => {
    expect(isLocalReference(`${join(temp.path, 'lay')}:@0`)).toBe(true);
    expect(isLocalReference('src:@0')).toBe(true); // an existing folder, as a bare `src` is
    expect(isLocalReference('./absent:@0')).toBe(true);
    expect(isLocalReference('absent:@0')).toBe(false); // left for the registry parser to refuse
  });
});

describe('prefixedForms', () => {
  it('names the prefixed forms of a bare PATH:REF by the longest PATH on disk', () => {
    const dir = temp.path;
    expect(prefixedForms(`${dir}/lay:out:v1`)).toBe(`oci:${dir}/lay:out:v1`);
    expect(prefixedForms(`${dir}/lay:v1`)).toBe(`oci:${dir}/lay:v1`);
    expect(prefixedForms(`${dir}/app.tar:app:1.2`)).toBe(
      `docker-archive:${dir}/app.tar:app:1.2 or oci-archive:${dir}/app.tar:app:1.2`,
    );
    expect(prefixedForms(`${dir}/lay:`)).toBe(`oci:${dir}/lay:REF`);
  });

  it('quotes a form the shell would split, so it can be pasted', () => {
    writeFileSync(join(temp.path, 'my app.tar'), '');
    expect(prefixedForms(`${temp.path}/my app.tar:v1`)).toBe(
      `'docker-archive:${temp.path}/my app.tar:v1' or 'oci-archive:${temp.path}/my app.tar:v1'`,
    );
  });

  it('names docker-archive for a folder of an extracted docker save, which oci: would refuse', () => {
    const saved = join(temp.path, 'saved');
    mkdirSync(saved);
    writeFileSync(join(saved, 'manifest.json'), '[]');
    expect(prefixedForms(`${saved}:app:1`)).toBe(`docker-archive:${saved}:app:1`);
    // Docker 25 and later write an OCI layout beside manifest.json: it is read as the layout.
    writeFileSync(join(saved, 'oci-layout'), '{}');
    expect(prefixedForms(`${saved}:app:1`)).toBe(`oci:${saved}:app:1`);
  });

  it('has none when no PATH exists, nor for a spec with an @, which may hold a password', () => {
    expect(prefixedForms(`${temp.path}/absent:v1`)).toBeUndefined();
    expect(prefixedForms(`${temp.path}/app.tar/inner:v1`)).toBeUndefined(); // a file as a folder
    expect(prefixedForms(`${temp.path}/lay:me:secret@ghcr.io/app`)).toBeUndefined();
  });
});
