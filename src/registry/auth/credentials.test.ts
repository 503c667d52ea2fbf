import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCredentials } from './credentials.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgscope-creds-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

function dockerConfig(name: string, value: unknown): string {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('findCredentials', () => {
  const env = () => ({ HOME: join(dir, 'nohome') });

  it("finds Docker Hub under Docker's historical https://index.docker.io/v1/ key", async () => {
    const path = dockerConfig('hub', {
      auths: { 'https://index.docker.io/v1/': { auth: auth('me', 'pw:with:colons') } },
    });
    const found = await findCredentials('docker.io', 'library/alpine', {
      env: env(),
      dockerConfigPath: path,
    });
    expect(found.credential).toEqual({ kind: 'basic', username: 'me', password: 'pw:with:colons' });
    expect(found.source).toBe(path);
  });

  it('accepts username/password fields and ignores entries for other registries', async () => {
    const path = dockerConfig('fields', {
      auths: { 'other.io': { auth: auth('x', 'y') }, 'https://ghcr.io': { username: 'u', password: 'p' } },
    });
    expect(
      (await findCredentials('ghcr.io', 'o/app', { env: env(), dockerConfigPath: path })).credential,
    ).toEqual({
      kind: 'basic',
      username: 'u',
      password: 'p',
    });
    const none = await findCredentials('quay.io', 'o/app', { env: env(), dockerConfigPath: path });
    expect(none.credential).toBeUndefined();
    expect(none.searched).toContain(`${path} (no entry for quay.io)`);
  });

  it('explicit credentials win, then the environment; a lone IMGSCOPE_USERNAME is noted, not used', async () => {
    const explicit = await findCredentials('r.io', 'a', {
      explicit: { username: 'cli', password: 'x' },
      env: { IMGSCOPE_USERNAME: 'env', IMGSCOPE_PASSWORD: 'y' },
    });
    expect(explicit.source).toBe('--username');
    const fromEnv = await findCredentials('r.io', 'a', {
      env: { ...env(), IMGSCOPE_USERNAME: 'env', IMGSCOPE_PASSWORD: 'y' },
    });
    expect(fromEnv.credential).toEqual({ kind: 'basic', username: 'env', password: 'y' });
    const lone = await findCredentials('r.io', 'a', { env: { ...env(), IMGSCOPE_USERNAME: 'env' } });
    expect(lone.credential).toBeUndefined();
    expect(lone.searched).toContain('IMGSCOPE_USERNAME (IMGSCOPE_PASSWORD unset)');
  });

  it('notes a config file that is not JSON and goes on', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ nope');
    const found = await findCredentials('r.io', 'a', { env: env(), dockerConfigPath: path });
    expect(found.credential).toBeUndefined();
    expect(found.searched).toContain(`${path} (not valid JSON, ignored)`);
  });
});
