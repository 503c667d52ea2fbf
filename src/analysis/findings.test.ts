import { describe, expect, it } from 'vitest';
import { hintFindingsOf } from './findings.js';
import { layersOf } from './layer-spec.test-support.js';
import { FileModelBuilder } from './model.js';
import type { LayerSummary } from './types.js';

/** The hint findings of layers given as entry specs, with the model's own waste figures. */
function findingsOf(layers: readonly (readonly string[])[]) {
  const { paths, links, layers: parsed } = layersOf(layers);
  const builder = new FileModelBuilder(paths, links);
  const summaries = parsed.map(
    (writer, index) =>
      ({
        index,
        wastedBytes: builder.applyLayer(writer.items, writer.fileCount).wastedBytes,
      }) as LayerSummary,
  );
  return hintFindingsOf({ layers: summaries, model: builder.build() });
}

describe('hintFindingsOf: dead bytes', () => {
  it('gives each overwritten path the bytes it replaced, directories and files replacing each other included', () => {
    const { deadBytes } = findingsOf([
      ['app/', 'app/model.bin:1000000', 'app/cfg:10', 'data/', 'data/blob:300000', 'lib:50000', 'etc/@755'],
      ['app/', 'app/model.bin:1', 'data:10', 'lib/', 'lib/x:1', 'etc/@700', 'etc/new:5'],
    ]);
    expect(deadBytes).toEqual([
      {
        layer: 1,
        change: 'overwritten',
        bytes: 1_350_000,
        largestPaths: [
          { path: '/app/model.bin', bytes: 1_000_000 },
          { path: '/data', bytes: 300_000 },
          { path: '/lib', bytes: 50_000 },
        ],
        pathCount: 3,
        ownBytes: 0,
      },
    ]);
  });

  it('splits a layer that deletes and overwrites, each path with the bytes it made dead', () => {
    const { deadBytes } = findingsOf([
      ['build/', 'build/a.o:600', 'build/b.o:400', 'bin/', 'bin/tool:70', 'bin/small:5'],
      ['build/.wh.a.o', 'bin/tool:9000', 'bin/small:1'],
    ]);
    expect(deadBytes).toEqual([
      {
        layer: 1,
        change: 'deleted',
        bytes: 600,
        largestPaths: [{ path: '/build/a.o', bytes: 600 }],
        pathCount: 1,
        ownBytes: 0,
      },
      {
        layer: 1,
        change: 'overwritten',
        bytes: 75,
        largestPaths: [
          { path: '/bin/tool', bytes: 70 },
          { path: '/bin/small', bytes: 5 },
        ],
        pathCount: 2,
        ownBytes: 0,
      },
    ]);
  });

  it('counts a copy a layer ships and overwrites itself as overwritten, with the lower copy of the path', () => {
    const { deadBytes } = findingsOf([
      ['opt/', 'opt/tool:300', 'opt/cfg:2'],
      ['opt/tool:200', 'opt/tool:100', 'opt/new:40', 'opt/new:1'],
    ]);
    expect(deadBytes).toEqual([
      {
        layer: 1,
        change: 'overwritten',
        bytes: 300 + 200 + 40,
        largestPaths: [
          { path: '/opt/tool', bytes: 500 },
          { path: '/opt/new', bytes: 40 },
        ],
        pathCount: 2,
        ownBytes: 200 + 40,
      },
    ]);
  });

  it('splits by what freed the bytes: deleting one name of a hardlinked file frees nothing', () => {
    const { deadBytes } = findingsOf([
      ['usr/', 'usr/bin/', 'usr/bin/perl:100', 'usr/bin/perl5 => usr/bin/perl', 'etc/', 'etc/conf:40'],
      ['usr/', 'usr/bin/', 'usr/bin/.wh.perl', 'etc/', 'etc/conf:1'],
    ]);
    expect(deadBytes).toEqual([
      {
        layer: 1,
        change: 'overwritten',
        bytes: 40,
        largestPaths: [{ path: '/etc/conf', bytes: 40 }],
        pathCount: 1,
        ownBytes: 0,
      },
    ]);
  });

  it('gives each deleted path the bytes its removal freed: nothing for one name of a hardlinked file', () => {
    const { deadBytes } = findingsOf([
      ['usr/', 'usr/bin/perl:100', 'usr/bin/perl5 => usr/bin/perl', 'tmp/', 'tmp/big:500', 'tmp/big.log:7'],
      ['usr/bin/.wh.perl', 'tmp/.wh.big', 'tmp/.wh.big.log'],
    ]);
    expect(deadBytes).toEqual([
      {
        layer: 1,
        change: 'deleted',
        bytes: 507,
        largestPaths: [
          { path: '/tmp/big', bytes: 500 },
          { path: '/tmp/big.log', bytes: 7 },
          { path: '/usr/bin/perl', bytes: 0 },
        ],
        pathCount: 3,
        ownBytes: 0,
      },
    ]);
    // A directory's removal counts what was under it, not a sibling whose name it starts.
    const siblings = findingsOf([
      ['d/', 'd/a:10', 'd/b:20', 'd.txt:4', 'd-x:1'],
      ['.wh.d', '.wh.d.txt', '.wh.d-x'],
    ]).deadBytes;
    expect(siblings[0]!.largestPaths).toEqual([
      { path: '/d', bytes: 30 },
      { path: '/d.txt', bytes: 4 },
      { path: '/d-x', bytes: 1 },
    ]);
  });

  it('counts what a layer deletes and then writes again as overwritten, the rest of the directory as deleted', () => {
    // `rm -rf dist && mkdir dist && build`: an opaque dist/ with a new bundle.js.
    const { deadBytes } = findingsOf([
      ['dist/', 'dist/bundle.js:800', 'dist/bundle.js.map:1200'],
      ['dist/', 'dist/.wh..wh..opq', 'dist/bundle.js:950'],
    ]);
    expect(deadBytes).toEqual([
      {
        layer: 1,
        change: 'deleted',
        bytes: 1200,
        largestPaths: [{ path: '/dist/bundle.js.map', bytes: 1200 }],
        pathCount: 1,
        ownBytes: 0,
      },
      {
        layer: 1,
        change: 'overwritten',
        bytes: 800,
        largestPaths: [{ path: '/dist/bundle.js', bytes: 800 }],
        pathCount: 1,
        ownBytes: 0,
      },
    ]);
  });

  it('tells how much of what a layer overwrote was its own copies', () => {
    const [own] = findingsOf([['f:10', 'f:20']]).deadBytes;
    expect(own).toMatchObject({ change: 'overwritten', bytes: 10, ownBytes: 10 });
    const [both] = findingsOf([['f:5'], ['f:10', 'f:20']]).deadBytes;
    expect(both).toMatchObject({ change: 'overwritten', bytes: 15, ownBytes: 10 });
  });

  it('counts the bytes freed by removing the last name of a hardlinked file as deleted, naming it', () => {
    const { deadBytes } = findingsOf([
      ['usr/', 'usr/bin/', 'usr/bin/perl:100', 'usr/bin/perl5 => usr/bin/perl'],
      ['usr/', 'usr/bin/', 'usr/bin/.wh.perl'],
      ['usr/', 'usr/bin/', 'usr/bin/.wh.perl5'],
    ]);
    expect(deadBytes).toEqual([
      {
        layer: 2,
        change: 'deleted',
        bytes: 100,
        largestPaths: [{ path: '/usr/bin/perl5', bytes: 100 }],
        pathCount: 1,
        ownBytes: 0,
      },
    ]);
  });
});
