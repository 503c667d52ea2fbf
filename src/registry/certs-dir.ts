import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { ImgscopeError } from '../errors.js';
import { homeDirectory } from '../home.js';

const SYSTEM_CERTS_DIRS = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

/**
 * Where per-registry trust is looked for, as podman and skopeo look (containers/image), docker reading
 * the last: the first `BASE/HOST[:PORT]` folder that exists wins. The user's own folder is under
 * `$HOME/.config`, not `$XDG_CONFIG_HOME`, as containers/image puts it. `IMGSCOPE_CERTS_DIR` replaces them.
 */
function certsBases(env: NodeJS.ProcessEnv): string[] {
  if (env.IMGSCOPE_CERTS_DIR) return [env.IMGSCOPE_CERTS_DIR];
  const home = homeDirectory(env);
  return [...(home ? [join(home, '.config', 'containers', 'certs.d')] : []), ...SYSTEM_CERTS_DIRS];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The TLS settings a registry's certs.d folder asks for, for every HTTPS connection of that registry. */
export interface RegistryTls {
  secureContext: SecureContext;
  /** What they are and the folder they came from, for the debug log. */
  description: string;
}

/**
 * Reads `certs.d/REGISTRY/` as docker reads it (moby registry.ReadCertsDirectory): every `*.crt` holds CA
 * certificates trusted beside the system's, every `*.cert` with the `*.key` of the same name is a client
 * certificate presented to servers that ask for one. A `.cert` without its `.key`, or a `.key` without its
 * `.cert`, is an error, as in docker. Undefined when there is no such folder or it holds none of these.
 * A folder this user may not read is passed over with a line to `warn`.
 * `IMGSCOPE_CERTS_DIR` (a folder of `HOST[:PORT]` folders) replaces the default places (certsBases).
 */
export function readCertsDirectory(
  registry: string,
  env: NodeJS.ProcessEnv,
  warn?: (line: string) => void,
): RegistryTls | undefined {
  const folder = readableFolder(registry, env, warn);
  return folder && trustFrom(folder.dir, folder.names);
}

/**
 * The certs.d folder to send a user to for `registry`'s trust: the one read when there is one, else
 * docker's (or IMGSCOPE_CERTS_DIR's), never one passed over as unreadable. For Docker Hub it is
 * `docker.io`, as podman and skopeo name it.
 */
export function certsFolderFor(registry: string, env: NodeJS.ProcessEnv): string {
  return readableFolder(registry, env)?.dir ?? join(certsBases(env).at(-1)!, registry);
}

/**
 * The first `BASE/REGISTRY` folder that exists and this user may read, with the names in it, sorted. A
 * folder this user may not read is passed over with a line to `warn`.
 */
function readableFolder(
  registry: string,
  env: NodeJS.ProcessEnv,
  warn?: (line: string) => void,
): { dir: string; names: string[] } | undefined {
  for (const base of certsBases(env)) {
    const dir = join(base, registry);
    try {
      return { dir, names: readdirSync(dir).sort() };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      // Another user's folder (root's 0700 one, for a rootless user) is skipped, as podman skips it. Marked
      // a warning: unmarked, the line reads as the error an unreadable file inside the folder stops with.
      if (code === 'EACCES' || code === 'EPERM') {
        warn?.(`warning: ${dir}: cannot read it (${code}); its certificates are not used`);
        continue;
      }
      throw unreadable(
        dir,
        error,
        code === 'ENOTDIR' ? 'make it a folder of .crt, .cert and .key files' : undefined,
      );
    }
  }
  return undefined;
}

function trustFrom(dir: string, names: string[]): RegistryTls | undefined {
  const authorities: string[] = [];
  const clientCertificates: { cert: string; key: string; name: string }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (name.endsWith('.crt')) {
      authorities.push(...certificatesIn(path));
    } else if (name.endsWith('.cert')) {
      const keyName = `${name.slice(0, -'.cert'.length)}.key`;
      if (!names.includes(keyName)) {
        throw new ImgscopeError('BAD_INPUT', `${path}: client certificate without its key ${keyName}`, {
          hint: `put the private key in ${join(dir, keyName)}, or name a CA certificate with .crt`,
        });
      }
      clientCertificates.push({ ...clientCertificate(path, join(dir, keyName)), name });
    } else if (name.endsWith('.key')) {
      const certName = `${name.slice(0, -'.key'.length)}.cert`;
      if (!names.includes(certName)) {
        throw new ImgscopeError(
          'BAD_INPUT',
          `${path}: private key without its client certificate ${certName}`,
          {
            hint: `put the client certificate in ${join(dir, certName)}, or remove the key`,
          },
        );
      }
    }
  }
  if (authorities.length === 0 && clientCertificates.length === 0) return undefined;
  const what = [
    authorities.length > 0
      ? `${authorities.length} CA certificate${authorities.length === 1 ? '' : 's'}`
      : '',
    clientCertificates.length > 0 ? `the client certificate ${clientCertificates[0]!.name}` : '',
  ];
  // Go presents the first pair the server's request fits; Node.js cannot choose, so one is presented.
  const others =
    clientCertificates.length > 1
      ? ` (the first of ${clientCertificates.length} pairs: only it is presented)`
      : '';
  return {
    secureContext: secureContextFor(authorities, clientCertificates),
    description: `${what.filter(Boolean).join(' and ')}${others} from ${dir}`,
  };
}

