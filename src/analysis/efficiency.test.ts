import { describe, expect, it } from 'vitest';
import { computeWaste } from './efficiency.js';
import { layersOf } from './layer-spec.test-support.js';

function waste(layers: readonly (readonly string[])[], commands: readonly string[] = []) {
  const { paths, layers: parsed } = layersOf(layers);
  return computeWaste(
    paths,
    parsed.map((writer, index) => ({
      items: writer.items,
      contentSize: writer.contentSize,
      createdBy: commands[index],
    })),
  );
}

function files(summary: ReturnType<typeof waste>) {
  return summary.inefficientFiles.map((file) => `${file.path} ${file.count} ${file.wastedBytes}`);
}

describe('computeWaste (dive’s efficiency)', () => {
  it('counts every copy of a path that is a leaf in two layers; efficiency = Σ smallest / Σ cumulative', () => {
    const summary = waste([['a:10', 'b:5'], ['a:10']], ['ADD base', 'RUN chmod 600 /a']);
    expect(summary).toEqual({
      contentSize: 25,
      userSize: 10,
      efficiency: 15 / 25,
      wastedBytes: 20,
      userWastedPercent: 2,
      reclaimableBytes: 10,
      inefficientFiles: [
        {
          path: '/a',
          count: 2,
          wastedBytes: 20,
          reclaimableBytes: 10,
          overwrittenBy: [{ layer: 1, createdBy: 'RUN chmod 600 /a', change: 'modified' }],
        },
      ],
    });
  });

  it('gives a whiteout of a file size 0, attributing the waste to the deleting layer', () => {
    const summary = waste([['f:8'], ['.wh.f']], ['', 'RUN rm /f']);
    expect(summary.efficiency).toBe(0);
    expect(summary.inefficientFiles).toEqual([
      {
        path: '/f',
        count: 2,
        wastedBytes: 8,
        reclaimableBytes: 8,
        overwrittenBy: [{ layer: 1, createdBy: 'RUN rm /f', change: 'removed' }],
      },
    ]);
    expect(summary.userSize).toBe(0);
    expect(summary.userWastedPercent).toBe(0);
  });

  it('names the layer that removed an inefficient file with its directory, by whiteout or opaque marker', () => {
    const summary = waste(
      [
        ['d/', 'd/f:5', 'e/', 'e/g:7', 'k/', 'k/h:3'],
        ['d/', 'd/f:5', 'e/', 'e/g:7', 'k/', 'k/h:3'],
        ['.wh.d', 'e/', 'e/.wh..wh..opq', 'k/', 'k/.wh.h'],
        ['k/', 'k/x:1'],
        ['.wh.k'],
      ],
      ['ADD base', 'RUN chmod -R 600 /', 'RUN rm -rf /d /e/* /k/h', 'RUN touch /k/x', 'RUN rm -rf /k'],
    );
    const byPath = Object.fromEntries(
      summary.inefficientFiles.map((file) => [file.path, file.overwrittenBy]),
    );
    expect(byPath['/d/f']).toEqual([
      { layer: 1, createdBy: 'RUN chmod -R 600 /', change: 'modified' },
      { layer: 2, createdBy: 'RUN rm -rf /d /e/* /k/h', change: 'removed' },
    ]);
    expect(byPath['/e/g']).toEqual([
      { layer: 1, createdBy: 'RUN chmod -R 600 /', change: 'modified' },
      { layer: 2, createdBy: 'RUN rm -rf /d /e/* /k/h', change: 'removed' },
    ]);
    // Removed by its own whiteout first: the later removal of /k takes nothing more of it.
    expect(byPath['/k/h']).toEqual([
      { layer: 1, createdBy: 'RUN chmod -R 600 /', change: 'modified' },
      { layer: 2, createdBy: 'RUN rm -rf /d /e/* /k/h', change: 'removed' },
    ]);
    // dive's figures are unchanged by it.
    expect(files(summary)).toContain('/d/f 2 10');
  });

  it('names the removal of a directory that no entry named, only the paths below it', () => {
    const summary = waste([['d/f:5'], ['d/f:6'], ['.wh.d']], ['ADD f', 'RUN edit /d/f', 'RUN rm -rf /d']);
    expect(summary.inefficientFiles[0]!.overwrittenBy).toEqual([
      { layer: 1, createdBy: 'RUN edit /d/f', change: 'modified' },
      { layer: 2, createdBy: 'RUN rm -rf /d', change: 'removed' },
    ]);
  });

  it('gives a whiteout of a directory the size of everything in it in the stacked layers below', () => {
    const summary = waste([['d/'], ['d/', 'd/x:3', 'd/y/', 'd/y/z:4'], ['.wh.d']]);
    expect(files(summary)).toEqual(['/d 2 7']);
    expect(summary.efficiency).toBe((3 + 4 + 0) / (3 + 4 + 7));
  });

  it('treats a directory last re-created implicitly (no entry of its own) as a file, as dive’s stack does', () => {
    // Layer 1 names d/x but not d/: dive stacks d with an empty FileInfo, so the whiteout counts 0.
    const implicit = waste([['d/'], ['d/x:3'], ['.wh.d']]);
    expect(files(implicit)).toEqual(['/d 2 0']);
    expect(implicit.efficiency).toBe(1);
    const explicit = waste([['d/'], ['d/', 'd/x:3'], ['.wh.d']]);
    expect(files(explicit)).toEqual(['/d 2 3']);
    expect(explicit.efficiency).toBe(3 / 6);
  });

  it('lists paths that are zero-size leaves of two layers, as dive’s export does', () => {
    const summary = waste([['tmp/', 'etc/motd:3'], ['tmp/']]);
    expect(files(summary)).toEqual(['/tmp 2 0']);
    expect(summary.efficiency).toBe(1);
    expect(summary.wastedBytes).toBe(0);
  });

  it('ignores opaque markers, leaving the directory a leaf, as dive does', () => {
    const summary = waste([['app/', 'app/a:5'], ['app/', 'app/.wh..wh..opq'], ['x/.wh..wh..opq']]);
    expect(files(summary)).toEqual([]);
    expect(summary.efficiency).toBe(1);
  });

  it('abandons the rest of a layer’s walk at a whiteout of a path missing below (dive’s lookup error)', () => {
    // Walk order: '-x' < '.wh.ghost' < 'a'. -x is counted, the walk stops, a is not counted again, and
    // the ghost path enters dive's sums with a smallest size of -1.
    const summary = waste([['a:1'], ['-x:4', '.wh.ghost', 'a:1']]);
    expect(files(summary)).toEqual([]);
    expect(summary.efficiency).toBe((1 + 4 - 1) / (1 + 4));
  });

  it('reads aufs metadata as dive does, which skips only names from `.wh..wh..` on', () => {
    // `.wh..wh.aufs` is a whiteout of `/.wh.aufs`, absent below: dive's walk of layer 2 stops there,
    // before bin/ and etc/, which are then not counted a second time.
    const aufs = waste([
      ['bin/', 'bin/sh:100', 'etc/passwd:50'],
      ['.wh..wh.aufs', '.wh..wh.orph/', '.wh..wh.plnk/', 'bin/sh:120', 'etc/passwd:60'],
    ]);
    expect(files(aufs)).toEqual([]);
    expect(aufs.efficiency).toBe((100 + 50 - 1) / 150);
    // What `.wh..wh.plnk/` holds is counted as files, and then the directory is not a leaf.
    const plnk = waste([['a:10'], ['.wh..wh.plnk/', '.wh..wh.plnk/1.2:500', 'a => .wh..wh.plnk/1.2']]);
    expect(files(plnk)).toEqual(['/a 2 10']);
    expect(plnk.efficiency).toBe(500 / 510);
    // A `.wh..wh..` name is skipped, the directories leading to it kept.
    const skipped = waste([['d/'], ['d/.wh..wh..tmp', '.wh..wh..y/q:2']]);
    expect(files(skipped)).toEqual(['/d 2 0']);
  });

  it('reads `.wh..wh.` names below the root as dive does: as it reads them at the root', () => {
    // docker unpacks these names (tar-entries.ts); dive's figures do not depend on where they are.
    const nested = waste([
      ['a:10', 'x/'],
      ['x/.wh..wh.plnk/', 'x/.wh..wh.plnk/1.2:500', 'x/.wh..wh..y/q:2', 'x/.wh..wh..z', 'a:10'],
    ]);
    expect(files(nested)).toEqual(['/a 2 20']);
    expect(nested.efficiency).toBe((10 + 0 + 500) / (20 + 0 + 500));
    const atRoot = waste([
      ['a:10', 'x/'],
      ['.wh..wh.plnk/', '.wh..wh.plnk/1.2:500', 'x/', '.wh..wh..y/q:2', '.wh..wh..z', 'a:10'],
    ]);
    expect(files(atRoot)).toEqual(['/a 2 20', '/x 2 0']);
    expect(atRoot.efficiency).toBe((10 + 0 + 500) / (20 + 0 + 500));
  });

  it('visits a whiteout only as a leaf, as dive: `.wh.z/` holding entries is a directory of them', () => {
    const summary = waste([['a:10'], ['.wh.z/', '.wh.z/w:4', 'a:10']]);
    expect(files(summary)).toEqual(['/a 2 20']);
    expect(summary.efficiency).toBe((10 + 4) / (20 + 4));
  });

  it('breaks ties like dive: equal sizes list the path that became inefficient last first', () => {
    expect(
      files(
        waste([
          ['p:5', 'q:5'],
          ['q:5', 'p:5'],
        ]),
      ),
    ).toEqual(['/q 2 10', '/p 2 10']);
    expect(files(waste([['p:5', 'q:5'], ['q:5'], ['p:5']]))).toEqual(['/p 2 10', '/q 2 10']);
    expect(
      files(
        waste([
          ['small:1', 'big:9'],
          ['small:1', 'big:9'],
        ]),
      ),
    ).toEqual(['/big 2 18', '/small 2 2']);
  });

  it('stacks a layer that whites out and re-creates a path in dive’s walk order', () => {
    // '.wh.d' walks before 'd': d is removed, then re-created with new; a later whiteout finds new.
    const kept = waste([['d/', 'd/old:5'], ['.wh.d', 'd/', 'd/new:2'], ['d/.wh.new']]);
    expect(files(kept)).toEqual(['/d/new 2 2']);
    // '-d' walks before '.wh.-d': -d/new is added, then the whole -d removed; the later whiteout misses.
    const lost = waste([['-d/', '-d/old:5'], ['.wh.-d', '-d/', '-d/new:2'], ['-d/.wh.new']]);
    expect(files(lost)).toEqual([]);
  });

  it('visits a whiteout named twice in one layer once, as dive’s layer tree holds one node for it', () => {
    // dive: /d is a leaf once (the whiteout, 7 bytes below it): not inefficient, efficiency 1.
    const summary = waste([
      ['d/', 'd/f:7'],
      ['.wh.d', './.wh.d'],
    ]);
    expect(files(summary)).toEqual([]);
    expect(summary.wastedBytes).toBe(0);
    expect(summary.efficiency).toBe(1);
  });

  it('makes reclaimable what a squash drops: every copy but the one that survives, not but the smallest', () => {
    // a grows 100 → 120: the 120 survive; b is deleted, then added again (8 survive); c deleted for good.
    const summary = waste([['a:100', 'b:8', 'c:5'], ['a:120', '.wh.b', '.wh.c'], ['b:8']]);
    expect(
      summary.inefficientFiles.map((file) => [file.path, file.wastedBytes, file.reclaimableBytes]),
    ).toEqual([
      ['/a', 220, 100],
      ['/b', 16, 8],
      ['/c', 5, 5],
    ]);
    expect(summary.reclaimableBytes).toBe(113);
  });

  it('names a layer that writes a path again after a lower layer deleted it as adding it, not modifying it', () => {
    const summary = waste([['b:8'], ['.wh.b'], ['b:8']], ['ADD b', 'RUN rm b', 'ADD b']);
    expect(summary.inefficientFiles[0]!.overwrittenBy).toEqual([
      { layer: 1, createdBy: 'RUN rm b', change: 'removed' },
      { layer: 2, createdBy: 'ADD b', change: 'added' },
    ]);
  });

  it('is 1 for an image with nothing in it', () => {
    expect(waste([])).toEqual({
      contentSize: 0,
      userSize: 0,
      efficiency: 1,
      wastedBytes: 0,
      userWastedPercent: 0,
      reclaimableBytes: 0,
      inefficientFiles: [],
    });
  });
});
