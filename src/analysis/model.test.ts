import { describe, expect, it } from 'vitest';
import { layersOf, listing } from './layer-spec.test-support.js';
import { FileModelBuilder } from './model.js';
import { walkByChildren } from './tree-walk.js';
import type { WalkedNode } from './types.js';

function build(layers: readonly (readonly string[])[]) {
  const { paths, links, layers: parsed } = layersOf(layers);
  const builder = new FileModelBuilder(paths, links);
  const merged = parsed.map((writer) => builder.applyLayer(writer.items, writer.fileCount));
  const model = builder.build();
  const changes = (layer: number) =>
    [...model.layerChanges(layer)].map((change) => `${change.change} ${change.path}`);
  return { model, merged, changes };
}

describe('FileModelBuilder', () => {
  it('classifies entries against the merged tree below: added, modified, and unchanged re-listed dirs', () => {
    const { merged, changes } = build([
      ['etc/', 'etc/hosts:10', 'etc/passwd:20'],
      ['etc/', 'etc/hosts:12', 'etc/group:5'],
      ['etc/@700', 'etc/passwd:20'],
    ]);
    expect(changes(0)).toEqual(['added /etc', 'added /etc/hosts', 'added /etc/passwd']);
    expect(changes(1)).toEqual(['modified /etc/hosts', 'added /etc/group']);
    expect(changes(2)).toEqual(['modified /etc', 'modified /etc/passwd']);
    expect(merged[1]).toEqual({ added: 1, modified: 1, removed: 0, wastedBytes: 10 });
    expect(merged[2]).toEqual({ added: 0, modified: 2, removed: 0, wastedBytes: 20 });
  });

  it('implies missing parent directories (0755, owned by the layer of the first child)', () => {
    const { model, changes } = build([['usr/lib/libc.so:100'], ['usr/lib/libm.so:50']]);
    expect(changes(0)).toEqual(['added /usr', 'added /usr/lib', 'added /usr/lib/libc.so']);
    expect(changes(1)).toEqual(['added /usr/lib/libm.so']);
    const [usr] = model.treeAt(1).children(model.treeAt(1).root);
    expect(usr!.entry).toEqual({ path: '/usr', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, layer: 0 });
  });

  it('lets a later entry of the same layer take over an implied directory without counting it twice', () => {
    const { merged, changes, model } = build([['a/b/f:1', 'a/b/@700', 'a/']]);
    expect(changes(0)).toEqual(['added /a/b/f', 'added /a/b', 'added /a']);
    expect(merged[0]).toMatchObject({ added: 3 });
    expect(listing(model.treeAt(0))).toEqual(['/a dir 1 added', '/a/b dir 1 added', '/a/b/f file 1 added']);
    expect(model.treeAt(0).children(model.treeAt(0).root)[0]!.childCount).toBe(1);
  });

  it('removes a whited-out file, and a whited-out directory with everything in it', () => {
    const { model, merged, changes } = build([
      ['etc/', 'etc/motd:7', 'var/', 'var/cache/', 'var/cache/a:100', 'var/cache/sub/b:200'],
      ['etc/.wh.motd', 'var/.wh.cache'],
    ]);
    expect(changes(1)).toEqual(['removed /etc/motd', 'removed /var/cache']);
    expect(merged[1]).toEqual({ added: 0, modified: 0, removed: 2, wastedBytes: 307 });
    // The merged tree after the layer shows what it removed, as removed, with the removed sizes.
    expect(listing(model.treeAt(1))).toEqual([
      '/etc dir 0 unmodified',
      '/etc/motd file 7 removed',
      '/var dir 0 unmodified',
      '/var/cache dir 300 removed',
      '/var/cache/a file 100 removed',
      '/var/cache/sub dir 200 removed',
      '/var/cache/sub/b file 200 removed',
    ]);
    // One layer up, they are simply gone.
    const { model: upper } = build([
      ['etc/', 'etc/motd:7', 'var/', 'var/cache/', 'var/cache/a:100'],
      ['etc/.wh.motd', 'var/.wh.cache'],
      ['tmp/'],
    ]);
    expect(listing(upper.treeAt(2))).toEqual([
      '/etc dir 0 unmodified',
      '/tmp dir 0 added',
      '/var dir 0 unmodified',
    ]);
    expect(upper.treeAt(2).size).toBe(3);
  });

  it('keeps a whiteout of a path that does not exist below as a removal that removes nothing', () => {
    const { model, merged, changes } = build([['a:1'], ['.wh.ghost', 'a:2']]);
    expect(changes(1)).toEqual(['removed /ghost', 'modified /a']);
    expect(merged[1]).toEqual({ added: 0, modified: 1, removed: 1, wastedBytes: 1 });
    expect(listing(model.treeAt(1))).toEqual(['/a file 2 modified', '/ghost file 0 removed']);
  });

  it('makes the missing folder of a whiteout, as docker and containerd do before removing nothing', () => {
    const { model, changes } = build([['a:1'], ['gone/sub/.wh.x']]);
    expect(changes(1)).toEqual(['added /gone', 'added /gone/sub', 'removed /gone/sub/x']);
    expect(listing(model.treeAt(1))).toEqual([
      '/a file 1 unmodified',
      '/gone dir 0 added',
      '/gone/sub dir 0 added',
      '/gone/sub/x file 0 removed',
    ]);
  });

  it('leaves aufs metadata at the root out, and unpacks `.wh..wh.` names below it as docker does', () => {
    const { model, changes } = build([
      ['backup/keep:3'],
      ['.wh..wh.plnk/', '.wh..wh.plnk/1.2:500', 'backup/.wh..wh.plnk/', 'backup/.wh..wh.plnk/42.1:100'],
    ]);
    // `backup/.wh..wh.plnk/` whites out `backup/.wh.plnk` (nothing); its file implies the directory.
    expect(changes(1)).toEqual([
      'removed /backup/.wh.plnk',
      'added /backup/.wh..wh.plnk',
      'added /backup/.wh..wh.plnk/42.1',
    ]);
    expect(listing(model.treeAt(1))).toEqual([
      '/backup dir 103 unmodified',
      '/backup/.wh..wh.plnk dir 100 added',
      '/backup/.wh..wh.plnk/42.1 file 100 added',
      '/backup/.wh.plnk file 0 removed',
      '/backup/keep file 3 unmodified',
    ]);
  });

  it('counts a path removed once by a layer, however many whiteouts and opaque markers name it', () => {
    const { merged, changes } = build([
      ['d/', 'd/f:7', 'e/', 'e/g:1'],
      ['.wh.d', './.wh.d', 'd/.wh.f', 'e/.wh..wh..opq', 'e/.wh.g'],
    ]);
    expect(changes(1)).toEqual(['removed /d', 'removed /d/f', 'removed /e/g']);
    expect(merged[1]).toEqual({ added: 0, modified: 0, removed: 3, wastedBytes: 8 });
    // The same whiteouts in the other order: the same changes.
    const reversed = build([
      ['d/', 'd/f:7', 'e/', 'e/g:1'],
      ['e/.wh.g', 'e/.wh..wh..opq', 'd/.wh.f', './.wh.d', '.wh.d'],
    ]);
    expect(reversed.changes(1).sort()).toEqual(['removed /d', 'removed /d/f', 'removed /e/g']);
    expect(reversed.merged[1]).toEqual(merged[1]);
  });

  it('counts a hardlinked file’s bytes dead only when its last name goes', () => {
    const { merged } = build([
      ['bin/', 'bin/perl5:1000', 'bin/perl => bin/perl5', 'bin/cpan:7', 'bin/cpan2 => bin/cpan'],
      ['bin/.wh.perl5', 'bin/cpan:8'],
      ['bin/.wh.perl', 'bin/.wh.cpan2'],
    ]);
    // Layer 2: perl still names perl5's bytes, cpan2 the old cpan's. Layer 3 drops the last names.
    expect(merged.map((layer) => layer.wastedBytes)).toEqual([0, 0, 1007]);
  });

  it('counts what `rm -rf d && mkdir d` removed alike whether the layer says it by whiteout or opaque marker', () => {
    const lower = ['etc/', 'etc/a:1', 'etc/b:2', 'etc/sub/', 'etc/sub/c:3'];
    const whiteout = build([lower, ['.wh.etc', 'etc/', 'etc/a:1']]);
    const opaque = build([lower, ['etc/', 'etc/.wh..wh..opq', 'etc/a:1']]);
    expect(
      whiteout
        .changes(1)
        .filter((change) => change.startsWith('removed'))
        .sort(),
    ).toEqual(['removed /etc/b', 'removed /etc/sub']);
    expect(whiteout.merged[1]!.removed).toBe(2);
    expect(opaque.merged[1]!.removed).toBe(2);
  });

  it('applies opaque directories: lower contents gone (each a removal), the layer’s own entries kept', () => {
    const { model, merged, changes } = build([
      ['app/', 'app/old:10', 'app/keep/', 'app/keep/x:20', 'app/keep/y:30', 'other:1'],
      ['app/', 'app/.wh..wh..opq', 'app/keep/', 'app/keep/x:21', 'app/new:5'],
    ]);
    // keep/y was below the opaque directory too: gone, though keep/ itself was re-created.
    expect(changes(1)).toEqual([
      'removed /app/keep/y',
      'removed /app/old',
      'modified /app/keep',
      'modified /app/keep/x',
      'added /app/new',
    ]);
    expect(listing(model.treeAt(1))).toEqual([
      '/app dir 26 unmodified',
      '/app/keep dir 21 modified',
      '/app/keep/x file 21 modified',
      '/app/keep/y file 30 removed',
      '/app/new file 5 added',
      '/app/old file 10 removed',
      '/other file 1 unmodified',
    ]);
    expect(merged[1]).toEqual({ added: 1, modified: 2, removed: 2, wastedBytes: 60 });
  });

  it('applies whiteouts before the layer’s own entries, whatever their order in the tar', () => {
    const { model, changes } = build([
      ['d/', 'd/f:1', 'd/g:2'],
      ['d/', 'd/f:3', 'd/.wh.f', '.wh.d'],
    ]);
    // d was removed and re-created, so it is modified; g, which it held and no longer does, is removed.
    expect(changes(1)).toEqual(['removed /d/g', 'modified /d', 'modified /d/f']);
    expect(listing(model.treeAt(1))).toEqual([
      '/d dir 3 modified',
      '/d/f file 3 modified',
      '/d/g file 2 removed',
    ]);
  });

  it('lists what a directory held below as removed when the layer replaces it and then makes it again', () => {
    // As `rm -rf etc && mkdir etc` by whiteout, so by duplicate entries: etc as a file, then etc/ again.
    const { model, merged, changes } = build([
      ['etc/', 'etc/a:1', 'etc/b:2'],
      ['etc:5', 'etc/', 'etc/a:3'],
    ]);
    expect(changes(1)).toEqual(['removed /etc/b', 'modified /etc', 'modified /etc/a']);
    expect(merged[1]).toEqual({ added: 0, modified: 2, removed: 1, wastedBytes: 3 + 5 });
    expect(listing(model.treeAt(1))).toEqual([
      '/etc dir 3 modified',
      '/etc/a file 3 modified',
      '/etc/b file 2 removed',
    ]);
    // The same through a path that implies the directory again, and through a symlink.
    expect(build([['etc/b:2'], ['etc -> x', 'etc/c:1']]).changes(1)).toEqual([
      'removed /etc/b',
      'modified /etc',
      'added /etc/c',
    ]);
  });

  it('counts the copies a layer ships and replaces itself as dead, keeping hardlinked content alive', () => {
    // Concatenated tars: app/big twice in one layer; the base layer shadows its own copy too.
    const { model, merged } = build([
      ['app/', 'app/big:1000', 'app/big:10', 'app/keep:7'],
      ['app/big:4', 'app/big:3', 'app/keep:2'],
      // A file named twice while a hardlink keeps the first copy: nothing of it is dead.
      ['lib/', 'lib/a:50', 'lib/b => lib/a', 'lib/a:5'],
    ]);
    expect(merged.map((layer) => layer.wastedBytes)).toEqual([1000, 10 + 4 + 7, 0]);
    expect(model.deadBytes(0).shadowed).toEqual([{ path: '/app/big', bytes: 1000 }]);
    expect(model.deadBytes(1).shadowed).toEqual([{ path: '/app/big', bytes: 4 }]);
    expect(model.deadBytes(2).shadowed).toEqual([]);
  });

  it('lists a path a layer rewrites many times once, with all the copies it shadowed', () => {
    const { model, merged } = build([['app/', ...Array.from({ length: 1000 }, () => 'app/log:3')]]);
    expect(merged[0]!.wastedBytes).toBe(999 * 3);
    expect(model.deadBytes(0).shadowed).toEqual([{ path: '/app/log', bytes: 999 * 3 }]);
  });

  it('replaces a directory with a file, removing what was in it', () => {
    const { model, merged } = build([['x/', 'x/a:4', 'x/b:5'], ['x:9']]);
    expect(merged[1]).toEqual({ added: 0, modified: 1, removed: 0, wastedBytes: 9 });
    expect(listing(model.treeAt(1))).toEqual([
      '/x file 9 modified',
      '/x/a file 4 removed',
      '/x/b file 5 removed',
    ]);
    expect(model.treeAt(1).size).toBe(3);
  });

  it('lists nothing a layer added and then replaced itself, and as removed only what was below', () => {
    // A tar that names lib/ with contents, then lib again as a symlink (duplicate entries in one layer,
    // as concatenated tars have them): docker unpacks the symlink over the directory and what it held.
    const { model, merged, changes } = build([
      ['lib/', 'lib/old:4'],
      ['lib/old:5', 'lib/new/', 'lib/new/x:6', 'lib -> usr/lib', 'usr/', 'usr/lib/'],
    ]);
    expect(changes(1)).toEqual(['modified /lib', 'added /usr', 'added /usr/lib']);
    expect(merged[1]).toEqual({ added: 2, modified: 1, removed: 0, wastedBytes: 4 + 5 + 6 });
    // lib/old was below: removed with the directory; lib/new never was, so it is not in the image at all
    // (but its bytes, and lib/old's new ones, are in the blob: dead).
    expect(listing(model.treeAt(1))).toEqual([
      '/lib -> usr/lib symlink 0 modified',
      '/lib/old file 5 removed',
      '/usr dir 0 added',
      '/usr/lib dir 0 added',
    ]);
    expect(listing(model.layerTree(1))).toEqual(listing(model.treeAt(1)));
    // In a base layer nothing was below: a path set again after its parent was replaced is added, once.
    const base = build([['a/b/f:32', 'a:45', 'a/b -> zz']]);
    expect(base.changes(0)).toEqual(['added /a', 'added /a/b']);
    expect(base.merged[0]).toEqual({ added: 2, modified: 0, removed: 0, wastedBytes: 32 + 45 });
    expect(listing(base.model.treeAt(0))).toEqual(['/a dir 0 added', '/a/b -> zz symlink 0 added']);
    // A directory removed with its parent and re-created: what the layer had put in it is not a removal.
    expect(build([['a/p/x:1', 'a:2', 'a/p/']]).changes(0)).toEqual(['added /a', 'added /a/p']);
  });

  it('turns a file into an implied directory when a later path goes through it', () => {
    const { model, changes } = build([['x:9'], ['x/y:1']]);
    expect(changes(1)).toEqual(['modified /x', 'added /x/y']);
    expect(listing(model.treeAt(1))).toEqual(['/x dir 1 modified', '/x/y file 1 added']);
  });

  it('refuses a hardlink docker cannot link: to a path removed below, missing, a directory or itself', () => {
    const refused = /^entry "\/x" is a hardlink to "\/[a-z/]+", which is not there when it is unpacked/;
    expect(() => build([['etc/a:1'], ['etc/.wh.a'], ['x => etc/a']])).toThrow(refused);
    expect(() => build([['etc/a:1'], ['x => etc/missing']])).toThrow(refused);
    expect(() => build([['etc/a:1'], ['x => etc']])).toThrow(
      /^entry "\/x" is a hardlink to "\/etc", which is a directory \(link\(2\) cannot link one\)/,
    );
    expect(() => build([['x:1'], ['x => x']])).toThrow(refused);
    // A file of a lower layer, of the layer itself, or one the layer whites out after the link: linked.
    expect(() => build([['etc/a:1'], ['x => etc/a', 'etc/b:2', 'y => etc/b', 'etc/.wh.a']])).not.toThrow();
  });

  it('judges a hardlink to a file its own layer removes by archive order, as an unpack meets them', () => {
    const refused = /^entry "\/x" is a hardlink to "\/etc\/a", which is not there when it is unpacked/;
    const lower = ['etc/', 'etc/a:1'];
    // The opaque marker or whiteout first: docker and containerd have removed the file when they link.
    expect(() => build([lower, ['etc/', 'etc/.wh..wh..opq', 'x => etc/a']])).toThrow(refused);
    expect(() => build([lower, ['etc/.wh.a', 'x => etc/a']])).toThrow(refused);
    expect(() => build([lower, ['.wh.etc', 'x => etc/a']])).toThrow(refused);
    // The link first: it keeps the content the marker then removes from the file's own name.
    const { model } = build([lower, ['x => etc/a', 'etc/', 'etc/.wh..wh..opq']]);
    expect(listing(model.treeAt(1))).toContain('/x -> /etc/a hardlink 0 added');
    expect(() => build([lower, ['x => etc/a', 'etc/.wh.a']])).not.toThrow();
    // So is a link through a symlinked folder: it reaches the file while the folders are still there.
    const usrmerge = ['usr/', 'usr/lib/', 'usr/lib/a:1', 'lib -> usr/lib'];
    expect(() => build([usrmerge, ['x => lib/a', 'usr/.wh.lib']])).not.toThrow();
    expect(() => build([usrmerge, ['x => lib/a', '.wh.lib']])).not.toThrow();
    expect(() => build([usrmerge, ['usr/.wh.lib', 'x => lib/a']])).toThrow(/"\/lib\/a", which is not there/);
    expect(() => build([usrmerge, ['.wh.lib', 'x => lib/a']])).toThrow(/"\/lib\/a", which is not there/);
    // A whiteout of a path that was never there removes nothing a link could have reached.
    expect(() => build([lower, ['x => etc/none', 'etc/.wh.none']])).toThrow(
      /"\/etc\/none", which is not there/,
    );
  });

  it('keeps the content a hardlink links before its own layer removes the target: nothing dead', () => {
    const lower = ['etc/', 'etc/a:100'];
    // The unpack links x first, then removes the file's other name: x keeps the 100 bytes.
    const linked = build([lower, ['x => etc/a', 'etc/.wh.a'], ['.wh.x']]);
    expect(linked.merged.map((layer) => layer.wastedBytes)).toEqual([0, 0, 100]);
    expect(linked.model.deadBytes(1)).toMatchObject({ deleted: 0, removals: [{ path: '/etc/a', bytes: 0 }] });
    expect(linked.model.deadBytes(2)).toMatchObject({ deleted: 100 });
    // The same through an opaque folder, a removed parent re-created, or a symlinked folder.
    expect(build([lower, ['x => etc/a', 'etc/', 'etc/.wh..wh..opq']]).merged[1]!.wastedBytes).toBe(0);
    expect(build([lower, ['x => etc/a', '.wh.etc', 'etc/a:5']]).merged[1]!.wastedBytes).toBe(0);
    const usrmerge = ['usr/', 'usr/lib/', 'usr/lib/a:100', 'usr/lib/b:7', 'lib -> usr/lib'];
    expect(build([usrmerge, ['x => lib/a', 'usr/.wh.lib']]).merged[1]!.wastedBytes).toBe(7);
    // Two links share it; a file hardlinked below whose every other name the layer removes too.
    const twice = build([lower, ['x => etc/a', 'y => etc/a', 'etc/.wh.a'], ['.wh.x'], ['.wh.y']]);
    expect(twice.merged.map((layer) => layer.wastedBytes)).toEqual([0, 0, 0, 100]);
    const group = build([[...lower, 'y => etc/a'], ['x => etc/a', 'etc/.wh.a', '.wh.y'], ['.wh.x']]);
    expect(group.merged.map((layer) => layer.wastedBytes)).toEqual([0, 0, 100]);
    // …whichever comes first, the link or a new file at the name that last held the content.
    const renamed = build([
      [...lower, 'y => etc/a'],
      ['y:5', 'x => etc/a', 'etc/.wh.a', '.wh.y'],
    ]);
    expect(renamed.model.deadBytes(1)).toMatchObject({ deleted: 0, overwritten: 0 });
    // A removed folder: the linked file is kept, the rest of the folder is freed.
    const folder = build([
      [...lower, 'etc/b:3'],
      ['x => etc/a', '.wh.etc'],
    ]);
    expect(folder.model.deadBytes(1)).toMatchObject({ deleted: 3, removals: [{ path: '/etc', bytes: 3 }] });
  });

  it('links a hardlink whose target’s folders are symlinks, as link(2) follows them (usrmerge)', () => {
    const refused = /^entry "\/y" is a hardlink to "\/[a-z/]+", which is not there when it is unpacked/;
    for (const lib of ['lib -> usr/lib', 'lib -> /usr/lib', 'lib -> ./usr/./lib/']) {
      const { merged } = build([['usr/lib/x:10', lib], ['y => lib/x'], ['usr/lib/.wh.x']]);
      // The link shares the file's content: removing the file's other name frees nothing.
      expect(merged[2]!.wastedBytes).toBe(0);
    }
    expect(() => build([['usr/lib/x:10', 'a/b/l -> ../../usr/lib'], ['y => a/b/l/x']])).not.toThrow();
    expect(() => build([['usr/lib/x:10', 'lib -> usr/missing'], ['y => lib/x']])).toThrow(refused);
    expect(() => build([['l -> l'], ['y => l/x']])).toThrow(refused);
  });

  it('unpacks a hardlink into aufs’s link folder as docker does: a copy of the file there', () => {
    const { model } = build([['.wh..wh.plnk/', '.wh..wh.plnk/1.2:5@750', 'usr/x => .wh..wh.plnk/1.2']]);
    expect(listing(model.treeAt(0))).toEqual(['/usr dir 5 added', '/usr/x file 5 added']);
    const [usr] = model.treeAt(0).children(model.treeAt(0).root);
    expect(model.treeAt(0).children(usr!)[0]!.entry).toMatchObject({ type: 'file', mode: 0o750, size: 5 });
  });

  it('keeps link targets: symlinks as written, hardlinks as normalised paths', () => {
    const { model } = build([['bin/busybox:10', 'bin/sh -> busybox', 'bin/ls => ./bin//busybox']]);
    expect(listing(model.treeAt(0))).toEqual([
      '/bin dir 10 added',
      '/bin/busybox file 10 added',
      '/bin/ls -> /bin/busybox hardlink 0 added',
      '/bin/sh -> busybox symlink 0 added',
    ]);
  });

  it('sorts children by name in code-point order and rolls sizes up', () => {
    const { model } = build([['b:1', 'a/z:2', 'a/é:3', 'a/Z:4', 'a/😀:5', 'a/\uffee:6', 'A:7']]);
    const tree = model.treeAt(0);
    expect(tree.children(tree.root).map((node) => node.name)).toEqual(['A', 'a', 'b']);
    const a = tree.children(tree.root)[1]!;
    expect(tree.children(a).map((node) => node.name)).toEqual(['Z', 'z', 'é', '\uffee', '😀']);
    expect(a.totalSize).toBe(20);
    expect(a.childCount).toBe(5);
    expect(tree.root.totalSize).toBe(28);
    expect(tree.size).toBe(8);
  });

  it('shows a layer’s changes as a tree, with the directories that lead to them as context', () => {
    const { model } = build([
      ['usr/', 'usr/bin/', 'usr/bin/a:1', 'usr/lib/', 'usr/lib/x:2', 'etc/passwd:3'],
      ['usr/', 'usr/bin/', 'usr/bin/a:10', 'usr/lib/.wh.x', 'usr/share/doc/readme:4'],
    ]);
    expect(listing(model.layerTree(1))).toEqual([
      '/usr dir 14 unmodified',
      '/usr/bin dir 10 unmodified',
      '/usr/bin/a file 10 modified',
      '/usr/lib dir 0 unmodified',
      '/usr/lib/x file 2 removed',
      '/usr/share dir 4 added',
      '/usr/share/doc dir 4 added',
      '/usr/share/doc/readme file 4 added',
    ]);
    expect(model.layerTree(1).size).toBe(8);
    expect(listing(model.layerTree(0))).toHaveLength(7);
  });

  it('counts paths and entries, and refuses layers out of range', () => {
    const { model } = build([['a/b:1', 'a/.wh.c'], ['a/b:2']]);
    expect(model.layerCount).toBe(2);
    expect(model.entryCount).toBe(3);
    expect(model.pathCount).toBe(3);
    expect(() => model.treeAt(2)).toThrow(RangeError);
    expect(() => model.layerTree(-1)).toThrow(RangeError);
  });

  it('returns the same tree object for repeated requests (the TUI walks it many times)', () => {
    const { model } = build([['a:1'], ['b:2']]);
    expect(model.treeAt(1)).toBe(model.treeAt(1));
  });
});

