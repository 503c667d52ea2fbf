import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { homeDirectory, xdgDirectory } from '../../home.js';
import { jsonErrorPosition } from '../../json-error-offset.js';
import { DOCKER_HUB } from '../reference.js';
import { trackHelper } from './running-helpers.js';

export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (Docker's `identitytoken`), exchanged at the token service. */
  | { kind: 'identity-token'; username?: string; token: string };

export interface CredentialLookup {
  credential?: Credential;
  /** Where the credential came from, for messages: `/home/me/.docker/config.json`. */
  source?: string;
  /** Every place looked at, in order, with what was found: the hint of an authentication error. */
  searched: string[];
}

export interface CredentialOptions {
  explicit?: { username: string; password: string };
  env: NodeJS.ProcessEnv;
  /** Overrides `$DOCKER_CONFIG/config.json` and `~/.docker/config.json`. */
  dockerConfigPath?: string;
  /** How long a credential helper may take; 10 s unless a test says otherwise. */
  helperTimeoutMs?: number;
  /** Runs each credential helper; see RegistryOptions.aroundCredentialHelper. */
  aroundHelper?: <T>(run: () => Promise<T>) => Promise<T>;
}

/** The options of one lookup, with the helpers it has asked: each is asked once, whichever files name it. */
type Lookup = CredentialOptions & { asked: Set<string> };

/** Docker Hub's key in credential stores, for historical reasons. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const HELPER_TIMEOUT_MS = 10_000;
/** More than any real reply: a helper printing without end is stopped. */
const MAX_HELPER_OUTPUT = 1024 * 1024;

/**
 * Finds credentials for a registry the way `docker` and `podman` do, in this order: explicit options,
 * `IMGSCOPE_USERNAME`/`IMGSCOPE_PASSWORD` (for the registry in `IMGSCOPE_REGISTRY` when that is set),
 * `REGISTRY_AUTH_FILE`, Docker's config.json (`auths`, `credHelpers`, `credsStore`), Podman's auth.json.
 * Never throws for a missing or unreadable store: it notes it and goes on.
 */
export async function findCredentials(
  registry: string,
  repository: string,
  options: CredentialOptions,
): Promise<CredentialLookup> {
  const searched: string[] = [];
  const found = (credential: Credential, source: string): CredentialLookup => ({
    credential,
    source,
    searched,
  });

  // REGISTRY_AUTH_FILE is often docker's own config.json, and auth.json may name the same helper: a helper
  // with nothing to give (or one that times out, or prompts) is not asked again.
  const lookup: Lookup = { ...options, asked: new Set() };
  if (options.explicit) return found({ kind: 'basic', ...options.explicit }, '--username');
  searched.push('--username (not given)');

  const { IMGSCOPE_USERNAME: username, IMGSCOPE_PASSWORD: password } = options.env;
  const meantFor = options.env.IMGSCOPE_REGISTRY?.trim();
  if (username && meantFor && registryOfKey(meantFor) !== registry) {
    // Not named: the variable is the user's, and may hold more than a host.
    searched.push('IMGSCOPE_USERNAME (IMGSCOPE_REGISTRY names another registry)');
  } else if (username && password) {
    return found({ kind: 'basic', username, password }, 'IMGSCOPE_USERNAME/IMGSCOPE_PASSWORD');
  } else if (username) {
    // Empty is how CI passes a secret it withholds (a pull request from a fork): pull as if not logged in,
    // as --password-stdin refuses an empty password rather than send it.
    searched.push(`IMGSCOPE_USERNAME (IMGSCOPE_PASSWORD ${password === undefined ? 'unset' : 'empty'})`);
  } else {
    searched.push('IMGSCOPE_USERNAME (unset)');
  }

  // Podman and skopeo take REGISTRY_AUTH_FILE as the override of the stores they would read.
  const authFile = options.env.REGISTRY_AUTH_FILE;
  if (authFile) {
    const fromFile = await fromAuthFile(authFile, registry, repository, lookup, searched);
    if (fromFile) return found(fromFile.credential, fromFile.source);
  }

  const dockerConfig = dockerConfigPath(options);
  if (dockerConfig === undefined) searched.push('~/.docker/config.json (HOME unset, and no home folder)');
  const fromDocker = dockerConfig && (await fromDockerConfig(dockerConfig, registry, lookup, searched));
  if (fromDocker) return found(fromDocker.credential, fromDocker.source);

  for (const path of podmanAuthPaths(options.env).filter((path) => path !== authFile)) {
    const fromFile = await fromAuthFile(path, registry, repository, lookup, searched);
    if (fromFile) return found(fromFile.credential, fromFile.source);
  }
  return { searched };
}

/** Undefined when DOCKER_CONFIG is unset and there is no home folder (see homeDirectory). */
function dockerConfigPath(options: CredentialOptions): string | undefined {
  if (options.dockerConfigPath) return options.dockerConfigPath;
  // Empty (an unset variable in a CI line) means unset, as docker reads it: not the working directory.
  if (options.env.DOCKER_CONFIG) return join(options.env.DOCKER_CONFIG, 'config.json');
  const home = homeDirectory(options.env);
  return home === undefined ? undefined : join(home, '.docker', 'config.json');
}

function podmanAuthPaths(env: NodeJS.ProcessEnv): string[] {
  const paths: string[] = [];
  const runtimeDir = xdgDirectory(env.XDG_RUNTIME_DIR);
  if (runtimeDir) paths.push(join(runtimeDir, 'containers', 'auth.json'));
  const home = homeDirectory(env);
  const configHome = xdgDirectory(env.XDG_CONFIG_HOME) ?? (home && join(home, '.config'));
  if (configHome) paths.push(join(configHome, 'containers', 'auth.json'));
  return [...new Set(paths)];
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfigFile {
  /** An entry may be null, as Go reads it: no credentials. */
  auths?: Record<string, AuthEntry | null>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

async function readJsonFile(path: string, searched: string[]): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    // A file that is there but cannot be read (root-owned after `sudo docker login`) is not "missing".
    const code = (error as NodeJS.ErrnoException).code;
    searched.push(
      `${path} (${code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : `unreadable: ${code ?? 'error'}`})`,
    );
    return undefined;
  }
  // As docker reads it: an empty file is an empty configuration.
  if (text.trim() === '') {
    searched.push(`${path} (empty)`);
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Never the parser's message: it quotes the text around the fault, which may be a password.
    searched.push(
      `${path} (not valid JSON${faultPlace(text, error)}, ignored: fix it there, or remove the file and log in again)`,
    );
    return undefined;
  }
  if (!isObject(value)) {
    searched.push(`${path} (ignored: not a JSON object; fix it, or remove the file and log in again)`);
    return undefined;
  }
  // As docker and podman refuse such a file whole: a value of the wrong type is a file written by hand.
  const misfit = misfitField(value);
  if (misfit) {
    searched.push(`${path} (ignored: ${misfit}; fix it, or log in again after removing it)`);
    return undefined;
  }
  return value;
}

/** ` at line 3, column 7`, or ` at its end` for a cut-off file; empty when no scan finds the place. */
function faultPlace(text: string, error: unknown): string {
  const position = jsonErrorPosition(text, String((error as Error)?.message));
  if (position === undefined) return '';
  if (position >= text.length) return ' at its end';
  const before = text.slice(0, position).split('\n');
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ENTRY_STRINGS = ['auth', 'username', 'password', 'identitytoken'] as const;

/** The first field read for credentials whose value has the wrong type, named as in the file. */
function misfitField(file: Record<string, unknown>): string | undefined {
  const { auths, credHelpers, credsStore } = file;
  if (auths !== undefined && auths !== null) {
    if (!isObject(auths)) return '"auths" is not an object';
    for (const [key, entry] of Object.entries(auths)) {
      if (entry === null) continue;
      if (!isObject(entry)) return `"auths"."${key}" is not an object`;
      for (const field of ENTRY_STRINGS) {
        const fieldValue = entry[field];
        if (fieldValue !== undefined && fieldValue !== null && typeof fieldValue !== 'string')
          return `"auths"."${key}"."${field}" is not a string`;
      }
    }
  }
  if (credHelpers !== undefined && credHelpers !== null) {
    if (!isObject(credHelpers)) return '"credHelpers" is not an object';
    for (const [key, helper] of Object.entries(credHelpers)) {
      if (typeof helper !== 'string') return `"credHelpers"."${key}" is not a string`;
    }
  }
  if (credsStore !== undefined && credsStore !== null && typeof credsStore !== 'string')
    return '"credsStore" is not a string';
  return undefined;
}

/** `https://index.docker.io/v1/`, `http://host:5000`, `host:5000/` → the registry host it names. */
function registryOfKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
}

async function fromDockerConfig(
  path: string,
  registry: string,
  options: Lookup,
  searched: string[],
): Promise<{ credential: Credential; source: string } | undefined> {
  const config = (await readJsonFile(path, searched)) as DockerConfigFile | undefined;
  if (!config) return undefined;

  const helper = Object.entries(config.credHelpers ?? {}).find(
    ([key]) => registryOfKey(key) === registry,
  )?.[1];
  if (helper) return fromHelper(helper, registry, options, searched);

  // As in docker, a credsStore answers before `auths`, whose entries it leaves stale (docker keeps them
  // for emails); an entry is used only when the store has nothing, where docker would fail.
  if (config.credsStore) {
    const stored = await fromHelper(config.credsStore, registry, options, searched);
    if (stored) return stored;
  }
  const keys = Object.keys(config.auths ?? {}).filter((key) => registryOfKey(key) === registry);
  // Docker reads Docker Hub under its URL key only: a `docker.io` key (skopeo's login into this file)
  // sorts before it, and is a fallback here.
  const dockersKey = registry === DOCKER_HUB ? DOCKER_HUB_KEY : registry;
  const key = keys.find((key) => key === dockersKey) ?? keys[0];
  const entry = key === undefined ? undefined : config.auths?.[key];
  const credential = entry && credentialOfEntry(entry);
  if (credential) return { credential, source: path };
  searched.push(`${path} (${entry ? unusableEntry(entry, registry) : `no entry for ${registry}`})`);
  return undefined;
}

/**
 * The key docker writes for the registry today: as docker and containers/image do, it is read before a
 * key that only normalizes to the registry (`https://r.io/v1/`, from an old login, which may be stale).
 */
function namesExactly(key: string, registry: string): boolean {
  return key === registry || (registry === DOCKER_HUB && key === DOCKER_HUB_KEY);
}

/** Why an entry that is there gave no credential: a mangled `auth` is not a missing login. */
function unusableEntry(entry: AuthEntry, registry: string): string {
  return entry.auth
    ? `the entry for ${registry} is unusable: its "auth" is not base64 of USER:PASSWORD; log in again`
    : `the entry for ${registry} holds no credentials`;
}

function credentialOfEntry(entry: AuthEntry): Credential | undefined {
  if (entry.identitytoken) {
    return {
      kind: 'identity-token',
      token: entry.identitytoken,
      ...(entry.username ? { username: entry.username } : {}),
    };
  }
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0)
      return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username && entry.password !== undefined) {
    return { kind: 'basic', username: entry.username, password: entry.password };
  }
  return undefined;
}

