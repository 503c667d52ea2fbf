import { BlockList, isIP } from 'node:net';
import { ImgscopeError } from '../../errors.js';
import { maskUserinfo } from './redact.js';

/** A proxy from the environment, and the variable that named it (for messages). */
export interface ProxyServer {
  url: URL;
  variable: string;
}

/**
 * HTTPS_PROXY for https URLs, HTTP_PROXY for http ones, NO_PROXY for exceptions, read as Go reads them
 * (and so docker, skopeo and crane): the uppercase name first, then the lowercase one; empty is unset.
 */
export interface ProxySettings {
  readonly https: ProxyServer | undefined;
  readonly http: ProxyServer | undefined;
  readonly noProxy: NoProxy;
}

export const NO_PROXIES: ProxySettings = { https: undefined, http: undefined, noProxy: () => false };

type NoProxy = (hostname: string, port: string) => boolean;

/** An HTTP proxy, spoken to in plain text or over TLS; both tunnel with CONNECT. */
const PROXY_PROTOCOLS = new Set(['http:', 'https:']);

export function proxySettingsFromEnv(env: NodeJS.ProcessEnv): ProxySettings {
  return {
    https: proxyFromEnv(env, 'HTTPS_PROXY'),
    http: proxyFromEnv(env, 'HTTP_PROXY'),
    noProxy: parseNoProxy(env[setVariable(env, 'NO_PROXY') ?? ''] ?? ''),
  };
}

/**
 * The proxy a request to `url` goes through, if any. Loopback hosts never go through one — the rule of
 * Go's net/http, so of docker, skopeo and crane: a registry on localhost is not behind the company proxy.
 */
export function proxyFor(url: URL, settings: ProxySettings): ProxyServer | undefined {
  const proxy =
    url.protocol === 'https:' ? settings.https : url.protocol === 'http:' ? settings.http : undefined;
  if (!proxy) return undefined;
  const hostname = bareHostname(url);
  if (isLoopback(hostname)) return undefined;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return settings.noProxy(hostname, port) ? undefined : proxy;
}

/** NAME if set and not empty, else name if set and not empty. */
function setVariable(env: NodeJS.ProcessEnv, upper: string): string | undefined {
  return [upper, upper.toLowerCase()].find((name) => env[name]?.trim());
}

function proxyFromEnv(env: NodeJS.ProcessEnv, upper: string): ProxyServer | undefined {
  const variable = setVariable(env, upper);
  const value = variable && env[variable]?.trim();
  if (!variable || !value) return undefined;
  // Go and curl read a bare `host:port` as an HTTP proxy.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL | undefined;
  try {
    url = new URL(withScheme);
  } catch {}
  // An `@` past the host means a password holding `/`, `?` or `#` cut the URL short: the host is wrong.
  if (!url || /@/.test(`${url.pathname}${url.search}${url.hash}`)) throw notAProxy(variable, '***');
  // The proxy client decodes the login; a stray `%` (a password not percent-encoded) would fail each
  // request with "URI malformed", blamed on the network.
  if (!decodable(url.username) || !decodable(url.password)) {
    throw notAProxy(variable, maskUserinfo(value).slice(0, 80));
  }
  if (!PROXY_PROTOCOLS.has(url.protocol) || !url.hostname) {
    throw notAProxy(variable, maskUserinfo(value).slice(0, 80));
  }
  return { url, variable };
}

function decodable(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/** `shown` is the value with any password masked, or `***` when it cannot be told where the password ends. */
function notAProxy(variable: string, shown: string): ImgscopeError {
  return new ImgscopeError('BAD_INPUT', `${variable}="${shown}" is not a proxy URL`, {
    hint: 'set it to http://HOST:PORT (http://USER:PASSWORD@HOST:PORT for a proxy that wants a login, the password percent-encoded), or unset it',
  });
}

/**
 * NO_PROXY entries, separated by commas or spaces: `*` (no proxy at all), a domain (`example.com`,
 * `.example.com` or `*.example.com`: the domain and every host under it), an IP address or a CIDR range
 * (`10.0.0.0/8`), each optionally with `:PORT` to match that port only.
 */
export function parseNoProxy(value: string): NoProxy {
  const rules: NoProxy[] = [];
  for (const entry of value
    .toLowerCase()
    .split(/[\s,]+/)
    .filter(Boolean)) {
    if (entry === '*') return () => true;
    const { host, port } = splitPort(entry);
    const matchesPort = (candidate: string) => port === undefined || port === candidate;
    const range = addressRange(host);
    if (range) {
      rules.push((hostname, candidatePort) => {
        const family = isIP(hostname);
        return (
          family !== 0 && matchesPort(candidatePort) && range.check(hostname, family === 6 ? 'ipv6' : 'ipv4')
        );
      });
      continue;
    }
    const domain = host.replace(/^\*?\./, '');
    if (!domain) continue;
    rules.push(
      (hostname, candidatePort) =>
        matchesPort(candidatePort) && (hostname === domain || hostname.endsWith(`.${domain}`)),
    );
  }
  return (hostname, port) => {
    const lowercase = hostname.toLowerCase();
    return rules.some((rule) => rule(lowercase, port));
  };
}

function splitPort(entry: string): { host: string; port: string | undefined } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] };
  // An IPv6 address (or range) has more than one colon and no port unless bracketed.
  if (entry.indexOf(':') !== entry.lastIndexOf(':')) return { host: entry, port: undefined };
  const withPort = /^(.*):(\d+)$/.exec(entry);
  return withPort ? { host: withPort[1]!, port: withPort[2] } : { host: entry, port: undefined };
}

/** An IP address or CIDR range as a BlockList, or undefined for a domain. */
function addressRange(host: string): BlockList | undefined {
  const [address = '', prefix] = host.split('/');
  const family = isIP(address);
  if (family === 0) return undefined;
  const type = family === 6 ? 'ipv6' : 'ipv4';
  const list = new BlockList();
  const bits = prefix === undefined ? undefined : Number(prefix);
  if (bits === undefined) list.addAddress(address, type);
  else if (Number.isInteger(bits) && bits >= 0 && bits <= (family === 6 ? 128 : 32))
    list.addSubnet(address, bits, type);
  else return undefined;
  return list;
}

function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  const family = isIP(hostname);
  // BlockList matches IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) against IPv4 ranges.
  return family !== 0 && LOOPBACK.check(hostname, family === 6 ? 'ipv6' : 'ipv4');
}
