import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import type { FileTree, TreeNode } from '../../src/analysis/types.js';
import {
  ALL_CHANGES,
  ALL_EXPANDED,
  type FileRows,
  filterTree,
  flattenTree,
  NO_FILTER,
  type RowFilter,
  toggleCollapseAll,
  toggleCollapseAt,
} from '../../src/tui/view-model/file-rows.js';
import { fileColumns, fileHeading, fileLine } from '../../src/tui/view-model/files.js';
import { lineText } from '../../src/tui/view-model/lines.js';
import { type FakeEntry, fakeTree } from './fake-tree.js';

const ENTRIES: FakeEntry[] = [
  { path: '/bin/sh', size: 100, change: 'unmodified' },
  { path: '/bin/ls', size: 50, change: 'modified' },
  { path: '/etc/passwd', size: 10, change: 'added' },
  { path: '/etc/ssl/certs/ca.pem', size: 1000, change: 'added' },
  { path: '/etc/old.conf', size: 5, change: 'removed' },
  { path: '/usr/lib/libc.so', size: 2000, change: 'unmodified' },
  { path: '/README', size: 1, change: 'added' },
];

function show(rows: FileRows): string[] {
  return rows.rows.map((row) => `${row.guide}${row.node.name}${row.collapsed ? ' [+]' : ''}`);
}

function paths(rows: FileRows): string[] {
  return rows.rows.map((row) => row.node.path);
}

/** What a filter shows, by a plain recursive walk of the whole tree: the reference for the fast paths. */
function naiveRows(tree: FileTree, filter: RowFilter): string[] {
  const text = filter.text;
  const matches = (path: string) =>
    text === text.toLowerCase() ? path.toLowerCase().includes(text) : path.includes(text);
  const out: string[] = [];
  const visible = (node: TreeNode): TreeNode[] =>
    tree
      .children(node)
      .filter((child) => visible(child).length > 0 || (filter.changes[child.change] && matches(child.path)));
  const walk = (node: TreeNode, prefix: string) => {
    const children = visible(node);
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      out.push(`${prefix}${last ? '└─ ' : '├─ '}${child.name}`);
      walk(child, prefix + (last ? '   ' : '│  '));
    });
  };
  walk(tree.root, '');
  return out;
}

/** Counts children() calls, to pin the cost model: what a key press may and may not walk. */
function counting(tree: FileTree): { tree: FileTree; calls: () => number } {
  let calls = 0;
  return {
    tree: {
      root: tree.root,
      size: tree.size,
      children: (node) => {
        calls++;
        return tree.children(node);
      },
      walk: (visit) => tree.walk(visit),
    },
    calls: () => calls,
  };
}

describe('flattening a tree into rows', () => {
  it('lists nodes depth first in the tree order, with guides that draw the tree', () => {
    const rows = flattenTree(filterTree(fakeTree(ENTRIES), NO_FILTER));
    expect(show(rows)).toEqual([
      '├─ README',
      '├─ bin',
      '│  ├─ ls',
      '│  └─ sh',
      '├─ etc',
      '│  ├─ old.conf',
      '│  ├─ passwd',
      '│  └─ ssl',
      '│     └─ certs',
      '│        └─ ca.pem',
      '└─ usr',
      '   └─ lib',
      '      └─ libc.so',
    ]);
    expect(rows.rows.map((row) => row.depth)).toEqual([0, 0, 1, 1, 0, 1, 1, 1, 2, 3, 0, 1, 2]);
  });

  it('marks directories with visible children as expandable, files and empty directories not', () => {
    const rows = flattenTree(filterTree(fakeTree([...ENTRIES, { path: '/tmp', type: 'dir' }]), NO_FILTER));
    const expandable = rows.rows.filter((row) => row.expandable).map((row) => row.node.path);
    expect(expandable).toEqual(['/bin', '/etc', '/etc/ssl', '/etc/ssl/certs', '/usr', '/usr/lib']);
  });
});

