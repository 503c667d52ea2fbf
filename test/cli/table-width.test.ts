/**
 * The summary's tables fit the terminal: rendered from the demo's real report at several widths, and
 * printed by the built CLI inside tmux at a real terminal's width (inspect's layer list too). Free text (paths, commands) gives way;
 * every number stays whole.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSize } from '../../src/policy/sizes.js';
import { renderTable } from '../../src/report/render-table.js';
import type { Report } from '../../src/report/report.js';
import { runCli } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared.js';

const WIDTHS = [60, 80, 100, 120, 220];

async function demoReport(...flags: string[]): Promise<Report> {
  const result = await runCli(['check', '--json', ...flags, 'fixtures/demo']);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Report;
}

const isTableLine = (line: string) => /^[┌│└]/.test(line);
const displayWidth = (line: string) => stringWidth(line);

/** The tables of a rendered summary: each a list of rows of trimmed cells, the heading row first. */
function tablesOf(text: string): string[][][] {
  const tables: string[][][] = [];
  for (const line of stripVTControlCharacters(text).split('\n')) {
    if (line.startsWith('┌')) tables.push([]);
    else if (line.startsWith('│'))
      tables.at(-1)!.push(
        line
          .slice(1, -1)
          .split('│')
          .map((cell) => cell.trim()),
      );
  }
  return tables;
}

/** Whether `shown` is `text` itself or `text` cut with one `…` (at the end, or in the middle). */
function isCutFrom(shown: string, text: string): boolean {
  if (shown === text) return true;
  const at = shown.indexOf('…');
  if (at < 0 || shown.indexOf('…', at + 1) >= 0) return false;
  return text.startsWith(shown.slice(0, at)) && text.endsWith(shown.slice(at + 1));
}

function expectTablesWithin(text: string, width: number): void {
  const tableLines = stripVTControlCharacters(text).split('\n').filter(isTableLine);
  expect(tableLines.length).toBeGreaterThan(0);
  const wide = tableLines.filter((line) => displayWidth(line) > width);
  expect(wide, `table lines wider than ${width}`).toEqual([]);
}

/** Every size, count and layer number (from 1) of the report, exactly as the table formats it, in its cell. */
function expectNumbersIntact(text: string, report: Report): void {
  const [layers, files] = tablesOf(text);
  expect(layers!.slice(1).map((row) => row.slice(0, -1))).toEqual(
    report.layers.map((layer) =>
      report.layersAnalyzed
        ? [
            String(layer.index + 1),
            formatSize(layer.compressedSize),
            formatSize(layer.uncompressedSize),
            `${layer.added}/${layer.modified}/${layer.removed}`,
            layer.wastedBytes ? formatSize(layer.wastedBytes) : '',
          ]
        : [String(layer.index + 1), formatSize(layer.compressedSize), layer.digest.slice(7, 19)],
    ),
  );
  if (!report.layersAnalyzed) return;
  const listed = report.inefficientFiles!.slice(0, 10);
  expect(files!.slice(1).map((row) => row.slice(0, 3))).toEqual(
    listed.map((file) => [
      String(file.count),
      formatSize(file.wastedBytes),
      formatSize(file.reclaimableBytes),
    ]),
  );
  files!.slice(1).forEach((row, i) => {
    const file = listed[i]!;
    expect(isCutFrom(row[3]!, file.path), `${row[3]} from ${file.path}`).toBe(true);
    expect(row[4], file.path).toMatch(new RegExp(`^#${file.overwrittenBy[0]!.layer + 1} `));
  });
}

