/**
 * The interactive view of `imgscope IMAGE`. The CLI loads this module with a dynamic import() only when
 * stdout is a terminal that can move the cursor (a TTY, TERM not dumb), so headless paths never load React
 * or Ink.
 */
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { failedLayerOf } from '../analysis/analyze.js';
import type { Analysis, AnalysisEvent } from '../analysis/types.js';
import { ImgscopeError } from '../errors.js';
import { FOREGROUND_POLL_MS, inForeground } from '../foreground.js';
import { formatPlatform } from '../oci/platform.js';
import type { ImageSource } from '../oci/source.js';
import type { RegistryWait } from '../registry/transport/retry.js';
import { buildReport, layerCommands } from '../report/build-report.js';
import type { Report } from '../report/report.js';
import { pumpEvents } from './events.js';
import { loadInk } from './ink-loader.js';
import { registryWaitCountdown } from './registry-wait.js';
import { reduce } from './state/reducer.js';
import { type Action, initialState, type TuiState } from './state/state.js';
import { createStore, type Store } from './store.js';
import {
  refreshSize,
  startReadingKeyboard,
  stopLikeCtrlZ,
  stopLikeSigtstp,
  stopReadingKeyboard,
  takeScreen,
} from './terminal.js';
import { themeFor } from './theme.js';

export interface TuiInput {
  source: ImageSource;
  events: AsyncIterable<AnalysisEvent>;
  /** The policy's report for what is known so far (undefined: the manifest only). */
  evaluate?: (analysis: Analysis | undefined) => Report;
  /** Called with how to show a wait the registry asks for (Retry-After) while the session runs. */
  onRegistryWait?: (show: (wait: RegistryWait) => void) => void;
}

export interface TuiIO {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Called just before Ink takes the keyboard: whoever held stdin until then lets go. */
  beforeKeyboard?: () => void;
}

/**
 * Signals that end the session like q does: the screen is restored and the analysis stopped. Left to
 * their default (Ink re-raises them after its own cleanup), the process died on the alternate screen.
 */
const QUIT_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const;

/**
 * Why a session's Ink instance was unmounted without quitting: Ctrl+Z (the foreground process group
 * stops, as the terminal would have stopped it), a SIGTSTP sent to imgscope (imgscope alone stops), or a
 * SIGCONT after a stop imgscope could not see (SIGSTOP), when the shell may have had the terminal meanwhile.
 * In each case the terminal is given back and, once continued, taken again and the whole frame drawn.
 */
type Pause = 'ctrl-z' | 'sigtstp' | 'sigcont';

/** Redraws at most this often; the first frame after a quiet spell is drawn at once. */
const MAX_FPS = 60;

function viewportOf(stdout: NodeJS.WriteStream) {
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}

/** The store for a source, with the first report (manifest-level checks) already in it. */
export function createTuiStore(
  source: ImageSource,
  evaluate: (analysis: Analysis | undefined) => Report,
  viewport: { columns: number; rows: number },
): Store<TuiState, Action> {
  const commands = layerCommands(source);
  return createStore(
    reduce,
    initialState({
      image: {
        reference: source.reference,
        digest: source.digest,
        platform: formatPlatform(source.platform),
        schema: source.schema,
      },
      layers: source.layers.map((layer, i) => ({
        digest: layer.digest,
        size: layer.size,
        command: commands[i] ?? '',
      })),
      report: evaluate(undefined),
      viewport,
    }),
  );
}

/**
 * Shows the image and its analysis as it streams, until the user quits. Resolves with the exit code (0,
 * or 128 + the signal's number when SIGTERM, SIGHUP, SIGINT or SIGQUIT ended it, as a shell reports a kill);
 * if the analysis failed, the failure is shown and, once the terminal is restored, rethrown for the CLI to
 * report.
 */
