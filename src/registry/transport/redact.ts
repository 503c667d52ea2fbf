/** Query parameters that carry secrets in signed blob-storage URLs and token requests. */
const SECRET_PARAM = /sig|signature|token|key|credential|secret|password|auth|policy/i;

/** A URL safe to print: no userinfo, and secret-looking query values replaced. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  for (const name of [...copy.searchParams.keys()]) {
    const value = copy.searchParams.get(name) ?? '';
    if (SECRET_PARAM.test(name)) copy.searchParams.set(name, 'REDACTED');
    // Upload session state and similar opaque blobs make logs unreadable; their start identifies them.
    else if (value.length > 48) copy.searchParams.set(name, `${value.slice(0, 12)}ELIDED`);
  }
  return copy.href.replaceAll('REDACTED', '***').replaceAll('ELIDED', '…');
}