describe('FileTree.walk over the compact model', () => {
  const { model } = build([
    ['usr/', 'usr/bin/sh:100', 'usr/lib/libc.so:300', 'etc/hosts:10', 'opt/app/data:50', 'var/log/'],
    ['usr/bin/sh:120', 'opt/.wh.app', 'etc/hosts -> /run/hosts', 'srv/a/b/c:7', 'gone/.wh.never'],
    ['usr/lib/.wh..wh..opq', 'usr/lib/libm.so:40', 'etc/.wh.hosts', 'usr/bin/sh => /usr/lib/libm.so'],
  ]);
  const trees = [0, 1, 2].flatMap((layer) => [
    { name: `merged at layer ${layer}`, tree: model.treeAt(layer) },
    { name: `layer ${layer} alone`, tree: model.layerTree(layer) },
  ]);

  /** What a visit sees, as one line per node. */
  const seen = (node: WalkedNode) =>
    `${'  '.repeat(node.depth - 1)}${node.path()} ${node.name} ${node.type} ${node.change} size=${node.size} total=${node.totalSize} layer=${node.layer}`;

  it.each(trees)(
    '$name: visits what children() shows, in the same order and with the same facts',
    ({ tree }) => {
      const fromArrays: string[] = [];
      tree.walk((node) => {
        fromArrays.push(seen(node));
        return true;
      });
      const fromNodes: string[] = [];
      walkByChildren(tree, (node) => {
        fromNodes.push(seen(node));
        return true;
      });
      expect(fromArrays.length).toBe(tree.size);
      expect(fromArrays).toEqual(fromNodes);
    },
  );

  it('skips the children of a node the visitor declines, and only those', () => {
    const tree = model.treeAt(2);
    const visited: string[] = [];
    tree.walk((node) => {
      visited.push(node.path());
      return node.path() !== '/usr';
    });
    expect(visited).toContain('/usr');
    expect(visited.filter((path) => path.startsWith('/usr/'))).toEqual([]);
    expect(visited).toContain('/srv/a/b/c');
  });
});
