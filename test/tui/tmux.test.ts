/**
 * The TUI in a real terminal: the built CLI (`node bin/imgscope IMAGE`) runs inside tmux, keys go in with
 * `send-keys`, and the assertions read the screen with `capture-pane` — what a person would see. Every
 * wait polls the screen against a deadline; no fixed sleeps.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushLayout } from '../helpers/push-layout.js';
import { fixture, projectRoot } from '../helpers/shared.js';
import { tmuxServer, tmuxTestsMissing } from '../helpers/tmux.js';
import { startFaultProxy } from '../registry/fault-proxy.js';
import { registryUnavailable, startRegistry, TEST_USER, type TestRegistry } from '../registry/harness.js';

const DEMO = fixture('demo');
const missing = tmuxTestsMissing();
if (missing) console.warn(`skipping the TUI terminal tests: ${missing}`);

/** A private tmux server, so the tests neither see nor disturb anyone's sessions. */
const SOCKET = `imgscope-tui-test-${process.pid}`;
const tmux = tmuxServer(SOCKET);
const COLUMNS = 100;
const ROWS = 30;
const DEADLINE_MS = 20_000;
const EXIT_LINE = /\[imgscope exited with (\d+)\]/;
/** Run after imgscope: what the shell would read next, i.e. keys imgscope left in the terminal. */
const LEFTOVER = `bash -c 'read -r -s -t 1 -n 100 left; echo "[shell read: $left]"'; `;
const LEFTOVER_LINE = /\[shell read: (.*)\]/;
/** Run after imgscope: the terminal's local modes (echo, icanon… or -echo, -icanon when left raw). */
const ECHO_CHECK = `echo "[modes: $(stty -a | tr -s '; ' '\\n\\n' | grep -xE -- '-?(echo|icanon)' | tr '\\n' ' ')]"; `;
const ECHO_LINE = /\[modes: (.*)\]/;
/**
 * Run after a SIGSTOP: the cooked modes an interactive shell restores (`stty sane`), then a line read.
 * READING_LINE says the modes are set: an Enter sent before, while the terminal was still raw as the
 * stopped imgscope left it, arrived as a bare CR that `read` never took for the end of a line.
 */
const READING_LINE = '[reading a line]';
const COOKED_THEN_READ = `stty sane; echo "${READING_LINE}"; read -r; `;

let sessions = 0;

/** One imgscope in its own tmux session. */
class Terminal {
  readonly name = `s${++sessions}`;

