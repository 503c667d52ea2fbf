import { isImgscopeError } from '../errors.js';
import { VERSION } from '../version.js';
import { type ParsedArgs, parseCommandLine } from './args.js';
import { runCheck } from './commands/check.js';
import { runExplore } from './commands/explore.js';
import { runInspect } from './commands/inspect.js';
import { HELP } from './help.js';
import { type Output, processOutput } from './output.js';

async function dispatch(args: ParsedArgs, io: Output): Promise<number> {
  switch (args.command) {
    case 'version':
      io.stdout.write(`imgscope ${VERSION}\n`);
      return 0;
    case 'help':
      io.stdout.write(HELP);
      return 0;
    case 'check':
      return runCheck(args, io);
    case 'inspect':
      return runInspect(args, io);
    case 'tui':
      return runExplore(args, io);
  }
}

/** Renders any failure as one line (plus a hint); stack traces only with --debug. */
function reportError(error: unknown, io: Output, debug: boolean): number {
  if (isImgscopeError(error)) {
    io.stderr.write(`imgscope: ${error.message}${error.hint ? ` — ${error.hint}` : ''}\n`);
    if (debug && error.stack) io.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  const hint = debug ? '' : ' — run again with --debug for details, and report it if it persists';
  io.stderr.write(`imgscope: unexpected error: ${message.split('\n')[0]}${hint}\n`);
  if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return 2;
}

export async function main(argv: string[], io: Output = processOutput()): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    return await dispatch(parseCommandLine(argv), io);
  } catch (error) {
    return reportError(error, io, debug);
  }
}
