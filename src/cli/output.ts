import { removeUnfinishedWritesSync } from '../analysis/cache/files.js';
import { ImgscopeError } from '../errors.js';
import type { RegistryWait } from '../registry/transport/retry.js';

/** Where a command writes: stdout for results, stderr for progress and errors. Injected for tests. */
export interface Output {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Hears of a wait a registry asked for (Retry-After), besides the line on stderr: the explorer shows it. */
  onRegistryWait?: (wait: RegistryWait) => void;
  /** Runs a credential helper, which may prompt on the terminal: the explorer's load lends it meanwhile. */
  aroundCredentialHelper?: <T>(run: () => Promise<T>) => Promise<T>;
}

export function processOutput(): Output {
  dropOutputAfterReaderLeaves(process.stdout);
  dropErrorsAfterReaderLeaves(process.stderr);
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    // Read when a command needs it: --version and --help work in a removed folder too.
    get cwd() {
      return currentDirectory();
    },
  };
}

/** process.cwd(), or one line saying what to do when the folder was removed under the shell. */
function currentDirectory(): string {
  try {
    return process.cwd();
  } catch (error) {
    throw new ImgscopeError(
      'BAD_INPUT',
      `the current directory no longer exists (${(error as NodeJS.ErrnoException).code ?? 'ENOENT'})`,
      { hint: 'cd to a folder that exists and run imgscope again', cause: error },
    );
  }
}

/**
 * Colour on a terminal unless NO_COLOR is set (no-color.org) or TERM is dumb. FORCE_COLOR decides first,
 * as Node reads it: 1, 2, 3, true or empty turn colour on anywhere (a CI log that renders ANSI colours),
 * NO_COLOR notwithstanding; any other value (0, false) turns it off.
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.FORCE_COLOR !== undefined) return ['', '1', '2', '3', 'true'].includes(env.FORCE_COLOR);
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

/** The width to fit tables into: the terminal's, else (a pipe, a file, a CI log) 100 columns. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }): number {
  return stream.isTTY && stream.columns && stream.columns > 0 ? stream.columns : 100;
}

const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * A reader that stops early (`imgscope check --json IMAGE | head -1`) closes the pipe: the process ends
 * quietly by SIGPIPE (a shell reports 141), as git and every Go tool end, so that `set -o pipefail` cannot
 * take a report nobody read whole for a verdict. Other write errors are one line and exit 2.
 */
function dropOutputAfterReaderLeaves(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') endAsBrokenPipe();
    if (error.code === 'ERR_STREAM_DESTROYED') return;
    if (error.code === 'EIO' && (stream as { isTTY?: boolean }).isTTY) endAsHangUp();
    process.stderr.write(`imgscope: cannot write the output (${error.message})\n`);
    process.exit(2);
  });
}

/**
 * EIO from a terminal: it hung up (its window was closed), and there is nothing left to restore or to
 * report to. The process ends as the hangup's SIGHUP ends a program that does not handle it (129), not
 * by exiting: on exit Node 20 resets the terminal's modes and aborts when it cannot (nodejs/node#51519).
 * Unfinished cache files go first, as for every other signal that ends imgscope.
 */
function endAsHangUp(): void {
  removeUnfinishedWritesSync();
  process.removeAllListeners('SIGHUP');
  process.kill(process.pid, 'SIGHUP');
}

/**
 * Node ignores SIGPIPE from its start; libuv restores the default action (end the process) when the last
 * listener of a signal goes, so one added and removed lets the signal end the process as it would git.
 */
function endAsBrokenPipe(): void {
  removeUnfinishedWritesSync();
  const nothing = () => {};
  process.on('SIGPIPE', nothing);
  process.off('SIGPIPE', nothing);
  process.kill(process.pid, 'SIGPIPE');
}

/**
 * The same for stderr (`imgscope check IMAGE 2>&1 | head -1`): the exit code stays the command's own — an
 * unhandled EPIPE would end the process with 1, "a check failed", where an error had happened. Any other
 * write error on stderr is dropped too: there is nowhere left to report it.
 */
function dropErrorsAfterReaderLeaves(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', () => {});
}
