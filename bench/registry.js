// A real registry for the benchmark: CNCF Distribution (`/usr/bin/docker-registry`, Debian's package, as
// in test/registry/harness.ts) on a free loopback port, storage in a temp dir; images pushed by skopeo from
// OCI layouts. Stopped (and its storage removed) by stop(), or when this process exits.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REGISTRY_BINARY as BINARY, missingTools } from './tools.js';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startRegistry() {
  const missing = missingTools(['registry', 'skopeo', 'getconf']);
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'imgscope-bench-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn(BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Distribution logs every 404 of a push's HEAD probes as an error: keep the tail for failures only.
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const cleanUp = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanUp);
  const host = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) {
      cleanUp();
      throw new Error(`docker-registry did not start on ${host}: ${stderr.trim().split('\n').pop()}`);
    }
    await sleep(50);
  }
  const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  return {
    host,
    /** CPU seconds (user + system, all threads) the registry process has used so far. */
    cpuSeconds() {
      // /proc/PID/stat: the command is in parentheses and may hold spaces; utime and stime are fields
      // 14 and 15, the 12th and 13th after it.
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    },
    /** Pushes the `latest` image of an OCI layout; returns its reference. */
    push(layout, repository) {
      const reference = `${host}/${repository}:latest`;
      execFileSync(
        'skopeo',
        ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:latest`, `docker://${reference}`],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      return reference;
    },
    async stop() {
      process.off('exit', cleanUp);
      child.kill('SIGTERM');
      await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(3000)]);
      cleanUp();
    },
  };
}
