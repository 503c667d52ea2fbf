import { ImgscopeError } from '../errors.js';
import { checkInsecureEntry } from './insecure-entry.js';
import { isLoopbackHost } from './reference.js';
import { TIMEOUT_VARIABLES } from './timeout-variables.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from './transport/http.js';
import { type ProxySettings, proxySettingsFromEnv } from './transport/proxy.js';
import { DEFAULT_RETRIES, type RegistryWait, type RetryOptions } from './transport/retry.js';

export interface RegistryOptions {
  /** Hosts (`host` or `host:port`) reached over plain HTTP; loopback hosts always are. */
  insecureRegistries?: string[];
  /** Explicit credentials (`--username` + `--password-stdin`); they win over every store. */
  credentials?: { username: string; password: string };
  /** Receives one line per HTTP exchange (`--debug`), credentials and tokens redacted. */
  debug?: (line: string) => void;
  /**
   * Receives what the user should know but is no error: a long `Retry-After` wait (with the wait itself,
   * for a screen to show), an unreadable certs.d folder.
   */
  notice?: (line: string, wait?: RegistryWait) => void;
  /**
   * Runs each credential helper (`docker-credential-NAME`). A helper may prompt on the terminal (a
   * keychain's passphrase): the explorer gives the terminal back, cooked, while one runs.
   */
  aroundCredentialHelper?: <T>(run: () => Promise<T>) => Promise<T>;
  /** Wins over `IMGSCOPE_TIMEOUT_*_MS` in `env`, which win over the defaults. */
  timeouts?: Partial<Timeouts>;
  retries?: Partial<RetryOptions>;
  /** Overrides `$DOCKER_CONFIG/config.json` / `~/.docker/config.json`. */
  dockerConfigPath?: string;
  /**
   * Blobs at least this big are downloaded over a connection of their own, read in 1 MiB pieces
   * (transport/bulk-get.ts); smaller ones share the keep-alive pool. Default 1 MiB.
   */
  bulkDownloadBytes?: number;
  /**
   * Environment to read `IMGSCOPE_*`, `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `PATH`, `HTTPS_PROXY`,
   * `HTTP_PROXY`, `NO_PROXY`… from; default process.env.
   */
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedRegistryOptions {
  insecureRegistries: string[];
  credentials: { username: string; password: string } | undefined;
  debug: ((line: string) => void) | undefined;
  notice: ((line: string, wait?: RegistryWait) => void) | undefined;
  aroundCredentialHelper: (<T>(run: () => Promise<T>) => Promise<T>) | undefined;
  timeouts: Timeouts;
  retries: RetryOptions;
  dockerConfigPath: string | undefined;
  bulkDownloadBytes: number;
  proxies: ProxySettings;
  env: NodeJS.ProcessEnv;
}

/** Below this, a new connection per blob costs more (handshakes on a remote registry) than it saves. */
export const DEFAULT_BULK_DOWNLOAD_BYTES = 1024 * 1024;

export function resolveOptions(options: RegistryOptions = {}): ResolvedRegistryOptions {
  const env = options.env ?? process.env;
  const fromEnv = (env.IMGSCOPE_INSECURE_REGISTRIES ?? '')
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean);
  for (const host of options.insecureRegistries ?? []) checkInsecureEntry(host, '--insecure-registry');
  for (const host of fromEnv) checkInsecureEntry(host, 'IMGSCOPE_INSECURE_REGISTRIES');
  return {
    insecureRegistries: [...(options.insecureRegistries ?? []), ...fromEnv],
    credentials: options.credentials,
    debug: options.debug,
    notice: options.notice,
    aroundCredentialHelper: options.aroundCredentialHelper,
    timeouts: { ...DEFAULT_TIMEOUTS, ...timeoutsFromEnv(env), ...options.timeouts },
    retries: { ...DEFAULT_RETRIES, ...options.retries },
    dockerConfigPath: options.dockerConfigPath,
    bulkDownloadBytes: options.bulkDownloadBytes ?? DEFAULT_BULK_DOWNLOAD_BYTES,
    proxies: proxySettingsFromEnv(env),
    env,
  };
}

/** The longest delay setTimeout honours; a longer one is cut to 1 ms, so every request would time out. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function timeoutsFromEnv(env: NodeJS.ProcessEnv): Partial<Timeouts> {
  const timeouts: Partial<Timeouts> = {};
  for (const [key, name] of Object.entries(TIMEOUT_VARIABLES) as [keyof Timeouts, string][]) {
    const value = env[name]?.trim();
    if (!value) continue;
    // Decimal digits only: Number() would also take 0x10, 1e3 and 30000.0.
    if (!/^[0-9]+$/.test(value)) {
      throw new ImgscopeError(
        'BAD_INPUT',
        `${name}="${value.slice(0, 40)}" is not a number of milliseconds`,
        {
          hint: 'set it to a whole number of milliseconds in decimal digits, such as 30000, or unset it',
        },
      );
    }
    const ms = Number(value);
    if (ms === 0) {
      // Many tools read 0 as "no timeout"; here it would fail every request at once.
      throw new ImgscopeError('BAD_INPUT', `${name}="${value.slice(0, 40)}" is 0 ms`, {
        hint: `0 does not turn the timeout off: set it to 1 to ${MAX_TIMER_MS} ms, or unset it for the default`,
      });
    }
    if (ms > MAX_TIMER_MS) {
      throw new ImgscopeError(
        'BAD_INPUT',
        `${name}="${value.slice(0, 40)}" is more than ${MAX_TIMER_MS} ms`,
        {
          hint: `Node.js timers fire at once past ${MAX_TIMER_MS} ms (24.8 days): set it to that or less, or unset it`,
        },
      );
    }
    timeouts[key] = ms;
  }
  return timeouts;
}

/** Loopback, or named by the user (exactly, or by host name for any port). */
export function isInsecureRegistry(
  registry: string,
  options: Pick<ResolvedRegistryOptions, 'insecureRegistries'>,
) {
  return isLoopbackHost(registry) || isMarkedInsecure(registry, options);
}

/**
 * Named by the user with --insecure-registry or IMGSCOPE_INSECURE_REGISTRIES (exactly, or by host name
 * for any port). Only this allows plain HTTP to carry credentials off this machine: a loopback registry
 * (a tunnel, a proxy) must not send them to a plain-HTTP token service elsewhere.
 */
export function isMarkedInsecure(
  registry: string,
  options: Pick<ResolvedRegistryOptions, 'insecureRegistries'>,
): boolean {
  // Host names are case-insensitive: `--insecure-registry lab.internal` covers `Lab.Internal:5000`.
  const name = registry.toLowerCase();
  const hostname = name.replace(/:\d+$/, '');
  return options.insecureRegistries.some((entry) => {
    const lower = entry.toLowerCase();
    return lower === name || lower === hostname;
  });
}
