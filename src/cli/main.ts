import { isImgscopeError } from '../errors.js';
import { printable, printableLine } from '../report/format.js';
import { VERSION } from '../version.js';
import { debugRequested, type ParsedArgs, parseCommandLine } from './args.js';
import { helpFor } from './help.js';
import { type Output, processOutput } from './output.js';
import { tuneV8ForCli } from './v8-tuning.js';

async function dispatch(args: ParsedArgs, io: Output): Promise<number> {
  switch (args.command) {
    case 'version':
      io.stdout.write(`imgscope ${VERSION}\n`);
      return 0;
    case 'help':
      io.stdout.write(helpFor(args.positionals[0]));
      return 0;
    // Commands load on demand: `--version` and `--help` stay instant, and each command pays only for
    // the modules it uses.
    case 'check':
      return (await import('./commands/check.js')).runCheck(args, io);
    case 'inspect':
      return (await import('./commands/inspect.js')).runInspect(args, io);
    case 'cache':
      return (await import('./commands/cache.js')).runCache(args, io);
    case 'tui':
      return (await import('./commands/explore.js')).runExplore(args, io);
  }
}

/**
 * A stack trace keeps its lines; the message at its top quotes paths and names as the one-line error does,
 * on one line: a line break in a path would otherwise print the rest of it as a frame of its own.
 */
function printableStack(error: Error): string {
  const stack = error.stack ?? '';
  const head = `${error.name}: ${error.message}`;
  const [top, frames] = stack.startsWith(head) ? [head, stack.slice(head.length)] : ['', stack];
  return printableLine(top) + frames.split('\n').map(printable).join('\n');
}

/** Renders any failure as one line (plus a hint); stack traces only with --debug. */
function reportError(error: unknown, stderr: NodeJS.WritableStream, debug: boolean): number {
  if (isImgscopeError(error)) {
    stderr.write(
      `imgscope: ${printableLine(error.message)}${error.hint ? ` — ${printableLine(error.hint)}` : ''}\n`,
    );
    if (debug && error.stack) stderr.write(`${printableStack(error)}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  const hint = debug ? '' : ' — run again with --debug for details, and report it if it persists';
  stderr.write(`imgscope: unexpected error: ${printableLine(message.split('\n')[0] ?? '')}${hint}\n`);
  if (debug && error instanceof Error && error.stack) stderr.write(`${printableStack(error)}\n`);
  return 2;
}

export async function main(argv: string[], given?: Output): Promise<number> {
  const debug = debugRequested(argv);
  tuneV8ForCli();
  let io = given;
  try {
    io ??= processOutput();
    return await dispatch(parseCommandLine(argv), io);
  } catch (error) {
    return reportError(error, io?.stderr ?? process.stderr, debug);
  }
}
