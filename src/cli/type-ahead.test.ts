import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { holdTypeAhead } from './type-ahead.js';

// The type-ahead reads keys only in the terminal's foreground job: run as a background job (`npm test &`,
// or Ctrl-Z then bg), vitest would read none of the keys typed here. These fake keyboards are in front.
vi.mock('../foreground.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../foreground.js')>()),
  inForeground: () => true,
}));

/** A keyboard in raw mode: what is written to it arrives as typed keys. */
function keyboard(): PassThrough & NodeJS.ReadStream {
  return Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {}, unref: () => {} }) as never;
}

/** Resolves once `stdin` has handed its 'readable' chunks to the type-ahead. */
const typed = (stdin: NodeJS.ReadStream, keys: string) =>
  new Promise<void>((resolve) => {
    stdin.once('readable', () => setImmediate(resolve));
    stdin.push(keys);
  });

describe('holdTypeAhead', () => {
  it('calls onQuit for a q typed while loading, and holds other keys for the explorer', async () => {
    const stdin = keyboard();
    const onQuit = vi.fn();
    const typeAhead = holdTypeAhead(stdin);
    typeAhead.onQuit(onQuit);
    await typed(stdin, 'j');
    expect(onQuit).not.toHaveBeenCalled();
    await typed(stdin, 'q');
    expect(onQuit).toHaveBeenCalledOnce();
    typeAhead.release();
    expect(String(stdin.read())).toBe('j');
  });

  it('calls onQuit at once for a q typed before it was set (typed ahead at the shell, or as the policy was read)', async () => {
    const stdin = keyboard();
    const onQuit = vi.fn();
    const typeAhead = holdTypeAhead(stdin);
    await typed(stdin, 'j');
    await typed(stdin, 'q');
    typeAhead.onQuit(onQuit);
    expect(onQuit).toHaveBeenCalledOnce();
  });

  it('does not call onQuit when set for a q typed before it in the filter prompt', async () => {
    const stdin = keyboard();
    const onQuit = vi.fn();
    const typeAhead = holdTypeAhead(stdin);
    await typed(stdin, '/');
    await typed(stdin, 'q');
    typeAhead.onQuit(onQuit);
    expect(onQuit).not.toHaveBeenCalled();
    typeAhead.release();
    expect(String(stdin.read())).toBe('/q');
  });

  it('holds a q for the explorer once the listener is unset (the image is open, the explorer not yet shown)', async () => {
    const stdin = keyboard();
    const onQuit = vi.fn();
    const typeAhead = holdTypeAhead(stdin);
    typeAhead.onQuit(onQuit);
    typeAhead.onQuit(undefined);
    await typed(stdin, 'q');
    expect(onQuit).not.toHaveBeenCalled();
    typeAhead.release();
    expect(String(stdin.read())).toBe('q');
  });

  it('takes a q typed in the filter prompt (after / or Ctrl+F) as text', async () => {
    for (const opener of ['/', '\x06']) {
      const stdin = keyboard();
      const onQuit = vi.fn();
      const typeAhead = holdTypeAhead(stdin);
      typeAhead.onQuit(onQuit);
      await typed(stdin, opener);
      await typed(stdin, 'sq');
      expect(onQuit).not.toHaveBeenCalled();
      typeAhead.release();
      expect(String(stdin.read())).toBe(`${opener}sq`);
    }
  });

  it('takes a q as quit once the filter prompt was closed (Enter, Tab or Esc), as the explorer would', async () => {
    for (const keys of [
      ['/', 'ab', '\r'],
      ['\x06', 'a\t'],
      ['/', 'ab', '\x1b'],
      ['?', '/'],
    ]) {
      const stdin = keyboard();
      const onQuit = vi.fn();
      const typeAhead = holdTypeAhead(stdin);
      typeAhead.onQuit(onQuit);
      for (const key of keys) await typed(stdin, key);
      expect(onQuit).not.toHaveBeenCalled();
      await typed(stdin, 'q');
      expect(onQuit).toHaveBeenCalledOnce();
      typeAhead.release();
      expect(String(stdin.read())).toBe(keys.join(''));
    }
  });

  it('keeps a q as text while the prompt stays open: arrows and Alt+keys do not close it', async () => {
    for (const keys of [
      ['/', 'a\x1b[A'],
      ['/', '\x1bOB'],
      ['/', '\x1bx'],
    ]) {
      const stdin = keyboard();
      const onQuit = vi.fn();
      const typeAhead = holdTypeAhead(stdin);
      typeAhead.onQuit(onQuit);
      for (const key of keys) await typed(stdin, key);
      await typed(stdin, 'q');
      expect(onQuit).not.toHaveBeenCalled();
    }
  });

  it('calls onInterrupt before a Ctrl+C typed ends the load, so a progress line can be erased first', async () => {
    const stdin = keyboard();
    const order: string[] = [];
    const kill = vi.spyOn(process, 'kill').mockImplementation((_pid, signal) => {
      order.push(String(signal));
      return true;
    });
    try {
      const typeAhead = holdTypeAhead(stdin);
      typeAhead.onInterrupt(() => order.push('erase'));
      await typed(stdin, '\x03');
      expect(order).toEqual(['erase', 'SIGINT']);
    } finally {
      kill.mockRestore();
    }
  });
});
