import { homedir, userInfo } from 'node:os';
import { isAbsolute } from 'node:path';

/**
 * The user's home folder, as docker finds it: `$HOME` when it is an absolute path, else the account's
 * (an empty or relative HOME would otherwise put `~/.cache` and `~/.docker` in the working directory).
 */
export function homeDirectory(env: NodeJS.ProcessEnv): string {
  if (env.HOME && isAbsolute(env.HOME)) return env.HOME;
  try {
    return userInfo().homedir;
  } catch {
    // No account entry (a container run under an arbitrary uid): Node's own guess.
    return homedir();
  }
}

/** An XDG base directory variable: the spec ignores an empty or relative one. */
export function xdgDirectory(value: string | undefined): string | undefined {
  return value && isAbsolute(value) ? value : undefined;
}