export async function runTui(input: TuiInput, io: TuiIO): Promise<number> {
  if (!io.stdin.isTTY) {
    throw new ImgscopeError('BAD_INPUT', 'the interactive view needs a terminal on stdin', {
      hint: `run it from a terminal, or use \`imgscope check ${input.source.reference}\` for a summary`,
    });
  }
  const evaluate =
    input.evaluate ?? ((analysis: Analysis | undefined) => buildReport(input.source, analysis));
  const store = createTuiStore(input.source, evaluate, viewportOf(io.stdout));
  const theme = themeFor(io.env);
  let failure: unknown;
  const iterator = input.events[Symbol.asyncIterator]();
  const events = { [Symbol.asyncIterator]: () => iterator };
  const registryWait = registryWaitCountdown(store.dispatch);
  input.onRegistryWait?.(registryWait.show);
  // Layers start streaming into the store while React and Ink load (~1 s on a cold start); the first
  // frame then shows whatever has arrived.
  pumpEvents(events, {
    dispatch: store.dispatch,
    onDone: (analysis) => store.dispatch({ type: 'report-updated', report: evaluate(analysis), final: true }),
  }).catch((error: unknown) => {
    failure = error;
    const hint = error instanceof ImgscopeError ? error.hint : undefined;
    store.dispatch({
      type: 'analysis-failed',
      message: error instanceof Error ? error.message : String(error),
      hint,
      layer: failedLayerOf(error),
    });
  });
  const onResize = () => store.dispatch({ type: 'resized', viewport: viewportOf(io.stdout) });
  let screen: ReturnType<typeof takeScreen> | undefined;
  let signal: NodeJS.Signals | undefined;
  let pause: Pause | undefined;
  let unmount = () => {};
  const onSignal = (received: NodeJS.Signals) => {
    signal ??= received;
    unmount();
  };
  const onStopSignal = () => {
    pause ??= 'sigtstp';
    unmount();
  };
  const onContinued = () => {
    pause ??= 'sigcont';
    unmount();
  };
  const listenToJobControl = (listen: boolean) => {
    process[listen ? 'on' : 'off']('SIGTSTP', onStopSignal);
    process[listen ? 'on' : 'off']('SIGCONT', onContinued);
  };
  try {
    // Listened to before Ink loads: a terminal resized meanwhile was drawn at its old size, wrapped.
    io.stdout.on('resize', onResize);
    // Layers are already streaming into the cache: a signal before the session listens ends the process
    // by default, which would leave their half-written temp files behind. Listened to from here on, not
    // handed over from another listener once Ink has loaded: a signal that came as the first listener went
    // (Ctrl+C in the type-ahead, just as Ink's import ended) was dropped with it, and the explorer showed.
    for (const name of QUIT_SIGNALS) process.on(name, onSignal);
    const { createElement, render, App } = await loadInk();
    io.beforeKeyboard?.();
    listenToJobControl(true);
    // Unheard, a stop takes effect, and the SIGCONT that ends it is not taken for another stop.
    const stopUnheard = (stopProcess: () => void) => {
      listenToJobControl(false);
      stopProcess();
      listenToJobControl(true);
    };
    for (;;) {
      // Started in the background (`imgscope IMAGE &`), or continued by the shell's `bg`, the terminal is
      // the shell's: drawing would paint over its prompt, and raw mode would stop the job (SIGTTOU) with
      // the explorer's screen left behind. `fg` gives the terminal back with no signal when the job runs,
      // so it is watched for; layers stream meanwhile.
      pause = undefined;
      while (!signal && !inForeground()) {
        await sleep(FOREGROUND_POLL_MS);
        // A SIGTSTP (`kill -TSTP`) meanwhile stops imgscope as it would have with no handler.
        if (pause === 'sigtstp') stopUnheard(stopLikeSigtstp);
        pause = undefined;
      }
      if (signal) break;
      // Stopped during the load or by Ctrl+Z, the process heard of no resize meanwhile (SIGWINCH goes to
      // the terminal's foreground group): the size is read again, or the frame is drawn at the old one.
      refreshSize(io.stdout);
      onResize();
      screen = takeScreen(io.stdout);
      startReadingKeyboard(io.stdin);
      const instance = render(
        createElement(App, {
          store,
          theme,
          suspend: () => {
            pause ??= 'ctrl-z';
            instance.unmount();
          },
        }),
        {
          stdin: io.stdin,
          stdout: io.stdout,
          stderr: io.stderr,
          exitOnCtrlC: false,
          patchConsole: false,
          maxFps: MAX_FPS,
        },
      );
      unmount = () => instance.unmount();
      await instance.waitUntilExit();
      if (!pause || signal) break;
      // Ink has given the keyboard back (cooked mode); the shell gets its screen. Once continued, a new Ink
      // instance draws the whole frame from the store: the first one would redraw only what changed.
      screen.restore();
      stopReadingKeyboard(io.stdin);
      if (pause === 'ctrl-z') stopUnheard(stopLikeCtrlZ);
      else if (pause === 'sigtstp') stopUnheard(stopLikeSigtstp);
    }
  } finally {
    registryWait.stop();
    for (const name of QUIT_SIGNALS) process.off(name, onSignal);
    listenToJobControl(false);
    io.stdout.off('resize', onResize);
    screen?.restore();
    // Quitting mid-stream stops the analysis; its own cleanup closes the streams.
    iterator.return?.().catch(() => {});
  }
  if (signal) return 128 + constants.signals[signal];
  if (failure !== undefined) throw failure;
  return 0;
}
