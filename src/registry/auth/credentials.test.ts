import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

  it('never reads a config file in the working directory for an empty HOME, DOCKER_CONFIG or XDG folder', async () => {
    for (const env of [
      { HOME: '', DOCKER_CONFIG: '', XDG_CONFIG_HOME: '', XDG_RUNTIME_DIR: '' },
      { HOME: 'home', XDG_CONFIG_HOME: 'config', XDG_RUNTIME_DIR: 'run' },
    ]) {
      const { searched } = await findCredentials('r.io', 'a', { env });
      const paths = searched.filter((line) => line.includes('.json'));
      expect(paths).toHaveLength(2);
      for (const line of paths) expect(line).toMatch(/^\//);
    }
  });

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

  it('says an entry is unusable, rather than missing, when its auth is not base64 of USER:PASSWORD', async () => {
    const path = dockerConfig('mangled', { auths: { 'ghcr.io': { auth: 'bm9jb2xvbg==' }, 'quay.io': {} } });
    const mangled = await findCredentials('ghcr.io', 'o/app', { env: env(), dockerConfigPath: path });
    expect(mangled.credential).toBeUndefined();
    expect(mangled.searched).toContain(
      `${path} (the entry for ghcr.io is unusable: its "auth" is not base64 of USER:PASSWORD; log in again)`,
    );
    const empty = await findCredentials('quay.io', 'o/app', { env: env(), dockerConfigPath: path });
    expect(empty.searched).toContain(`${path} (the entry for quay.io holds no credentials)`);
    const podman = await findCredentials('ghcr.io', 'o/app', {
      env: { ...env(), REGISTRY_AUTH_FILE: path },
      dockerConfigPath: path,
    });
    expect(podman.searched[2]).toBe(
      `${path} (the entry for ghcr.io is unusable: its "auth" is not base64 of USER:PASSWORD; log in again)`,
    );
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

  it('notes a config file that is not JSON with where it breaks and the fix, never its text, and goes on', async () => {
    const note = async (text: string) => {
      const path = join(dir, 'broken.json');
      writeFileSync(path, text);
      const found = await findCredentials('r.io', 'a', { env: env(), dockerConfigPath: path });
      expect(found.credential).toBeUndefined();
      const [entry] = found.searched.filter((place) => place.startsWith(path));
      return entry?.slice(path.length + 1);
    };
    const fix = 'ignored: fix it there, or remove the file and log in again';
    expect(await note('{ nope')).toBe(`(not valid JSON at line 1, column 3, ${fix})`);
    expect(await note('{\n  "auths": {\n    "r.io": { "auth": "c2VjcmV0" },\n  }\n}')).toBe(
      `(not valid JSON at line 4, column 3, ${fix})`,
    );
    expect(await note('{"auths":')).toBe(`(not valid JSON at its end, ${fix})`);
    // V8 names no position for an unexpected token: the place is found by scanning.
    expect(await note('{\n  "auths": }')).toBe(`(not valid JSON at line 2, column 12, ${fix})`);
    expect(await note('{"auths": {}} x-c2VjcmV0')).not.toContain('c2VjcmV0');
    expect(await note('\ufeff{"auths": {"r.io": {"auth": "c2VjcmV0"}}}')).toBe(
      `(not valid JSON at line 1, column 1, ${fix})`,
    );
    expect(await note('[]')).toBe(
      '(ignored: not a JSON object; fix it, or remove the file and log in again)',
    );
    expect(await note(' \n')).toBe('(empty)');
  });

  it('ignores a config file with a value of the wrong type, naming it, rather than crashing', async () => {
    const cases: [unknown, string][] = [
      [{ auths: { 'r.io': { auth: 5 } } }, '"auths"."r.io"."auth" is not a string'],
      [{ auths: { 'r.io': { identitytoken: true } } }, '"auths"."r.io"."identitytoken" is not a string'],
      [{ auths: { 'r.io': { username: 'u', password: 7 } } }, '"auths"."r.io"."password" is not a string'],
      [{ auths: { 'r.io': 'dXNlcjpwdw==' } }, '"auths"."r.io" is not an object'],
      [{ auths: [] }, '"auths" is not an object'],
      [{ credHelpers: { 'r.io': 1 } }, '"credHelpers"."r.io" is not a string'],
      [{ credsStore: {} }, '"credsStore" is not a string'],
    ];
    for (const [index, [value, misfit]] of cases.entries()) {
      const path = dockerConfig(`misfit-${index}`, value);
      const found = await findCredentials('r.io', 'a', { env: env(), dockerConfigPath: path });
      expect(found.credential).toBeUndefined();
      expect(found.searched).toContain(
        `${path} (ignored: ${misfit}; fix it, or log in again after removing it)`,
      );
      const authFile = await findCredentials('r.io', 'a', { env: { ...env(), REGISTRY_AUTH_FILE: path } });
      expect(authFile.searched).toContain(
        `${path} (ignored: ${misfit}; fix it, or log in again after removing it)`,
      );
    }
  });

  it('takes a null entry of an auth file as no credentials', async () => {
    const path = dockerConfig('null-entry', { auths: { 'r.io/a': null, 'r.io': { auth: auth('u', 'p') } } });
    const found = await findCredentials('r.io', 'a', { env: { ...env(), REGISTRY_AUTH_FILE: path } });
    expect(found.credential).toEqual({ kind: 'basic', username: 'u', password: 'p' });
  });

  it('takes IMGSCOPE_USERNAME/IMGSCOPE_PASSWORD only for the registry IMGSCOPE_REGISTRY names, when it is set', async () => {
    const vars = { IMGSCOPE_USERNAME: 'ci', IMGSCOPE_PASSWORD: 'for-private' };
    const lookup = (registry: string, meantFor?: string) =>
      findCredentials(registry, 'a', {
        env: { ...env(), ...vars, ...(meantFor === undefined ? {} : { IMGSCOPE_REGISTRY: meantFor }) },
      });
    const elsewhere = await lookup('ghcr.io', 'private.example:5000');
    expect(elsewhere.credential).toBeUndefined();
    expect(elsewhere.searched).toContain('IMGSCOPE_USERNAME (IMGSCOPE_REGISTRY names another registry)');
    expect(elsewhere.searched.join(' ')).not.toContain('private.example');
    expect((await lookup('private.example:5000', 'private.example:5000')).credential?.kind).toBe('basic');
    expect((await lookup('private.example:5000', 'https://private.example:5000/')).source).toBe(
      'IMGSCOPE_USERNAME/IMGSCOPE_PASSWORD',
    );
    for (const alias of [
      'docker.io',
      'index.docker.io',
      'https://index.docker.io/v1/',
      'registry-1.docker.io',
    ]) {
      expect((await lookup('docker.io', alias)).credential, alias).toBeDefined();
    }
    // Unset (or empty): as before, for whatever registry the image is on.
    expect((await lookup('ghcr.io')).credential).toBeDefined();
    expect((await lookup('ghcr.io', '')).credential).toBeDefined();
  });

  it("REGISTRY_AUTH_FILE wins over Docker's config.json, as in podman and skopeo", async () => {
    const home = join(dir, 'raf-home');
    mkdirSync(join(home, '.docker'), { recursive: true });
    writeFileSync(
      join(home, '.docker', 'config.json'),
      JSON.stringify({ auths: { 'r.io': { auth: auth('stale', 'x') } } }),
    );
    const authFile = dockerConfig('raf', { auths: { 'r.io': { auth: auth('raf', 'y') } } });
    const found = await findCredentials('r.io', 'a', { env: { HOME: home, REGISTRY_AUTH_FILE: authFile } });
    expect(found.credential).toEqual({ kind: 'basic', username: 'raf', password: 'y' });
    expect(found.source).toBe(authFile);
    const other = await findCredentials('q.io', 'a', { env: { HOME: home, REGISTRY_AUTH_FILE: authFile } });
    expect(other.searched.filter((place) => place.startsWith(authFile))).toHaveLength(1);
  });

  it('reads an auth file key written as a URL as its whole registry, whatever its path, as podman does', async () => {
    const authFile = dockerConfig('url-keys', {
      auths: {
        'https://r.io/v2/': { auth: auth('url', 'y') },
        'http://q.io:5000/v1/': { auth: auth('port', 'z') },
        'p.io/team': { auth: auth('team', 'w') },
      },
    });
    const lookup = (registry: string, repository: string) =>
      findCredentials(registry, repository, { env: { ...env(), REGISTRY_AUTH_FILE: authFile } });
    expect((await lookup('r.io', 'team/app')).credential).toEqual({
      kind: 'basic',
      username: 'url',
      password: 'y',
    });
    expect((await lookup('q.io:5000', 'app')).credential).toEqual({
      kind: 'basic',
      username: 'port',
      password: 'z',
    });
    expect((await lookup('p.io', 'team/app')).credential).toEqual({
      kind: 'basic',
      username: 'team',
      password: 'w',
    });
    expect((await lookup('p.io', 'other/app')).credential).toBeUndefined();
  });

  it('takes the key naming the registry exactly over one written as a URL, as docker and podman do', async () => {
    // Go writes keys sorted, so an old URL key comes first: it must not shadow the key a later login wrote.
    const keys = {
      auths: {
        'http://q.io/v1/': { auth: auth('stale', 'x') },
        'https://q.io': { auth: auth('stale', 'x') },
        'q.io': { auth: auth('fresh', 'y') },
      },
    };
    const fresh = { kind: 'basic', username: 'fresh', password: 'y' };
    const path = dockerConfig('exact-first', keys);
    const viaDocker = await findCredentials('q.io', 'a', { env: env(), dockerConfigPath: path });
    expect(viaDocker.credential).toEqual(fresh);
    const viaAuthFile = await findCredentials('q.io', 'a', { env: { ...env(), REGISTRY_AUTH_FILE: path } });
    expect(viaAuthFile.credential).toEqual(fresh);
  });

  it("reads Docker Hub's https://index.docker.io/v1/ key in config.json before a docker.io key, as docker does", async () => {
    // docker login writes the URL key; a docker.io key (skopeo or podman login with docker's file as the
    // auth file) sorts first but is never read by docker, and may be stale.
    const keys = {
      auths: {
        'docker.io': { auth: auth('stale', 'x') },
        'https://index.docker.io/v1/': { auth: auth('fresh', 'y') },
      },
    };
    const path = dockerConfig('hub-exact', keys);
    const found = await findCredentials('docker.io', 'library/a', { env: env(), dockerConfigPath: path });
    expect(found.credential).toEqual({ kind: 'basic', username: 'fresh', password: 'y' });
  });

  describe('credential helpers', () => {
    const withHelper = (name: string, script: string, helperTimeoutMs = 300) => {
      const bin = join(dir, `bin-${name}`);
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'docker-credential-fake'), `#!/bin/sh\n${script}\n`);
      chmodSync(join(bin, 'docker-credential-fake'), 0o755);
      const path = dockerConfig(`helper-${name}`, { credsStore: 'fake' });
      const started = Date.now();
      return findCredentials('r.io', 'a', {
        env: { ...env(), PATH: `${bin}:${process.env.PATH}` },
        dockerConfigPath: path,
        helperTimeoutMs,
      }).then((found) => ({ found, ms: Date.now() - started }));
    };

    it("asks the credHelpers of REGISTRY_AUTH_FILE or Podman's auth.json, as podman does, then its auths", async () => {
      const bin = join(dir, 'bin-authfile');
      mkdirSync(bin, { recursive: true });
      const script = `#!/bin/sh\nread url\n[ "$url" = r.io ] && echo '{"Username":"ecr","Secret":"from-helper"}' || exit 1\n`;
      writeFileSync(join(bin, 'docker-credential-fake'), script);
      chmodSync(join(bin, 'docker-credential-fake'), 0o755);
      const authFile = dockerConfig('authfile-helpers', {
        credHelpers: { 'r.io': 'fake', 'q.io': 'fake' },
        auths: { 'q.io': { auth: auth('entry', 'z') } },
      });
      const lookup = (registry: string, file: NodeJS.ProcessEnv) =>
        findCredentials(registry, 'a', { env: { ...env(), PATH: `${bin}:${process.env.PATH}`, ...file } });
      const viaVariable = await lookup('r.io', { REGISTRY_AUTH_FILE: authFile });
      expect(viaVariable.credential).toEqual({ kind: 'basic', username: 'ecr', password: 'from-helper' });
      expect(viaVariable.source).toBe('docker-credential-fake');
      const runtime = join(dir, 'runtime-helpers');
      mkdirSync(join(runtime, 'containers'), { recursive: true });
      writeFileSync(join(runtime, 'containers', 'auth.json'), readFileSync(authFile));
      expect((await lookup('r.io', { XDG_RUNTIME_DIR: runtime })).source).toBe('docker-credential-fake');
      const fallback = await lookup('q.io', { REGISTRY_AUTH_FILE: authFile });
      expect(fallback.credential).toEqual({ kind: 'basic', username: 'entry', password: 'z' });
      expect(fallback.searched).toContain('docker-credential-fake (no credentials or it failed)');
    });

    it('asks a helper once when REGISTRY_AUTH_FILE is the config.json docker reads, or auth.json names it too', async () => {
      const bin = join(dir, 'bin-once');
      const calls = join(dir, 'once-calls');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'docker-credential-once'), `#!/bin/sh\necho asked >> ${calls}\nexit 1\n`);
      chmodSync(join(bin, 'docker-credential-once'), 0o755);
      const dockerDir = join(dir, 'docker-once');
      const runtime = join(dir, 'runtime-once');
      mkdirSync(dockerDir, { recursive: true });
      mkdirSync(join(runtime, 'containers'), { recursive: true });
      const config = JSON.stringify({ credHelpers: { 'r.io': 'once' } });
      writeFileSync(join(dockerDir, 'config.json'), config);
      writeFileSync(join(runtime, 'containers', 'auth.json'), config);
      const found = await findCredentials('r.io', 'a', {
        env: {
          ...env(),
          PATH: `${bin}:${process.env.PATH}`,
          DOCKER_CONFIG: dockerDir,
          REGISTRY_AUTH_FILE: join(dockerDir, 'config.json'),
          XDG_RUNTIME_DIR: runtime,
        },
      });
      expect(found.credential).toBeUndefined();
      expect(readFileSync(calls, 'utf8')).toBe('asked\n');
      expect(found.searched.filter((place) => place.startsWith('docker-credential-once'))).toEqual([
        'docker-credential-once (no credentials or it failed)',
      ]);
    });

    it('gives up at the timeout on a helper that ignores SIGTERM, and kills it', async () => {
      const pidFile = join(dir, 'trap.pid');
      const { found, ms } = await withHelper('trap', `echo $$ > ${pidFile}; trap '' TERM; sleep 4; sleep 4`);
      expect(found.searched).toContain('docker-credential-fake (timed out)');
      expect(ms).toBeLessThan(2000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(() => process.kill(Number(readFileSync(pidFile, 'utf8')), 0)).toThrow();
    });

    it('takes the reply of a helper that exited while a child of it holds stdout open', async () => {
      const { found, ms } = await withHelper(
        'daemon',
        `sleep 4 &\necho '{"Username":"bob","Secret":"s3cret"}'`,
        3000,
      );
      expect(found.credential).toEqual({ kind: 'basic', username: 'bob', password: 's3cret' });
      expect(ms).toBeLessThan(2000);
    });

    it('asks the credsStore before a stale auths entry, as docker does, and takes the entry if the store has nothing', async () => {
      const bin = join(dir, 'bin-store');
      mkdirSync(bin, { recursive: true });
      const helper = join(bin, 'docker-credential-fake');
      const path = dockerConfig('store-and-auths', {
        credsStore: 'fake',
        auths: { 'r.io': { auth: auth('old', 'stale') } },
      });
      const lookup = () =>
        findCredentials('r.io', 'a', {
          env: { ...env(), PATH: `${bin}:${process.env.PATH}` },
          dockerConfigPath: path,
        });
      writeFileSync(helper, `#!/bin/sh\necho '{"Username":"new","Secret":"fresh"}'\n`);
      chmodSync(helper, 0o755);
      expect(await lookup()).toMatchObject({
        credential: { kind: 'basic', username: 'new', password: 'fresh' },
        source: 'docker-credential-fake',
      });
      writeFileSync(helper, '#!/bin/sh\necho credentials not found in native keychain; exit 1\n');
      expect(await lookup()).toMatchObject({
        credential: { kind: 'basic', username: 'old', password: 'stale' },
        source: path,
      });
    });

    it('notes a missing, failing or garbled helper without its output', async () => {
      expect((await withHelper('fails', 'echo not found; exit 1')).found.searched).toContain(
        'docker-credential-fake (no credentials or it failed)',
      );
      expect((await withHelper('garbage', 'echo password=s3cret')).found.searched).toContain(
        'docker-credential-fake (unusable reply)',
      );
      const path = dockerConfig('helper-none', { credsStore: 'nosuch' });
      const missing = await findCredentials('r.io', 'a', { env: env(), dockerConfigPath: path });
      expect(missing.searched).toContain('docker-credential-nosuch (not found on PATH)');
    });
  });
});

describe('findCredentials on a store it cannot read', () => {
  it('says the file is unreadable rather than missing', async () => {
    const path = join(dir, 'a-folder.json');
    mkdirSync(path, { recursive: true });
    const { searched } = await findCredentials('r.io', 'a', {
      env: { HOME: join(dir, 'nohome') },
      dockerConfigPath: path,
    });
    expect(searched).toContain(`${path} (unreadable: EISDIR)`);
  });
});
