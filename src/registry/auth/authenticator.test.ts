import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Exchange, HttpResponse } from '../transport/types.js';
import { authenticating } from './authenticator.js';

const answer = (url: URL, status: number, headers: Record<string, string>, body = ''): HttpResponse => ({
  status,
  headers,
  body: Readable.from([Buffer.from(body)]),
  url,
});

describe('authenticating', () => {
  it('does not call credentials the token service took refused when the registry refuses the repository', async () => {
    const challenge = 'Bearer realm="https://auth.example/token",service="r.example"';
    // Docker Hub: a token for any repository, and 401 for one that is missing (or not the user's).
    const transport: Exchange = async (request) => {
      if (request.url.host === 'auth.example') return answer(request.url, 200, {}, '{"token":"t0k3n"}');
      if (request.url.pathname === '/v2/') return answer(request.url, 401, { 'www-authenticate': challenge });
      return answer(
        request.url,
        401,
        { 'www-authenticate': `${challenge},scope="repository:team/typo:pull"` },
        '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
      );
    };
    const exchange = authenticating({
      registry: 'r.example',
      origin: 'https://r.example',
      insecure: false,
      exchange: transport,
      lookupCredentials: async () => ({
        credential: { kind: 'basic', username: 'me', password: 'pw' },
        source: '/home/me/.docker/config.json',
        searched: [],
      }),
    })(transport);
    await expect(
      exchange({
        method: 'GET',
        url: new URL('https://r.example/v2/team/typo/manifests/v1'),
        headers: {},
        scope: 'repository:team/typo:pull',
      }),
    ).rejects.toMatchObject({
      code: 'AUTH',
      message:
        'registry r.example refused pull access to repository team/typo (401 UNAUTHORIZED: authentication required)',
      hint: 'the token service accepted the credentials from /home/me/.docker/config.json, but the registry refused them for team/typo: check that the repository exists (a missing one is refused the same way), and their permissions on it',
    });
  });
});
