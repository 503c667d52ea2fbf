import { parseLocalReference } from '../oci/local/reference.js';

/** The transport prefix of a local image as given (`oci:`, `oci-archive:`, `docker-archive:`). */
const LOCAL_TRANSPORT = /^(?:oci|oci-archive|docker-archive):/;

/**
 * Reference patterns for per-image overrides. `*` matches within one path component, `**` across
 * components, `?` one character. A pattern matches the whole reference or its trailing components,
 * with or without the tag or digest, so `app:*`, `team/app` and `registry:5000/team/*` all match
 * `registry:5000/team/app:1.2`.
 */
export function referenceMatches(pattern: string, reference: string): boolean {
  const regexp = globToRegExp(folderPath(pattern));
  // A local image given as `oci:fixtures/demo` is `fixtures/demo` too, as given without its transport.
  const path = reference.replace(LOCAL_TRANSPORT, '');
  // Its file or folder alone too: the tag rule below drops an `oci:DIR:REF`'s REF, but of a
  // `docker-archive:FILE:NAME:TAG` only the TAG.
  const file = LOCAL_TRANSPORT.test(reference) ? parseLocalReference(reference).path : path;
  const candidates = new Set<string>([file]);
  for (const name of [reference, path]) {
    const tagged = name.replace(/@sha256:[a-f0-9]{64}$/, '');
    candidates
      .add(name)
      .add(tagged)
      .add(tagged.replace(/:[^:/]+$/, ''));
  }
  for (const candidate of [...candidates].flatMap((c) => [c, folderPath(c)])) {
    if (regexp.test(candidate)) return true;
    for (let slash = candidate.indexOf('/'); slash !== -1; slash = candidate.indexOf('/', slash + 1)) {
      if (regexp.test(candidate.slice(slash + 1))) return true;
    }
  }
  return false;
}

/**
 * A path as the folder it names: `fixtures/demo/` (as a shell completes it) and `fixtures//demo` are
 * `fixtures/demo`, given or in a pattern, so an override still applies. Registry references hold neither.
 */
function folderPath(path: string): string {
  return path.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
