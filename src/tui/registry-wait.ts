import type { RegistryWait } from '../registry/transport/retry.js';
import type { Action } from './state/state.js';

export interface RegistryWaitCountdown {
  /** Shows `wait` from now on, unless the wait shown ends later (the layers are held back until then). */
  show(wait: RegistryWait): void;
  /** Stops counting (the session ended). */
  stop(): void;
}

/**
 * Shows the waits the registry asks for (Retry-After) counting down: the seconds left change in the
 * header once a second, when the whole seconds left change and never more often (each change is a
 * redraw), and the wait leaves the header once over.
 */
export function registryWaitCountdown(dispatch: (action: Action) => void): RegistryWaitCountdown {
  let shown: { until: number; timer: NodeJS.Timeout } | undefined;
  /** Schedules the next change of the whole seconds left (or the end) of the wait until `until`. */
  const schedule = (until: number, left: number) => {
    shown = { until, timer: setTimeout(tick, left % 1000 || 1000, until).unref() };
  };
  const tick = (until: number) => {
    const left = until - Date.now();
    if (left <= 0) {
      shown = undefined;
      dispatch({ type: 'registry-wait-over', until });
      return;
    }
    // A timer may fire a moment early: the seconds are then unchanged, and the store draws nothing.
    dispatch({ type: 'registry-wait-ticked', until, seconds: Math.ceil(left / 1000) });
    schedule(until, left);
  };
  return {
    show(wait) {
      const until = Date.now() + wait.ms;
      if (shown && shown.until >= until) return;
      clearTimeout(shown?.timer);
      dispatch({
        type: 'registry-waiting',
        wait: { host: wait.host, status: wait.status, seconds: Math.ceil(wait.ms / 1000), until },
      });
      schedule(until, wait.ms);
    },
    stop() {
      clearTimeout(shown?.timer);
      shown = undefined;
    },
  };
}
