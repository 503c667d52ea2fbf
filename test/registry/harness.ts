import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeServerCertificate } from './certificates.js';
import { TokenIssuer, type TokenIssuerOptions } from './token-issuer.js';

/**
 * Starts real CNCF Distribution registries (`docker-registry`, Debian's package) on loopback ports it
 * picks, storage in a temp dir: anonymous, htpasswd (Basic) or token auth with the project's own token
 * issuer. Every process started here is stopped by `stop()`, and killed when the test process exits.
 */

export const REGISTRY_BINARY = process.env.IMGSCOPE_TEST_REGISTRY ?? '/usr/bin/docker-registry';

/** The one account of the test registries (htpasswd and token issuer alike). */
export const TEST_USER = { username: 'imgscope', password: 'correct-horse-battery' } as const;
/** An identity token (OAuth2 refresh token) the token issuer accepts for TEST_USER. */
export const TEST_IDENTITY_TOKEN = 'imgscope-identity-token-0123456789';
/**
 * bcrypt (cost 4, the minimum, to keep logins fast) of TEST_USER.password. Distribution only accepts
 * bcrypt in htpasswd files; a constant avoids a bcrypt dependency. Made with
 * `python3 -c "import crypt; print(crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"`;
 * the basic-auth tests fail if it does not match.
 */
const TEST_USER_BCRYPT = '$2b$04$FKDUmWIBuqK0JHWL6xEzzOPdHM3ZE0ioAw.lnTux0QPYBqx1MRpKK';

/** Why the registry tests are skipped, or undefined when the registry binary is there. */
export const registryUnavailable: string | undefined = ensureRegistryBinary();
if (registryUnavailable) console.warn(`skipping real-registry tests: ${registryUnavailable}`);

function ensureRegistryBinary(): string | undefined {
  if (existsSync(REGISTRY_BINARY)) return undefined;
  if (process.getuid?.() !== 0) {
    return `${REGISTRY_BINARY} is missing and this is not root (install it: apt-get install docker-registry)`;
  }
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const lock = ['-o', 'DPkg::Lock::Timeout=300'];
    execFileSync('apt-get', [...lock, 'update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
    execFileSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', 'docker-registry'], {
      stdio: 'ignore',
      env,
      timeout: 300_000,
    });
  } catch (error) {
    return `installing docker-registry with apt-get failed (${(error as Error).message.split('\n')[0]})`;
  }
  return existsSync(REGISTRY_BINARY) ? undefined : `apt-get did not install ${REGISTRY_BINARY}`;
}

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
function killChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', killChildren);
// A worker stopped by a signal never emits 'exit': stop the registries, then die of the same signal.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killChildren();
    process.kill(process.pid, signal);
  });
}

/** For the built CLI under test: no credential store and no proxy setting of the machine's own. */
export const CLEAN_CLI_ENV = {
  HOME: '/nonexistent',
  DOCKER_CONFIG: '/nonexistent',
  XDG_RUNTIME_DIR: '',
  REGISTRY_AUTH_FILE: '',
  HTTPS_PROXY: '',
  https_proxy: '',
  HTTP_PROXY: '',
  http_proxy: '',
  NO_PROXY: '',
  no_proxy: '',
};

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface TestRegistry {
  auth: RegistryAuth;
  /** `ADDRESS:PORT` (`127.0.0.1:PORT` unless `bind` said otherwise): the registry part of references. */
  host: string;
  url: string;
  storageDir: string;
  /** With `tls`: the self-signed certificate to trust (NODE_EXTRA_CA_CERTS). */
  caPath?: string;
  /** With `tls.clientCertificates`: a client certificate (PEM) the registry accepts, and its key. */
  client?: { certPath: string; keyPath: string };
  /** Present for token auth. */
  issuer?: TokenIssuer;
  /** The file Distribution keeps a blob's (or manifest's) bytes in: edit it to tamper with the image. */
  blobDataPath(digest: string): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  auth?: RegistryAuth;
  /** The address to listen on; default 127.0.0.1. */
  bind?: string;
  /** The port to listen on; default a free one. */
  port?: number;
  /** Serve HTTPS with a certificate for these host names and addresses (its CA file: `caPath`). */
  tls?: { names: string[]; clientCertificates?: boolean };
  /** Serve the images of another registry (its storage), e.g. to push over HTTP and pull over HTTPS. */
  storageDir?: string;
  issuer?: Partial<Omit<TokenIssuerOptions, 'dir' | 'service' | 'issuer' | 'users' | 'identityTokens'>>;
}