function secureContextFor(authorities: string[], clientCertificates: { cert: string; key: string }[]) {
  const first = clientCertificates[0] && { cert: clientCertificates[0].cert, key: clientCertificates[0].key };
  // Without `ca` a context starts from the roots Node.js trusts (its own, or the system's with
  // --use-openssl-ca); `ca` would replace them, where docker adds to the system's. Adding a CA leaves out
  // NODE_EXTRA_CA_CERTS, so those are added again.
  const context = createSecureContext(first ?? {});
  if (authorities.length === 0) return context;
  const added = [...extraCaCertificates(), ...authorities];
  // addCACert is what Node's own `ca` option calls, but it is not public API: should a Node.js release
  // drop it, fall back to Node's bundled roots plus these, which loses only --use-openssl-ca's system store.
  const native = context.context as { addCACert?: (pem: string) => void };
  if (typeof native.addCACert !== 'function') {
    return createSecureContext({ ...(first ?? {}), ca: [...rootCertificates, ...added] });
  }
  for (const authority of added) native.addCACert(authority);
  return context;
}

/** The certificates of NODE_EXTRA_CA_CERTS, which Node.js read at start-up. */
function extraCaCertificates(): string[] {
  const path = process.env.NODE_EXTRA_CA_CERTS;
  if (!path) return [];
  try {
    return readFileSync(path, 'utf8').match(PEM_CERTIFICATE) ?? [];
  } catch {
    return []; // Node.js warned about it at start-up.
  }
}

function clientCertificate(certPath: string, keyPath: string): { cert: string; key: string } {
  const pair = { cert: readText(certPath), key: readText(keyPath) };
  try {
    createSecureContext(pair);
  } catch (error) {
    // Never the key itself: OpenSSL's reason names what is wrong with it.
    throw new ImgscopeError(
      'BAD_INPUT',
      `${certPath} and ${keyPath} do not load as a client certificate and its key (${reasonOf(error)})`,
      { hint: 'give the PEM client certificate the unencrypted PEM private key that matches it' },
    );
  }
  return pair;
}

function certificatesIn(path: string): string[] {
  const blocks = readText(path).match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new ImgscopeError('BAD_INPUT', `${path} holds no PEM certificate`, {
      hint: 'put the CA certificate in PEM form (-----BEGIN CERTIFICATE-----) in it, or remove the file',
    });
  }
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new ImgscopeError(
        'BAD_INPUT',
        `${path} holds a certificate that does not parse (${reasonOf(error)})`,
        {
          hint: 'replace it with the CA certificate in PEM form, or remove the file',
        },
      );
    }
  }
  return blocks;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(path, error);
  }
}

function unreadable(path: string, error: unknown, hint?: string): ImgscopeError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new ImgscopeError('BAD_INPUT', `${path}: cannot read it (${code})`, {
    hint: hint ?? 'make it readable by this user, or point IMGSCOPE_CERTS_DIR at a folder of readable copies',
  });
}

function reasonOf(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  return message
    .replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '')
    .split('\n')[0]!
    .trim();
}
