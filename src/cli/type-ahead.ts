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
  const restore = () => {
    stop();
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
      if (stop() && held.length > 0) stdin.unshift(Buffer.concat(held));
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
