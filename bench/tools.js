// The programs the benchmark runs beside imgscope, looked up before it spends minutes generating images.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** CNCF Distribution, as test/registry/harness.ts finds it: Debian's package, or IMGSCOPE_TEST_REGISTRY. */
export const REGISTRY_BINARY = process.env.IMGSCOPE_TEST_REGISTRY ?? '/usr/bin/docker-registry';

/** Each program with the Debian package that has it. */
const TOOLS = {
  registry: { command: REGISTRY_BINARY, package: 'docker-registry' },
  skopeo: { command: 'skopeo', package: 'skopeo' },
  tar: { command: 'tar', package: 'tar' },
  gzip: { command: 'gzip', package: 'gzip' }, // tar -z runs it
  zstd: { command: 'zstd', package: 'zstd' },
  getconf: { command: 'getconf', package: 'libc-bin' },
};

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function found(command, env) {
  if (command.includes('/')) return executable(command);
  return (env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, command)));
}

/**
 * Of the named tools (all by default), those not found, as one line saying what to install; undefined when
 * every one is there.
 */
export function missingTools(names = Object.keys(TOOLS), env = process.env) {
  const missing = names.map((name) => TOOLS[name]).filter((tool) => !found(tool.command, env));
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((tool) => tool.package))].join(' ');
  return `${missing.map((tool) => tool.command).join(', ')} not found (Debian: apt-get install ${packages})`;
}
