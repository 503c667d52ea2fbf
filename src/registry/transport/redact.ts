/**
 * Query parameters whose values are safe to print: those of the distribution API and its token
 * protocol. Any other value may be a signature (`X-Amz-Signature`, Azure's `sig`, Docker Hub's CDN
 * `verify`, …) and new names keep appearing, so it is redacted.
 */
const HARMLESS_PARAMS = new Set(['service', 'scope', 'digest', 'n', 'last', 'mount', 'from', 'ns']);

/** A repository path component of the distribution spec. */
const REPOSITORY_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const API_ENDPOINT = /^(?:manifests|blobs|tags|referrers)$/;
/** A content address: printing it tells nothing secret, and it names the blob. */
const DIGEST_SEGMENT = /^(?:sha(?:256|384|512):)?(?:[a-f0-9]{64}|[a-f0-9]{96}|[a-f0-9]{128})$/;

/** `/v2/`, `/v2/_catalog` and `/v2/NAME/(manifests|blobs|tags|referrers)/…`: imgscope built them from the reference. */
function isDistributionPath(segments: string[]): boolean {
  if (segments[0] !== '' || segments[1] !== 'v2') return false;
  if (segments.length === 3) return segments[2] === '' || segments[2] === '_catalog';
  const endpoint = segments.findIndex((segment, i) => i > 2 && API_ENDPOINT.test(segment));
  return endpoint > 2 && segments.slice(2, endpoint).every((s) => REPOSITORY_COMPONENT.test(s));
}

/**
 * A path segment of another URL (storage, CDN, token service) that cannot be a credential: a digest, a
 * short word, or a longer one without digits. Pre-signed and CDN-token URLs carry their secrets in the path
 * too (Akamai's `exp=…~hmac=…`, Tencent Cloud CDN's `/TIMESTAMP/MD5/`, capability ids and JWTs).
 */
function harmlessSegment(segment: string): boolean {
  if (DIGEST_SEGMENT.test(segment)) return true;
  if (!/^[A-Za-z0-9._-]*$/.test(segment)) return false;
  return segment.length < 16 || (segment.length <= 40 && !/\d/.test(segment));
}

/**
 * A URL safe to print: no userinfo, no fragment, every query value not known harmless replaced, and, off
 * the distribution API, every path segment that may be a token.
 */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  copy.hash = '';
  const segments = copy.pathname.split('/');
  if (!isDistributionPath(segments)) {
    copy.pathname = segments.map((s) => (harmlessSegment(s) ? s : '***')).join('/');
  }
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
