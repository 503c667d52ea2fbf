import type { Credential } from './credentials.js';

/** What an Authorization value gives away if echoed: its credential, and a Basic one's password. */
export function secretsOf(authorizationValue: string): string[] {
  const credential = authorizationValue.slice(authorizationValue.indexOf(' ') + 1);
  if (!/^basic /i.test(authorizationValue)) return [credential];
  const decoded = Buffer.from(credential, 'base64').toString('utf8');
  return [credential, decoded, decoded.slice(decoded.indexOf(':') + 1)].filter((secret) => secret !== '');
}

/** The Basic Authorization value of a username and password. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * What a token service may echo of a credential sent to it: a Basic header, decoded or not, or a refresh
 * token as sent in a form, percent-encoded, or in a Basic header (the GET a service without OAuth2 gets).
 */
export function credentialSecrets(credential: Credential | undefined): string[] {
  if (!credential) return [];
  if (credential.kind !== 'identity-token') {
    return secretsOf(basicAuthorization(credential.username, credential.password));
  }
  const token = credential.token.trim();
  const formEncoded = new URLSearchParams({ t: token }).toString().slice('t='.length);
  const basic = secretsOf(basicAuthorization(credential.username ?? '', token));
  return [...new Set([token, formEncoded, encodeURIComponent(token), ...basic])].filter(
    (secret) => secret !== '',
  );
}

/** `text` without any of `secrets`; longest first, so that a password inside its own `user:password` leaves no part of either. */
export function masked(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    result = result.replaceAll(secret, '***');
  }
  return result;
}
