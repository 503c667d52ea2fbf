/** The alternate screen: the TUI draws on its own page and the shell's scrollback comes back intact. */
const ENTER_ALTERNATE_SCREEN = '\x1b[?1049h\x1b[H';
const LEAVE_ALTERNATE_SCREEN = '\x1b[?1049l';
const SHOW_CURSOR = '\x1b[?25h';

export interface Screen {
  /** Restores the terminal; safe to call more than once (and from a process 'exit' handler). */
  restore(): void;
}

export function takeScreen(stdout: NodeJS.WriteStream): Screen {
  stdout.write(ENTER_ALTERNATE_SCREEN);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    stdout.write(LEAVE_ALTERNATE_SCREEN + SHOW_CURSOR);
  };
  // If something ends the process without unwinding (process.exit in a signal handler), still restore.
  process.on('exit', restore);
  return { restore };
}

/**
 * Stops the process as Ctrl+Z would have in a cooked terminal, and returns once it is continued (`fg`).
 * Raw mode turns Ctrl+Z into a byte, so the signal the terminal would have sent is sent here, to the
 * foreground process group as the terminal sends it. The caller gives the terminal back before and takes
 * it again after. A process group with no shell to continue it (orphaned) ignores the stop: this then
 * returns at once, and the screen simply comes back.
 */
export function stopLikeCtrlZ(): void {
  // Windows has no job control: there the screen comes back at once.
  if (process.platform === 'win32') return;
  // The thread that sends a stop to its own group stops before kill() returns; it resumes on SIGCONT.
  process.kill(0, 'SIGTSTP');
}

/**
 * Stops this process alone, as the SIGTSTP it was sent would have with no handler (its sender chose whom
 * to stop), and returns once it is continued. The caller gives the terminal back before, and removes its
 * own SIGTSTP listener: a listened-to signal does not stop the process.
 */
export function stopLikeSigtstp(): void {
  if (process.platform === 'win32') return;
  process.kill(process.pid, 'SIGTSTP');
}

type TtyHandle = { reading?: boolean; readStop?: () => number; readStart?: () => number };

const ttyHandleOf = (stdin: NodeJS.ReadStream) => (stdin as { _handle?: TtyHandle })._handle;

/**
 * Stops reading the keyboard until startReadingKeyboard. Ink gives the keyboard back by dropping its
 * listener, but a TTY's handle goes on reading up to its buffer: continued in the background (`bg`), the
 * job was stopped by the first line typed at the shell ("Stopped (tty input)", SIGTTIN). Node has no public
 * call for this: `pause()` stops a socket's reads only when it was opened with its own read buffer, which
 * stdin is not.
 */
export function stopReadingKeyboard(stdin: NodeJS.ReadStream): void {
  const handle = ttyHandleOf(stdin);
  if (!handle?.reading || typeof handle.readStop !== 'function') return;
  // The flag is Node's own, kept as its pause and resume keep it.
  handle.reading = false;
  handle.readStop();
}

/**
 * Reads the keyboard again after stopReadingKeyboard. The stream still believes its read is under way, so
 * it would not start one itself: its reader would wait for keys forever.
 */
export function startReadingKeyboard(stdin: NodeJS.ReadStream): void {
  const handle = ttyHandleOf(stdin);
  const stream = (stdin as { _readableState?: { reading?: boolean } })._readableState;
  if (!handle || handle.reading || !stream?.reading || typeof handle.readStart !== 'function') return;
  handle.reading = true;
  handle.readStart();
}

/**
 * Reads the terminal's size again. A stopped or background job is sent no SIGWINCH (the terminal sends it
 * to its foreground group), so Node still holds the size from before the stop: a terminal resized
 * meanwhile was drawn at its old size after `fg`. vim and less ask again when continued, too. Node's own
 * SIGWINCH handler calls the same method; a stream that is not a terminal has none.
 */
export function refreshSize(stdout: NodeJS.WriteStream): void {
  const refresh = (stdout as { _refreshSize?: () => void })._refreshSize;
  if (typeof refresh === 'function') refresh.call(stdout);
}
