import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build-report.js';
import { createTuiStore } from '../../src/tui/index.js';
import { commandFor, handleInput, NO_KEY, type Session } from '../../src/tui/keymap.js';
import { layoutOf, reduce } from '../../src/tui/state/reducer.js';
import type { Action, TuiState } from '../../src/tui/state/state.js';
import { createStore } from '../../src/tui/store.js';
import { footerLines, headerLine } from '../../src/tui/view-model/chrome.js';
import { detailLines } from '../../src/tui/view-model/details.js';
import { filesPlaceholder, filesTitle } from '../../src/tui/view-model/files.js';
import { layerLines, layerTitle } from '../../src/tui/view-model/layers.js';
import { fitLine, lineText } from '../../src/tui/view-model/lines.js';
import { fakeSource } from './fake-source.js';
import { type FakeEntry, fakeAnalysis } from './fake-tree.js';

const LAYERS: FakeEntry[][] = [
  [
    { path: '/bin/sh', size: 100 },
    { path: '/etc/passwd', size: 10 },
    { path: '/etc/group', size: 5 },
  ],
  [
    { path: '/etc/passwd', size: 12, change: 'modified' },
    { path: '/etc/group', change: 'removed' },
    { path: '/app/main.js', size: 400, change: 'added' },
  ],
];
const WASTE = [
  {
    path: '/etc/passwd',
    count: 2,
    wastedBytes: 22,
    reclaimableBytes: 12,
    overwrittenBy: [{ layer: 1, createdBy: 'RUN edit', change: 'modified' as const }],
  },
];

function start(viewport = { columns: 100, rows: 30 }): TuiState {
  const source = fakeSource(['FROM base', 'RUN edit']);
  return createTuiStore(source, (analysis) => buildReport(source, analysis), viewport).getState();
}

function run(state: TuiState, ...actions: Action[]): TuiState {
  return actions.reduce(reduce, state);
}

const finished = (viewport?: { columns: number; rows: number }): TuiState =>
  run(start(viewport), { type: 'analysis-finished', analysis: fakeAnalysis(LAYERS, WASTE) });
/** A session whose keys quit and suspend nothing. */
const NO_SESSION: Session = { quit() {}, suspend() {} };
const rowPaths = (state: TuiState) => state.files.rows?.rows.map((row) => row.node.path) ?? [];
const cursorPath = (state: TuiState) => state.files.rows?.rows[state.files.cursor.index]?.node.path;

