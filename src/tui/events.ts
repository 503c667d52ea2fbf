import type { Analysis, AnalysisEvent } from '../analysis/types.js';
import type { Action } from './state/state.js';

/** Progress events can come thousands a second; the screen needs a few. */
export const PROGRESS_INTERVAL_MS = 50;

export interface PumpOptions {
  dispatch(action: Action): void;
  /** Called once the analysis is complete, before the pump returns. */
  onDone?(analysis: Analysis): void;
}

/**
 * Feeds analysis events to the store. Progress is coalesced per layer and flushed at most every
 * PROGRESS_INTERVAL_MS (and before any other event, so order is kept). Resolves when the stream ends;
 * rejects with the stream's error.
 */
export async function pumpEvents(events: AsyncIterable<AnalysisEvent>, options: PumpOptions): Promise<void> {
  const { dispatch } = options;
  const pending = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return;
    const progress = [...pending].map(([layer, bytesRead]) => ({ layer, bytesRead }));
    pending.clear();
    dispatch({ type: 'layers-progressed', progress });
  };
  try {
    for await (const event of events) {
      if (event.type === 'layer-progress') {
        pending.set(event.layer, event.compressedBytes);
        timer ??= setTimeout(flush, PROGRESS_INTERVAL_MS);
        continue;
      }
      flush();
      switch (event.type) {
        case 'layer-start':
          dispatch({ type: 'layer-started', layer: event.layer });
          break;
        case 'layer-done':
          dispatch({ type: 'layer-finished', summary: event.summary });
          break;
        case 'done':
          dispatch({ type: 'analysis-finished', analysis: event.analysis });
          options.onDone?.(event.analysis);
          break;
      }
    }
  } finally {
    flush();
  }
}