/**
 * As containers/image reads a key: one written as a URL (`https://registry.example.com/v2/`, as docker
 * login once wrote them) names its whole registry, whatever its path; a bare `host/namespace` names
 * that namespace.
 */
function authFileScope(key: string): string {
  if (/^[a-z]+:\/\//i.test(key)) return registryOfKey(key);
  const [host = '', ...path] = key.replace(/\/+$/, '').split('/');
  return [registryOfKey(host), ...path].join('/');
}

/**
 * Podman's auth.json may key entries by `registry/namespace/repo`: the longest matching key wins. Its
 * `credHelpers` are asked first, as containers/image asks them (containers-auth.json(5)); a helper
 * with nothing to give leaves the file's entries to answer.
 */
async function fromAuthFile(
  path: string,
  registry: string,
  repository: string,
  options: Lookup,
  searched: string[],
): Promise<{ credential: Credential; source: string } | undefined> {
  const file = (await readJsonFile(path, searched)) as DockerConfigFile | undefined;
  if (!file) return undefined;
  const helper = Object.entries(file.credHelpers ?? {}).find(([key]) => registryOfKey(key) === registry)?.[1];
  const fromItsHelper = helper && (await fromHelper(helper, registry, options, searched));
  if (fromItsHelper) return fromItsHelper;
  const name = `${registry}/${repository}`;
  const matches = Object.entries(file.auths ?? {})
    .flatMap(([key, entry]) => (entry ? [{ key, scope: authFileScope(key), entry }] : []))
    .filter(({ scope }) => name === scope || name.startsWith(`${scope}/`))
    .sort(
      (a, b) =>
        b.scope.length - a.scope.length ||
        Number(namesExactly(b.key, registry)) - Number(namesExactly(a.key, registry)),
    );
  for (const { entry } of matches) {
    const credential = credentialOfEntry(entry);
    if (credential) return { credential, source: path };
  }
  const [closest] = matches;
  searched.push(`${path} (${closest ? unusableEntry(closest.entry, registry) : `no entry for ${registry}`})`);
  return undefined;
}

/**
 * The docker-credential-helpers protocol: `docker-credential-NAME get` with the server URL on stdin,
 * JSON `{ServerURL, Username, Secret}` on stdout. A failing helper is noted without its output, which
 * may contain secrets.
 */
async function fromHelper(
  name: string,
  registry: string,
  options: Lookup,
  searched: string[],
): Promise<{ credential: Credential; source: string } | undefined> {
  const program = `docker-credential-${name}`;
  if (options.asked.has(name)) return undefined;
  options.asked.add(name);
  const serverUrl = registry === DOCKER_HUB ? DOCKER_HUB_KEY : registry;
  const run = () => runHelper(program, serverUrl, options.env, options.helperTimeoutMs ?? HELPER_TIMEOUT_MS);
  const result = await (options.aroundHelper ? options.aroundHelper(run) : run());
  if (result.why) {
    searched.push(`${program} (${result.why})`);
    return undefined;
  }
  const reply = result.reply as { Username?: unknown; Secret?: unknown } | null;
  if (typeof reply?.Username === 'string' && typeof reply.Secret === 'string' && reply.Secret !== '') {
    const credential: Credential =
      reply.Username === '<token>'
        ? { kind: 'identity-token', token: reply.Secret }
        : { kind: 'basic', username: reply.Username, password: reply.Secret };
    return { credential, source: program };
  }
  searched.push(`${program} (unusable reply)`);
  return undefined;
}

/**
 * Runs `program get` and settles with its JSON reply once it has exited — without waiting for stdout to
 * close, which a background child of the helper may hold open — or with why not. At the timeout the
 * helper is sent SIGTERM, then SIGKILL a second later, and the lookup goes on at once.
 */
function runHelper(
  program: string,
  input: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ reply?: unknown; why?: string }> {
  const failed = { why: 'no credentials or it failed' };
  return new Promise((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    trackHelper(child);
    let stdout = '';
    let exited = false;
    const settle = (result: { reply?: unknown; why?: string }) => {
      clearTimeout(timer);
      child.stdout.destroy();
      if (!exited) {
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 1000).unref();
      }
      resolve(result);
    };
    const settleIfAnswered = () => {
      const reply = parseJson(stdout);
      if (reply !== undefined) settle({ reply });
    };
    const timer = setTimeout(() => settle({ why: 'timed out' }), timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) =>
      settle(error.code === 'ENOENT' ? { why: 'not found on PATH' } : failed),
    );
    child.on('exit', (code) => {
      exited = true;
      if (code === 0) settleIfAnswered();
      else settle(failed);
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.length > MAX_HELPER_OUTPUT) settle(failed);
      else if (exited) settleIfAnswered();
    });
    // After 'exit': a reply that parsed, or a failure, has settled already.
    child.on('close', () => settle({ why: 'unusable reply' }));
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