export async function startRegistry(options: StartOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const dir = mkdtempSync(join(tmpdir(), 'imgscope-registry-'));
  tempDirs.add(dir);
  const storageDir = options.storageDir ?? join(dir, 'storage');
  let issuer: TokenIssuer | undefined;
  try {
    const tls = options.tls ? makeServerCertificate(dir, options.tls.names) : undefined;
    const client = options.tls?.clientCertificates ? makeClientCertificate(dir) : undefined;
    let authConfig = '';
    if (auth === 'basic') {
      writeFileSync(join(dir, 'htpasswd'), `${TEST_USER.username}:${TEST_USER_BCRYPT}\n`);
      authConfig = `auth:\n  htpasswd:\n    realm: imgscope-test\n    path: ${join(dir, 'htpasswd')}\n`;
    } else if (auth === 'token') {
      issuer = new TokenIssuer({
        dir,
        service: 'imgscope-test-registry',
        issuer: 'imgscope-test-issuer',
        users: { [TEST_USER.username]: TEST_USER.password },
        identityTokens: { [TEST_IDENTITY_TOKEN]: TEST_USER.username },
        ...options.issuer,
      });
      const realm = await issuer.start();
      authConfig = [
        'auth:',
        '  token:',
        `    realm: ${realm}`,
        '    service: imgscope-test-registry',
        '    issuer: imgscope-test-issuer',
        `    rootcertbundle: ${issuer.certPath}`,
        '',
      ].join('\n');
    }
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      const configPath = join(dir, 'config.yml');
      const bind = options.bind ?? '127.0.0.1';
      writeFileSync(
        configPath,
        registryConfig(
          storageDir,
          `${bind}:${port}`,
          authConfig,
          tls && { ...tls, clientCa: client?.caPath },
        ),
      );
      const child = spawnTracked(REGISTRY_BINARY, ['serve', configPath]);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      const host = `${bind}:${port}`;
      const ready = tls
        ? await acceptsConnections(bind, port, child)
        : await waitUntilServing(`http://${host}/v2/`, child);
      if (!ready) {
        await stopChild(child);
        if (attempt < 3) continue;
        throw new Error(
          `docker-registry did not start on ${host}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
      }
      const started: TestRegistry = {
        auth,
        host,
        url: `${tls ? 'https' : 'http'}://${host}`,
        ...(tls ? { caPath: tls.certPath } : {}),
        ...(client ? { client: { certPath: client.certPath, keyPath: client.keyPath } } : {}),
        storageDir,
        blobDataPath: (digest) => {
          const hex = digest.replace(/^sha256:/, '');
          return join(storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
        },
        stop: async () => {
          await stopChild(child);
          await issuer?.stop();
          rmSync(dir, { recursive: true, force: true });
          tempDirs.delete(dir);
        },
      };
      if (issuer) started.issuer = issuer;
      return started;
    }
  } catch (error) {
    await issuer?.stop();
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
    throw error;
  }
}

/** A CA, and a client certificate it signed: a registry given the CA as `clientcas` asks for it. */
function makeClientCertificate(dir: string): { caPath: string; certPath: string; keyPath: string } {
  const caPath = join(dir, 'client-ca.crt');
  const caKeyPath = join(dir, 'client-ca.key');
  const keyPath = join(dir, 'client.key');
  const requestPath = join(dir, 'client.csr');
  const certPath = join(dir, 'client.cert');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=imgscope test CA',
    '-keyout',
    caKeyPath,
    '-out',
    caPath,
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=imgscope-test-client',
    '-keyout',
    keyPath,
    '-out',
    requestPath,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    requestPath,
    '-CA',
    caPath,
    '-CAkey',
    caKeyPath,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    certPath,
  );
  return { caPath, certPath, keyPath };
}

function registryConfig(
  storageDir: string,
  address: string,
  authConfig: string,
  tls?: { keyPath: string; certPath: string; clientCa: string | undefined },
): string {
  const clientCas = tls?.clientCa ? `    clientcas:\n      - ${tls.clientCa}\n` : '';
  const tlsConfig = tls
    ? `  tls:\n    certificate: ${tls.certPath}\n    key: ${tls.keyPath}\n${clientCas}`
    : '';
  return `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storageDir}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${address}
  secret: ${randomBytes(16).toString('hex')}
${tlsConfig}health:
  storagedriver:
    enabled: false
compatibility:
  schema1:
    enabled: true
${authConfig}`;
}

/** Spawns a helper server, its stderr piped: `stopChild` stops it, and the test process's exit kills it. */
export function spawnTracked(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  return child;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilServing(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200 || response.status === 401) return true;
    } catch {}
    await sleep(50);
  }
  return false;
}

/** Polls until `host:port` accepts a TCP connection (a TLS registry cannot be probed with plain fetch). */
export async function acceptsConnections(host: string, port: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, host);
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await sleep(50);
  }
  return false;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * A name for this machine that is not loopback (so proxies apply to it, and it is not implicitly insecure),
 * and the address it stands for: its host name, or else the address of one of its network interfaces.
 */
export async function nonLoopbackTarget(): Promise<{ name: string; address: string } | undefined> {
  const interfaces = Object.values(networkInterfaces()).flatMap((nics) => nics ?? []);
  const own = hostname();
  const resolved = await lookup(own, { family: 4 }).then(
    (found) => found.address,
    () => undefined,
  );
  const isLocal = (address: string) =>
    address.startsWith('127.') || interfaces.some((nic) => nic.address === address);
  if (resolved && isLocal(resolved) && own !== 'localhost' && !own.endsWith('.localhost')) {
    return { name: own, address: resolved };
  }
  const external = interfaces.find((nic) => nic.family === 'IPv4' && !nic.internal)?.address;
  return external ? { name: external, address: external } : undefined;
}
