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
