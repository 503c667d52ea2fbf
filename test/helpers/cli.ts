import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './shared.js';

export interface CliResult {
  code: number | null;
  /** The signal that ended the process, as a shell reports 128 + N. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`bin/imgscope`, from `dist/`) as a user would, with no terminal attached. */
export function runCli(
  args: string[],
  options: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    input?: string;
    timeoutMs?: number;
    /** Closes the reading end of stdout at once, as `imgscope … | head -1` does after its line. */
    closeStdout?: boolean;
    /** Closes the reading end of stderr at once, as `imgscope … 2>&1 | head -1` does. */
    closeStderr?: boolean;
    /** Writes stdout to this file instead of a pipe, as `imgscope … >/dev/full` does. */
    stdoutPath?: string;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const stdoutFile = options.stdoutPath === undefined ? undefined : openSync(options.stdoutPath, 'w');
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'imgscope'), ...args], {
      cwd: options.cwd ?? projectRoot,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', stdoutFile ?? 'pipe', 'pipe'],
    });
    if (stdoutFile !== undefined) closeSync(stdoutFile);
    let stdout = '';
    let stderr = '';
    if (options.closeStdout) child.stdout?.destroy();
    else
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
    if (options.closeStderr) child.stderr?.destroy();
    else
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`imgscope ${args.join(' ')} did not finish within ${options.timeoutMs ?? 60_000} ms`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
}
