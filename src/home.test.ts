import { beforeEach, describe, expect, it, vi } from 'vitest';

const account = vi.hoisted(() => ({ homedir: '/home/me' as string | undefined }));
vi.mock('node:os', async (original) => ({
  ...(await original<typeof import('node:os')>()),
  userInfo: () => {
    if (account.homedir === undefined) throw new Error('ENOENT: no such file or directory, uv_os_get_passwd');
    return { homedir: account.homedir };
  },
  // What Node's own fallback answers for a uid without an account: a relative HOME as it is.
  homedir: () => 'rel',
}));

const { homeDirectory } = await import('./home.js');
const { cacheRoot } = await import('./analysis/cache/location.js');
const { findCredentials } = await import('./registry/auth/credentials.js');

describe('homeDirectory', () => {
  beforeEach(() => {
    account.homedir = '/home/me';
  });

  it("is an absolute HOME, else the account's home folder", () => {
    expect(homeDirectory({ HOME: '/h' })).toBe('/h');
    for (const HOME of [undefined, '', '.', 'rel']) expect(homeDirectory({ HOME })).toBe('/home/me');
  });

  it('is undefined, never the working directory, for a uid without an account and no absolute HOME', () => {
    account.homedir = undefined;
    for (const HOME of [undefined, '', '.', 'rel']) expect(homeDirectory({ HOME })).toBeUndefined();
    account.homedir = '';
    expect(homeDirectory({})).toBeUndefined();
  });

  it('leaves the cache without a folder, and the credential lookup without ~ files, rather than failing', async () => {
    account.homedir = undefined;
    expect(cacheRoot({ env: {}, cwd: '/work' })).toBeUndefined();
    expect(cacheRoot({ env: { XDG_CACHE_HOME: '/x' }, cwd: '/work' })).toBe('/x/imgscope');
    const { searched } = await findCredentials('r.io', 'a', { env: {} });
    expect(searched).toContain('~/.docker/config.json (HOME unset, and no home folder)');
    expect(searched.filter((line) => line.includes('.json') && !line.startsWith('~'))).toEqual([]);
  });
});
