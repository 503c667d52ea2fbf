/**
 * Keys typed while the explorer loads (the manifest from a slow registry, Ink's first import). Left to the
 * terminal, they were echoed onto the shell's screen, where they stayed after quitting. In raw mode they
 * are not echoed; they are kept and handed to the explorer as if typed once it shows. Raw mode also turns
 * Ctrl+C, Ctrl+\ and Ctrl+Z into bytes, so each is made the signal the terminal would have sent: Ctrl+C
 * (SIGINT) and Ctrl+\ (SIGQUIT) still abort the load, and Ctrl+Z still stops it until `fg`.
 *
 * In the background (`imgscope IMAGE &`, or continued by `bg`) the terminal is the shell's: raw mode would
 * stop the job (SIGTTOU), and so would a read once a line is typed at the shell (SIGTTIN). The load goes on
 * quietly, and the terminal is taken once `fg` has made this process's group the foreground one.
 */
import { FOREGROUND_POLL_MS, inForeground } from '../foreground.js';
import {
  startReadingKeyboard,
  stopLikeCtrlZ,
  stopLikeSigtstp,
  stopReadingKeyboard,
} from '../tui/terminal.js';
import { quitKeyTyped } from './quit-key.js';

export interface TypeAhead {
  /**
   * Stops holding and gives the keys back to `stdin`, which stays raw for the explorer to read; in the
   * background, cooked and not read, for the explorer to take once in the foreground.
   */
  release(): void;
  /** Stops holding and gives the terminal back as it was (the load failed). Safe after release(). */
  restore(): void;
  /**
   * While `listener` is set, a `q` typed, which the explorer would take as quit (not one typed in the
   * filter prompt, opened by `/` or Ctrl+F and not yet closed), calls it instead of being held: a long
   * load can stop rather than finish for nothing; one already held when it is set calls it at once.
   * Unset (undefined), a `q` is held as any key.
   */
  onQuit(listener: (() => void) | undefined): void;
  /**
   * While `listener` is set, it is called just before a Ctrl+C or Ctrl+\ typed is made the signal that
   * ends the process: a progress line the load drew can be erased, or the shell's prompt follows it.
   */
  onInterrupt(listener: (() => void) | undefined): void;
  /**
   * Runs `work` with the terminal as it was (cooked, the keyboard not read), then holds it again: a
   * credential helper may prompt on /dev/tty, and found it raw, its keys taken here.
   */
  lend<T>(work: () => Promise<T>): Promise<T>;
}

const CTRL_C = 0x03;
const CTRL_Z = 0x1a;
const CTRL_BACKSLASH = 0x1c;
const ESC = 0x1b;

