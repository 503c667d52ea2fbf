import { openSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { analyze } from '../../analysis/analyze.js';
import type { Analysis } from '../../analysis/types.js';
import type { Platform } from '../../oci/platform.js';
import type { ImageSource } from '../../oci/source.js';
import { imageFactsOf, resolvePolicy, type Setting } from '../../policy/index.js';
import type { RegistryWait } from '../../registry/transport/retry.js';
import { buildReport } from '../../report/build-report.js';
import {
  decompressionLimit,
  imageArgument,
  type ParsedArgs,
  policyFlagsOf,
  positiveInteger,
} from '../args.js';
import { openImage, policyReference } from '../open-image.js';
import type { Output } from '../output.js';
import { progressLineFor } from '../progress.js';
import { guardingQuitSignals, type QuitSignalGuard, removingTempFilesOnSignal } from '../quit-signals.js';
import { holdTypeAhead, type TypeAhead } from '../type-ahead.js';
import { type AnalysisCaches, analysisCachesOf } from './cache.js';
import { runCheck, withPolicy } from './check.js';

/**
 * `imgscope IMAGE`: the interactive explorer on a terminal; anywhere else (CI, pipes) the check summary,
 * so it never waits for keys nobody will press. The TUI's modules (React, Ink) load only here.
 */
export async function runExplore(args: ParsedArgs, io: Output): Promise<number> {
  if (!io.stdout.isTTY || cannotMoveCursor(io.env)) return runCheck(args, io);
  const keyboard = io.stdin.isTTY ? (io.stdin as NodeJS.ReadStream) : terminalKeyboard(args);
  if (!keyboard) return runCheck(args, io);
  let typeAhead: TypeAhead | undefined;
  // From before the keyboard is raw to the end: a signal while the policy is resolved, the TUI's modules
  // load, or the session ends and the cache writes start, gives the terminal back as it was and leaves no
  // temp file, instead of ending the process by default.
  return guardingQuitSignals(
    async (guard) => {
      typeAhead = holdTypeAhead(keyboard);
      try {
        return await explore(args, io, keyboard, typeAhead, guard);
      } finally {
        typeAhead.restore();
        if (keyboard !== io.stdin) keyboard.destroy();
      }
    },
    () => typeAhead?.restore(),
  );
}

/**
 * With --password-stdin, stdin carries the password, not keys: the keyboard is then the controlling
 * terminal, read as less and fzf read it when their input is a pipe. Undefined without one (or without
 * --password-stdin: input piped in means no one is at the keys).
 */
function terminalKeyboard(args: ParsedArgs): NodeJS.ReadStream | undefined {
  if (!args.options['password-stdin']) return undefined;
  try {
    return new ReadStream(openSync('/dev/tty', 'r'));
  } catch {
    return undefined;
  }
}

/**
 * TERM=dumb (Emacs's shell, acme, editors' terminals) is a terminal that prints lines and cannot move the
 * cursor: the explorer's screen would arrive as a stream of escape codes waiting for keys.
 */
function cannotMoveCursor(env: Readonly<Record<string, string | undefined>>): boolean {
  return env.TERM === 'dumb';
}

async function explore(
  args: ParsedArgs,
  io: Output,
  keyboard: NodeJS.ReadStream,
  typeAhead: TypeAhead,
  signals: QuitSignalGuard,
): Promise<number> {
  const image = imageArgument(args);
  const policy = await resolvePolicy({
    flags: policyFlagsOf(args.options),
    cwd: io.cwd,
    reference: policyReference(image),
  });
  // Registry --debug lines and cache messages written while the TUI owns the screen would tear it:
  // they are held and printed once it has been released.
  const held: string[] = [];
  // Waits asked for while the session runs are shown on its screen; before, the notice on stderr shows.
  let showRegistryWait: ((wait: RegistryWait) => void) | undefined;
  let holding = false;
  const write = (text: string) => {
    if (holding) held.push(text);
    else io.stderr.write(text);
  };
  const printHeld = () => {
    holding = false;
    for (const text of held.splice(0)) io.stderr.write(text);
  };
  const quietIo: Output = {
    ...io,
    stderr: Object.assign(Object.create(io.stderr), { write }),
    aroundCredentialHelper: typeAhead.lend,
    onRegistryWait: (wait) => showRegistryWait?.(wait),
  };
  const source = await openLoading(image, args, quietIo, policy.platform, typeAhead);
  if (!source) return 0;
  try {
    const facts = imageFactsOf(source);
    const evaluate = (analysis: Analysis | undefined) =>
      withPolicy(buildReport(source, analysis), facts, analysis, policy, 'layers are still streaming');
    const caches = analysisCachesOf(args.options, io, write);
    // Quitting stops the analysis. Leaving its events is not enough: a generator's return waits for the
    // event it is waiting for, which a layer held back (a registry's Retry-After, a stalled download) may
    // not send for a minute, and the process did not end until then.
    const analysis = new AbortController();
    const events = analyze(source, {
      signal: analysis.signal,
      concurrency: positiveInteger(args.options.concurrency, '--concurrency'),
      maxUncompressedBytes: decompressionLimit(io.env),
      cache: caches?.layers,
      fingerprints: caches?.fingerprints,
    });
    const { runTui } = await import('../../tui/index.js');
    holding = true;
    try {
      // The session ends on a signal itself: the screen restored, then 128 + N returned.
      return await signals.handOver(() =>
        runTui(
          {
            source,
            events,
            evaluate,
            onRegistryWait: (show) => {
              showRegistryWait = show;
            },
          },
          {
            stdin: keyboard,
            stdout: io.stdout as NodeJS.WriteStream,
            stderr: io.stderr as NodeJS.WriteStream,
            env: io.env,
            beforeKeyboard: typeAhead.release,
          },
        ),
      );
    } finally {
      analysis.abort(new Error('the explorer was closed'));
      // A second signal meanwhile ends the process: what was held is printed first.
      await flushCaches(caches, printHeld);
      printHeld();
    }
  } finally {
    await source.close();
  }
}

/**
 * Opens the image before the explorer shows, with the progress line `check` draws while a compressed
 * archive is indexed (the explorer cannot show until that pass ends). A q typed meanwhile stops the
 * indexing, or the registry's requests, as it would quit the explorer: undefined then.
 */
async function openLoading(
  image: string,
  args: ParsedArgs,
  io: Output,
  platform: Setting<Platform> | undefined,
  typeAhead: TypeAhead,
): Promise<ImageSource | undefined> {
  // Started with `&` or continued by `bg`, the load goes on off the screen: the shell's prompt is there.
  const progress = progressLineFor(io);
  const stop = new AbortController();
  const quit = stop.signal;
  typeAhead.onQuit(() => stop.abort());
  typeAhead.onInterrupt(() => progress?.clear());
  try {
    // Interrupted (Ctrl+C is taken as SIGINT meanwhile), the progress line is erased, as check erases it.
    const source = await removingTempFilesOnSignal(
      () =>
        openImage(image, args.options, progress ? progress.sharing(io) : io, platform, {
          signal: quit,
          onIndexProgress: progress && ((...read) => progress.indexing(...read)),
        }),
      () => {
        progress?.clear();
        // The keyboard is raw while keys are held: the shell would get it so, without echo.
        typeAhead.restore();
      },
    );
    if (!quit.aborted) return source;
    // The q came as the last request ended: it still quits.
    await source.close();
    return undefined;
  } catch (error) {
    if (quit.aborted) return undefined;
    throw error;
  } finally {
    // From here a q is held for the explorer, which quits on it once it shows.
    typeAhead.onQuit(undefined);
    typeAhead.onInterrupt(undefined);
    progress?.clear();
  }
}

/**
 * Waits for the cache writes still running once the session has ended. The session no longer listens to
 * signals by then: a second Ctrl+C (or a SIGTERM) while a large entry is written would end the process by
 * default, its temp files left in the cache folder. `beforeExit` runs (synchronously) before it ends so.
 */
export function flushCaches(caches: AnalysisCaches | undefined, beforeExit?: () => void): Promise<void> {
  return removingTempFilesOnSignal(async () => {
    await caches?.layers.flush();
    await caches?.fingerprints.flush();
  }, beforeExit);
}