describe('state while layers stream', () => {
  it('starts with every layer waiting and no tree', () => {
    const state = start();
    expect(state.layers.map((l) => [l.status, l.command])).toEqual([
      ['waiting', 'FROM base'],
      ['waiting', 'RUN edit'],
    ]);
    expect(state.files.rows).toBeUndefined();
  });

  it('tracks each layer through started, progressed and finished', () => {
    const state = run(
      start(),
      { type: 'layer-started', layer: 1 },
      { type: 'layers-progressed', progress: [{ layer: 1, bytesRead: 700 }] },
    );
    expect(state.layers[1]).toMatchObject({ status: 'streaming', bytesRead: 700 });
    const done = run(state, { type: 'layer-finished', summary: fakeAnalysis(LAYERS).layers[1]! });
    expect(done.layers[1]).toMatchObject({ status: 'done', bytesRead: 2000 });
    expect(done.layers[1]?.summary?.uncompressedSize).toBe(6000);
  });

  it('ignores late progress for a finished layer', () => {
    const state = run(
      start(),
      { type: 'layer-finished', summary: fakeAnalysis(LAYERS).layers[0]! },
      { type: 'layers-progressed', progress: [{ layer: 0, bytesRead: 3 }] },
    );
    expect(state.layers[0]).toMatchObject({ status: 'done', bytesRead: 1000 });
  });

  it('builds the first layer’s changes once the analysis is done', () => {
    expect(rowPaths(finished())).toEqual(['/bin', '/bin/sh', '/etc', '/etc/group', '/etc/passwd']);
  });

  it('records a failure for the Details pane', () => {
    const state = run(start(), {
      type: 'analysis-failed',
      message: 'layer 1: digest mismatch',
      hint: 're-pull',
    });
    expect(state.failure).toEqual({ message: 'layer 1: digest mismatch', hint: 're-pull', layer: undefined });
  });

  it('marks the layers left unread as stopped once the analysis failed, not as streaming forever', () => {
    const streaming = run(start(), { type: 'layer-started', layer: 0 });
    const sizes = (state: TuiState) =>
      layerLines(state, 10).map((row) => lineText(row).split('→')[1]!.trim());
    expect(sizes(streaming)[1]).toMatch(/^waiting/);
    expect(sizes(streaming)[0]).not.toMatch(/^(waiting|stopped)/);
    const failed = run(streaming, { type: 'analysis-failed', message: 'layer 1: digest mismatch', hint: '' });
    expect(sizes(failed).map((size) => size.split(' ')[0])).toEqual(['stopped', 'stopped']);
    // The Details pane agrees: neither the selected layer nor the verdict is still streaming.
    const withVerdict = run(failed, {
      type: 'report-updated',
      report: { ...failed.report!, verdict: 'warn' },
      final: false,
    });
    const details = detailLines(withVerdict, 60).map(lineText).join('\n');
    expect(details).not.toContain('streaming');
    expect(details).toContain('compressed, not read: the analysis stopped');
    expect(details).toContain('(manifest checks only: the analysis failed)');
  });

  it('says which layer failed and why, apart from the layers the failure stopped', () => {
    const state = start();
    const digest = state.layers[1]!.digest;
    const reason = `content is sha256:${'5'.repeat(64)}, expected ${digest}`;
    const failed = run(state, {
      type: 'analysis-failed',
      message: `layer 2/2 (${digest.slice(0, 19)}) of ${state.image.reference}: ${reason}`,
      hint: 'write the layout again',
      layer: 1,
    });
    const rows = layerLines(failed, 10).map((row) => lineText(row).split('→')[1]!.trim());
    expect(rows[0]).toMatch(/^stopped /);
    expect(rows[1]).toBe(`FAILED ${reason}`);
    const failedRole = layerLines(failed, 10)[1]!.segments.find((s) => s.text.includes('FAILED'))?.role;
    expect(failedRole).toBe('error');
    const details = detailLines(run(failed, { type: 'cursor-moved', delta: 1 }), 200).map(lineText);
    expect(details).toContain(`  ${reason}`);
    expect(details.join('\n')).not.toContain('not read: the analysis stopped');
    // A layer the failure stopped says so in full in a narrow pane too.
    const narrow = detailLines(failed, 40)
      .map((l) => lineText(fitLine(l, 40)))
      .join(' ')
      .replace(/\s+/g, ' ');
    expect(narrow).toContain('1000 B compressed, not read: the analysis stopped');
  });

  it('keeps FAILED in a narrow Layers pane, and cuts the reason after a word or leaves it out', () => {
    const state = start();
    const reason = `content is sha256:${'5'.repeat(64)}, expected sha256:${'6'.repeat(64)}`;
    const failed = run(state, { type: 'analysis-failed', message: reason, hint: undefined, layer: 1 });
    const row = (width: number) => lineText(fitLine(layerLines(failed, 10, width)[1]!, width)).trimEnd();
    // A few letters of the reason say nothing: FAILED stays, uncut, alone.
    expect(row(24)).toMatch(/ FAILED$/);
    expect(row(30)).toMatch(/ FAILED content is…$/);
    expect(row(300)).toMatch(new RegExp(`FAILED ${reason}$`));
    for (const width of [24, 30, 36, 45, 60]) expect(stringWidth(row(width))).toBeLessThanOrEqual(width);
  });
});

