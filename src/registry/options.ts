import { isLoopbackHost } from './reference.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from './transport/http.js';
import { DEFAULT_RETRIES, type RetryOptions } from './transport/retry.js';

export interface RegistryOptions {
  /** Hosts (`host` or `host:port`) reached over plain HTTP; loopback hosts always are. */
  insecureRegistries?: string[];
  /** Explicit credentials (`--username` + `--password-stdin`); they win over every store. */
  credentials?: { username: string; password: string };
  /** Receives one line per HTTP exchange (`--debug`), credentials and tokens redacted. */
  debug?: (line: string) => void;
  timeouts?: Partial<Timeouts>;
  retries?: Partial<RetryOptions>;
  /** Overrides `$DOCKER_CONFIG/config.json` / `~/.docker/config.json`. */
  dockerConfigPath?: string;
  /** Environment to read `IMGSCOPE_*`, `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `PATH`… from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedRegistryOptions {
  insecureRegistries: string[];
  credentials: { username: string; password: string } | undefined;
  debug: ((line: string) => void) | undefined;
  timeouts: Timeouts;
  retries: RetryOptions;
  dockerConfigPath: string | undefined;
  env: NodeJS.ProcessEnv;
}

export function resolveOptions(options: RegistryOptions = {}): ResolvedRegistryOptions {
  const env = options.env ?? process.env;
  const fromEnv = (env.IMGSCOPE_INSECURE_REGISTRIES ?? '')
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean);
  return {
    insecureRegistries: [...(options.insecureRegistries ?? []), ...fromEnv],
    credentials: options.credentials,
    debug: options.debug,
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    retries: { ...DEFAULT_RETRIES, ...options.retries },
    dockerConfigPath: options.dockerConfigPath,
    env,
  };
}

/** Loopback, or named by the user (exactly, or by host name for any port). */
export function isInsecureRegistry(
  registry: string,
  options: Pick<ResolvedRegistryOptions, 'insecureRegistries'>,
) {
  if (isLoopbackHost(registry)) return true;
  const hostname = registry.replace(/:\d+$/, '');
  return options.insecureRegistries.some((entry) => entry === registry || entry === hostname);
}
