import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The credential helpers running now. A quit signal sent to imgscope alone (`kill`, a service manager's
 * SIGTERM), not to its process group as the terminal sends Ctrl+C, would leave them running once
 * imgscope has ended: it passes the signal on to them first.
 */
const running = new Set<ChildProcess>();

/** As long as a helper that outlives its lookup's timeout is given between SIGTERM and SIGKILL. */
const GRACE_MS = 1000;

export function trackHelper(child: ChildProcess): void {
  running.add(child);
  const forget = () => running.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
}

/**
 * Sends `signal` to every credential helper still running, waits (synchronously: the process ends next)
 * up to a second for them to end, and kills those that have not (a helper that ignores the signal).
 */
export function signalRunningHelpers(signal: NodeJS.Signals): void {
  const helpers = [...running].filter((child) => child.pid !== undefined);
  // Handled once: a second handler of the same signal (nested commands' guards) waits for none again.
  running.clear();
  if (helpers.length === 0) return;
  for (const child of helpers) child.kill(signal);
  // The event loop does not turn again, so none is reaped meanwhile: each pid stays this process's child
  // (a zombie at worst), and the SIGKILL cannot reach another process that took its number.
  const deadline = Date.now() + GRACE_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (helpers.some((child) => !ended(child.pid!)) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 10);
  for (const child of helpers) if (!ended(child.pid!)) child.kill('SIGKILL');
}

/** Whether child `pid`, not yet reaped, has ended (a zombie); false where that cannot be told (no /proc). */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
