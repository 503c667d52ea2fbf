import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared.js';

/** Whether `pid` has ended (gone, or a zombie its new parent has not reaped yet). */
function ended(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function until(predicate: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`never saw ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(process.platform !== 'linux')('a quit signal while a credential helper runs', () => {
  let server: Server;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imgscope-helper-signal-'));
    // A registry that asks for credentials, so that the helper is asked for them.
    server = createServer((_request, response) => {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="test"' });
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A helper that does not answer (a keychain waiting to be unlocked), and says who it is; with
    // IGNORE_SIGNALS set, it ignores the quit signals (as sleep inherits).
    const helper = join(dir, 'docker-credential-stuck');
    writeFileSync(
      helper,
      `#!/bin/sh\n[ -n "$IGNORE_SIGNALS" ] && trap '' TERM HUP\necho $$ > "${join(dir, 'helper.pid')}.tmp"\nmv "${join(dir, 'helper.pid')}.tmp" "${join(dir, 'helper.pid')}"\nexec sleep 120\n`,
    );
    chmodSync(helper, 0o755);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [host]: 'stuck' } }));
    writeFileSync(join(dir, 'host'), host);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['SIGTERM', ''],
    ['SIGHUP', ''],
    ['SIGTERM', 'a helper that ignores it'],
  ] as const)('(%s sent to imgscope alone) ends the helper too %s', async (signal, ignoring) => {
    const pidFile = join(dir, 'helper.pid');
    rmSync(pidFile, { force: true });
    const host = readFileSync(join(dir, 'host'), 'utf8');
    const child = spawn(
      process.execPath,
      [join(projectRoot, 'bin', 'imgscope'), 'check', `${host}/demo/app:1`],
      {
        stdio: 'ignore',
        env: {
          ...process.env,
          DOCKER_CONFIG: dir,
          PATH: `${dir}:${process.env.PATH ?? ''}`,
          IGNORE_SIGNALS: ignoring ? '1' : '',
        },
      },
    );
    const closed = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, received) => resolve(received)),
    );
    let helper: number | undefined;
    try {
      await until(() => existsSync(pidFile), 'the helper started');
      helper = Number(readFileSync(pidFile, 'utf8'));
      child.kill(signal);
      expect(await closed).toBe(signal);
      await until(() => ended(helper!), 'the helper ended');
    } finally {
      child.kill('SIGKILL');
      if (helper !== undefined && !ended(helper)) process.kill(helper, 'SIGKILL');
    }
  });
});
