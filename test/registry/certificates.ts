import { execFileSync } from 'node:child_process';
import { isIP } from 'node:net';
import { join } from 'node:path';

/**
 * A self-signed server certificate for `names` (DNS names and IP addresses), made with openssl, written
 * to `dir` as NAME.key and NAME.crt.
 */
export function makeServerCertificate(
  dir: string,
  names: string[],
  fileName = 'server',
): { keyPath: string; certPath: string } {
  const keyPath = join(dir, `${fileName}.key`);
  const certPath = join(dir, `${fileName}.crt`);
  const altNames = names.map((name) => (isIP(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${names[0]}`].concat([
      '-addext',
      `subjectAltName=${altNames}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]),
    { stdio: 'pipe' },
  );
  return { keyPath, certPath };
}
