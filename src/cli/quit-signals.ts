import { removeUnfinishedWritesSync } from '../analysis/cache/files.js';
import { signalRunningHelpers } from '../registry/auth/running-helpers.js';

const QUIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * Runs `work`; a SIGINT, SIGTERM, SIGHUP or SIGQUIT (Ctrl+\, which the explorer takes as a quit)
 * meanwhile removes the cache's half-written temp files and passes the signal on to the credential helpers
 * running, then runs `beforeExit` (synchronous: erase a
 * progress line) and ends the process by that same signal, as it would have ended without the handler
 * (a shell reports 128 + N).
 */
export function removingTempFilesOnSignal<T>(work: () => Promise<T>, beforeExit?: () => void): Promise<T> {
  return endingOnSignal(work, beforeExit, () => true);
}

/** What guardingQuitSignals hands its work: a way to let a part of it hear the quit signals itself. */
export interface QuitSignalGuard {
  /**
   * Runs `part`, which listens to the quit signals itself from its first step to its last and ends on
   * them its own way (the explorer's session returns 128 + N): meanwhile they are left to it. A part that
   * ends the process by the signal again (removingTempFilesOnSignal) needs no hand-over: both listeners
   * end it the same way, and the signal sent last, once neither listens, ends it.
   */
  handOver<T>(part: () => Promise<T>): Promise<T>;
}

/**
 * removingTempFilesOnSignal for the whole of a command some parts of which listen to the signals
 * themselves: before, between and after them, a signal ends the process here, rather than by default
 * with the terminal left raw or a cache write's temp file left behind. Listening without a break also
 * keeps a signal that comes just as a part stops listening from acting by default: Node runs the
 * listeners once the current step is done, and by then the guard has its signals back.
 */
export function guardingQuitSignals<T>(
  work: (guard: QuitSignalGuard) => Promise<T>,
  beforeExit?: () => void,
): Promise<T> {
  let handedOver = 0;
  const guard: QuitSignalGuard = {
    async handOver(part) {
      handedOver++;
      try {
        return await part();
      } finally {
        handedOver--;
      }
    },
  };
  return endingOnSignal(
    async () => {
      try {
        return await work(guard);
      } finally {
        // A signal that came in the last steps (a part's end, a cache flush with nothing to write, all
        // without a turn of the event loop) is heard only on the loop's next turn: it is taken here.
        await new Promise(setImmediate);
      }
    },
    beforeExit,
    () => handedOver === 0,
  );
}

async function endingOnSignal<T>(
  work: () => Promise<T>,
  beforeExit: (() => void) | undefined,
  heard: () => boolean,
): Promise<T> {
  const stopListening = () => {
    for (const name of QUIT_SIGNALS) process.off(name, onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!heard()) return;
    removeUnfinishedWritesSync();
    signalRunningHelpers(signal);
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
