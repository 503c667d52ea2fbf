import { readFileSync } from 'node:fs';

/** How often a process in the background checks whether `fg` has given it the terminal. */
export const FOREGROUND_POLL_MS = 100;

/**
 * Whether this process's group is the terminal's foreground group, as the shell's `fg` makes it and `bg`
 * does not: read from /proc/self/stat (pgrp, then tpgid, the terminal's foreground group). Where that
 * cannot be read (not Linux), assumed so.
 */
export function inForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // After the command name in parentheses: state ppid pgrp session tty_nr tpgid …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const group = Number(fields[2]);
    const foreground = Number(fields[5]);
    return !(foreground > 0) || foreground === group;
  } catch {
    return true;
  }
}
