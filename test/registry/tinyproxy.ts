import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptsConnections, freePort, spawnTracked, stopChild } from './harness.js';

/**
 * tinyproxy (Debian's package, which CI installs) on a loopback port: the forward proxy a company puts
 * between its machines and the registries, for the proxy tests.
 */
const TINYPROXY = ['/usr/bin/tinyproxy', '/usr/sbin/tinyproxy'].find((path) => existsSync(path));

/** Why the proxy tests are skipped, or undefined. */
export const tinyproxyUnavailable = TINYPROXY
  ? undefined
  : 'tinyproxy is not installed (apt-get install tinyproxy)';

export interface TestProxy {
  /** `http://127.0.0.1:PORT` (with no login in it). */
  url: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  /** The request lines the proxy received so far (`CONNECT host:port HTTP/1.1`), from its log. */
  requests(): string[];
  stop(): Promise<void>;
}

export async function startTinyproxy(
  options: {
    login?: { username: string; password: string };
    /** The only ports CONNECT may reach (Squid and Debian's tinyproxy allow 443 only); default any. */
    connectPorts?: number[];
    /** Hosts the proxy refuses (403 and its own HTML page), as a company proxy blocks sites. */
    blockedHosts?: string[];
  } = {},
) {
  if (!TINYPROXY) throw new Error(tinyproxyUnavailable);
  const dir = mkdtempSync(join(tmpdir(), 'imgscope-tinyproxy-'));
  const log = join(dir, 'tinyproxy.log');
  const port = await freePort();
  const config = join(dir, 'tinyproxy.conf');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 60',
      'MaxClients 50',
      `LogFile "${log}"`,
      'LogLevel Connect',
      ...(options.login ? [`BasicAuth ${options.login.username} ${options.login.password}`] : []),
      ...(options.connectPorts ?? []).map((port) => `ConnectPort ${port}`),
      ...(options.blockedHosts ? [`Filter "${join(dir, 'blocked')}"`, 'FilterDefaultDeny No'] : []),
      '',
    ].join('\n'),
  );
  if (options.blockedHosts) writeFileSync(join(dir, 'blocked'), `${options.blockedHosts.join('\n')}\n`);
  const child = spawnTracked(TINYPROXY, ['-d', '-c', config]);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const host = `127.0.0.1:${port}`;
  if (!(await acceptsConnections('127.0.0.1', port, child))) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`tinyproxy did not start on ${host}: ${stderr.trim()}`);
  }
  const proxy: TestProxy = {
    url: `http://${host}`,
    host,
    requests: () =>
      (existsSync(log) ? readFileSync(log, 'utf8') : '')
        .split('\n')
        .map((line) => /Request \(file descriptor \d+\): (.*)$/.exec(line)?.[1])
        .filter((line): line is string => line !== undefined),
    stop: async () => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return proxy;
}