describe('the summary tables', () => {
  let analysed: Report;
  let manifestOnly: Report;
  beforeAll(async () => {
    [analysed, manifestOnly] = await Promise.all([demoReport(), demoReport('--no-layers')]);
  });

  it.each(WIDTHS)('fit %i columns, shortening paths and commands but no number', (width) => {
    for (const report of [analysed, manifestOnly]) {
      const text = renderTable(report, { width, color: true });
      expectTablesWithin(text, width);
      expectNumbersIntact(text, report);
    }
  });

  it('cut long paths in the middle and commands at the end', () => {
    const text = stripVTControlCharacters(renderTable(analysed, { width: 80 }));
    expect(text).toMatch(/│ \/var\/li\S*…\S*Packages\.lz4 +│/);
    expect(text).toMatch(/│ RUN apt-get \S*… +│/); // its start kept, its end cut
  });

  it('measure wide characters by the columns they take', () => {
    const report = structuredClone(analysed);
    const file = report.inefficientFiles![0]!;
    file.path = `/srv/数据/${'很长的文件名'.repeat(8)}.txt`;
    file.overwrittenBy[0]!.createdBy = `RUN echo ${'構築'.repeat(40)}`;
    for (const width of WIDTHS) {
      const text = renderTable(report, { width });
      expectTablesWithin(text, width);
      expectNumbersIntact(text, report);
    }
    // Too narrow for the numbers alone: the table overflows rather than cut one.
    expectNumbersIntact(renderTable(report, { width: 30 }), report);
  });

  it('fit the 100 columns of output that is not a terminal', async () => {
    const result = await runCli(['check', 'fixtures/demo']);
    expectTablesWithin(result.stdout, 100);
    expect(result.stdout).toBe(renderTable(analysed, { width: 100 }));
  });
});

const TMUX = ['/usr/bin/tmux', '/usr/local/bin/tmux'].find((path) => existsSync(path));
if (!TMUX) console.warn('skipping the terminal-width tests: tmux is not installed (apt-get install tmux)');
/** A private tmux server, so the test neither sees nor disturbs anyone's sessions. */
const SOCKET = `imgscope-width-test-${process.pid}`;
const tmux = (...args: string[]) =>
  execFileSync(TMUX!, ['-L', SOCKET, '-f', '/dev/null', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

/** What `imgscope ARGS` leaves on a tmux terminal `columns` wide, each wrapped line joined back into one. */
async function onTerminal(args: string[], columns: number): Promise<string> {
  const session = `s${columns}-${args[0]}`;
  const imgscope = [process.execPath, join(projectRoot, 'bin', 'imgscope'), ...args].join(' ');
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    String(columns),
    '-y',
    '60',
    '-c',
    projectRoot,
    '-e',
    'IMGSCOPE_NO_CACHE=1',
    `${imgscope}; echo "[exited $?]"; exec sleep 600`,
  );
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const screen = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session);
      if (/\[exited \d+\]/.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`imgscope did not finish; the screen shows:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    tmux('kill-session', '-t', session);
  }
}

describe.skipIf(!TMUX)('imgscope in a real terminal (tmux)', () => {
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // no server left: every session already ended
    }
    rmSync(join(`/tmp/tmux-${process.getuid?.() ?? 0}`, SOCKET), { force: true });
  });

  it.each([80, 220])('check draws tables no wider than a %i-column terminal', async (columns) => {
    const screen = await onTerminal(['check', 'fixtures/demo'], columns);
    expect(screen).toContain('[exited 0]');
    expect(screen).toContain('Top inefficient files (10 of 12):');
    const tableLines = screen.split('\n').filter(isTableLine);
    expect(tableLines.length).toBeGreaterThan(20);
    expect(tableLines.filter((line) => displayWidth(line.trimEnd()) > columns)).toEqual([]);
  });

  it('inspect lists the layers within a 60-column terminal', async () => {
    const screen = await onTerminal(['inspect', 'fixtures/demo'], 60);
    expect(screen).toContain('[exited 0]');
    const layerLines = screen.split('\n').filter((line) => /^ {2}[ \d]\d {2}/.test(line));
    expect(layerLines).toHaveLength(8);
    expect(layerLines.filter((line) => displayWidth(line.trimEnd()) > 60)).toEqual([]);
    expect(layerLines[1]).toMatch(/^ {3}2 {4}63\.7 KiB {2}62b7527c553a {2}RUN apt-get .*…$/);
  });
});
