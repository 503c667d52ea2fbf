import { render } from 'ink-testing-library';
import { createElement } from 'react';
import stringWidth from 'string-width';
import { afterEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build-report.js';
import type { Report } from '../../src/report/report.js';
import { App } from '../../src/tui/components/App.js';
import { createTuiStore } from '../../src/tui/index.js';
import { themeFor } from '../../src/tui/theme.js';
import { layoutFor } from '../../src/tui/view-model/layout.js';
import { fakeSource } from './fake-source.js';
import { type FakeEntry, fakeAnalysis } from './fake-tree.js';

const LAYERS: FakeEntry[][] = [
  [
    { path: '/bin/sh', size: 100, mode: 0o755 },
    { path: '/etc/passwd', size: 10, mode: 0o644 },
    { path: '/etc/group', size: 5 },
    { path: '/etc/ssl/cert.pem', size: 2048 },
  ],
  [
    { path: '/etc/passwd', size: 12, change: 'modified', mode: 0o644 },
    { path: '/etc/group', change: 'removed' },
    { path: '/app/main.js', size: 4096, change: 'added', uid: 1000, gid: 1000 },
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
const KEYS = { down: '\x1b[B', tab: '\t', escape: '\x1b', enter: '\r', backspace: '\x7f', ctrlSpace: '\x00' };

let unmount: (() => void) | undefined;
afterEach(() => unmount?.());

function mount(viewport = { columns: 100, rows: 30 }, evaluate?: (report: Report) => Report) {
  const source = fakeSource(['/bin/sh -c #(nop) ADD file:abc in /', '/bin/sh -c npm ci && cp app /app']);
  const store = createTuiStore(
    source,
    (analysis) => (evaluate ?? ((r) => r))(buildReport(source, analysis)),
    viewport,
  );
  const app = render(createElement(App, { store, theme: themeFor({}), suspend() {} }));
  unmount = app.unmount;
  const frame = () => app.lastFrame() ?? '';
  /** Waits for the next frame that satisfies `predicate` (input is handled asynchronously). */
  const until = async (predicate: (frame: string) => boolean, what: string) => {
    const deadline = Date.now() + 2000;
    while (!predicate(frame())) {
      if (Date.now() > deadline) throw new Error(`no frame ${what}; last frame:\n${frame()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return frame();
  };
  /** Types keys one at a time, as a person would, then waits for the frame. */
  const press = async (keys: string | string[], predicate: (frame: string) => boolean, what: string) => {
    for (const key of typeof keys === 'string' ? [keys] : keys) {
      app.stdin.write(key);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return until(predicate, what);
  };
  const finish = () => store.dispatch({ type: 'analysis-finished', analysis: fakeAnalysis(LAYERS, WASTE) });
  return { store, frame, until, press, finish };
}

const rowOf = (frame: string, name: string) => frame.split('\n').find((line) => line.includes(name)) ?? '';
/** The Files pane: what is right of the column separator. */
const filesPane = (frame: string, columns = 100) => {
  const left = layoutFor({ columns, rows: 30 }, 2).leftWidth;
  return frame
    .split('\n')
    .slice(1, -2)
    .map((line) => line.slice(left + 1))
    .join('\n');
};

describe('the screen before and while layers stream', () => {
  it('shows the image, the layers with sizes and commands, and says the tree is coming', () => {
    const { frame } = mount({ columns: 120, rows: 30 });
    const screen = frame();
    expect(screen).toContain('registry.test/app:1.0');
    expect(screen).toContain('linux/amd64');
    expect(rowOf(screen, 'ADD file:abc')).toMatch(/1 +1000 B → +waiting ADD file:abc/);
    expect(rowOf(screen, 'RUN npm ci')).toMatch(/2 +1.95 KiB → +waiting RUN npm ci/);
    expect(screen).toContain('Reading layers… 0 of 2 done');
  });

  it('keeps the layers’ commands readable at 80×24, the compressed size giving way', () => {
    const { frame } = mount({ columns: 80, rows: 24 });
    expect(rowOf(frame(), 'RUN npm ci')).toMatch(/^ {2}2 +waiting RUN npm ci && cp …│/);
  });

  it('draws a progress bar for a streaming layer and the size once it is read', async () => {
    const { store, until } = mount({ columns: 120, rows: 30 });
    store.dispatch({ type: 'layers-progressed', progress: [{ layer: 1, bytesRead: 1000 }] });
    await until(
      (f) => rowOf(f, 'RUN npm ci').includes('████░░░░░') || rowOf(f, 'RUN npm ci').includes('█████░░░░'),
      'with a half bar',
    );
    store.dispatch({ type: 'layer-finished', summary: fakeAnalysis(LAYERS).layers[1]! });
    await until(
      (f) => /2 +1.95 KiB → +5.86 KiB RUN npm ci/.test(rowOf(f, 'RUN npm ci')),
      'with the layer size',
    );
  });
});

describe('the Files pane', () => {
  it('shows the selected layer’s changes with symbol, mode, owner and rolled-up size', async () => {
    const { finish, until, press } = mount();
    finish();
    let screen = filesPane(await until((f) => f.includes('cert.pem'), 'with the tree'));
    expect(rowOf(screen, 'cert.pem')).toMatch(/^ {3}-rw-r--r-- +0:0 +2 KiB {7}└─ cert\.pem/m);
    expect(rowOf(screen, 'etc/')).toMatch(/^ {3}drwxr-xr-x +0:0 +2.01 KiB └─ etc\//m);
    screen = filesPane(await press(KEYS.down, (f) => f.includes('Files: Layer 2 changes'), 'for layer 2'));
    expect(rowOf(screen, 'main.js')).toMatch(/^ \+ -rw-r--r-- +1000:1000 +4 KiB .*main\.js/m);
    expect(rowOf(screen, 'passwd')).toMatch(/^ ~ /);
    expect(rowOf(screen, 'group')).toMatch(/^ - /);
  });

  it('moves the cursor, folds a directory with space and everything with ctrl+space', async () => {
    const { finish, until, press, store } = mount();
    finish();
    await until((f) => f.includes('cert.pem'), 'with the tree');
    await press(KEYS.tab, (f) => f.includes('▶ Files'), 'with Files focused');
    await press(['j', 'j'], () => store.getState().files.cursor.index === 2, 'on /etc');
    let screen = filesPane(await press(' ', (f) => f.includes('▸ etc/'), 'with /etc folded'));
    expect(screen).not.toContain('passwd');
    expect(screen).toContain('sh');
    await press(' ', (f) => filesPane(f).includes('passwd'), 'with /etc unfolded');
    screen = filesPane(
      await press(KEYS.ctrlSpace, (f) => f.includes('▸ bin/') && f.includes('▸ etc/'), 'all folded'),
    );
    expect(screen).not.toContain('cert.pem');
  });

  it('filters paths as they are typed; Esc clears the filter', async () => {
    const { finish, until, press } = mount();
    finish();
    await until((f) => f.includes('cert.pem'), 'with the tree');
    let screen = filesPane(
      await press(['/', 's', 's', 'l'], (f) => f.includes('filter: ssl█'), 'with the prompt'),
    );
    expect(screen).toContain('cert.pem');
    expect(screen).not.toContain('passwd');
    screen = filesPane(
      await press(
        KEYS.enter,
        (f) => f.includes('matching "ssl"') && !f.includes('█'),
        'with the filter kept',
      ),
    );
    expect(screen).not.toContain('passwd');
    await press(KEYS.escape, (f) => filesPane(f).includes('passwd'), 'with the filter cleared');
  });

  it.each([
    ['CJK', '日本語'],
    ['emoji ZWJ sequences', '👨‍👩‍👧‍👦'.repeat(5)],
  ])('fits a Files title whose filter is %s to the pane by columns, its count kept', async (_, filter) => {
    const { finish, until, press } = mount();
    finish();
    await until((f) => f.includes('cert.pem'), 'with the tree');
    await press(
      ['/', ...filter, KEYS.enter],
      (f) => f.includes('matching') && !f.includes('█'),
      'with the filter',
    );
    const title = filesPane(await until((f) => f.includes('matching'), 'with the title'))
      .split('\n')[0]!
      .trimEnd();
    expect(title).toMatch(/ \(0 rows\)$/);
    expect(title).toContain(filter);
  });

  it('hides and shows change kinds, and says which are on', async () => {
    const { finish, until, press } = mount();
    finish();
    await until((f) => f.includes('cert.pem'), 'with the tree');
    await press('j', (f) => f.includes('Layer 2 changes'), 'on layer 2');
    const screen = await press('r', (f) => f.includes('r[ ]-removed'), 'with removed hidden');
    expect(screen).not.toContain('group');
    expect(screen).toContain('a[x]+added');
    await press('r', (f) => f.includes('group'), 'with removed shown again');
  });

  it('switches between the layer’s changes and the image up to that layer', async () => {
    const { finish, until, press } = mount();
    finish();
    await until((f) => f.includes('cert.pem'), 'with the tree');
    await press('j', (f) => f.includes('Layer 2 changes'), 'on layer 2');
    expect(rowOf(await until(() => true, ''), '└─ sh')).toBe('');
    const screen = await press('v', (f) => f.includes('Image up to layer 2'), 'with the image view');
    expect(screen).toContain('└─ sh');
    expect(screen).toContain('main.js');
  });

  it('lists the inefficient files in the waste view', async () => {
    const { finish, until, press } = mount();
    finish();
    await until((f) => f.includes('cert.pem'), 'with the tree');
    const screen = filesPane(
      await press('w', (f) => /Waste: 1 inefficient file(?!s)/.test(f), 'with the waste view'),
    );
    expect(rowOf(screen, '/etc/passwd')).toMatch(/^› +2× +22 B +12 B \/etc\/passwd +\(modified by/);
  });

  it('drops waste figures in a 60-column terminal rather than the paths', async () => {
    const { finish, until, press } = mount({ columns: 60, rows: 24 });
    finish();
    await until((f) => f.includes('Files:'), 'with the tree');
    const screen = filesPane(
      await press('w', (f) => /Waste: 1 inefficient file(?!s)/.test(f), 'with the waste view'),
      60,
    );
    expect(screen).toMatch(/^ +Wasted Path$/m);
    expect(rowOf(screen, '/etc/passwd')).toMatch(/^› +22 B \/etc\/passwd/);
  });
});

describe('text from the image', () => {
  it('shows control characters in names, link targets and commands as \\x1b, never raw', async () => {
    const source = fakeSource(['ADD base /', 'RUN echo \x1b]0;CMD-TITLE\x07done']);
    const store = createTuiStore(source, (analysis) => buildReport(source, analysis), {
      columns: 100,
      rows: 30,
    });
    const app = render(createElement(App, { store, theme: themeFor({ NO_COLOR: '1' }), suspend() {} }));
    unmount = app.unmount;
    store.dispatch({
      type: 'analysis-finished',
      analysis: fakeAnalysis(
        [
          [
            { path: '/e\x1b]0;T\x07n', size: 1 },
            { path: '/line\nbreak', size: 1 },
            { path: '/link', type: 'symlink', linkTarget: '\x1b[5mBLINK' },
          ],
          [{ path: '/bell\x07\b\bbs', size: 2 }],
        ],
        [],
      ),
    });
    const frame = async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const screen = app.lastFrame() ?? '';
      expect(screen.split('\n')).toHaveLength(29);
      // NO_COLOR: the frame has styles (bold, inverse) but no control character of the image's own.
      expect(screen).not.toMatch(/[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f]|\x1b\]/);
      return screen;
    };
    let screen = await frame();
    expect(screen).toContain('e\\x1b]0;T\\x07n');
    expect(screen).toContain('line\\x0abreak');
    expect(screen).toContain('link → \\x1b[5mBLINK');
    store.dispatch({ type: 'cursor-moved', delta: 1 });
    screen = await frame();
    expect(screen).toContain('bell\\x07\\x08\\x08bs');
    expect(screen).toContain('RUN echo \\x1b]0;CMD-TITLE\\x07done');
  });
});

describe('long paths', () => {
  it('keeps the file names of long inefficient paths in the waste view and in Details', async () => {
    const lists = '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm';
    const paths = [`${lists}_main_binary-amd64_Packages.lz4`, `${lists}_InRelease`];
    const waste = paths.map((path, i) => ({
      path,
      count: 2,
      wastedBytes: i === 0 ? 5000 : 1000,
      reclaimableBytes: 3000,
      overwrittenBy: [{ layer: 1, createdBy: 'RUN rm', change: 'removed' as const }],
    }));
    const entries = paths.map((path) => ({ path, size: 1000 }));
    const source = fakeSource(['ADD base /', 'RUN rm']);
    const store = createTuiStore(source, (analysis) => buildReport(source, analysis), {
      columns: 100,
      rows: 40,
    });
    const app = render(createElement(App, { store, theme: themeFor({ NO_COLOR: '1' }), suspend() {} }));
    unmount = app.unmount;
    const analysis = fakeAnalysis(
      [entries, entries.map((e) => ({ ...e, change: 'removed' as const }))],
      waste,
    );
    store.dispatch({ type: 'analysis-finished', analysis });
    store.dispatch({ type: 'report-updated', report: buildReport(source, analysis), final: true });
    store.dispatch({ type: 'waste-view-toggled' });
    store.dispatch({ type: 'focus-cycled', step: -1 });
    store.dispatch({ type: 'cursor-jumped', to: 'end' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const screen = app.lastFrame() ?? '';
    const left = layoutFor({ columns: 100, rows: 40 }, 2).leftWidth;
    const [files, details] = [
      screen.split('\n').map((l) => l.slice(left + 1)),
      screen.split('\n').map((l) => l.slice(0, left)),
    ];
    const wasteRow = (pane: string[], size: string) =>
      pane.find((l) => new RegExp(`${size} +2×|2× +${size}`).test(l)) ?? '';
    for (const pane of [files, details]) {
      expect(wasteRow(pane, '4.88 KiB')).toMatch(/…\S*Packages\.lz4 *$/);
      expect(wasteRow(pane, '1000 B')).toMatch(/…\S*_InRelease *$/);
    }
  });
});

describe('wide characters', () => {
  it('measures CJK and emoji in columns: long names are cut with …, Details wraps without clipping', async () => {
    const command = `RUN echo ${'中文字符'.repeat(10)} 🎉 END`;
    const source = fakeSource(['ADD base /', command]);
    const store = createTuiStore(source, (analysis) => buildReport(source, analysis), {
      columns: 100,
      rows: 30,
    });
    const app = render(createElement(App, { store, theme: themeFor({ NO_COLOR: '1' }), suspend() {} }));
    unmount = app.unmount;
    const name = `长${'文'.repeat(60)}`;
    store.dispatch({
      type: 'analysis-finished',
      analysis: fakeAnalysis([[{ path: `/${name}`, size: 1 }], [{ path: '/x', size: 1 }]], []),
    });
    store.dispatch({ type: 'cursor-moved', delta: 1 });
    store.dispatch({ type: 'cursor-moved', delta: -1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    let lines = (app.lastFrame() ?? '').split('\n');
    const row = lines.find((l) => l.includes('长')) ?? '';
    expect(row).toMatch(/ 长文+…文+$/);
    expect(stringWidth(row)).toBeLessThanOrEqual(100);
    store.dispatch({ type: 'cursor-moved', delta: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    lines = (app.lastFrame() ?? '').split('\n');
    const left = layoutFor({ columns: 100, rows: 30 }, 2).leftWidth;
    // The Details pane: the column left of the separator, read back by display width.
    const below = lines.slice(lines.findIndex((l) => l.includes('Details')) + 1);
    const details = below.map((l) => l.split('│')[0]!).join('');
    expect(details.match(/中/g)).toHaveLength(10);
    expect(details).toContain('🎉 END');
    for (const l of lines.slice(1, -2)) expect(stringWidth(l.split('│')[0]!)).toBeLessThanOrEqual(left);
  });
});

describe('details, verdict, help and size', () => {
  it('shows the verdict and checks from the report, marked final once the analysis is done', async () => {
    const withChecks = (report: Report): Report => ({
      ...report,
      verdict: 'warn',
      checks: [
        { id: 'compressed-size', status: 'pass', actual: 3500, limit: 1 << 30, message: 'fits the budget' },
        { id: 'startup', status: 'warn', message: '9000/tcp is not exposed', hint: 'EXPOSE 9000' },
        {
          id: 'hints',
          status: 'warn',
          message: 'caches left in the image',
          details: [
            { kind: 'apt-lists', message: '/var/lib/apt/lists left by layer 1', bytes: 1 << 20 },
            { kind: 'pip-cache', message: 'pip cache', bytes: 2048 },
            { kind: 'vcs', message: '.git', bytes: 10 },
            { kind: 'largest-file', message: 'big.bin', bytes: 5 },
          ],
        },
      ],
      tier: { name: '≤256 MB', imageSize: 3500, recommendedMemory: '512 MB–1 GB' },
    });
    const { frame, store, until } = mount({ columns: 120, rows: 50 }, withChecks);
    expect(frame()).toContain('WARN so far');
    expect(frame()).toMatch(/PASS compressed-size/);
    expect(frame()).toMatch(/WARN startup/);
    expect(frame()).toContain('fix: EXPOSE 9000');
    expect(frame()).toContain('• 1 MiB /var/lib/apt/lists');
    expect(frame()).toContain('… 1 more');
    expect(frame()).not.toContain('big.bin');
    expect(frame()).toContain('3.42 KiB of 1 GiB budget');
    expect(frame()).toContain('512 MB–1 GB');
    store.dispatch({ type: 'report-updated', report: withChecks(store.getState().report!), final: true });
    await until((f) => f.includes('verdict WARN') && !f.includes('so far'), 'with the final verdict');
  });

  it('opens and closes the help', async () => {
    const { press } = mount();
    const help = await press('?', (f) => f.includes('fold or unfold every directory'), 'with help');
    // The empty line between the key list and the legend is drawn, not dropped.
    const lines = help.split('\n').map((l) => l.trim());
    expect(lines[lines.findIndex((l) => l.startsWith('q  Ctrl+C')) + 1]).toBe('');
    await press('?', (f) => f.includes('Layers (2)'), 'with the panes back');
  });

  it('shows the whole help at 80×24, with how to close it in its title', async () => {
    const { press } = mount({ columns: 80, rows: 24 });
    const help = await press('?', (f) => f.includes('fold or unfold every directory'), 'with help');
    expect(help).toContain('▶ Help — ? or Esc closes');
    // The legend's last line is the help's last: nothing was cut.
    // Reclaim is dive's per-path figure, not what a squash saves (the Details pane's "squash drops").
    expect(help).toContain('reclaim: all copies but the one kept; Details’ squash drops is the total.');
  });

  it('wraps the help in a 60-column terminal instead of cutting its lines', async () => {
    const { press } = mount({ columns: 60, rows: 40 });
    const screen = await press('?', (f) => f.includes('Help —'), 'with help');
    const help = screen.split('\n').slice(1, -2).join('\n');
    const text = help.replace(/\s+/g, ' ');
    expect(help).not.toContain('…');
    expect(text).toContain('w waste view: files that several layers wrote or deleted');
    expect(text).toContain('files: this layer’s changes or the whole image up to this layer');
    expect(text).toContain('Details’ squash drops is the total.');
  });

  it('scrolls a help taller than the terminal, and says how in its title', async () => {
    const { press } = mount({ columns: 80, rows: 14 });
    const top = await press('?', (f) => f.includes('Help —'), 'with help');
    expect(top).toContain('▶ Help — ↑↓ PgUp PgDn scroll · ? or Esc closes');
    expect(top).toContain('Tab / S-Tab');
    expect(top).not.toContain('reclaim: all copies');
    const bottom = await press('G', (f) => f.includes('reclaim: all copies'), 'scrolled to the end');
    expect(bottom).not.toContain('Tab / S-Tab');
    // Closed and opened again, it starts at the top.
    await press('?', (f) => f.includes('Layers (2)'), 'with the panes back');
    expect(await press('?', (f) => f.includes('Help —'), 'with help again')).toContain('Tab / S-Tab');
  });

  it('keeps a space between a cut reference and the progress or verdict after it', () => {
    const { frame } = mount({ columns: 60, rows: 24 });
    const header = frame().split('\n')[0]!;
    expect(header).toMatch(/^ imgscope {2}registry\.test\/app:1\.0 {2}\S+… reading layers 0\/2/);
  });

  it('keeps how to quit and which views are on in the footer of a 60-column terminal', () => {
    const { frame } = mount({ columns: 60, rows: 24 });
    const [keys, toggles] = frame().split('\n').slice(-2);
    expect(keys).toMatch(/\? help q quit\s*$/);
    expect(toggles).toMatch(/^a\[x\]\+add m\[x\]~mod r\[x\]-rm u\[x\]unmod +v:layer w:tree\s*$/);
  });

  it('separates the Details sections with an empty line', async () => {
    const { finish, until } = mount();
    finish();
    const screen = await until((f) => f.includes('cert.pem'), 'with the tree');
    const left = layoutFor({ columns: 100, rows: 30 }, 2).leftWidth;
    const details = screen.split('\n').map((l) => l.slice(0, left).trim());
    const image = details.indexOf('Image');
    expect(details[image - 1]).toBe('');
    expect(details[image - 2]).toMatch(/made dead/);
  });

  it('says in full, even in a narrow terminal, that it is too small and how to quit', () => {
    const { frame } = mount({ columns: 40, rows: 15 });
    const lines = frame().split('\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    const text = lines.map((line) => line.trim()).join(' ');
    expect(text).toContain('this terminal is 40×15');
    expect(text).toContain('q quits');
  });

  it('fits 80×24: no line wider than 80 columns, and fewer rows than the terminal', async () => {
    const { finish, until } = mount({ columns: 80, rows: 24 });
    finish();
    const screen = await until((f) => f.includes('cert.pem'), 'with the tree');
    const lines = screen.split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(screen).toContain('q quit');
  });
});

describe('the theme', () => {
  it('drops colours but keeps styles under NO_COLOR', () => {
    expect(themeFor({}).props('added').color).toBe('green');
    expect(themeFor({ NO_COLOR: '1' }).props('added').color).toBeUndefined();
    expect(themeFor({ NO_COLOR: '1' }).props('heading').bold).toBe(true);
    expect(themeFor({ NO_COLOR: '' }).color).toBe(true);
  });
});
