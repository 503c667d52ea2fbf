import { ImgscopeError } from '../../errors.js';
import { isLoopbackHost } from '../reference.js';
import { redactUrl } from './redact.js';
import { discard, type HttpRequest, headerValue, type Layer } from './types.js';

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/**
 * Follows redirects of GET and HEAD (registries send blobs to storage this way) by hand, so that the
 * `Authorization` meant for the registry is never sent to another origin, and HTTPS is never downgraded
 * to plain HTTP — but for a registry marked `insecure` (its storage may be plain HTTP, as docker follows
 * it), and on loopback for a request that began there or in plain HTTP.
 */
export function followingRedirects({ maxRedirects = 5, insecure = false } = {}): Layer {
  return (next) => async (first) => {
    let request = first;
    for (let hops = 0; ; hops++) {
      const response = await next(request);
      if (!REDIRECT_STATUS.has(response.status) || (request.method !== 'GET' && request.method !== 'HEAD')) {
        return response;
      }
      const location = headerValue(response, 'location');
      if (!location) return response;
      discard(response);
      if (hops >= maxRedirects) {
        throw new ImgscopeError(
          'NETWORK',
          `${request.method} ${redactUrl(first.url)}: more than ${maxRedirects} redirects`,
          {
            hint: 'the registry or its storage is misconfigured',
          },
        );
      }
      request = redirected(request, redirectTarget(location, request), first.url, insecure);
    }
  };
}

/** The URL a `Location` names; one that is no URL is named by the request, never by its text (a signed URL). */
function redirectTarget(location: string, request: HttpRequest): URL {
  try {
    return new URL(location, request.url);
  } catch {
    throw new ImgscopeError(
      'NETWORK',
      `${redactUrl(request.url)} redirected to a Location that is not a URL`,
      {
        hint: 'the registry sent an unusable redirect; report it to the registry operator',
      },
    );
  }
}

/** Plain HTTP after HTTPS: anywhere for a registry the user marked insecure; else on loopback, from loopback. */
function mayDowngrade(start: URL, target: URL, insecure: boolean): boolean {
  if (insecure) return true;
  return (start.protocol === 'http:' || isLoopbackHost(start.host)) && isLoopbackHost(target.host);
}

function redirected(request: HttpRequest, target: URL, start: URL, insecure: boolean): HttpRequest {
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new ImgscopeError('NETWORK', `${redactUrl(request.url)} redirected to a ${target.protocol} URL`, {
      hint: 'the registry sent an unusable redirect; report it to the registry operator',
    });
  }
  const downgrade = request.url.protocol === 'https:' && target.protocol === 'http:';
  if (downgrade && !mayDowngrade(start, target, insecure)) {
    throw new ImgscopeError(
      'NETWORK',
      `${redactUrl(request.url)} redirected from HTTPS to plain HTTP (${target.host})`,
      {
        hint: `refusing to downgrade the connection; if you trust this network, mark the registry insecure: --insecure-registry ${start.host}`,
      },
    );
  }
  const headers = { ...request.headers };
  if (target.origin !== request.url.origin) delete headers.authorization;
  const { redirectedFrom: _, ...rest } = request;
  return {
    ...rest,
    url: target,
    headers,
    ...(target.origin !== start.origin ? { redirectedFrom: start } : {}),
  };
}
