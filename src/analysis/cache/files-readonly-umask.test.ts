/**
 * A temp file the umask makes read-only (umask 0222): only the descriptor that made it can write it. As
 * root could open it again anyway, every open of a path by name for writing is refused here, as it is for
 * any other user.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof actual.open = (path, flags, mode) =>
    flags === 'r+' || flags === 'w' || flags === 'a'
      ? Promise.reject(
          Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' }),
        )
      : actual.open(path, flags, mode);
  return { ...actual, open, default: { ...actual, open } };
});

const { writeAtomically } = await import('./files.js');

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-cache-readonly-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('writeAtomically with a read-only umask', () => {
  it('writes through the descriptor that made the temp file, and leaves no temp file', async () => {
    await writeAtomically(scratch, 'entry', [Buffer.from('bytes')]);
    expect(readdirSync(scratch)).toEqual(['entry']);
    expect(readFileSync(join(scratch, 'entry'), 'utf8')).toBe('bytes');
  });
});