describe('the Layers pane', () => {
  it('takes its share of a wide terminal, so commands that fit are not cut', () => {
    const command = 'RUN apt-get update && apt-get install -y curl git';
    const source = fakeSource(['FROM base', command]);
    const state = createTuiStore(source, (a) => buildReport(source, a), {
      columns: 200,
      rows: 30,
    }).getState();
    const { leftWidth, rightWidth } = layoutOf(state);
    expect(leftWidth).toBe(80);
    expect(rightWidth).toBeGreaterThan(leftWidth);
    const row = lineText(fitLine(layerLines(state, 10)[1]!, leftWidth));
    expect(row).toMatch(/ RUN apt-get update && apt-get install -y curl git *$/);
    // Narrow terminals keep their split: the Files pane's columns need the room.
    expect(layoutOf({ ...state, viewport: { columns: 100, rows: 30 } }).leftWidth).toBe(40);
  });

  it('gives the command the compressed size’s columns when the pane is narrow, and says which size it shows', () => {
    const narrow = finished({ columns: 80, rows: 24 });
    const { leftWidth } = layoutOf(narrow);
    const rows = layerLines(narrow, 10, leftWidth).map((row) => lineText(fitLine(row, leftWidth)));
    expect(rows[1]).toMatch(/^ {2}2 +[\d.]+ \S*B RUN edit *$/);
    expect(layerTitle(narrow, leftWidth)).toBe('Layers (2)  uncompressed');
    const wide = finished({ columns: 120, rows: 30 });
    expect(layerLines(wide, 10, layoutOf(wide).leftWidth).map(lineText)[1]).toMatch(/ → .* RUN edit$/);
    expect(layerTitle(wide, layoutOf(wide).leftWidth)).toBe('Layers (2)  compressed → uncompressed');
  });
});

describe('the Details pane', () => {
  it('puts the layer’s file count on a line of its own where it would be cut (a 60-column terminal)', () => {
    const state = finished({ columns: 60, rows: 24 });
    const { leftWidth } = layoutOf(state);
    const lines = detailLines(state, leftWidth).map(lineText);
    const size = lines.findIndex((l) => l.startsWith('  size '));
    for (const l of lines.slice(size, size + 3)) expect(stringWidth(l)).toBeLessThanOrEqual(leftWidth);
    expect(lines.slice(size, size + 2).join('|')).toMatch(/^ {2}size \S+ \S*B → \S+ \S*B(\|| )\s*files 3$/);
    const wide = detailLines(state, 60).map(lineText);
    expect(wide).toContainEqual(expect.stringMatching(/^ {2}size .* files 3$/));
  });
});

describe('the Files title', () => {
  it('cuts a long filter in the middle, keeping the row count and the closing quote in sight', () => {
    const typed = `/usr/lib/${'node_modules/npm/'.repeat(4)}lib/utils/`;
    const state = run(finished(), { type: 'filter-typed', text: typed });
    const title = filesTitle(state, 50);
    expect(title).toMatch(/^Layer 1 changes matching "\/u[^"]*…[^"]*s\/" \(0 rows\)$/);
    expect(stringWidth(title)).toBe(50);
    expect(filesTitle(state)).toBe(`Files: Layer 1 changes matching "${typed}" (0 rows)`);
  });

  it('keeps a short filter whole on 80- and 60-column terminals, its words giving way first', () => {
    const kept = run(run(finished(), { type: 'filter-typed', text: 'bundle' }), { type: 'filter-applied' });
    // The title's room in the Files pane of an 80-column and of a 60-column terminal.
    expect(filesTitle(kept, 45)).toBe('Layer 1 changes matching "bundle" (0 rows)');
    expect(filesTitle(kept, 27)).toBe('Layer 1 "bundle" (0 rows)');
    const image = run(kept, { type: 'tree-mode-toggled' });
    expect(filesTitle(image, 45)).toBe('Image up to 1 matching "bundle" (0 rows)');
    expect(filesTitle(image, 27)).toBe('Image up to 1 "bundle" (0)');
    const waste = run(kept, { type: 'waste-view-toggled' });
    expect(filesTitle(waste, 27)).toBe('Waste: 0 matching "bundle"');
    expect(filesTitle(finished(), 27)).toBe('Layer 1 changes (5 rows)');
  });
});

