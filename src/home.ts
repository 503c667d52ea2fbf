import { userInfo } from 'node:os';
import { isAbsolute } from 'node:path';

/**
 * The user's home folder, as docker finds it: `$HOME` when it is an absolute path, else the account's.
 * Undefined when neither is known (a uid without an account entry, as in a container run with
 * `--user 12345`, and HOME unset, empty or relative): Node's `os.homedir()` would then return the relative
 * HOME as it is (`~/.cache` in the working directory) or throw.
 */
export function homeDirectory(env: NodeJS.ProcessEnv): string | undefined {
  if (env.HOME && isAbsolute(env.HOME)) return env.HOME;
  try {
    const { homedir } = userInfo();
    return isAbsolute(homedir) ? homedir : undefined;
  } catch {
    return undefined;
  }
}

/** An XDG base directory variable: the spec ignores an empty or relative one. */
export function xdgDirectory(value: string | undefined): string | undefined {
  return value && isAbsolute(value) ? value : undefined;
}
