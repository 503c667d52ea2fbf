import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { AnalysisEvent } from '../../src/analysis/types.js';
import { holdTypeAhead } from '../../src/cli/type-ahead.js';
import { ImgscopeError } from '../../src/errors.js';
import { pumpEvents } from '../../src/tui/events.js';
import { runTui, type TuiIO } from '../../src/tui/index.js';
import type { Action } from '../../src/tui/state/state.js';
import { fakeSource } from './fake-source.js';
import { fakeAnalysis, fakeSummary } from './fake-tree.js';

// The explorer draws and reads keys only in the terminal's foreground job: run as a background job
// (`npm test &`, or Ctrl-Z then bg), vitest would wait for an `fg` that never comes. These fake terminals
// are in front.
vi.mock('../../src/foreground.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/foreground.js')>()),
  inForeground: () => true,
}));

const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';

/** A TTY-looking terminal: what was written, and a way to type. */
function fakeTerminal(tty = true) {
  let written = '';
  const stdout = Object.assign(
    new Writable({
      write(chunk, _encoding, callback) {
        written += chunk.toString();
        callback();
      },
    }),
    { isTTY: true, columns: 100, rows: 30 },
  );
  const stdin = new PassThrough();
  Object.assign(stdin, { isTTY: tty, setRawMode: () => stdin, ref: () => stdin, unref: () => stdin });
  const stderr = new Writable({ write: (_c, _e, callback) => callback() });
  const io = { stdin, stdout, stderr, env: { NO_COLOR: '1' } } as unknown as TuiIO;
  const text = () => written.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const until = async (predicate: () => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`never saw ${what}; the screen:\n${text().slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { io, written: () => written, text, until, type: (keys: string) => stdin.write(keys) };
}

/** Events that stop after `before` until released; records whether the consumer closed them. */
function heldEvents(before: AnalysisEvent[]) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state = { closed: false };
  async function* events(): AsyncGenerator<AnalysisEvent> {
    try {
      yield* before;
      await released;
      yield { type: 'layer-start', layer: 1, compressedSize: 2000 };
    } finally {
      state.closed = true;
    }
  }
  return { events: events(), release, state };
}

describe('runTui', () => {
  it('refuses to start without a terminal on stdin, leaving the screen alone', async () => {
    const terminal = fakeTerminal(false);
    const source = fakeSource(['FROM base']);
    const run = runTui({ source, events: heldEvents([]).events }, terminal.io);
    await expect(run).rejects.toMatchObject({
      code: 'BAD_INPUT',
      hint: expect.stringContaining('imgscope check'),
    });
    expect(terminal.written()).toBe('');
  });

  it('draws as soon as the manifest is known, quits on q mid-stream, restores the screen, stops the analysis', async () => {
    const terminal = fakeTerminal();
    const source = fakeSource(['FROM base', 'RUN build']);
    const held = heldEvents([{ type: 'layer-start', layer: 0, compressedSize: 1000 }]);
    const run = runTui({ source, events: held.events }, terminal.io);
    await terminal.until(() => terminal.text().includes('RUN build'), 'the layers');
    expect(terminal.written().startsWith(ENTER_ALTERNATE_SCREEN)).toBe(true);
    expect(terminal.text()).toContain('Reading layers… 0 of 2 done');
    terminal.type('q');
    await expect(run).resolves.toBe(0);
    expect(terminal.written()).toContain(LEAVE_ALTERNATE_SCREEN);
    held.release();
    await terminal.until(() => held.state.closed, 'the analysis closed');
  });

  it('handles SIGINT, SIGTERM and SIGHUP while Ink loads, so half-written cache files can be removed', async () => {
    const terminal = fakeTerminal();
    const source = fakeSource(['FROM base']);
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const before = signals.map((name) => process.listenerCount(name));
    // Layers stream into the cache from here on; left to the default, a signal would end the process
    // with their temp files still there.
    const run = runTui({ source, events: heldEvents([]).events }, terminal.io);
    expect(signals.map((name, i) => process.listenerCount(name) - before[i]!)).toEqual([1, 1, 1]);
    await terminal.until(() => terminal.text().includes('q quit'), 'the footer');
    terminal.type('q');
    await expect(run).resolves.toBe(0);
    expect(signals.map((name) => process.listenerCount(name))).toEqual(before);
  });

  it('draws at the size the terminal was resized to while Ink loaded', async () => {
    const terminal = fakeTerminal();
    const source = fakeSource(['FROM base', 'RUN build']);
    const run = runTui({ source, events: heldEvents([]).events }, terminal.io);
    const stdout = terminal.io.stdout;
    Object.assign(stdout, { columns: 70, rows: 20 });
    stdout.emit('resize');
    await terminal.until(() => terminal.text().includes('q quit'), 'the footer');
    const header =
      terminal
        .text()
        .split('\n')
        .find((l) => l.includes(' imgscope  ')) ?? '';
    expect(header.length).toBeGreaterThan(60);
    expect(header.length).toBeLessThanOrEqual(70);
    terminal.type('q');
    await expect(run).resolves.toBe(0);
  });

  it('shows a failed analysis, then rethrows it for the CLI once the terminal is restored', async () => {
    const terminal = fakeTerminal();
    const source = fakeSource(['FROM base']);
    const failure = new ImgscopeError('DIGEST_MISMATCH', 'layer 0: sha256 does not match', {
      hint: 'pull again',
    });
    async function* events(): AsyncGenerator<AnalysisEvent> {
      yield { type: 'layer-start', layer: 0, compressedSize: 1000 };
      throw failure;
    }
    const run = runTui({ source, events: events() }, terminal.io);
    await terminal.until(() => terminal.text().includes('Analysis failed: layer 0: sha256'), 'the failure');
    expect(terminal.text()).toContain('pull again');
    terminal.type('q');
    await expect(run).rejects.toBe(failure);
    expect(terminal.written()).toContain(LEAVE_ALTERNATE_SCREEN);
  });

  it('takes keys held while the image loaded as typed: an Esc held alone is Esc, not Alt with the next key', async () => {
    const terminal = fakeTerminal();
    const source = fakeSource(['FROM base']);
    const stdin = terminal.io.stdin;
    const typeAhead = holdTypeAhead(stdin);
    // Each is a read of its own, as a person types them: filter, close the prompt, waste view.
    for (const keys of ['/ab', '\x1b', 'w']) {
      await new Promise<void>((resolve) => {
        stdin.once('readable', () => setImmediate(resolve));
        stdin.push(keys);
      });
    }
    const run = runTui(
      { source, events: heldEvents([]).events },
      { ...terminal.io, beforeKeyboard: typeAhead.release },
    );
    await terminal.until(() => terminal.text().includes(':waste'), 'the waste view the held w asked for');
    terminal.type('q');
    await expect(run).resolves.toBe(0);
  });

  it('fills in the tree and the final report when the analysis is done', async () => {
    const terminal = fakeTerminal();
    const source = fakeSource(['FROM base']);
    const analysis = fakeAnalysis([[{ path: '/etc/hostname', size: 9 }]]);
    const evaluated: boolean[] = [];
    async function* events(): AsyncGenerator<AnalysisEvent> {
      yield { type: 'layer-start', layer: 0, compressedSize: 1000 };
      yield { type: 'layer-done', layer: 0, summary: fakeSummary(0) };
      yield { type: 'done', analysis };
    }
    const evaluate = (given: typeof analysis | undefined) => {
      evaluated.push(given !== undefined);
      return { ...fakeReport(), verdict: given ? ('fail' as const) : ('pass' as const) };
    };
    const run = runTui({ source, events: events(), evaluate }, terminal.io);
    await terminal.until(() => terminal.text().includes('hostname'), 'the tree');
    await terminal.until(() => terminal.text().includes('verdict FAIL'), 'the final verdict');
    expect(evaluated).toEqual([false, true]);
    terminal.type('\x03'); // Ctrl+C
    await expect(run).resolves.toBe(0);

    function fakeReport() {
      return {
        reportVersion: 2,
        tool: { name: 'imgscope' as const, version: '0' },
        reference: source.reference,
        digest: source.digest,
        mediaType: source.mediaType,
        schema: source.schema,
        platform: 'linux/amd64',
        compressedSize: 1500,
        uncompressedSize: 0,
        layerCount: 1,
        layers: [],
        layersAnalyzed: false,
      };
    }
  });
});

describe('feeding analysis events to the store', () => {
  it('coalesces progress per layer and flushes it before the next event, keeping order', async () => {
    const actions: Action[] = [];
    async function* events(): AsyncGenerator<AnalysisEvent> {
      yield { type: 'layer-start', layer: 0, compressedSize: 1000 };
      for (let bytes = 1; bytes <= 1000; bytes++) {
        yield { type: 'layer-progress', layer: 0, compressedBytes: bytes, compressedSize: 1000 };
        yield { type: 'layer-progress', layer: 1, compressedBytes: bytes * 2, compressedSize: 2000 };
      }
      yield { type: 'layer-done', layer: 0, summary: fakeSummary(0) };
    }
    await pumpEvents(events(), { dispatch: (action) => actions.push(action) });
    expect(actions.map((a) => a.type)).toEqual(['layer-started', 'layers-progressed', 'layer-finished']);
    expect(actions[1]).toEqual({
      type: 'layers-progressed',
      progress: [
        { layer: 0, bytesRead: 1000 },
        { layer: 1, bytesRead: 2000 },
      ],
    });
  });
});