describe('the filter prompt', () => {
  it('keeps the end of a long filter and the cursor in sight, the hint giving way', () => {
    const typed = 'usr/lib/node_modules/npm/node_modules/some-very-long-package-name/lib/index.js';
    const state = run(finished(), { type: 'filter-opened' }, { type: 'filter-typed', text: typed });
    const prompt = lineText(footerLines(state, 60)[1]!);
    expect(prompt).toBe(`filter: …${typed.slice(-50)}█`);
    expect(stringWidth(prompt)).toBe(60);
    const short = run(finished(), { type: 'filter-opened' }, { type: 'filter-typed', text: 'ssl' });
    expect(lineText(footerLines(short, 60)[1]!)).toBe('filter: ssl█   Enter keep · Esc clear');
    const wide = run(
      finished(),
      { type: 'filter-opened' },
      { type: 'filter-typed', text: '镜像'.repeat(40) },
    );
    const widePrompt = lineText(footerLines(wide, 60)[1]!);
    expect(widePrompt.endsWith('像█')).toBe(true);
    expect(stringWidth(widePrompt)).toBeLessThanOrEqual(60);
  });
});

describe('the header', () => {
  it('cuts a reference with wide characters by columns, so the progress and verdict stay in sight', () => {
    const source = fakeSource(['FROM base'], `oci:/tmp/${'镜像目录'.repeat(8)}/demo`);
    const state = createTuiStore(source, (a) => buildReport(source, a), { columns: 80, rows: 24 }).getState();
    const header = lineText(headerLine(state, 80));
    expect(stringWidth(header)).toBe(80);
    expect(header).toMatch(/… +reading layers 0\/1/);
  });
});

describe('a wait the registry asks for', () => {
  const wait = { host: 'registry.test', status: 429, seconds: 30, until: 1_000 };

  it('is shown in the header while layers stream, and goes once over', () => {
    const waiting = run(start(), { type: 'registry-waiting', wait });
    expect(lineText(headerLine(waiting, 100))).toMatch(/reading layers 0\/2 · registry 429: waiting 30 s/);
    // A later wait replaced it: the first one's end leaves it.
    const later = run(waiting, { type: 'registry-waiting', wait: { ...wait, until: 2_000 } });
    expect(run(later, { type: 'registry-wait-over', until: 1_000 }).registryWait).toBeDefined();
    const over = run(waiting, { type: 'registry-wait-over', until: 1_000 });
    expect(lineText(headerLine(over, 100))).not.toContain('waiting');
  });

  it('gives way in a narrow header, which keeps its width', () => {
    const waiting = run(start({ columns: 60, rows: 24 }), { type: 'registry-waiting', wait });
    const header = lineText(headerLine(waiting, 60));
    expect(header).not.toContain('waiting');
    expect(stringWidth(header)).toBe(60);
  });
});

