import type { ChildProcess } from 'node:child_process';

/**
 * The credential helpers running now. A quit signal sent to imgscope alone (`kill`, a service manager's
 * SIGTERM), not to its process group as the terminal sends Ctrl+C, would leave them running once
 * imgscope has ended: it passes the signal on to them first.
 */
const running = new Set<ChildProcess>();

export function trackHelper(child: ChildProcess): void {
  running.add(child);
  const forget = () => running.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
}

/** Sends `signal` to every credential helper still running. */
export function signalRunningHelpers(signal: NodeJS.Signals): void {
  for (const child of running) child.kill(signal);
}