describe('filtering rows', () => {
  const tree = fakeTree(ENTRIES);

  it('keeps paths containing the text and the directories that lead to them', () => {
    const rows = flattenTree(filterTree(tree, { text: 'ss', changes: ALL_CHANGES }));
    expect(paths(rows)).toEqual([
      '/etc',
      '/etc/passwd',
      '/etc/ssl',
      '/etc/ssl/certs',
      '/etc/ssl/certs/ca.pem',
    ]);
  });

  it('ignores case for lower-case text and respects it once the text has a capital (smart case)', () => {
    expect(paths(flattenTree(filterTree(tree, { text: 'readme', changes: ALL_CHANGES })))).toEqual([
      '/README',
    ]);
    expect(paths(flattenTree(filterTree(tree, { text: 'Readme', changes: ALL_CHANGES })))).toEqual([]);
  });

  it('hides a change kind; a directory stays only while something below it is shown', () => {
    const noRemoved = flattenTree(
      filterTree(tree, { text: '', changes: { ...ALL_CHANGES, removed: false } }),
    );
    expect(paths(noRemoved)).not.toContain('/etc/old.conf');
    expect(paths(noRemoved)).toContain('/etc/passwd');

    const onlyAdded = { added: true, modified: false, removed: false, unmodified: false };
    const added = flattenTree(filterTree(tree, { text: '', changes: onlyAdded }));
    expect(paths(added)).toEqual([
      '/README',
      '/etc',
      '/etc/passwd',
      '/etc/ssl',
      '/etc/ssl/certs',
      '/etc/ssl/certs/ca.pem',
    ]);
  });

  it('combines text and change filters', () => {
    const rows = flattenTree(
      filterTree(tree, { text: 'bin', changes: { ...ALL_CHANGES, unmodified: false } }),
    );
    expect(paths(rows)).toEqual(['/bin', '/bin/ls']);
  });

  it('narrows from the previous result as the text grows, with the same rows as a fresh filter', () => {
    const entries: FakeEntry[] = [];
    for (let d = 0; d < 30; d++) for (let f = 0; f < 30; f++) entries.push({ path: `/d${d}/f${f}.txt` });
    const counted = counting(fakeTree(entries));
    const first = filterTree(counted.tree, { text: 'd1', changes: ALL_CHANGES });
    const second = filterTree(counted.tree, { text: 'd12', changes: ALL_CHANGES }, first);
    flattenTree(second);
    expect(counted.calls()).toBeLessThanOrEqual(31); // each directory's children built once at most
    const fresh = filterTree(fakeTree(entries), { text: 'd12', changes: ALL_CHANGES });
    expect(paths(flattenTree(second))).toEqual(paths(flattenTree(fresh)));
    expect(paths(flattenTree(second))).toHaveLength(31);
  });

  it('erasing back to an earlier filter walks nothing and gives its rows again', () => {
    const counted = counting(fakeTree(ENTRIES));
    flattenTree(filterTree(counted.tree, NO_FILTER));
    let filtered = filterTree(counted.tree, NO_FILTER);
    const steps = [];
    for (const text of ['e', 'et', 'etc', 'etc/', 'etc/s']) {
      filtered = filterTree(counted.tree, { text, changes: ALL_CHANGES }, filtered);
      steps.push(flattenTree(filtered).rows);
    }
    const before = counted.calls();
    for (const [i, text] of ['etc/', 'etc', 'et', 'e'].entries()) {
      filtered = filterTree(counted.tree, { text, changes: ALL_CHANGES }, filtered);
      expect(flattenTree(filtered).rows).toBe(steps[3 - i]);
    }
    expect(counted.calls()).toBe(before);
  });

  it('typing, erasing and toggling change kinds in any order shows what a fresh filter would', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const alphabet = ['a', 'b', 'A', '/', '.', 'x'];
    const name = () =>
      Array.from({ length: 1 + random(3) }, () => alphabet[random(alphabet.length)]).join('');
    const marks = ['added', 'modified', 'removed', 'unmodified'] as const;
    for (let trial = 0; trial < 40; trial++) {
      const entries: FakeEntry[] = [];
      for (let i = 0; i < 5 + random(60); i++) {
        const path = Array.from({ length: 1 + random(4) }, name)
          .join('/')
          .replace(/\/+/g, '/');
        entries.push({ path: `/${path}`.replace(/\/$/, '') || '/x', change: marks[random(4)] });
      }
      const tree = fakeTree(entries);
      let filter = NO_FILTER;
      let filtered = filterTree(tree, filter);
      for (let step = 0; step < 30; step++) {
        const op = random(6);
        if (op < 3) filter = { ...filter, text: filter.text + alphabet[random(alphabet.length)] };
        else if (op < 5) filter = { ...filter, text: filter.text.slice(0, -1) };
        else {
          const mark = marks[random(4)]!;
          filter = { ...filter, changes: { ...filter.changes, [mark]: !filter.changes[mark] } };
        }
        filtered = filterTree(tree, filter, filtered);
        expect(show(flattenTree(filtered)), `${JSON.stringify(entries)} ${JSON.stringify(filter)}`).toEqual(
          naiveRows(tree, filter),
        );
      }
    }
  });

  it('walks the tree again when the filter widens', () => {
    const tree = fakeTree(ENTRIES);
    const narrow = filterTree(tree, { text: 'passwd', changes: ALL_CHANGES });
    const wider = filterTree(tree, { text: 'pass', changes: { ...ALL_CHANGES, removed: false } }, narrow);
    expect(paths(flattenTree(wider))).toEqual(['/etc', '/etc/passwd']);
    const other = filterTree(tree, { text: 'lib', changes: ALL_CHANGES }, narrow);
    expect(paths(flattenTree(other))).toContain('/usr/lib/libc.so');
  });

  it('redraws the guides for what is left, so the last visible child gets the corner', () => {
    const rows = flattenTree(filterTree(tree, { text: 'ls', changes: ALL_CHANGES }));
    expect(show(rows)).toEqual(['└─ bin', '   └─ ls']);
  });
});