describe('navigating', () => {
  it('selecting another layer shows that layer’s changes', () => {
    const state = run(finished(), { type: 'cursor-moved', delta: 1 });
    expect(state.layerCursor.index).toBe(1);
    expect(rowPaths(state)).toEqual(['/app', '/app/main.js', '/etc', '/etc/group', '/etc/passwd']);
  });

  it('the image view merges the layers up to the selected one and keeps the cursor on its path', () => {
    let state = run(finished(), { type: 'tree-mode-toggled' }, { type: 'focus-cycled', step: 1 });
    expect(state.focus).toBe('files');
    state = run(state, { type: 'cursor-moved', delta: 3 });
    expect(cursorPath(state)).toBe('/etc/group');
    state = run(state, { type: 'focus-cycled', step: -1 }, { type: 'cursor-moved', delta: 1 });
    expect(rowPaths(state)).toEqual([
      '/app',
      '/app/main.js',
      '/bin',
      '/bin/sh',
      '/etc',
      '/etc/group',
      '/etc/passwd',
    ]);
    expect(state.files.rows?.rows.map((r) => r.node.change)).toEqual([
      'unmodified', // implied by /app/main.js
      'added',
      'unmodified',
      'unmodified',
      'unmodified',
      'removed',
      'modified',
    ]);
    expect(cursorPath(state)).toBe('/etc/group');
  });

  it('moves, pages and jumps in the focused pane only', () => {
    const entries = Array.from({ length: 100 }, (_, i) => ({ path: `/f${String(i).padStart(3, '0')}` }));
    let state = run(start({ columns: 100, rows: 24 }), {
      type: 'analysis-finished',
      analysis: fakeAnalysis([entries, []]),
    });
    state = run(state, { type: 'focus-cycled', step: 1 }, { type: 'cursor-paged', pages: 1 });
    const height = layoutOf(state).filesHeight;
    expect(state.files.cursor.index).toBe(height - 1);
    expect(state.layerCursor.index).toBe(0);
    state = run(state, { type: 'cursor-jumped', to: 'end' });
    expect(state.files.cursor).toEqual({ index: 99, offset: 100 - height });
    state = run(state, { type: 'cursor-jumped', to: 'start' });
    expect(state.files.cursor).toEqual({ index: 0, offset: 0 });
  });

  it('keeps the cursor visible when the terminal shrinks', () => {
    const entries = Array.from({ length: 100 }, (_, i) => ({ path: `/f${i}` }));
    let state = run(start(), { type: 'analysis-finished', analysis: fakeAnalysis([entries, []]) });
    state = run(state, { type: 'focus-cycled', step: 1 }, { type: 'cursor-moved', delta: 20 });
    state = run(state, { type: 'resized', viewport: { columns: 80, rows: 14 } });
    const { index, offset } = state.files.cursor;
    expect(index).toBe(20);
    expect(index - offset).toBeLessThan(layoutOf(state).filesHeight);
  });

  it('scrolls Details within its content', () => {
    let state = run(start({ columns: 80, rows: 14 }), { type: 'focus-cycled', step: -1 });
    expect(state.focus).toBe('details');
    state = run(state, { type: 'cursor-jumped', to: 'end' });
    const end = state.detailsScroll;
    expect(end).toBeGreaterThan(0);
    expect(run(state, { type: 'cursor-moved', delta: 5 }).detailsScroll).toBe(end);
    expect(run(state, { type: 'cursor-paged', pages: -10 }).detailsScroll).toBe(0);
  });

  it('keeps Details scrolled within its content when the terminal grows', () => {
    let state = run(
      start({ columns: 60, rows: 14 }),
      { type: 'focus-cycled', step: -1 },
      { type: 'cursor-jumped', to: 'end' },
    );
    expect(state.detailsScroll).toBeGreaterThan(0);
    // Wider lines wrap less and a taller pane shows more: everything fits, so nothing is scrolled off.
    state = run(state, { type: 'resized', viewport: { columns: 200, rows: 80 } });
    expect(state.detailsScroll).toBe(0);
  });
});

describe('filters and views', () => {
  it('filters paths as the user types and clears on Esc', () => {
    let state = run(finished(), { type: 'filter-opened' }, { type: 'filter-typed', text: 'pa' });
    expect(state.files.editingFilter).toBe(true);
    expect(rowPaths(state)).toEqual(['/etc', '/etc/passwd']);
    state = run(
      state,
      { type: 'filter-erased' },
      { type: 'filter-erased' },
      { type: 'filter-typed', text: 'sh' },
    );
    expect(rowPaths(state)).toEqual(['/bin', '/bin/sh']);
    state = run(state, { type: 'filter-closed', keep: false });
    expect(state.files.filterText).toBe('');
    expect(rowPaths(state)).toHaveLength(5);
  });

  it('erases the last character as it shows on screen: an emoji, a flag or an accented letter whole', () => {
    for (const last of ['🎉', '🇯🇵', '👨‍👩‍👧‍👦', 'e\u0301']) {
      const state = run(
        finished(),
        { type: 'filter-opened' },
        { type: 'filter-typed', text: `sh${last}` },
        { type: 'filter-erased' },
      );
      expect(state.files.filterText).toBe('sh');
    }
  });

  it('keeps the filter on Enter', () => {
    const state = run(
      finished(),
      { type: 'filter-opened' },
      { type: 'filter-typed', text: 'sh' },
      {
        type: 'filter-closed',
        keep: true,
      },
    );
    expect(state.files.editingFilter).toBe(false);
    expect(rowPaths(state)).toEqual(['/bin', '/bin/sh']);
  });

  it('toggles change kinds', () => {
    const state = run(
      finished(),
      { type: 'cursor-moved', delta: 1 },
      { type: 'change-toggled', change: 'removed' },
    );
    expect(rowPaths(state)).not.toContain('/etc/group');
    expect(run(state, { type: 'change-toggled', change: 'removed' }).files.rows?.rows).toHaveLength(5);
  });

  it('lists inefficient files in the waste view, filtered by the same text', () => {
    let state = run(finished(), { type: 'waste-view-toggled' });
    expect(state.files.waste.map((f) => f.path)).toEqual(['/etc/passwd']);
    state = run(state, { type: 'filter-opened' }, { type: 'filter-typed', text: 'nothing' });
    expect(state.files.waste).toEqual([]);
  });

  it('folds the directory under the cursor, and all of them', () => {
    let state = run(finished(), { type: 'focus-cycled', step: 1 }, { type: 'directory-toggled' });
    expect(rowPaths(state)).toEqual(['/bin', '/etc', '/etc/group', '/etc/passwd']);
    state = run(state, { type: 'cursor-moved', delta: 2 }, { type: 'all-directories-toggled' });
    expect(rowPaths(state)).toEqual(['/bin', '/etc']);
    expect(cursorPath(state)).toBe('/etc');
  });

  it('shows what a filter matches even inside folded directories', () => {
    let state = run(finished(), { type: 'focus-cycled', step: 1 }, { type: 'all-directories-toggled' });
    expect(rowPaths(state)).toEqual(['/bin', '/etc']);
    state = run(state, { type: 'filter-opened' }, { type: 'filter-typed', text: 'sh' });
    expect(rowPaths(state)).toEqual(['/bin', '/bin/sh']);
  });
});

