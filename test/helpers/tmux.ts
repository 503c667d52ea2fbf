import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fixture } from './shared.js';

/** tmux, where Debian or a local build puts it; undefined when it is not installed. */
export const TMUX = ['/usr/bin/tmux', '/usr/local/bin/tmux'].find((path) => existsSync(path));

/** Why the terminal tests cannot run here (tmux or the demo fixture missing), else `otherwise`. */
export function tmuxTestsMissing(otherwise?: string): string | undefined {
  if (!TMUX) return 'tmux is not installed (apt-get install tmux)';
  if (!existsSync(fixture('demo/index.json'))) return 'fixtures/demo is missing (npm run fixtures)';
  return otherwise;
}

/**
 * The environment a person's shell would give imgscope: the test runner's own markers (NODE_ENV=test,
 * VITEST…) removed. The tmux server, started by the first call, passes it to every session.
 */
export const USER_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(NODE_ENV|VITEST.*|TEST)$/.test(name)),
);

/** tmux commands on a private server named `socket`: no session can clash with another test file's. */
export function tmuxServer(socket: string): (...args: string[]) => string {
  return (...args) =>
    execFileSync(TMUX!, ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', env: USER_ENV });
}
