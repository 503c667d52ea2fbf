/**
 * Query parameters whose values are safe to print: those of the distribution API and its token
 * protocol. Any other value may be a signature (`X-Amz-Signature`, Azure's `sig`, Docker Hub's CDN
 * `verify`, …) and new names keep appearing, so it is redacted.
 */
const HARMLESS_PARAMS = new Set(['service', 'scope', 'digest', 'n', 'last', 'mount', 'from', 'ns']);

/** A URL safe to print: no userinfo, no fragment, and every query value not known harmless replaced. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  copy.hash = '';
  if (copy.search) {
    const shown = [...copy.searchParams].map(([name, value]): [string, string] => [
      name,
      HARMLESS_PARAMS.has(name) ? value : '***',
    ]);
    copy.search = new URLSearchParams(shown).toString();
  }
  return copy.href;
}

/** An `@` followed by a digest (`app@sha256:…`) ends no user:password. */
const DIGEST_AFTER_AT = /^sha(?:256|384|512):/i;

/**
 * `text` with everything before its last `@` (but a digest's) masked, a leading `scheme://` kept: an
 * image reference or proxy URL with a user:password in it. A password may itself hold `@`, `/` or `:`,
 * so no shorter cut is safe.
 */
export function maskUserinfo(text: string): string {
  let at = -1;
  for (let i = text.indexOf('@'); i !== -1; i = text.indexOf('@', i + 1)) {
    if (!DIGEST_AFTER_AT.test(text.slice(i + 1))) at = i;
  }
  if (at === -1) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text.slice(0, at))?.[0] ?? '';
  return `${scheme}***${text.slice(at)}`;
}