describe('keys', () => {
  const key = (overrides: Partial<Parameters<typeof commandFor>[1]> = {}) => ({ ...NO_KEY, ...overrides });

  it('maps letters to actions outside the filter prompt and to text inside it', () => {
    const state = finished();
    expect(commandFor('q', key(), state)).toEqual({ type: 'quit' });
    expect(commandFor('r', key(), state)).toEqual({ type: 'change-toggled', change: 'removed' });
    const editing = run(state, { type: 'filter-opened' });
    expect(commandFor('q', key(), editing)).toEqual({ type: 'filter-typed', text: 'q' });
    expect(commandFor('c', key({ ctrl: true }), editing)).toEqual({ type: 'quit' });
  });

  it('scrolls the help, not the pane behind it, and keeps its end in sight when the terminal grows', () => {
    const resized = run(finished(), { type: 'resized', viewport: { columns: 80, rows: 14 } });
    const small = run(resized, { type: 'help-toggled' });
    const scrolled = run(small, { type: 'cursor-moved', delta: 1 });
    expect(scrolled.helpScroll).toBe(1);
    expect(scrolled.layerCursor).toEqual(small.layerCursor);
    const end = run(small, { type: 'cursor-jumped', to: 'end' });
    expect(end.helpScroll).toBeGreaterThan(1);
    expect(run(end, { type: 'cursor-moved', delta: 1 }).helpScroll).toBe(end.helpScroll);
    expect(run(end, { type: 'resized', viewport: { columns: 100, rows: 40 } }).helpScroll).toBe(0);
    expect(run(end, { type: 'help-toggled' }).helpScroll).toBe(0);
  });

  it('takes only q and Ctrl+C while the terminal is too small to show anything else', () => {
    const tiny = run(finished(), { type: 'resized', viewport: { columns: 40, rows: 10 } });
    expect(layoutOf(tiny).tooSmall).toBe(true);
    for (const input of ['j', 'r', '/', '?', 'v', 'w'])
      expect(commandFor(input, key(), tiny)).toBeUndefined();
    expect(commandFor('', key({ tab: true }), tiny)).toBeUndefined();
    expect(commandFor('q', key(), tiny)).toEqual({ type: 'quit' });
    expect(commandFor('c', key({ ctrl: true }), tiny)).toEqual({ type: 'quit' });
    // Even with the filter prompt open, since the notice says q quits.
    const editing = run(run(finished(), { type: 'filter-opened' }), {
      type: 'resized',
      viewport: tiny.viewport,
    });
    expect(commandFor('q', key(), editing)).toEqual({ type: 'quit' });
  });

  it('quits on Ctrl+\\ whatever is on screen, alone or in a run, and never types it into the filter', () => {
    const states = [
      finished(),
      run(finished(), { type: 'filter-opened' }),
      run(finished(), { type: 'help-toggled' }),
      run(finished(), { type: 'resized', viewport: { columns: 40, rows: 10 } }),
    ];
    // Ink reports the byte as it is, without the ctrl flag.
    for (const state of states) expect(commandFor('\x1c', key(), state)).toEqual({ type: 'quit' });
    const store = createStore(reduce, run(finished(), { type: 'focus-cycled', step: 1 }));
    let quits = 0;
    handleInput('j\x1cj', key(), store, { ...NO_SESSION, quit: () => quits++ });
    expect(quits).toBe(1);
    expect(store.getState().files.cursor.index).toBe(1);
  });

  it('suspends on Ctrl+Z whatever is on screen: tree, filter prompt, help, the too-small notice', () => {
    const tiny = { type: 'resized', viewport: { columns: 40, rows: 10 } } as const;
    const states = [
      finished(),
      run(finished(), { type: 'filter-opened' }),
      run(finished(), { type: 'help-toggled' }),
      run(finished(), tiny),
    ];
    for (const state of states)
      expect(commandFor('z', key({ ctrl: true }), state)).toEqual({ type: 'suspend' });
    expect(commandFor('z', key(), finished())).toBeUndefined();
    // In a run of keys typed faster than a frame: the keys before it act, the session is suspended.
    const store = createStore(reduce, run(finished(), { type: 'focus-cycled', step: 1 }));
    let suspended = 0;
    handleInput('j\x1aj', key(), store, { ...NO_SESSION, suspend: () => suspended++ });
    expect(suspended).toBe(1);
    expect(store.getState().files.cursor.index).toBe(1);
  });

  it('splits a run of characters into keys, control characters included', () => {
    const store = createStore(reduce, run(finished(), { type: 'focus-cycled', step: 1 }));
    let quit = false;
    handleInput('jj', key(), store, NO_SESSION);
    expect(store.getState().files.cursor.index).toBe(2);
    handleInput('/sh\r\x00', key(), store, NO_SESSION); // open the filter, type, keep it, fold all
    expect(rowPaths(store.getState())).toEqual(['/bin']);
    expect(store.getState().files.rows?.rows[0]?.collapsed).toBe(true);
    expect(store.getState().files.filterText).toBe('sh');
    expect(store.getState().files.editingFilter).toBe(false);
    handleInput('q', key(), store, {
      ...NO_SESSION,
      quit: () => {
        quit = true;
      },
    });
    expect(quit).toBe(true);
  });

  it('erases in the filter prompt for each backspace of a run (a held Backspace repeats into one read)', async () => {
    const store = createStore(reduce, run(finished(), { type: 'filter-opened' }));
    handleInput('passwd', key(), store, NO_SESSION);
    handleInput('\x7f\x7f', key(), store, NO_SESSION);
    expect(store.getState().files.filterText).toBe('pass');
    handleInput('\x7f\x7f\x7f\b', key(), store, NO_SESSION);
    expect(store.getState().files.filterText).toBe('');
    handleInput('sx\x7fh', key(), store, NO_SESSION); // a typo corrected faster than a frame
    expect(store.getState().files.filterText).toBe('sh');
    await new Promise(setImmediate);
    expect(rowPaths(store.getState())).toEqual(['/bin', '/bin/sh']);
    expect(store.getState().files.editingFilter).toBe(true);
  });

  it('echoes a typed key at once and brings many rows up to it after the frame, once for a burst', async () => {
    const many = Array.from({ length: 25_000 }, (_, i) => ({ path: `/d${i % 50}/f${i}` }));
    const big = run(start(), {
      type: 'analysis-finished',
      analysis: fakeAnalysis([[...many, { path: '/etc/passwd' }], []]),
    });
    const store = createStore(reduce, run(big, { type: 'filter-opened' }));
    const before = store.getState().files.rows;
    let frames = 0;
    store.subscribe(() => frames++);
    handleInput('p', key(), store, NO_SESSION);
    handleInput('a', key(), store, NO_SESSION);
    handleInput('', key({ backspace: true }), store, NO_SESSION);
    handleInput('as', key(), store, NO_SESSION);
    // The prompt shows every key; the rows and the title still the last filter applied.
    expect(store.getState().files.filterText).toBe('pas');
    expect(store.getState().files.rows).toBe(before);
    expect(filesTitle(store.getState())).not.toContain('matching');
    expect(frames).toBe(4);
    await new Promise(setImmediate);
    expect(store.getState().files.appliedFilterText).toBe('pas');
    expect(frames).toBe(5); // one rebuild for the four keys
    expect(rowPaths(store.getState())).toEqual(['/etc', '/etc/passwd']);
    expect(filesTitle(store.getState())).toContain('matching "pas"');
    // Few rows left: narrowing them is cheaper than a second frame, so the next key applies at once.
    handleInput('s', key(), store, NO_SESSION);
    expect(store.getState().files.appliedFilterText).toBe('pass');
    expect(rowPaths(store.getState())).toEqual(['/etc', '/etc/passwd']);
  });

  it('closes the filter prompt on an Enter or Tab that arrives in the same read as the text', () => {
    const store = createStore(reduce, run(finished(), { type: 'filter-opened' }));
    handleInput('sh\rj', key(), store, NO_SESSION); // typed faster than a frame: text, Enter, then a move
    expect(store.getState().files.filterText).toBe('sh');
    expect(store.getState().files.editingFilter).toBe(false);
    expect(store.getState().files.cursor.index).toBe(1);
    handleInput('/', key(), store, NO_SESSION);
    handleInput('\x7f\x7fpa\t', key(), store, NO_SESSION);
    expect(store.getState().files.filterText).toBe('pa');
    expect(store.getState().files.editingFilter).toBe(false);
    let quit = false;
    handleInput('/x\rq', key(), store, {
      ...NO_SESSION,
      quit: () => {
        quit = true;
      },
    });
    expect(store.getState().files.filterText).toBe('pax');
    expect(quit).toBe(true);
  });

  it('says an empty first layer changes nothing, and that the image has no files up to it', () => {
    const empty = run(start(), {
      type: 'analysis-finished',
      analysis: fakeAnalysis([[], [{ path: '/app/main.js', size: 4 }]]),
    });
    expect(rowPaths(empty)).toEqual([]);
    expect(filesPlaceholder(empty)).toBe('This layer changes no files.');
    const image = run(empty, { type: 'tree-mode-toggled' });
    expect(rowPaths(image)).toEqual([]);
    expect(filesPlaceholder(image)).toBe('The image has no files up to this layer.');
  });

  it('does not count inefficient files in the waste view before the layers are read', () => {
    const waiting = run(start(), { type: 'waste-view-toggled' });
    expect(filesTitle(waiting)).toBe('Waste: counted once every layer is read');
    const done = run(waiting, { type: 'analysis-finished', analysis: fakeAnalysis(LAYERS, WASTE) });
    expect(filesTitle(done)).toBe('Waste: 1 inefficient file');
  });

  it('says an image without layers has no files, rather than showing a layer 1', () => {
    const source = fakeSource([]);
    const empty = run(
      createTuiStore(source, (a) => buildReport(source, a), { columns: 100, rows: 30 }).getState(),
      {
        type: 'analysis-finished',
        analysis: fakeAnalysis([]),
      },
    );
    expect(filesTitle(empty)).toBe('Files: the image has no layers');
    expect(filesPlaceholder(empty)).toBe('The image has no layers, so no files.');
  });

  it('reads Ctrl+Space (NUL, which Ink reports as ctrl + `) as fold-all in the Files pane', () => {
    const files = run(finished(), { type: 'focus-cycled', step: 1 });
    expect(commandFor('`', key({ ctrl: true }), files)).toEqual({ type: 'all-directories-toggled' });
    expect(commandFor(' ', key(), files)).toEqual({ type: 'directory-toggled' });
  });
});