describe('collapsing directories', () => {
  const filtered = filterTree(fakeTree(ENTRIES), NO_FILTER);

  it('folds a directory: its subtree leaves the rows and the row shows it is folded', () => {
    const rows = flattenTree(filtered);
    const etc = paths(rows).indexOf('/etc');
    const folded = toggleCollapseAt(rows, etc);
    expect(show(folded)).toEqual([
      '├─ README',
      '├─ bin',
      '│  ├─ ls',
      '│  └─ sh',
      '├─ etc [+]',
      '└─ usr',
      '   └─ lib',
      '      └─ libc.so',
    ]);
  });

  it('unfolding splices back exactly what a full flatten with the same state would give', () => {
    const rows = flattenTree(filtered);
    const foldedSsl = toggleCollapseAt(rows, paths(rows).indexOf('/etc/ssl'));
    const foldedEtc = toggleCollapseAt(foldedSsl, paths(foldedSsl).indexOf('/etc'));
    const unfolded = toggleCollapseAt(foldedEtc, paths(foldedEtc).indexOf('/etc'));
    // /etc/ssl stays folded inside the unfolded /etc.
    expect(show(unfolded)).toEqual(show(flattenTree(filtered, unfolded.collapse)));
    expect(show(unfolded)).toContain('│  └─ ssl [+]');
    expect(paths(unfolded)).not.toContain('/etc/ssl/certs');
  });

  it('does nothing on a file row', () => {
    const rows = flattenTree(filtered);
    expect(toggleCollapseAt(rows, 0)).toBe(rows);
  });

  it('folds everything, then unfolds everything', () => {
    const rows = flattenTree(filtered);
    const folded = toggleCollapseAll(rows);
    expect(show(folded)).toEqual(['├─ README', '├─ bin [+]', '├─ etc [+]', '└─ usr [+]']);
    expect(show(toggleCollapseAll(folded))).toEqual(show(rows));
  });

  it('unfolding everything again reuses the rows it had, without walking the tree', () => {
    const counted = counting(fakeTree(ENTRIES));
    const rows = flattenTree(filterTree(counted.tree, NO_FILTER));
    const folded = toggleCollapseAll(rows);
    const before = counted.calls();
    expect(toggleCollapseAll(folded).rows).toBe(rows.rows);
    expect(counted.calls()).toBe(before);
  });

  it('keeps folds by path, so the same directory stays folded in another tree', () => {
    const rows = toggleCollapseAt(flattenTree(filtered), 1);
    const other = flattenTree(
      filterTree(fakeTree([{ path: '/bin/bash' }, { path: '/opt/x' }]), NO_FILTER),
      rows.collapse,
    );
    expect(show(other)).toEqual(['├─ bin [+]', '└─ opt', '   └─ x']);
  });

  it('folding walks nothing; unfolding walks only the unfolded subtree', () => {
    const entries: FakeEntry[] = [];
    for (let d = 0; d < 50; d++) for (let f = 0; f < 20; f++) entries.push({ path: `/d${d}/sub/f${f}` });
    const counted = counting(fakeTree(entries));
    const rows = flattenTree(filterTree(counted.tree, NO_FILTER), ALL_EXPANDED);
    const before = counted.calls();
    const folded = toggleCollapseAt(rows, 0);
    expect(counted.calls()).toBe(before);
    toggleCollapseAt(folded, 0);
    expect(counted.calls() - before).toBeLessThanOrEqual(2); // /d0 and /d0/sub, if not built yet
  });
});

