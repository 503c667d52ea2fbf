import { describe, expect, it, vi } from 'vitest';

// A working directory without search permission, as a user other than root meets it (root is never
// refused, so the file system is stood in for).
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const denied = () =>
    Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
  return {
    ...fs,
    open: (path: string, flags: number) =>
      String(path).startsWith('/locked/') ? denied() : fs.open(path, flags),
    access: (path: string, mode?: number) => (String(path) === '/locked' ? denied() : fs.access(path, mode)),
  };
});

const { readOptionalFile } = await import('./config-file.js');

describe('a file looked for in a folder that cannot be searched', () => {
  it('says the folder cannot be searched, not that a file that may not exist has the wrong permissions', async () => {
    await expect(readOptionalFile('/locked/.dive-ci', '--ci-config')).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'cannot look for .dive-ci in /locked: the folder cannot be searched (EACCES)',
      hint: expect.stringContaining('--config and --ci-config'),
    });
  });
});
