import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { certsFolderFor, readCertsDirectory } from './certs-dir.js';

/** Folders readdirSync refuses with EACCES: the tests run as root, whom chmod cannot keep out. */
const denied = new Set<string>();
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const readdirSync = ((path: string, ...rest: unknown[]) => {
    if (denied.has(String(path))) {
      throw Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: 'EACCES' });
    }
    return (fs.readdirSync as (...args: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readdirSync;
  return { ...fs, readdirSync, default: { ...fs, readdirSync } };
});

const REGISTRY = 'certs-dir-test.example:5000';

describe('the certs.d folders read for a registry', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'imgscope-certs-home-'));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  /** A folder for REGISTRY under `base` holding one CA certificate. */
  function folderWithCa(base: string): string {
    const dir = join(base, REGISTRY);
    mkdirSync(dir, { recursive: true });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=certs-dir test CA',
      ].concat(['-keyout', join(home, 'ca.key'), '-out', join(dir, 'ca.crt')]),
      { stdio: 'pipe' },
    );
    return dir;
  }

  it("reads the user's ~/.config/containers/certs.d first, as podman and skopeo do", () => {
    const dir = folderWithCa(join(home, '.config', 'containers', 'certs.d'));
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'elsewhere') };
    expect(readCertsDirectory(REGISTRY, env)?.description).toBe(`1 CA certificate from ${dir}`);
    expect(certsFolderFor(REGISTRY, env)).toBe(dir);
    // IMGSCOPE_CERTS_DIR replaces every default place, the user's own included.
    const named = join(home, 'named');
    mkdirSync(named);
    expect(readCertsDirectory(REGISTRY, { ...env, IMGSCOPE_CERTS_DIR: named })).toBeUndefined();
  });

  it('passes over a folder this user may not read with one warning naming it, as podman skips it', () => {
    const ownDir = join(home, 'unreadable-home', '.config', 'containers', 'certs.d', REGISTRY);
    mkdirSync(ownDir, { recursive: true });
    denied.add(ownDir);
    const warnings: string[] = [];
    const env = { HOME: join(home, 'unreadable-home') };
    try {
      expect(readCertsDirectory(REGISTRY, env, (line) => warnings.push(line))).toBeUndefined();
      // A hint sends the user to a folder imgscope reads, not to the one it passed over.
      expect(certsFolderFor(REGISTRY, env)).toBe(join('/etc/docker/certs.d', REGISTRY));
    } finally {
      denied.clear();
    }
    expect(warnings).toEqual([`warning: ${ownDir}: cannot read it (EACCES); its certificates are not used`]);
  });
});