describe('a file row', () => {
  it('shows a five-digit uid:gid whole (65534:65534 is nobody, common in distroless and busybox)', () => {
    const tree = fakeTree([{ path: '/home/nobody', size: 0, change: 'added', uid: 65534, gid: 65534 }]);
    const rows = flattenTree(filterTree(tree, NO_FILTER), ALL_EXPANDED);
    const row = rows.rows.find((r) => r.node.path === '/home/nobody')!;
    const text = lineText(fileLine(row, fileColumns(70)));
    expect(text).toContain(' 65534:65534 ');
    expect(lineText(fileHeading(70))).toMatch(/ UID:GID +Size Name$/);
  });
});

describe('a file row that does not fit its pane', () => {
  const rowsOf = (entries: FakeEntry[]) =>
    flattenTree(filterTree(fakeTree(entries), NO_FILTER), ALL_EXPANDED);
  const textOf = (rows: FileRows, path: string, width: number) =>
    lineText(fileLine(rows.rows.find((r) => r.node.path === path)!, fileColumns(width), width));

  it('cuts a long name in the middle, so names that differ at the end do not look the same', () => {
    const pack = `/app/.git/objects/pack/pack-2eefe57aa408e3d1c4b8f0e6a7d9b5c3e1f2a4b6`;
    const rows = rowsOf([
      { path: `${pack}.idx` },
      { path: `${pack}.pack` },
      { path: '/app/dist/bundle.js.map' },
    ]);
    const idx = textOf(rows, `${pack}.idx`, 60);
    const packed = textOf(rows, `${pack}.pack`, 60);
    expect(idx).toMatch(/ pack\S*…\S*\.idx$/);
    expect(packed).toMatch(/ pack\S*…\S*\.pack$/);
    for (const text of [idx, packed]) expect(stringWidth(text)).toBe(60);
    expect(textOf(rows, '/app/dist/bundle.js.map', 24)).toMatch(/└─ bu\S*…\S*\.map$/);
  });

  it('keeps a link’s name and cuts its target at the end', () => {
    const rows = rowsOf([
      { path: '/etc/localtime', type: 'symlink', linkTarget: '/usr/share/zoneinfo/Etc/UTC' },
    ]);
    expect(textOf(rows, '/etc/localtime', 50)).toMatch(/└─ localtime → \/usr\/sh[^ ]*…$/);
  });

  it('keeps a link’s arrow where no part of its target fits (a 60-column terminal)', () => {
    const rows = rowsOf([
      { path: '/etc/localtime', type: 'symlink', linkTarget: '/usr/share/zoneinfo/Etc/UTC' },
      { path: '/etc/a-really-quite-long-symlink-name', type: 'symlink', linkTarget: '/usr/lib/os-release' },
      { path: '/etc/a-hardlinked-file-with-a-long-name', type: 'hardlink', linkTarget: '/usr/bin/perl' },
    ]);
    // The Files pane's rows on a 60-column terminal: 28 columns, the name 10 after its guides.
    expect(textOf(rows, '/etc/localtime', 28)).toMatch(/└─ lo…ltime →$/);
    expect(textOf(rows, '/etc/a-really-quite-long-symlink-name', 28)).toMatch(/├─ a-\S*…\S* →$/);
    expect(textOf(rows, '/etc/a-hardlinked-file-with-a-long-name', 28)).toMatch(/├─ a-\S*…\S* ⇒$/);
    for (const path of ['/etc/localtime', '/etc/a-really-quite-long-symlink-name']) {
      expect(stringWidth(textOf(rows, path, 28))).toBeLessThanOrEqual(28);
    }
  });

  it('shows the name of a row nested deeper than its guides leave room for, after a … for the guides cut', () => {
    const deep = `/${'abcdefghijklmnopqrstuvwxyz'.split('').join('/')}/bottom.txt`;
    const rows = rowsOf([{ path: deep }, { path: '/z' }]);
    const text = textOf(rows, deep, 70);
    expect(text).toMatch(/ B …( {3}|│ {2})+└─ bottom\.txt$/);
    expect(stringWidth(text)).toBeLessThanOrEqual(70);
    // Where the name fits with every guide, nothing is cut.
    expect(textOf(rows, '/a/b/c', 70)).toMatch(/ B │ {5}└─ c\/$/);
  });
});

