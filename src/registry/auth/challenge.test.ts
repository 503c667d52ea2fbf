import { describe, expect, it } from 'vitest';
import { findChallenge, parseChallenges } from './challenge.js';

describe('parseChallenges', () => {
  it('parses a Docker Hub bearer challenge with a scope that contains commas', () => {
    const [challenge] = parseChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push"',
    );
    expect(challenge).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/alpine:pull,push',
      },
    });
  });

  it('parses a Basic challenge, lowercasing scheme and parameter names', () => {
    expect(parseChallenges('BASIC Realm="Registry Realm", charset=UTF-8')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm', charset: 'UTF-8' } },
    ]);
  });

  it('unescapes quoted values and tolerates spaces around separators', () => {
    const [challenge] = parseChallenges(
      'Bearer realm = "https://a/t?x=1" , error="insufficient_scope", x="say \\"hi\\""',
    );
    expect(challenge?.params).toEqual({
      realm: 'https://a/t?x=1',
      error: 'insufficient_scope',
      x: 'say "hi"',
    });
  });

  it('splits several challenges in one header and across header lines', () => {
    const challenges = parseChallenges([
      'Basic realm="a", Bearer realm="b",service="s"',
      'Negotiate abc123==',
    ]);
    expect(challenges.map((c) => c.scheme)).toEqual(['basic', 'bearer', 'negotiate']);
    expect(findChallenge(challenges, 'bearer')?.params).toEqual({ realm: 'b', service: 's' });
    expect(challenges[2]?.token68).toBe('abc123==');
  });

  it('returns nothing for an absent header and survives garbage', () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
    expect(() => parseChallenges('"=,,==" ;; Bearer realm="unterminated')).not.toThrow();
    expect(findChallenge(parseChallenges('Bearer realm="unterminated'), 'bearer')?.params.realm).toBe(
      'unterminated',
    );
  });
});
