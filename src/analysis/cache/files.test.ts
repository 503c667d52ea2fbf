import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeUnfinishedWritesSync, writeAtomically } from './files.js';

const scratch = mkdtempSync(join(tmpdir(), 'imgscope-cache-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('writeAtomically and a quit signal', () => {
  it('leaves no temp file when the signal lands before the thread pool ran the write’s first call', async () => {
    const folder = join(scratch, 'busy-pool');
    mkdirSync(folder);
    // Every thread of libuv's pool waits in open(2) for a FIFO's writer, so the write's own calls queue.
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const fifos = Array.from({ length: threads }, (_, i) => join(scratch, `fifo-${i}`));
    execFileSync('mkfifo', fifos);
    const readers = fifos.map((fifo) => open(fifo, 'r'));
    const write = writeAtomically(folder, 'entry', [Buffer.from('bytes')]).then(
      () => 'written',
      (error: NodeJS.ErrnoException) => error.code,
    );
    // What the signal handler does before it ends the process.
    removeUnfinishedWritesSync();
    // Blocking: each open waits for its FIFO's reader, so none is released before its thread holds it.
    for (const fifo of fifos) closeSync(openSync(fifo, constants.O_WRONLY));
    for (const reader of readers) await (await reader).close();
    // The handler found the temp file and removed it: the write cannot go on, and leaves nothing.
    expect(await write).toBe('ENOENT');
    expect(readdirSync(folder)).toEqual([]);
  });
});