  /** `shell.after` runs in the pane's shell once imgscope has ended; `surviveQuitKeys` keeps that
   * shell alive through a Ctrl+C or Ctrl+\\ (as an interactive shell is), to report how imgscope ended;
   * `jobControl` runs imgscope as a job of its own (bash's `set -m`, as in an interactive shell), so
   * Ctrl+Z stops it and the shell goes on with `after`; `surviveHangUp` keeps it alive when the terminal
   * closes; `term` is the TERM imgscope runs with (tmux sets its own for the pane, whatever the
   * environment says); `stdin` is piped into imgscope, a line; `background` starts imgscope as
   * `imgscope IMAGE &` (with `jobControl`), and the shell goes on with `after` at once. `after` reads
   * imgscope's exit status in `$status` (not with `background`). */
  constructor(
    args: string[],
    env: Record<string, string> = {},
    shell: {
      after?: string;
      surviveQuitKeys?: boolean;
      surviveHangUp?: boolean;
      jobControl?: boolean;
      term?: string;
      stdin?: string;
      background?: boolean;
    } = {},
  ) {
    const imgscope = [process.execPath, join(projectRoot, 'bin', 'imgscope'), ...args]
      .map((word) => `'${word.replaceAll("'", `'\\''`)}'`)
      .join(' ');
    // The shell stays after imgscope ends, so its status stays readable (tmux's remain-on-exit loses the
    // last lines a process writes before it dies).
    const traps =
      (shell.surviveQuitKeys ? 'trap : INT QUIT; ulimit -c 0; ' : '') +
      (shell.surviveHangUp ? "trap '' HUP; " : '');
    const term = shell.term ? `TERM='${shell.term}' ` : '';
    // tmux gives the pane its own PATH, whatever -e says: set on the command line instead.
    const path = env.PATH ? `PATH='${env.PATH}' ` : '';
    const input = shell.stdin === undefined ? '' : `printf '%s\\n' '${shell.stdin}' | `;
    const run = shell.background
      ? `${path}${imgscope} & `
      : `${path}${imgscope}; status=$?; echo "[imgscope exited with $status]"; `;
    const script = `${traps}${input}${term}${run}${shell.after ?? ''}exec sleep 86400`;
    const command = shell.jobControl
      ? `exec bash -c '${`set -m; ${script}`.replaceAll("'", `'\\''`)}'`
      : script;
    const environment = Object.entries({
      HOME: '/nonexistent',
      DOCKER_CONFIG: '/nonexistent',
      ...env,
    }).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
    tmux(
      'new-session',
      '-d',
      '-s',
      this.name,
      '-x',
      String(COLUMNS),
      '-y',
      String(ROWS),
      '-c',
      projectRoot,
      ...environment,
      command,
    );
  }

  /** The screen as text; with `styles`, with the escape sequences of its colours and attributes. */
  screen(styles = false): string {
    return tmux('capture-pane', '-p', ...(styles ? ['-e'] : []), '-t', this.name);
  }

  keys(...keys: string[]): void {
    tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Types text literally (no key names). */
  type(text: string): void {
    tmux('send-keys', '-t', this.name, '-l', text);
  }

  /** Polls the screen until `predicate` holds; fails with the last screen when the deadline passes. */
  async waitFor(predicate: (screen: string) => boolean, what: string): Promise<string> {
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
      const screen = this.screen();
      if (predicate(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the screen never showed ${what}; it shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Resolves with the exit status once imgscope has ended: the shell around it prints it. */
  async exitStatus(): Promise<number> {
    const screen = await this.waitFor((s) => EXIT_LINE.test(s), 'imgscope exit');
    return Number(EXIT_LINE.exec(screen)![1]);
  }

  /** tmux's view of the pane: `alternate_on`, `cursor_flag`… (1 or 0). */
  flag(name: string): string {
    return tmux('display-message', '-p', '-t', this.name, `#{${name}}`).trim();
  }

  /** The terminal's modes as `stty -a` prints them (`-icanon -echo` while raw). */
  modes(): string {
    const tty = tmux('display-message', '-p', '-t', this.name, '#{pane_tty}').trim();
    return execFileSync('stty', ['-a', '-F', tty], { encoding: 'utf8' });
  }

  /** The pid of imgscope: the child of the pane's shell. */
  pid(): number {
    const shell = tmux('display-message', '-p', '-t', this.name, '#{pane_pid}').trim();
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', shell], { encoding: 'utf8' });
    return Number(children.trim().split(/\s+/)[0]);
  }

  close(): void {
    tmux('kill-session', '-t', this.name);
  }
}

/** A process's state as ps shows it: S running or sleeping, T stopped. */
const processState = (pid: number) =>
  execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();

/** Lines of the Files pane: right of the first column separator. */
function filesPane(screen: string): string[] {
  return screen
    .split('\n')
    .slice(1)
    .map((line) => {
      const at = line.indexOf('│');
      return at < 0 ? '' : line.slice(at + 1);
    });
}

/** The Files row holding the cursor mark. */
const cursorRow = (screen: string) => filesPane(screen).find((line) => line.startsWith('›')) ?? '';
/** Index of the cursor among the tree rows. */
const cursorIndex = (screen: string) => treeRows(screen, true).findIndex((row) => row.startsWith('›'));
/** The tree's rows on screen, from the guides on (`├─ etc/`); with `marked`, the cursor mark kept in front. */
function treeRows(screen: string, marked = false): string[] {
  return filesPane(screen)
    .filter((line) => /[├└]─ /.test(line))
    .map(
      (line) =>
        (marked && line.startsWith('›') ? '›' : '') + line.slice(line.search(/ [│ ]*[├└]─ /) + 1).trimEnd(),
    );
}
/** Tree depth of a row, from its guides. */
const depth = (row: string) => row.replace(/^›/, '').search(/[├└]/) / 3;
/** The row count the Files title gives. */
const rowCount = (screen: string) => Number(/Files: .*\((\d+) rows\)/.exec(screen)?.[1] ?? Number.NaN);

/**
 * After a stop and `fg`: the keyboard is the explorer's again (raw: a key acts without Enter), and q ends
 * it with 0, which the shell's `after` script prints as `resumed` matches it.
 */
async function expectKeyboardBackThenQuit(term: Terminal, resumed: RegExp): Promise<void> {
  term.keys('Tab', 'j');
  await term.waitFor((s) => cursorIndex(s) === 1, 'the Files cursor moved by j');
  term.keys('q');
  const after = await term.waitFor((s) => resumed.test(s), 'imgscope ending after fg');
  expect(resumed.exec(after)![1]).toBe('0');
}

/**
 * Watches a job running in the background for `ms`: it must neither be stopped (T: SIGTTOU, SIGTTIN) nor
 * draw on the shell's screen. Being a check that nothing happens, it takes a spell of time; callers first
 * wait for the state it starts from.
 */
async function expectQuietInBackground(term: Terminal, pid: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    expect(processState(pid)).not.toMatch(/^T/);
    expect(term.flag('alternate_on')).toBe('0');
    expect(term.screen()).not.toContain('Layers (8)');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The final verdict in the header, in a frame drawn down to its footer (a capture can catch one half written). */
const finished = (screen: string) =>
  /verdict PASS\s*$/m.test(screen.split('\n')[0] ?? '') && /^Tab pane.*q quit/m.test(screen);

describe.skipIf(missing)('imgscope IMAGE in a real terminal (tmux)', () => {
  beforeAll(() => {
    if (!existsSync(join(projectRoot, 'dist', 'tui', 'index.js'))) {
      execFileSync(
        process.execPath,
        [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
        {
          cwd: projectRoot,
          stdio: 'inherit',
        },
      );
    }
    // One idle session for the whole suite: tmux's server exits with its last session, and a test that
    // started a session while the previous test's server was still exiting got 'server exited
    // unexpectedly'.
    tmux('new-session', '-d', '-s', 'keep-alive', 'exec sleep 86400');
  });
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // no server left: every session already ended
    }
    rmSync(join(`/tmp/tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
  });

  it('shows the layers and the verdict, moves through the tree, filters, and quits on q', async () => {
    // CI set, as on a build machine: a person at a terminal still gets the screen.
    const term = new Terminal([DEMO], { CI: 'true' });
    try {
      let screen = await term.waitFor(finished, 'the final verdict');
      expect(screen).toContain('oci:');
      expect(screen).toContain('Layers (8)');
      for (const command of ['ADD file:', 'RUN apt-get', 'COPY --from=n', 'RUN npm ci', 'COPY . .']) {
        expect(screen).toContain(command);
      }
      expect(screen).toMatch(/Verdict PASS/);
      expect(screen).toContain('Files: Layer 1 changes');

      // The tree moves: focus Files, step down, page down.
      term.keys('Tab');
      const start = await term.waitFor(
        (s) => s.includes('▶ Files') && cursorIndex(s) >= 0,
        'the Files cursor',
      );
      term.keys('j', 'j');
      await term.waitFor((s) => cursorIndex(s) === cursorIndex(start) + 2, 'the cursor two rows down');
      term.keys('PageDown');
      await term.waitFor((s) => treeRows(s)[0] !== treeRows(start)[0], 'the tree paged');

      // Folding: the first directory with something below it, then everything.
      term.keys('g');
      screen = await term.waitFor(
        (s) => treeRows(s)[0] === treeRows(start)[0] && cursorIndex(s) === 0,
        'the top',
      );
      const rows = treeRows(screen);
      const dir = rows.findIndex((row, i) => row.endsWith('/') && depth(rows[i + 1] ?? '') > depth(row));
      expect(dir).toBeGreaterThanOrEqual(0);
      const before = rowCount(screen);
      term.keys(...Array<string>(dir).fill('j'), 'Space');
      screen = await term.waitFor((s) => cursorRow(s).includes('▸ '), 'the directory folded');
      expect(rowCount(screen)).toBeLessThan(before);
      term.keys('C-Space');
      screen = await term.waitFor(
        (s) => treeRows(s).every((row) => depth(row) === 0),
        'every directory folded',
      );
      expect(treeRows(screen).some((row) => row.includes('▸ '))).toBe(true);
      term.keys('C-Space');
      await term.waitFor((s) => rowCount(s) === before, 'every directory unfolded');

      // The filter: typed into a prompt, applied as it is typed, kept with Enter.
      term.keys('/');
      await term.waitFor((s) => s.includes('filter: █'), 'the filter prompt');
      term.type('bash');
      screen = await term.waitFor((s) => s.includes('matching "bash"'), 'the filter applied');
      const leaves = treeRows(screen).filter((row) => !row.endsWith('/'));
      expect(leaves.length).toBeGreaterThan(0);
      for (const leaf of leaves) expect(leaf).toMatch(/bash/i);
      expect(rowCount(screen)).toBeLessThan(before);
      term.keys('Enter');
      await term.waitFor((s) => !s.includes('█') && s.includes('matching "bash"'), 'the filter kept');
      term.keys('Escape');
      await term.waitFor((s) => !s.includes('matching'), 'the filter cleared');

      // Another layer, its own changes; then the image up to it.
      term.keys('BTab');
      await term.waitFor((s) => s.includes('▶ Layers'), 'the Layers pane focused');
      term.keys('j', 'j', 'j', 'j', 'j');
      screen = await term.waitFor((s) => s.includes('Files: Layer 6 changes'), 'layer 6 selected');
      expect(screen).toMatch(/RUN npm ci/);
      term.keys('v');
      await term.waitFor((s) => s.includes('Files: Image up to layer 6'), 'the aggregated view');

      // The waste view lists the files written by several layers.
      term.keys('w');
      screen = await term.waitFor((s) => s.includes('inefficient files'), 'the waste view');
      expect(screen).toContain('/app/dist/bundle.js');

      term.keys('q');
      expect(await term.exitStatus()).toBe(0);
      // The terminal is restored: the alternate screen is gone with the TUI on it.
      expect(term.screen()).not.toContain('Layers (8)');
    } finally {
      term.close();
    }
  });

  it('reflows when the terminal is resized to 80×24, and quits on Ctrl+C', async () => {
    const term = new Terminal([DEMO]);
    try {
      await term.waitFor(finished, 'the final verdict');
      tmux('resize-window', '-t', term.name, '-x', '80', '-y', '24');
      // At 80 columns the Layers title drops its column legend: proof of a new frame, not tmux's reflow.
      // The keys line in the frame's second-to-last row (of 23) shows the frame was drawn to its end:
      // a capture can catch a frame half written.
      const screen = await term.waitFor(
        (s) =>
          s.includes('▶ Layers (8)  ') &&
          !s.includes('compressed → uncompressed') &&
          /^Tab pane.*q quit/.test(s.split('\n')[21] ?? ''),
        'the screen redrawn at 80 columns',
      );
      expect(screen.split('\n').every((line) => [...line].length <= 80)).toBe(true);
      expect(screen).toMatch(/^Tab pane.*q quit/m);
      const lines = screen.trimEnd().split('\n');
      expect(lines.length).toBeLessThanOrEqual(24);
      expect(screen).toContain('Layers (8)');
      // The commands keep room enough to tell the layers apart (the compressed size gives way).
      expect(screen).toContain('RUN apt-get updat');
      expect(screen).toContain('COPY package.json');
      expect(screen).toContain('Files: Layer 1 changes');
      term.keys('C-c');
      expect(await term.exitStatus()).toBe(0);
    } finally {
      term.close();
    }
  });

  it.each([
    ['on Ctrl+Z', (term: Terminal) => term.keys('C-z')],
    // kill -TSTP: the same, for imgscope alone.
    ['on a SIGTSTP', (term: Terminal) => process.kill(term.pid(), 'SIGTSTP')],
  ])('gives the shell its terminal %s, and draws the whole screen again after fg', async (_, stop) => {
    const resumed = /\[resumed imgscope exited with (\d+)\]/;
    // The shell waits for Enter before fg, so the test sees the stop before the screen comes back.
    const term = new Terminal(
      [DEMO],
      {},
      {
        jobControl: true,
        after: `${ECHO_CHECK}read -r; fg >/dev/null; echo "[resumed imgscope exited with $?]"; `,
      },
    );
    try {
      const before = await term.waitFor(finished, 'the final verdict');
      stop(term);
      // Stopped (128 + SIGTSTP): the shell has its screen and a cooked terminal.
      const stopped = await term.waitFor((s) => ECHO_LINE.test(s), 'the shell running after the stop');
      expect(stopped).toContain('[imgscope exited with 148]');
      expect(stopped).not.toContain('Layers (8)');
      expect(term.flag('alternate_on')).toBe('0');
      expect(ECHO_LINE.exec(stopped)![1]).toMatch(/(^| )echo( |$)/);
      expect(ECHO_LINE.exec(stopped)![1]).toMatch(/(^| )icanon( |$)/);
      term.keys('Enter');
      // Continued by the shell's fg: a whole frame on a fresh alternate screen, which only a full redraw
      // puts there.
      const screen = await term.waitFor(
        (s) => finished(s) && term.flag('alternate_on') === '1' && !resumed.test(s),
        'the explorer drawn again after fg',
      );
      expect(screen).toBe(before);
      await expectKeyboardBackThenQuit(term, resumed);
    } finally {
      term.close();
    }
  });

  it('stays off the screen when continued in the background (bg), and draws it again on fg', async () => {
    const resumed = /\[resumed imgscope exited with (\d+)\]/;
    const term = new Terminal(
      [DEMO],
      {},
      {
        jobControl: true,
        // The shell sleeps before it reads: the line typed meanwhile waits in the terminal, where a job
        // still reading the keyboard in the background is stopped by it (SIGTTIN).
        after: `read -r; bg >/dev/null; echo "[in the background]"; sleep 1; read -r; echo "[the shell read a line]"; read -r; fg >/dev/null; echo "[resumed imgscope exited with $?]"; `,
      },
    );
    try {
      const before = await term.waitFor(finished, 'the final verdict');
      term.keys('C-z');
      await term.waitFor((s) => s.includes('[imgscope exited with 148]'), 'the shell running after the stop');
      term.keys('Enter');
      await term.waitFor((s) => s.includes('[in the background]'), 'the shell after bg');
      term.keys('Enter');
      await term.waitFor((s) => s.includes('[the shell read a line]'), 'the shell reading the line typed');
      // Running, not stopped by SIGTTOU or SIGTTIN, and the shell's screen left alone. Not only S: it wakes
      // every 100 ms to see whether it is in the foreground, and ps can catch it running (R) then.
      await expectQuietInBackground(term, term.pid(), 500);
      term.keys('Enter');
      const screen = await term.waitFor(
        (s) => finished(s) && term.flag('alternate_on') === '1' && !resumed.test(s),
        'the explorer drawn again after fg',
      );
      expect(screen).toBe(before);
      await expectKeyboardBackThenQuit(term, resumed);
    } finally {
      term.close();
    }
  });

  it('stops on a SIGTSTP sent while it runs in the background (bg), and draws the screen on fg', async () => {
    const resumed = /\[resumed imgscope exited with (\d+)\]/;
    const term = new Terminal(
      [DEMO],
      {},
      {
        jobControl: true,
        after: `read -r; bg >/dev/null; echo "[in the background]"; read -r; fg >/dev/null; echo "[resumed imgscope exited with $?]"; `,
      },
    );
    try {
      await term.waitFor(finished, 'the final verdict');
      term.keys('C-z');
      await term.waitFor((s) => s.includes('[imgscope exited with 148]'), 'the shell running after the stop');
      const pid = term.pid();
      term.keys('Enter');
      await term.waitFor((s) => s.includes('[in the background]'), 'the shell after bg');
      await term.waitFor(() => /^[SR]/.test(processState(pid)), 'imgscope running in the background');
      process.kill(pid, 'SIGTSTP');
      await term.waitFor(() => /^T/.test(processState(pid)), 'imgscope stopped by the SIGTSTP');
      term.keys('Enter');
      await term.waitFor(
        (s) => finished(s) && term.flag('alternate_on') === '1' && !resumed.test(s),
        'the explorer drawn again after fg',
      );
      await expectKeyboardBackThenQuit(term, resumed);
    } finally {
      term.close();
    }
  });

  it('started in the background (&), loads without stopping or drawing, and takes the terminal on fg', async () => {
    const resumed = /\[resumed imgscope exited with (\d+)\]/;
    const started = /\[imgscope pid (\d+)\]/;
    const term = new Terminal(
      [DEMO],
      {},
      {
        jobControl: true,
        background: true,
        // The line typed while the shell sleeps waits in the terminal, where a job reading the keyboard in
        // the background is stopped by it (SIGTTIN).
        after: `echo "[imgscope pid $!]"; sleep 1; read -r; echo "[the shell read a line]"; read -r; fg >/dev/null; echo "[resumed imgscope exited with $?]"; `,
      },
    );
    try {
      const pid = Number(started.exec(await term.waitFor((s) => started.test(s), 'the job started'))![1]);
      term.keys('Enter');
      await term.waitFor((s) => s.includes('[the shell read a line]'), 'the shell reading the line typed');
      // The explorer loads meanwhile (Ink's import, the layers): raw mode or a frame would stop it (SIGTTOU).
      await expectQuietInBackground(term, pid, 4000);
      term.keys('Enter');
      await term.waitFor(
        (s) => finished(s) && term.flag('alternate_on') === '1' && !resumed.test(s),
        'the explorer drawn after fg',
      );
      await expectKeyboardBackThenQuit(term, resumed);
    } finally {
      term.close();
    }
  });

  it('draws at the new size after fg when the terminal was resized while it was stopped', async () => {
    const resumed = /\[resumed imgscope exited with (\d+)\]/;
    const term = new Terminal(
      [DEMO],
      {},
      { jobControl: true, after: `read -r; fg >/dev/null; echo "[resumed imgscope exited with $?]"; ` },
    );
    try {
      await term.waitFor(finished, 'the final verdict');
      term.keys('C-z');
      await term.waitFor((s) => s.includes('[imgscope exited with 148]'), 'the shell running after the stop');
      // The shell has the terminal: the resize's SIGWINCH goes to it, not to the stopped explorer.
      tmux('resize-window', '-t', term.name, '-x', '80', '-y', '24');
      term.keys('Enter');
      const screen = await term.waitFor(
        (s) => term.flag('alternate_on') === '1' && /^Tab pane.*q quit/.test(s.split('\n')[21] ?? ''),
        'the explorer drawn again at 80×24',
      );
      expect(screen.split('\n').every((line) => [...line].length <= 80)).toBe(true);
      expect(screen.split('\n')[0]).toMatch(/verdict PASS\s*$/);
      await expectKeyboardBackThenQuit(term, resumed);
    } finally {
      term.close();
    }
  });

  it('draws the whole screen again and takes the keyboard back when continued after a SIGSTOP', async () => {
    // SIGSTOP cannot be caught: the shell prints on the explorer's screen and takes the terminal as it is;
    // `stty sane` gives it the cooked modes an interactive shell restores, which imgscope must undo.
    const resumed = /\[resumed imgscope exited with (\d+)\]/;
    const term = new Terminal(
      [DEMO],
      {},
      {
        jobControl: true,
        after: `${COOKED_THEN_READ}fg >/dev/null; echo "[resumed imgscope exited with $?]"; `,
      },
    );
    try {
      const before = await term.waitFor(finished, 'the final verdict');
      process.kill(term.pid(), 'SIGSTOP');
      await term.waitFor((s) => s.includes(READING_LINE), 'the shell reading a line after the stop');
      term.keys('Enter');
      const screen = await term.waitFor(
        (s) => finished(s) && !s.includes('exited with') && !resumed.test(s),
        'the explorer drawn again after fg',
      );
      expect(screen).toBe(before);
      await expectKeyboardBackThenQuit(term, resumed);
    } finally {
      term.close();
    }
  });

  it('restores the terminal when killed with SIGTERM, and exits with 128 + 15', async () => {
    const term = new Terminal([DEMO]);
    try {
      await term.waitFor(finished, 'the final verdict');
      expect(term.flag('alternate_on')).toBe('1');
      process.kill(term.pid(), 'SIGTERM');
      expect(await term.exitStatus()).toBe(143);
      expect(term.flag('alternate_on')).toBe('0');
      expect(term.flag('cursor_flag')).toBe('1');
      expect(term.screen()).not.toContain('Layers (8)');
    } finally {
      term.close();
    }
  });

  it('quits on Ctrl+\\ as on q (exit 0), and restores the terminal on SIGQUIT with 128 + 3', async () => {
    const keyed = new Terminal([DEMO], {}, { after: ECHO_CHECK });
    const killed = new Terminal([DEMO]);
    try {
      await keyed.waitFor(finished, 'the final verdict');
      keyed.keys('C-\\');
      expect(await keyed.exitStatus()).toBe(0);
      const screen = await keyed.waitFor((s) => ECHO_LINE.test(s), 'the terminal modes');
      expect(screen).not.toContain('Layers (8)');
      expect(keyed.flag('alternate_on')).toBe('0');
      expect(ECHO_LINE.exec(screen)![1]).toMatch(/(^| )icanon( |$)/);

      await killed.waitFor(finished, 'the final verdict');
      process.kill(killed.pid(), 'SIGQUIT');
      expect(await killed.exitStatus()).toBe(131);
      expect(killed.flag('alternate_on')).toBe('0');
      expect(killed.flag('cursor_flag')).toBe('1');
    } finally {
      keyed.close();
      killed.close();
    }
  });

  it('ends as a hangup does (129) when its terminal is closed, not by a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imgscope-hangup-'));
    const statusFile = join(dir, 'status');
    const term = new Terminal(
      [DEMO],
      {},
      { surviveHangUp: true, after: `echo $status > ${statusFile}; exit; ` },
    );
    try {
      await term.waitFor(finished, 'the final verdict');
      term.close();
      const deadline = Date.now() + DEADLINE_MS;
      while (!existsSync(statusFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // It crashed (139, or 134) on exit: Node 20 aborts when it cannot reset a terminal that is gone.
      expect(readFileSync(statusFile, 'utf8').trim()).toBe('129');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('erases the filter once per Backspace when they arrive in one read (a held key)', async () => {
    const term = new Terminal([DEMO]);
    try {
      await term.waitFor(finished, 'the final verdict');
      term.keys('/');
      term.type('bashxx');
      await term.waitFor((s) => s.includes('matching "bashxx"'), 'the filter typed');
      term.keys('BSpace', 'BSpace');
      // The prompt shows the erased text at once; the rows it matches follow a frame later.
      await term.waitFor((s) => s.includes('filter: bash█'), 'two characters erased');
      await term.waitFor((s) => rowCount(s) > 0, 'the rows "bash" matches');
      term.keys('q');
      await term.waitFor((s) => s.includes('filter: bashq█'), 'q typed into the prompt');
      // Esc and q in one write would read as Alt+q.
      term.keys('Escape');
      await term.waitFor((s) => !s.includes('matching'), 'the filter cleared');
      term.keys('q');
      expect(await term.exitStatus()).toBe(0);
    } finally {
      term.close();
    }
  });

  it('draws in colour by default and without any colour under NO_COLOR, keeping the symbols', async () => {
    const colour = /\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;)[0-9;]*m/;
    const coloured = new Terminal([DEMO]);
    const plain = new Terminal([DEMO], { NO_COLOR: '1' });
    try {
      await coloured.waitFor(finished, 'the final verdict');
      await plain.waitFor(finished, 'the final verdict');
      expect(coloured.screen(true)).toMatch(colour);
      const styled = plain.screen(true);
      expect(styled).not.toMatch(colour);
      expect(plain.screen()).toMatch(/\+ lrwxrwxrwx/);
    } finally {
      coloured.close();
      plain.close();
    }
  });

  it('prints the check summary on a TERM=dumb terminal, which cannot move the cursor, and waits for no key', async () => {
    const term = new Terminal([DEMO], {}, { term: 'dumb' });
    try {
      expect(await term.exitStatus()).toBe(0);
      const screen = term.screen();
      expect(screen).toMatch(/^Verdict: PASS$/m);
      expect(screen).not.toContain('Tab pane');
    } finally {
      term.close();
    }
  });

  describe.skipIf(registryUnavailable)('from a registry', () => {
    let registry: TestRegistry;
    let reference: string;
    let layerDigests: string[];

    beforeAll(async () => {
      registry = await startRegistry();
      reference = `${registry.host}/fixtures/demo:1.0`;
      layerDigests = await pushLayout(DEMO, reference);
    });
    afterAll(() => registry?.stop());

    it('ends with 2 and the terminal as it was when the image cannot be opened', async () => {
      const term = new Terminal(['oci:/nonexistent/layout'], {}, { after: ECHO_CHECK });
      try {
        expect(await term.exitStatus()).toBe(2);
        const screen = await term.waitFor((s) => ECHO_LINE.test(s), 'the terminal modes');
        expect(screen).toContain('no such file or directory');
        expect(ECHO_LINE.exec(screen)![1]).toMatch(/(^| )echo( |$)/);
        expect(ECHO_LINE.exec(screen)![1]).toMatch(/(^| )icanon( |$)/);
      } finally {
        term.close();
      }
    });

    it('does not echo keys typed while the manifest loads, and gives them to the explorer', async () => {
      const proxy = await startFaultProxy(registry.url);
      proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'delay', ms: 2000 }, times: 2 });
      const term = new Terminal([`${proxy.host}/fixtures/demo:1.0`], {}, { after: LEFTOVER });
      try {
        await term.waitFor(() => proxy.requests.some((r) => r.fault === 'delay'), 'the manifest requested');
        term.type('jjw');
        // Typed before the screen showed: the third layer selected, then the waste view.
        const screen = await term.waitFor(
          (s) => finished(s) && s.includes('inefficient files'),
          'the waste view the keys asked for',
        );
        expect(screen).toContain('▶ Layers');
        term.keys('q');
        expect(await term.exitStatus()).toBe(0);
        const after = await term.waitFor((s) => LEFTOVER_LINE.test(s), 'what the shell read');
        expect(after).not.toContain('jjw'); // once echoed there by the terminal while loading
        expect(LEFTOVER_LINE.exec(after)![1]).toBe('');
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it.each([
      ['on Ctrl+Z', (term: Terminal) => term.keys('C-z')],
      ['on a SIGTSTP', (term: Terminal) => process.kill(term.pid(), 'SIGTSTP')],
    ])('stops a slow manifest load %s, and goes on with it after fg', async (_, stop) => {
      const proxy = await startFaultProxy(registry.url);
      proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'delay', ms: 2000 }, times: 2 });
      const resumed = /\[resumed imgscope exited with (\d+)\]/;
      const term = new Terminal(
        [`${proxy.host}/fixtures/demo:1.0`],
        {},
        {
          jobControl: true,
          after: `${ECHO_CHECK}fg >/dev/null; echo "[resumed imgscope exited with $?]"; `,
        },
      );
      try {
        await term.waitFor(() => proxy.requests.some((r) => r.fault === 'delay'), 'the manifest requested');
        term.type('w');
        stop(term);
        // Stopped and continued: the load goes on, and the key typed before the stop still counts.
        await term.waitFor((s) => finished(s) && s.includes('inefficient files'), 'the waste view after fg');
        term.keys('q');
        const after = await term.waitFor((s) => resumed.test(s), 'imgscope ending after fg');
        expect(resumed.exec(after)![1]).toBe('0');
        expect(after).toContain('[imgscope exited with 148]');
        expect(ECHO_LINE.exec(after)![1]).toMatch(/(^| )icanon( |$)/);
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it('goes on loading quietly when a slow load is continued in the background (bg), and draws on fg', async () => {
      const proxy = await startFaultProxy(registry.url);
      proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'delay', ms: 2000 }, times: 2 });
      const resumed = /\[resumed imgscope exited with (\d+)\]/;
      const term = new Terminal(
        [`${proxy.host}/fixtures/demo:1.0`],
        {},
        {
          jobControl: true,
          after: `read -r; bg >/dev/null; echo "[in the background]"; sleep 1; read -r; echo "[the shell read a line]"; read -r; fg >/dev/null; echo "[resumed imgscope exited with $?]"; `,
        },
      );
      try {
        await term.waitFor(() => proxy.requests.some((r) => r.fault === 'delay'), 'the manifest requested');
        term.type('w');
        term.keys('C-z');
        await term.waitFor(
          (s) => s.includes('[imgscope exited with 148]'),
          'the shell running after the stop',
        );
        const pid = term.pid();
        term.keys('Enter');
        await term.waitFor((s) => s.includes('[in the background]'), 'the shell after bg');
        term.keys('Enter');
        await term.waitFor((s) => s.includes('[the shell read a line]'), 'the shell reading the line typed');
        // The load goes on up to the layers, and the explorer would draw its first frame.
        await term.waitFor(
          () => proxy.requests.some((r) => r.path.includes('/blobs/')),
          'the layers requested',
        );
        await expectQuietInBackground(term, pid, 3000);
        term.keys('Enter');
        // The key typed before the stop still counts.
        await term.waitFor(
          (s) => finished(s) && s.includes('inefficient files') && !resumed.test(s),
          'the waste view after fg',
        );
        term.keys('q');
        const after = await term.waitFor((s) => resumed.test(s), 'imgscope ending after fg');
        expect(resumed.exec(after)![1]).toBe('0');
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it('draws at the new size when the terminal was resized while a slow manifest load was stopped', async () => {
      const proxy = await startFaultProxy(registry.url);
      proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'delay', ms: 2000 }, times: 2 });
      const term = new Terminal(
        [`${proxy.host}/fixtures/demo:1.0`],
        {},
        { jobControl: true, after: 'read -r; fg; ' },
      );
      try {
        await term.waitFor(() => proxy.requests.some((r) => r.fault === 'delay'), 'the manifest requested');
        term.keys('C-z');
        await term.waitFor(
          (s) => s.includes('[imgscope exited with 148]'),
          'the shell running after the stop',
        );
        tmux('resize-window', '-t', term.name, '-x', '80', '-y', '24');
        term.keys('Enter');
        const screen = await term.waitFor(
          (s) => finished(s) && /^Tab pane.*q quit/.test(s.split('\n')[21] ?? ''),
          'the explorer drawn at 80×24',
        );
        expect(screen.split('\n').every((line) => [...line].length <= 80)).toBe(true);
        term.keys('q');
        await term.waitFor((s) => !s.includes('Layers (8)'), 'imgscope ending');
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it('takes the keyboard back when continued after a SIGSTOP during a slow manifest load', async () => {
      const proxy = await startFaultProxy(registry.url);
      proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'delay', ms: 5000 }, times: 2 });
      // `stty sane`: the cooked modes an interactive shell restores after the stop, which imgscope must undo.
      const term = new Terminal(
        [`${proxy.host}/fixtures/demo:1.0`],
        {},
        { jobControl: true, after: `${COOKED_THEN_READ}fg >/dev/null; ` },
      );
      try {
        await term.waitFor(() => proxy.requests.some((r) => r.fault === 'delay'), 'the manifest requested');
        process.kill(term.pid(), 'SIGSTOP');
        await term.waitFor((s) => s.includes(READING_LINE), 'the shell reading a line after the stop');
        term.keys('Enter');
        // Raw again before typing: continued is not enough, the keys would be echoed if typed before the
        // SIGCONT handler has run.
        await term.waitFor(
          () => /(^|[\s;])-icanon([\s;]|$)/.test(term.modes()),
          'imgscope taking the keyboard raw',
        );
        term.type('jjw');
        // Raw again: the keys are neither echoed nor lost, and the explorer acts on them once it shows.
        await term.waitFor((s) => finished(s) && s.includes('inefficient files'), 'the waste view after fg');
        term.keys('q');
        const after = await term.waitFor((s) => !s.includes('Layers (8)'), 'imgscope ending');
        expect(after).not.toContain('jjw');
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it.each([
      ['Ctrl+C', 130, 'C-c'],
      ['Ctrl+\\', 131, 'C-\\'],
    ])(
      'aborts a slow manifest load on %s with %s, and gives the terminal back as it was',
      async (_, status, key) => {
        const proxy = await startFaultProxy(registry.url);
        proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'hang' }, times: 2 });
        const term = new Terminal(
          [`${proxy.host}/fixtures/demo:1.0`],
          {},
          {
            after: ECHO_CHECK,
            surviveQuitKeys: true,
          },
        );
        try {
          await term.waitFor(() => proxy.requests.some((r) => r.fault === 'hang'), 'the manifest requested');
          const pressed = Date.now();
          term.keys(key);
          expect(await term.exitStatus()).toBe(status);
          expect(Date.now() - pressed).toBeLessThan(5000);
          const screen = await term.waitFor((s) => ECHO_LINE.test(s), 'the terminal modes');
          expect(ECHO_LINE.exec(screen)![1]).toMatch(/(^| )echo( |$)/);
          expect(ECHO_LINE.exec(screen)![1]).toMatch(/(^| )icanon( |$)/);
        } finally {
          term.close();
          await proxy.stop();
        }
      },
    );

    it('stops a slow manifest load on q (exit 0), as it stops the indexing of an archive', async () => {
      const proxy = await startFaultProxy(registry.url);
      proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'hang' }, times: 2 });
      const term = new Terminal([`${proxy.host}/fixtures/demo:1.0`], {}, { after: ECHO_CHECK });
      try {
        await term.waitFor(() => proxy.requests.some((r) => r.fault === 'hang'), 'the manifest requested');
        const pressed = Date.now();
        term.keys('q');
        expect(await term.exitStatus()).toBe(0);
        // Well before the manifest deadline (30 s), which ended the load before.
        expect(Date.now() - pressed).toBeLessThan(5000);
        const screen = await term.waitFor((s) => ECHO_LINE.test(s), 'the terminal modes');
        expect(screen).not.toContain('Layers (8)');
        expect(ECHO_LINE.exec(screen)![1]).toMatch(/(^| )echo( |$)/);
        expect(ECHO_LINE.exec(screen)![1]).toMatch(/(^| )icanon( |$)/);
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it('stops a slow manifest load on a q typed ahead, before imgscope listened for it', async () => {
      const proxy = await startFaultProxy(registry.url);
      proxy.inject({ method: 'GET', path: /\/manifests\//, fault: { kind: 'hang' }, times: 2 });
      const term = new Terminal([`${proxy.host}/fixtures/demo:1.0`], {}, { after: ECHO_CHECK });
      try {
        // Typed as the shell starts imgscope: waiting in the terminal when the keyboard is first read.
        term.keys('q');
        // Not the manifest's deadline (30 s), after which the load failed with 2.
        expect(await term.exitStatus()).toBe(0);
        const screen = await term.waitFor((s) => ECHO_LINE.test(s), 'the terminal modes');
        expect(screen).not.toContain('Layers (8)');
        expect(ECHO_LINE.exec(screen)![1]).toMatch(/(^| )icanon( |$)/);
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it('gives the terminal, cooked, to a credential helper that prompts on it during the load', async () => {
      const guarded = await startRegistry({ auth: 'basic', storageDir: registry.storageDir });
      const dir = mkdtempSync(join(tmpdir(), 'imgscope-helper-'));
      // A helper asking for its secret on the terminal, as a keychain's passphrase prompt does; it reports
      // the terminal's modes, and answers with the line typed as the password.
      const helper = join(dir, 'docker-credential-prompt');
      writeFileSync(
        helper,
        [
          '#!/bin/sh',
          'read -r server',
          `echo "[helper modes: $(stty -a </dev/tty | tr -s '; ' '\\n\\n' | grep -xE -- '-?(echo|icanon)' | tr '\\n' ' ')]" >/dev/tty`,
          "printf 'helper password: ' >/dev/tty",
          'IFS= read -r secret </dev/tty',
          `printf '{"ServerURL":"%s","Username":"${TEST_USER.username}","Secret":"%s"}\\n' "$server" "$secret"`,
          '',
        ].join('\n'),
      );
      chmodSync(helper, 0o755);
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [guarded.host]: 'prompt' } }));
      const term = new Terminal(
        [`${guarded.host}/fixtures/demo:1.0`],
        { DOCKER_CONFIG: dir, PATH: `${dir}:${process.env.PATH ?? ''}` },
        { after: ECHO_CHECK },
      );
      try {
        const prompt = /\[helper modes: (.*)\]/;
        const screen = await term.waitFor(
          (s) => prompt.test(s) && s.includes('helper password:'),
          'the prompt',
        );
        expect(prompt.exec(screen)![1]).toMatch(/(^| )icanon( |$)/);
        expect(prompt.exec(screen)![1]).toMatch(/(^| )echo( |$)/);
        term.type(TEST_USER.password);
        term.keys('Enter');
        // The helper read the line, and the explorer took the terminal back once it had answered.
        await term.waitFor(finished, 'the explorer with the final verdict');
        term.keys('Tab', 'j');
        await term.waitFor((s) => cursorIndex(s) === 1, 'the Files cursor moved by j');
        term.keys('q');
        expect(await term.exitStatus()).toBe(0);
      } finally {
        term.close();
        await guarded.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('quits on q at once while a layer waits on the registry (429 with Retry-After)', async () => {
      const proxy = await startFaultProxy(registry.url);
      proxy.inject({
        method: 'GET',
        path: new RegExp(`/blobs/${layerDigests[0]!}$`),
        fault: { kind: 'status', status: 429, retryAfter: '60' },
      });
      const term = new Terminal([`${proxy.host}/fixtures/demo:1.0`]);
      try {
        await term.waitFor(
          (s) => s.includes('Layers (8)') && proxy.requests.some((r) => r.fault === 'status'),
          'the explorer, with the layer held back',
        );
        term.keys('q');
        // Within the deadline, well before the 60 s the registry asked for.
        expect(await term.exitStatus()).toBe(0);
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it('shows a wait the registry asks for (429 with Retry-After), counting down, while a layer is held back', async () => {
      const proxy = await startFaultProxy(registry.url);
      const layer = layerDigests[0]!;
      proxy.inject({
        method: 'GET',
        path: new RegExp(`/blobs/${layer}$`),
        fault: { kind: 'status', status: 429, retryAfter: '30' },
      });
      const term = new Terminal([`${proxy.host}/fixtures/demo:1.0`]);
      try {
        // Longer than the test waits for anything: the wait is still on when the explorer shows.
        const waiting = /reading layers \d\/8 · registry 429: waiting (\d+) s/;
        const shown = Number(waiting.exec(await term.waitFor((s) => waiting.test(s), 'the wait'))![1]);
        expect(shown).toBeLessThanOrEqual(30);
        await term.waitFor((s) => Number(waiting.exec(s)?.[1] ?? shown) < shown, 'the wait counting down');
        term.keys('q');
        expect(await term.exitStatus()).toBe(0);
        // The notice stays on stderr too, printed once the screen is given back.
        expect(term.screen()).toContain('answered 429 (rate limit): waiting 30 s');
      } finally {
        term.close();
        await proxy.stop();
      }
    });

    it('reads its keys from the terminal when --password-stdin takes stdin for the password', async () => {
      const guarded = await startRegistry({ auth: 'basic', storageDir: registry.storageDir });
      const image = `${guarded.host}/fixtures/demo:1.0`;
      const term = new Terminal(
        ['-u', TEST_USER.username, '--password-stdin', image],
        {},
        { stdin: TEST_USER.password, after: ECHO_CHECK },
      );
      try {
        await term.waitFor(finished, 'the explorer with the final verdict');
        term.keys('Tab', 'j');
        await term.waitFor((s) => cursorIndex(s) === 1, 'the Files cursor moved by j');
        term.keys('q');
        expect(await term.exitStatus()).toBe(0);
        const modes = ECHO_LINE.exec(await term.waitFor((s) => ECHO_LINE.test(s), 'the terminal modes'))![1];
        expect(modes).toMatch(/(^| )echo( |$)/);
        expect(modes).toMatch(/(^| )icanon( |$)/);
      } finally {
        term.close();
        await guarded.stop();
      }
    });

    it('streams the layers from the registry into the same screen', async () => {
      const term = new Terminal([reference]);
      try {
        const screen = await term.waitFor(finished, 'the final verdict');
        expect(screen).toContain(reference);
        expect(screen).toContain('Layers (8)');
        expect(screen).toContain('RUN npm ci');
        expect(screen).toContain('Files: Layer 1 changes');
        term.keys('w');
        await term.waitFor((s) => s.includes('/app/dist/bundle.js'), 'the waste view');
        term.keys('q');
        expect(await term.exitStatus()).toBe(0);
      } finally {
        term.close();
      }
    });
  });
});