export function holdTypeAhead(stdin: NodeJS.ReadStream): TypeAhead {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') {
    return { release() {}, restore() {}, onQuit() {}, onInterrupt() {}, lend: (work) => work() };
  }
  const held: Buffer[] = [];
  let onQuit: (() => void) | undefined;
  let onInterrupt: (() => void) | undefined;
  /** Whether raw mode and the keyboard are this hold's: only in the foreground. */
  let taken = false;
  // Read in paused mode, not with 'data': pausing a flowing TTY stops its reads, and Ink's 'readable'
  // listener would then wait for a read nobody starts.
  const onReadable = () => {
    // Only while the terminal is ours: a read() with nothing buffered starts the TTY's own read again,
    // which in the background stops the job (SIGTTIN).
    while (taken) {
      const chunk = stdin.read() as Buffer | string | null;
      if (chunk === null) return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const quit = bytes.includes(CTRL_C) ? 'SIGINT' : bytes.includes(CTRL_BACKSLASH) ? 'SIGQUIT' : undefined;
      if (quit) {
        restore();
        onInterrupt?.();
        // To the foreground process group, as the terminal sends it: a script running imgscope stops too.
        process.kill(0, quit);
        return;
      }
      if (onQuit && quitKeyTyped([...held, bytes])) {
        onQuit();
      } else if (bytes.includes(CTRL_Z)) {
        held.push(Buffer.from(bytes.filter((byte) => byte !== CTRL_Z)));
        stopCooked(stopLikeCtrlZ);
      } else {
        held.push(bytes);
      }
    }
  };
  // A SIGTSTP from another process stops imgscope alone, as it would have without the handler; a SIGCONT
  // after a SIGSTOP, which cannot be caught, takes raw mode again from a shell that may have reset it.
  const onStopSignal = () => stopCooked(stopLikeSigtstp);
  const onContinued = () => {
    taken = false;
    stopReadingKeyboard(stdin);
    takeTerminal();
  };
  const listenToJobControl = (listen: boolean) => {
    process[listen ? 'on' : 'off']('SIGTSTP', onStopSignal);
    process[listen ? 'on' : 'off']('SIGCONT', onContinued);
  };
  let listening = false;
  let waitingForForeground: NodeJS.Timeout | undefined;
  const takeTerminal = () => {
    clearTimeout(waitingForForeground);
    waitingForForeground = undefined;
    if (!inForeground()) {
      waitingForForeground = setTimeout(takeTerminal, FOREGROUND_POLL_MS);
      return;
    }
    // Off first: raw mode set again when Node believes it already is would change nothing.
    stdin.setRawMode(false);
    stdin.setRawMode(true);
    taken = true;
    if (listening) {
      startReadingKeyboard(stdin);
      // Keys left in the stream's buffer at the stop; reading them also asks for more.
      onReadable();
    } else {
      listening = true;
      stdin.on('readable', onReadable);
    }
  };
  const cook = () => {
    taken = false;
    clearTimeout(waitingForForeground);
    waitingForForeground = undefined;
    stopReadingKeyboard(stdin);
    // Not from the background: the terminal's modes are the shell's there (and changing them, SIGTTOU).
    if (inForeground()) stdin.setRawMode(false);
  };
  // Stops with the terminal cooked. Unheard, the stop takes effect, and the SIGCONT that ends it is not
  // taken for another one.
  const stopCooked = (stopProcess: () => void) => {
    cook();
    listenToJobControl(false);
    stopProcess();
    listenToJobControl(true);
    takeTerminal();
  };
  let holding = true;
  const stop = () => {
    const was = holding;
    holding = false;
    clearTimeout(waitingForForeground);
    waitingForForeground = undefined;
    stdin.off('readable', onReadable);
    listenToJobControl(false);
    return was;
  };
  let stopReplaying = () => {};
  const restore = () => {
    stop();
    stopReplaying();
    cook();
    // A paused TTY still reads (up to its buffer): unref it, or a failed load never lets the process exit.
    stdin.pause();
    stdin.unref();
  };
  let lent = 0;
  const lend = async <T>(work: () => Promise<T>): Promise<T> => {
    if (!holding) return work();
    // Unheard meanwhile, Ctrl+Z stops imgscope and the helper as it would any job.
    if (lent++ === 0) {
      cook();
      listenToJobControl(false);
    }
    try {
      return await work();
    } finally {
      if (--lent === 0 && holding) {
        listenToJobControl(true);
        takeTerminal();
      }
    }
  };
  takeTerminal();
  listenToJobControl(true);
  return {
    lend,
    release() {
      if (stop() && held.length > 0) stopReplaying = replayKeys(stdin, held);
    },
    restore,
    onQuit(listener) {
      onQuit = listener;
      // A q held before (typed ahead at the shell, read as the policy was resolved) stops the load too.
      if (listener && quitKeyTyped(held)) listener();
    },
    onInterrupt(listener) {
      onInterrupt = listener;
    },
  };
}

/**
 * Gives the keys held back to `stdin` for its next reader (the explorer's Ink) as they were read, not
 * joined: Ink takes an Esc followed by a key in the same read as Alt+key, so an Esc typed alone (closing
 * the filter prompt) and the key typed after it must come in reads of their own. Reads are joined where
 * that cannot happen (one that does not end with Esc and the next), so a long type-ahead is still one
 * read. Each part is given once the reader has taken the one before and Ink has settled a trailing Esc
 * (on the turn after its read). Returns a way to stop (the keyboard given back before they were all read).
 */
function replayKeys(stdin: NodeJS.ReadStream, reads: readonly Buffer[]): () => void {
  const parts = partsEndingWithEsc(reads);
  let next = 0;
  let stopped = false;
  const give = () => {
    const part = parts[next++]!;
    // Ink reads text (setEncoding): a Buffer unshifted then would sit among its strings.
    stdin.unshift(stdin.readableEncoding ? part.toString(stdin.readableEncoding) : part);
  };
  // Heard before the listener is added.
  const onNewListener = () => setImmediate(waitForReader);
  const waitForReader = () => {
    if (stopped || next === parts.length) return;
    // No reader yet (Ink still loading, or in the background until `fg`): woken by its listener, not polled.
    if (stdin.listenerCount('readable') === 0) {
      stdin.once('newListener', onNewListener);
      return;
    }
    if (stdin.readableLength > 0) {
      setImmediate(waitForReader);
      return;
    }
    // Taken: Ink's settling of a trailing Esc was queued as it read, so it comes before this.
    setImmediate(() => {
      if (stopped || stdin.readableLength > 0 || stdin.listenerCount('readable') === 0)
        return waitForReader();
      give();
      waitForReader();
    });
  };
  give();
  waitForReader();
  return () => {
    stopped = true;
    stdin.off('newListener', onNewListener);
  };
}

/** `reads` joined into parts that end with an Esc read (or with the last read). */
function partsEndingWithEsc(reads: readonly Buffer[]): Buffer[] {
  const parts: Buffer[] = [];
  let from = 0;
  reads.forEach((read, at) => {
    if (at === reads.length - 1 || read.at(-1) === ESC) {
      parts.push(Buffer.concat(reads.slice(from, at + 1)));
      from = at + 1;
    }
  });
  return parts;
}
