import { describe, expect, it } from 'vitest';
import { closedAfterTlsHandshake, networkFailure, ProxiedFailure } from './network-errors.js';
import { proxySettingsFromEnv } from './proxy.js';
import { DEFAULT_RETRIES, retrying } from './retry.js';
import type { Exchange } from './types.js';

const request = { method: 'GET' as const, url: new URL('https://registry.example.com/v2/') };
const coded = (message: string, code: string) => Object.assign(new Error(message), { code });
/** A TLS alert as OpenSSL reports it, by its number. */
const alert = (number: number) =>
  coded(`error:0A000458:SSL routines:ssl3_read_bytes:x:ssl/rec.c:1605:SSL alert number ${number}`, 'EPROTO');
const REGISTRY_CLIENT_CERTIFICATE =
  "the server refused the client certificate: reach registry.example.com:5000 by a name neither loopback nor marked insecure, its client certificate in that name's certs.d folder: as docker, imgscope reads none for an insecure registry";

describe('networkFailure', () => {
  it('turns certificate failures into a hint about the CA, the name or the expiry', () => {
    expect(
      networkFailure(request, coded('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')),
    ).toMatchObject({
      code: 'NETWORK',
      message: 'GET https://registry.example.com/v2/: self-signed certificate',
      hint: expect.stringMatching(
        /^registry\.example\.com's certificate is not signed by a CA Node\.js trusts; .*NODE_EXTRA_CA_CERTS/,
      ),
    });
    // The registry's certs.d folder, for the storage it redirected to and its token service too.
    const folder = '/etc/containers/certs.d/registry.example.com:5000';
    const redirected = {
      ...request,
      url: new URL('https://storage.example.net/blob?sig=x'),
      redirectedFrom: new URL('https://registry.example.com:5000/v2/a/blobs/sha256:1'),
    };
    expect(
      networkFailure(redirected, coded('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), 1, folder)
        .hint,
    ).toBe(
      "storage.example.net's certificate is not signed by a CA Node.js trusts; if it comes from your own CA, put the CA's PEM file in /etc/containers/certs.d/registry.example.com:5000/ca.crt, or set NODE_EXTRA_CA_CERTS to it",
    );
    const token = { method: 'GET' as const, url: new URL('https://auth.example.com/token?service=x') };
    expect(
      networkFailure(token, coded('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), 1, folder).hint,
    ).toMatch(/put the CA's PEM file in \/etc\/containers\/certs\.d\/registry\.example\.com:5000\/ca\.crt,/);
    expect(
      networkFailure(token, coded('alert', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 1, folder).hint,
    ).toBe(
      'put a client certificate auth.example.com accepts in /etc/containers/certs.d/registry.example.com:5000/ as NAME.cert, its key as NAME.key',
    );
    // An insecure registry's folder is not read: no folder to name.
    expect(
      networkFailure(redirected, coded('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')).hint,
    ).toBe(
      "storage.example.net's certificate is not signed by a CA Node.js trusts; if it comes from your own CA, set NODE_EXTRA_CA_CERTS to the CA's PEM file",
    );
    const wrapped = new Error('fetch failed', {
      cause: coded("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'),
    });
    expect(networkFailure(request, wrapped).hint).toBe(
      "the certificate is not for registry.example.com; use the registry's name as its certificate gives it",
    );
    expect(networkFailure(request, coded('certificate has expired', 'CERT_HAS_EXPIRED')).hint).toMatch(
      /has expired/,
    );
    // A clock behind (a VM resumed, no NTP): not the registry's fault, nor its reachability.
    expect(
      networkFailure(request, coded('certificate is not yet valid', 'CERT_NOT_YET_VALID')),
    ).toMatchObject({
      message: 'GET https://registry.example.com/v2/: certificate is not yet valid',
      hint: "registry.example.com's certificate is not valid yet by this machine's clock: check the clock (date -u), or wait",
    });
  });

  it('points a refused connection at the name, port and registry, and a timeout at its variable', () => {
    const refused = networkFailure(request, coded('connect ECONNREFUSED', 'ECONNREFUSED'), 4);
    expect(refused.hint).toBe(
      "nothing accepts connections at registry.example.com: check the registry's name and port, and that it runs",
    );
    expect(networkFailure(request, coded('getaddrinfo ENOTFOUND', 'ENOTFOUND')).hint).toBe(
      "check the spelling of registry.example.com, and this machine's DNS",
    );
    const stalled = new Error('fetch failed', {
      cause: coded('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT'),
    });
    expect(networkFailure(request, stalled).hint).toBe(
      'check that the registry at registry.example.com is up; if it is only slow, raise IMGSCOPE_TIMEOUT_HEADERS_MS (in milliseconds)',
    );
    expect(networkFailure(request, coded('body stalled', 'BODY_TIMEOUT')).hint).toMatch(
      /IMGSCOPE_TIMEOUT_IDLE_MS/,
    );
    expect(networkFailure(request, coded('connect timed out', 'CONNECT_TIMEOUT')).hint).toMatch(
      /IMGSCOPE_TIMEOUT_CONNECT_MS/,
    );
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_HEADERS_TIMEOUT']) {
      expect(networkFailure(request, coded('x', code)).hint, code).not.toMatch(/retries/);
    }
  });

  it('names the storage host a redirect sent a blob to, and never its signed URL', () => {
    const redirected = {
      method: 'GET' as const,
      url: new URL('https://bucket.s3.example/a/b?X-Amz-Credential=AKIA&X-Amz-Signature=secret'),
      redirectedFrom: new URL('https://registry.example.com/v2/app/blobs/sha256:abc'),
    };
    const refused = networkFailure(redirected, coded('connect ECONNREFUSED', 'ECONNREFUSED'), 4);
    expect(refused.message).toBe(
      'GET https://registry.example.com/v2/app/blobs/sha256:abc, redirected to bucket.s3.example: connection refused (after 4 attempts)',
    );
    expect(refused.hint).toBe(
      "nothing accepts connections at bucket.s3.example, where the registry sends blob downloads (its storage or CDN): check that this machine may connect to it, or tell the registry's operator",
    );
    expect(networkFailure(redirected, coded('getaddrinfo ENOTFOUND', 'ENOTFOUND')).hint).toMatch(
      /^bucket\.s3\.example, where the registry sends blob downloads .* could not be looked up: check this machine's DNS/,
    );
    expect(networkFailure(redirected, coded('connect timed out', 'CONNECT_TIMEOUT')).hint).toMatch(
      /may connect to bucket\.s3\.example, .*raise IMGSCOPE_TIMEOUT_CONNECT_MS/,
    );
    expect(
      networkFailure(redirected, coded('wrong version', 'ERR_SSL_WRONG_VERSION_NUMBER')).hint,
    ).not.toMatch(/insecure-registry/);
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'UND_ERR_HEADERS_TIMEOUT', 'OTHER']) {
      const { message, hint } = networkFailure(redirected, coded('x', code));
      expect(`${message} ${hint}`, code).not.toMatch(/\?|X-Amz|secret|\/a\/b|registry at|name and port/);
    }
  });

  it('says a storage host that wants a client certificate wants one, not to check the connection', () => {
    const redirected = {
      method: 'GET' as const,
      url: new URL('https://storage.example.net/blob?sig=x'),
      redirectedFrom: new URL('https://registry.example.com:5000/v2/a/blobs/sha256:1'),
    };
    const certificateRequired = coded('alert', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    // The registry's folder: its client certificate is presented to the storage it redirects to too.
    const folder = '/etc/containers/certs.d/registry.example.com:5000';
    expect(networkFailure(redirected, certificateRequired, 1, folder)).toMatchObject({
      message:
        'GET https://registry.example.com:5000/v2/a/blobs/sha256:1, redirected to storage.example.net: the server wants a client certificate',
      hint: `put a client certificate storage.example.net accepts in ${folder}/ as NAME.cert, its key as NAME.key`,
    });
    // An insecure registry: what to reach by another name is the registry, not its storage.
    expect(networkFailure(redirected, certificateRequired).hint).toBe(
      "reach registry.example.com:5000 by a name neither loopback nor marked insecure, its client certificate in that name's certs.d folder: as docker, imgscope reads none for an insecure registry",
    );
  });

  it('reads a TLS alert a socket write reported as EPROTO (a blob on its own connection) as the alert', () => {
    const eproto = coded(
      'write EPROTO 808C4AA53D7F0000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 40\n',
      'EPROTO',
    );
    expect(networkFailure(request, eproto)).toMatchObject({
      message: 'GET https://registry.example.com/v2/: the server refused the TLS handshake',
      hint: expect.stringMatching(/^registry\.example\.com wants either a client certificate \(/),
    });
  });

  it('says a handshake failure may be a client certificate wanted or a TLS version or cipher not shared', () => {
    const failure = coded('alert', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
    expect(networkFailure(request, failure, 1, '/etc/docker/certs.d/registry.example.com').hint).toBe(
      "registry.example.com wants either a client certificate (put a client certificate registry.example.com accepts in /etc/docker/certs.d/registry.example.com/ as NAME.cert, its key as NAME.key), or a TLS version or cipher Node.js does not offer (it offers TLS 1.2 and 1.3): if not the first, ask the registry's operator what its TLS setup expects",
    );
  });

  it("names any other TLS alert, with a hint, never in OpenSSL's own text", () => {
    const unrecognized = coded(
      '809C63F3117F0000:error:0A000458:SSL routines:ssl3_read_bytes:tlsv1 unrecognized name:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 112',
      'ERR_SSL_TLSV1_UNRECOGNIZED_NAME',
    );
    expect(networkFailure(request, unrecognized)).toMatchObject({
      message:
        'GET https://registry.example.com/v2/: the server refused the TLS connection (TLS alert: unrecognized name)',
      hint: 'the TLS server does not know the name registry.example.com (SNI): reach the registry by the name its TLS server is set up for, as its certificate gives it',
    });
    // An OpenSSL without the file and alert number in its messages: the reason names the alert.
    const bare = coded('write EPROTO 80:error:0A00042F:SSL routines::tlsv1 alert protocol version', 'EPROTO');
    expect(networkFailure(request, bare)).toMatchObject({
      message:
        'GET https://registry.example.com/v2/: the server refused the TLS connection (TLS alert: protocol version)',
      hint: expect.stringMatching(/^registry\.example\.com wants a TLS version Node\.js does not offer/),
    });
    const handshake = coded(
      'write EPROTO 80:error:0A000410:SSL routines::sslv3 alert handshake failure',
      'EPROTO',
    );
    expect(networkFailure(request, handshake).message).toBe(
      'GET https://registry.example.com/v2/: the server refused the TLS handshake',
    );
    // An alert with no hint of its own: the host, and where to look.
    const other = coded(
      'error:0A00042F:SSL routines:ssl3_read_bytes:tlsv1 alert decode error:ssl/record/rec_layer_s3.c:1605:SSL alert number 50',
      'ERR_SSL_TLSV1_ALERT_DECODE_ERROR',
    );
    expect(networkFailure(request, other)).toMatchObject({
      message:
        'GET https://registry.example.com/v2/: the server refused the TLS connection (TLS alert: decode error)',
      hint: "registry.example.com's TLS server refused the connection: check that registry.example.com is the registry's name and port; if it is, ask the registry's operator what its TLS setup expects",
    });
  });

  it("blames no name of the user's for a TLS alert from the storage a blob was redirected to", () => {
    const storage = {
      ...request,
      url: new URL('https://cdn.example.net/blob?sig=x'),
      redirectedFrom: new URL('https://registry.example.com:5000/v2/a/blobs/sha256:1'),
    };
    const operator =
      "cdn.example.net, where the registry sends blob downloads (its storage or CDN), refused the TLS connection: tell the registry's operator";
    expect(networkFailure(storage, alert(112)).hint).toBe(operator);
    expect(networkFailure(storage, alert(50)).hint).toBe(operator);
    // A refused client certificate is the registry's, in the registry's certs.d folder.
    expect(networkFailure(storage, alert(46)).hint).toBe(REGISTRY_CLIENT_CERTIFICATE);
  });

  it("blames no name of the user's for a TLS alert from the token service the registry named", () => {
    const token = {
      ...request,
      url: new URL('https://auth.example.net/token?service=x'),
      tokenServiceOf: 'registry.example.com:5000',
    };
    const operator =
      "auth.example.net, the token service registry registry.example.com:5000 sends imgscope to (the realm it names), refused the TLS connection: tell the registry's operator";
    expect(networkFailure(token, alert(112)).hint).toBe(operator);
    expect(networkFailure(token, alert(50)).hint).toBe(operator);
    // A refused client certificate is the registry's, in the registry's certs.d folder.
    expect(networkFailure(token, alert(46)).hint).toBe(REGISTRY_CLIENT_CERTIFICATE);
  });

  it("tells the registry's operator, not the user, of a token service's or storage's certificate for another name", () => {
    const mismatch = coded(
      "Hostname/IP does not match certificate's altnames",
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    const token = {
      ...request,
      url: new URL('https://auth.example.net/token?service=x'),
      tokenServiceOf: 'registry.example.com:5000',
    };
    expect(networkFailure(token, mismatch).hint).toBe(
      "auth.example.net, the token service registry registry.example.com:5000 sends imgscope to, has a certificate for another name: tell the registry's operator",
    );
    const storage = {
      ...request,
      url: new URL('https://storage.example.net/blob?sig=x'),
      redirectedFrom: new URL('https://registry.example.com:5000/v2/a/blobs/sha256:1'),
    };
    expect(networkFailure(storage, mismatch).hint).toBe(
      "storage.example.net, where the registry sends blob downloads (its storage or CDN), has a certificate for another name: tell the registry's operator",
    );
  });

  it('names a token service that redirected as the token service, not as blob storage', () => {
    const token = {
      ...request,
      url: new URL('https://sso.example.net/token'),
      redirectedFrom: new URL('https://auth.example.net/token?service=x'),
      tokenServiceOf: 'registry.example.com:5000',
    };
    expect(networkFailure(token, coded('connect ECONNREFUSED', 'ECONNREFUSED')).hint).toBe(
      "nothing accepts connections at sso.example.net, the token service registry registry.example.com:5000 sends imgscope to: check that this machine may connect to it, or tell the registry's operator",
    );
    expect(networkFailure(token, alert(112)).hint).toBe(
      "sso.example.net, the token service registry registry.example.com:5000 sends imgscope to (the realm it names), refused the TLS connection: tell the registry's operator",
    );
    // The client certificate is the registry's, in the registry's certs.d folder, not the realm's.
    expect(networkFailure(token, coded('alert', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')).hint).toMatch(
      /^reach registry\.example\.com:5000 by a name/,
    );
  });

  it("says a token service realm on https:// that speaks plain HTTP is the registry's to fix, not --insecure-registry", () => {
    const token = {
      ...request,
      url: new URL('https://auth.example.net:8080/token?service=x'),
      tokenServiceOf: 'registry.example.com:5000',
    };
    const plain = coded('error:0A00010B:SSL routines::wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER');
    expect(networkFailure(token, plain).hint).toBe(
      "registry registry.example.com:5000 names its token service by an https:// realm, but auth.example.net:8080 speaks plain HTTP: tell the registry's operator (imgscope takes the realm as the registry gives it)",
    );
  });

  it("names the token service as the registry's when it cannot be reached, never the registry's name to check", () => {
    const token = {
      ...request,
      url: new URL('https://auth.example.net/token?service=x'),
      tokenServiceOf: 'registry.example.com:5000',
    };
    const where = 'auth.example.net, the token service registry registry.example.com:5000 sends imgscope to';
    expect(networkFailure(token, coded('connect ECONNREFUSED', 'ECONNREFUSED')).hint).toBe(
      `nothing accepts connections at ${where}: check that this machine may connect to it, or tell the registry's operator`,
    );
    expect(networkFailure(token, coded('getaddrinfo ENOTFOUND', 'ENOTFOUND')).hint).toBe(
      `${where} could not be looked up: check this machine's DNS, or tell the registry's operator`,
    );
  });

  it('names the proxy and its variable, and says where a proxy login goes', () => {
    const proxy = proxySettingsFromEnv({ HTTPS_PROXY: 'http://proxy.corp:3128' }).https!;
    const refused = networkFailure(
      request,
      new ProxiedFailure(proxy, coded('connect ECONNREFUSED', 'ECONNREFUSED')),
      3,
    );
    expect(refused.message).toBe(
      'GET https://registry.example.com/v2/ through the proxy proxy.corp:3128 (HTTPS_PROXY): connection refused (after 3 attempts)',
    );
    expect(refused.hint).toBe(
      'check that the proxy in HTTPS_PROXY is reachable, or add registry.example.com to NO_PROXY',
    );
    const login = networkFailure(
      request,
      new ProxiedFailure(proxy, new Error('Proxy response (407) !== 200 when HTTP Tunneling')),
    );
    expect(login.message).toMatch(/: the proxy refused the tunnel \(HTTP 407\)$/);
    expect(login.hint).toBe(
      'the proxy wants a login: put it in HTTPS_PROXY as http://USER:PASSWORD@proxy.corp:3128',
    );
  });

  it('says a login already in the proxy URL was refused, rather than asking for one, and never prints it', () => {
    const proxy = proxySettingsFromEnv({ https_proxy: 'http://me:s3cret@proxy.corp:3128' }).https!;
    const refused = networkFailure(
      request,
      new ProxiedFailure(proxy, new Error('Proxy response (407) !== 200 when HTTP Tunneling')),
    );
    expect(refused.message).toMatch(/: the proxy refused the tunnel \(HTTP 407\)$/);
    expect(refused.hint).toBe(
      'the proxy refused the login in https_proxy: check its USER and PASSWORD (a password holding /, ?, # or % percent-encoded)',
    );
    expect(`${refused.message} ${refused.hint}`).not.toMatch(/s3cret|me:/);
  });

  it('takes a 401 to CONNECT (tinyproxy refusing a login) as a login refused too', () => {
    const proxy = proxySettingsFromEnv({ HTTPS_PROXY: 'http://me:wrong@proxy.corp:3128' }).https!;
    const refused = networkFailure(
      request,
      new ProxiedFailure(proxy, new Error('Proxy response (401) !== 200 when HTTP Tunneling')),
    );
    expect(refused.hint).toMatch(/^the proxy refused the login in HTTPS_PROXY: /);
  });

  it('does not call a proxy that answered the CONNECT with an error unreachable', () => {
    const proxy = proxySettingsFromEnv({ HTTPS_PROXY: 'http://proxy.corp:3128' }).https!;
    for (const status of [403, 500, 502, 503]) {
      const failure = networkFailure(
        request,
        new ProxiedFailure(proxy, new Error(`Proxy response (${status}) !== 200 when HTTP Tunneling`)),
      );
      expect(failure.message).toMatch(new RegExp(`: the proxy refused the tunnel \\(HTTP ${status}\\)$`));
      expect(failure.hint).toBe(
        'the proxy answered but would not or could not connect to registry.example.com: ask its operator to allow registry.example.com, or add registry.example.com to NO_PROXY if this machine reaches it directly',
      );
    }
  });
});

describe('closedAfterTlsHandshake', () => {
  const https = new URL('https://127.0.0.1:5000/v2/');
  it('tells a close after the handshake from a drop during it', () => {
    expect(closedAfterTlsHandshake(coded('other side closed', 'UND_ERR_SOCKET'), https)).toBe(true);
    expect(closedAfterTlsHandshake(coded('read ECONNRESET', 'ECONNRESET'), https)).toBe(true);
    const during = coded(
      'Client network socket disconnected before secure TLS connection was established',
      'ECONNRESET',
    );
    expect(closedAfterTlsHandshake(during, https)).toBe(false);
    expect(
      closedAfterTlsHandshake(
        coded('other side closed', 'UND_ERR_SOCKET'),
        new URL('http://127.0.0.1:5000/'),
      ),
    ).toBe(false);
  });
});

describe('a secure registry closing the connection after the TLS handshake', () => {
  it('names a client certificate and the certs.d folder, after the retries too', async () => {
    const folder = '/etc/docker/certs.d/registry.example.com';
    const closed = coded('other side closed', 'UND_ERR_SOCKET');
    const first = networkFailure(request, closed, 1, folder);
    const expected =
      'if registry.example.com wants a client certificate, put a client certificate registry.example.com accepts in /etc/docker/certs.d/registry.example.com/ as NAME.cert, its key as NAME.key; else check that the registry at registry.example.com is up';
    expect(first.hint).toBe(expected);
    const failing: Exchange = async () => {
      throw networkFailure(request, closed, 1, folder);
    };
    const retried = retrying({ ...DEFAULT_RETRIES, baseDelayMs: 1 })(failing)({ ...request, headers: {} });
    await expect(retried).rejects.toMatchObject({
      message: 'GET https://registry.example.com/v2/: the connection closed early (after 4 attempts)',
      hint: expected,
    });
    // A blob's connection closing is no sign of a client certificate wanted.
    const blob = { ...request, url: new URL('https://registry.example.com/v2/app/blobs/sha256:1') };
    expect(networkFailure(blob, closed, 1, folder).hint).toBe(
      'check that the registry at registry.example.com is reachable',
    );
  });
});