describe('rows whose guides give way', () => {
  it('never draw a row nested deeper less indented than its parent, whatever the names’ lengths', () => {
    const entries: FakeEntry[] = [
      { path: '/var/log/apt/history.log' },
      { path: '/var/log/apt/a-much-longer-name-of-a-log-file.log' },
      { path: '/var/log/dpkg.log' },
      { path: '/var/log/a-long-name-beside-dpkg.log' },
      { path: '/usr/share/ca-certificates/mozilla/ISRG_Root_X1.crt' },
    ];
    const rows = flattenTree(filterTree(fakeTree(entries), NO_FILTER), ALL_EXPANDED).rows;
    for (const width of [30, 40, 50, 70]) {
      const indent = new Map(
        rows.map((row) => [row.node.path, lineText(fileLine(row, fileColumns(width), width)).indexOf('─ ')]),
      );
      for (const row of rows) {
        const parent = row.node.path.slice(0, row.node.path.lastIndexOf('/'));
        if (indent.has(parent)) expect(indent.get(row.node.path)).toBeGreaterThanOrEqual(indent.get(parent)!);
      }
      // Siblings line up.
      expect(indent.get('/var/log/dpkg.log')).toBe(indent.get('/var/log/a-long-name-beside-dpkg.log'));
      expect(indent.get('/var/log/dpkg.log')).toBeLessThanOrEqual(indent.get('/var/log/apt/history.log')!);
    }
  });
});

describe('a tree nested thousands deep (a hostile layer)', () => {
  /** `/d/d/…/d/f`: `depth` directories in a chain, a file at the bottom. */
  function chain(depth: number): FileTree {
    const nodes: TreeNode[] = [];
    for (let i = 0; i <= depth + 1; i++) {
      const path = i === 0 ? '/' : `${'/d'.repeat(Math.min(i, depth))}${i > depth ? '/f' : ''}`;
      const type = i > depth ? 'file' : 'dir';
      nodes.push({
        id: i,
        name: i === 0 ? '' : i > depth ? 'f' : 'd',
        path,
        entry: { path, type, mode: 0o755, uid: 0, gid: 0, size: i > depth ? 1 : 0, layer: 0 },
        change: 'added',
        totalSize: 1,
        childCount: i > depth ? 0 : 1,
      });
    }
    return {
      root: nodes[0]!,
      size: depth + 1,
      children: (node) => (node.id <= depth ? [nodes[node.id + 1]!] : []),
      walk: () => {
        throw new Error('not used');
      },
    };
  }

  it('lists, filters and folds it without running out of stack', () => {
    const tree = chain(20_000);
    const rows = flattenTree(filterTree(tree, NO_FILTER));
    expect(rows.rows).toHaveLength(20_001);
    expect(rows.rows.at(-1)?.node.name).toBe('f');
    expect(rows.rows.at(-1)?.depth).toBe(20_000);
    const filtered = flattenTree(filterTree(tree, { ...NO_FILTER, text: '/f' }));
    expect(filtered.rows).toHaveLength(20_001);
    const folded = toggleCollapseAt(rows, 0);
    expect(folded.rows).toHaveLength(1);
    expect(toggleCollapseAt(folded, 0).rows).toHaveLength(20_001);
  });
});
