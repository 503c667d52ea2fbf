import { removeUnfinishedWritesSync } from '../analysis/cache/files.js';

const QUIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * Runs `work`; a SIGINT, SIGTERM, SIGHUP or SIGQUIT (Ctrl+\, which the explorer takes as a quit)
 * meanwhile removes the cache's half-written temp files, then runs `beforeExit` (synchronous: erase a
 * progress line) and ends the process by that same signal, as it would have ended without the handler
 * (a shell reports 128 + N).
 */
export async function removingTempFilesOnSignal<T>(
  work: () => Promise<T>,
  beforeExit?: () => void,
): Promise<T> {
  const stopListening = () => {
    for (const name of QUIT_SIGNALS) process.off(name, onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    removeUnfinishedWritesSync();
    beforeExit?.();
    stopListening();
    process.kill(process.pid, signal);
  };
  for (const name of QUIT_SIGNALS) process.on(name, onSignal);
  try {
    return await work();
  } finally {
    stopListening();
  }
}
