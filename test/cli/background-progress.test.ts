import { readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushLayout } from '../helpers/push-layout.js';
import { fixture, projectRoot } from '../helpers/shared.js';
import { tmuxServer, tmuxTestsMissing } from '../helpers/tmux.js';
import { registryUnavailable, startRegistry, type TestRegistry } from '../registry/harness.js';

const DEMO = fixture('demo');
const missing = tmuxTestsMissing(registryUnavailable);
if (missing) console.warn(`skipping the background progress test: ${missing}`);

const DEADLINE_MS = 20_000;
const SOCKET = `imgscope-check-background-${process.pid}`;
const tmux = tmuxServer(SOCKET);

/** Polls `probe` until it returns something truthy; fails with `last()` (the screen) past the deadline. */
async function until<T>(
  probe: () => T | null | undefined | false,
  what: string,
  last: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`never saw ${what}\n${last()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Passes every request through to the registry, except that the GETs of layer blobs from the `holdFrom`th
 * on are held, unanswered, until `release()` lets the oldest go.
 */
class HoldingProxy {
  host = '';
  private server: Server | undefined;
  private layerGets = 0;
  private readonly held: (() => void)[] = [];

  constructor(
    private readonly upstream: string,
    private readonly layers: Set<string>,
    private readonly holdFrom: number,
  ) {}

  get heldCount(): number {
    return this.held.length;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  release(): void {
    this.held.shift()?.();
  }

  async stop(): Promise<void> {
    for (const pass of this.held.splice(0)) pass();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '')?.[1];
    const pass = () => {
      const forwarded = request(
        `http://${this.upstream}${req.url}`,
        { method: req.method, headers: { ...req.headers, host: this.upstream } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    };
    if (req.method === 'GET' && digest && this.layers.has(digest) && ++this.layerGets >= this.holdFrom) {
      this.held.push(pass);
    } else {
      pass();
    }
  }
}

describe.skipIf(missing)('imgscope check IMAGE & in a real terminal (tmux)', () => {
  let registry: TestRegistry;
  let reference: string;
  let layers: string[];

  beforeAll(async () => {
    registry = await startRegistry();
    reference = 'fixtures/demo:1.0';
    layers = await pushLayout(DEMO, `${registry.host}/${reference}`);
    // An idle session, so the server outlives the test's own.
    tmux('new-session', '-d', '-s', 'keep-alive', 'exec sleep 86400');
  });
  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {
      // no server left
    }
    rmSync(join(`/tmp/tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
    await registry?.stop();
  });

  it('draws no progress line while in the background, and draws it after fg', async () => {
    // One layer at a time: the last two are held, so the check is still running at each step below.
    const proxy = new HoldingProxy(registry.host, new Set(layers), layers.length - 1);
    await proxy.start();
    const imgscope = [process.execPath, join(projectRoot, 'bin', 'imgscope')]
      .concat(['check', '--no-cache', '--concurrency', '1', `${proxy.host}/${reference}`])
      .map((word) => `'${word.replaceAll("'", `'\\''`)}'`)
      .join(' ');
    // As an interactive shell runs `imgscope check IMAGE &`: a job of its own, the shell in the foreground.
    const script = `set -m; ${imgscope} >/dev/null & pid=$!; echo "[started $pid]"; read -r; echo "[the shell read a line]"; fg >/dev/null; echo "[resumed imgscope exited with $?]"; exec sleep 86400`;
    tmux(
      'new-session',
      '-d',
      '-s',
      'check',
      '-x',
      '120',
      '-y',
      '30',
      '-c',
      projectRoot,
      '-e',
      'HOME=/nonexistent',
      '-e',
      'DOCKER_CONFIG=/nonexistent',
      `exec bash -c '${script.replaceAll("'", `'\\''`)}'`,
    );
    const screen = () => tmux('capture-pane', '-p', '-t', 'check');
    try {
      const pid = Number(
        (await until(() => /\[started (\d+)\]/.exec(screen()), 'imgscope started', screen))[1],
      );
      // The first layers done in the background, each one a progress line in the foreground.
      await until(() => proxy.heldCount >= 1, 'the next to last layer requested', screen);
      term('Enter');
      const background = await until(
        () => screen().includes('[the shell read a line]') && screen(),
        'the shell reading its line',
        screen,
      );
      expect(background).not.toContain('analysing layers');
      // fg: the terminal's foreground group is imgscope's.
      await until(() => foreground(pid), 'imgscope in the foreground', screen);
      proxy.release();
      const drawn = await until(
        () => /analysing layers \d\/\d/.test(screen()) && screen(),
        'the progress line after fg',
        screen,
      );
      expect(drawn).toMatch(/analysing layers [1-8]\/8/);
      await until(() => proxy.heldCount >= 1, 'the last layer requested', screen);
      proxy.release();
      const after = await until(
        () => /\[resumed imgscope exited with (\d+)\]/.exec(screen()),
        'imgscope ending',
        screen,
      );
      expect(after[1]).toBe('0');
    } finally {
      tmux('kill-session', '-t', 'check');
      await proxy.stop();
    }

    function term(...keys: string[]): void {
      tmux('send-keys', '-t', 'check', ...keys);
    }
  });
});

/** Whether `pid`'s process group is its terminal's foreground group (from /proc: pgrp, then tpgid). */
function foreground(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[2]) === Number(fields[5]);
}
