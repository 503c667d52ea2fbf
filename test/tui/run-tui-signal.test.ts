import { PassThrough, Writable } from 'node:stream';
import { expect, it, vi } from 'vitest';
import { runTui, type TuiIO } from '../../src/tui/index.js';
import { fakeSource } from './fake-source.js';

// Ink's import ends just after a SIGINT reached the process (the type-ahead's Ctrl+C, as the load ends):
// the signal is dispatched to JavaScript a turn of the event loop later.
vi.mock('../../src/tui/ink-loader.js', async (importActual) => {
  const actual = await importActual<typeof import('../../src/tui/ink-loader.js')>();
  return {
    loadInk: async () => {
      const ink = await actual.loadInk();
      process.kill(process.pid, 'SIGINT');
      return ink;
    },
  };
});

it('ends with 128 + 2 on a SIGINT that arrives as Ink finishes loading, not drawing the explorer', async () => {
  const stdout = Object.assign(new Writable({ write: (_chunk, _encoding, callback) => callback() }), {
    isTTY: true,
    columns: 100,
    rows: 30,
  });
  const stdin = new PassThrough();
  Object.assign(stdin, { isTTY: true, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
  const stderr = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const io = { stdin, stdout, stderr, env: { NO_COLOR: '1' } } as unknown as TuiIO;
  async function* events() {
    await new Promise(() => {});
  }
  const run = runTui({ source: fakeSource(['FROM base']), events: events() }, io);
  // Lost, the signal left the explorer waiting for keys: the run never ended.
  const ended = await Promise.race([
    run,
    new Promise((resolve) => setTimeout(resolve, 10_000, 'still running')),
  ]);
  expect(ended).toBe(128 + 2);
});
