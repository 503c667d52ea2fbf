import { ImgscopeError } from '../errors.js';

/**
 * An entry is compared with `host[:port]`, so an empty one (an unset variable) or one with a scheme or a
 * path would never match: the registry the user meant would be reached over HTTPS after all. Docker
 * refuses `://` in insecure-registries too.
 */
export function checkInsecureEntry(host: string, where: string): void {
  if (host.trim() !== '' && !/[/\s]/.test(host)) return;
  throw new ImgscopeError('BAD_INPUT', `${where}: "${host.slice(0, 80)}" is not a registry host`, {
    hint: 'name it as HOST or HOST:PORT, without a scheme or path (for example lab.internal:5000)',
  });
}
