import { describe, expect, it } from 'vitest';
import { announcePeerImages, hasPeerImages, peerImage } from '../../test/helpers/shared.js';
import { openLocalImage } from '../oci/local/index.js';
import { analyzeImage } from './analyze.js';
import { listing } from './layer-spec.test-support.js';
import type { Analysis } from './types.js';

announcePeerImages();

async function analyse(name: string): Promise<Analysis> {
  const source = await openLocalImage(peerImage(name));
  try {
    return await analyzeImage(source);
  } finally {
    await source.close();
  }
}

/** Per layer: entries, and what they did (added, modified, removed). */
function shape(analysis: Analysis): string[] {
  return analysis.layers.map(
    (layer) => `${layer.fileCount} +${layer.added} ~${layer.modified} -${layer.removed}`,
  );
}

// The dive test image's Dockerfile, after `FROM busybox` (one line a layer).
const DOCKERFILE_SHAPE = [
  '1 +1 ~0 -0', // ADD README.md /somefile.txt
  '4 +3 ~0 -0', // RUN mkdir -p /root/example/really/nested (root/ re-listed, unchanged)
  '3 +1 ~0 -0', // RUN cp /somefile.txt /root/example/somefile1.txt
  '3 +0 ~1 -0', // RUN chmod 444 /root/example/somefile1.txt
  '3 +1 ~0 -0', // RUN cp /somefile.txt /root/example/somefile2.txt
  '3 +1 ~0 -0', // RUN cp /somefile.txt /root/example/somefile3.txt
  '4 +1 ~0 -1', // RUN mv /root/example/somefile3.txt /root/saved.txt
  '2 +1 ~0 -0', // RUN cp /root/saved.txt /root/.saved.txt
  '2 +0 ~0 -1', // RUN rm -rf /root/example/
  '4 +3 ~0 -0', // ADD .scripts/ /root/.data/
  '2 +1 ~0 -0', // RUN cp /root/saved.txt /tmp/saved.again1.txt
  '3 +1 ~0 -0', // RUN cp /root/saved.txt /root/.data/saved.again2.txt
  '2 +0 ~1 -0', // RUN chmod +x /root/saved.txt
];

describe.skipIf(!hasPeerImages)('analysis of the dive project’s test images', () => {
  it('reproduces every figure dive reports for test-docker-image.tar', async () => {
    const analysis = await analyse('test-docker-image.tar');
    // dive's own export test (runtime/export/export_test.go) pins these.
    expect(analysis.layers.map((layer) => layer.contentSize)).toEqual([
      1154361, 6405, 0, 6405, 6405, 6405, 6405, 6405, 6405, 0, 2187, 6405, 6405, 6405,
    ]);
    expect(analysis.waste.contentSize).toBe(1220598);
    expect(analysis.waste.wastedBytes).toBe(32025);
    expect(analysis.waste.efficiency).toBe(0.9844212134184309);
    expect(analysis.waste.inefficientFiles.map((file) => [file.path, file.count, file.wastedBytes])).toEqual([
      ['/root/saved.txt', 2, 12810],
      ['/root/example/somefile1.txt', 2, 12810],
      ['/root/example/somefile3.txt', 2, 6405],
    ]);
    // dive's AnalysisResult: user size = all layers but the first; wasted percent = wasted / user size.
    expect(analysis.waste.userSize).toBe(1220598 - 1154361);
    expect(analysis.waste.userWastedPercent).toBe(32025 / 66237);
    // Beyond dive: what a squash would drop, and who made the waste.
    expect(analysis.waste.reclaimableBytes).toBe(3 * 6405);
    expect(analysis.waste.inefficientFiles.map((file) => file.overwrittenBy)).toEqual([
      [{ layer: 13, createdBy: '/bin/sh -c chmod +x /root/saved.txt', change: 'modified' }],
      [
        { layer: 4, createdBy: '/bin/sh -c chmod 444 /root/example/somefile1.txt', change: 'modified' },
        { layer: 9, createdBy: '/bin/sh -c rm -rf /root/example/', change: 'removed' },
      ],
      [
        {
          layer: 7,
          createdBy: '/bin/sh -c mv /root/example/somefile3.txt /root/saved.txt',
          change: 'removed',
        },
      ],
    ]);
    expect(analysis.layers.map((layer) => layer.wastedBytes)).toEqual([
      0, 0, 0, 0, 6405, 0, 0, 6405, 0, 12810, 0, 0, 0, 6405,
    ]);
  });

  it('reads the legacy docker save layers as plain tar, with the Dockerfile’s changes per layer', async () => {
    const analysis = await analyse('test-docker-image.tar');
    expect(analysis.layers.every((layer) => layer.compression === 'none')).toBe(true);
    expect(analysis.layers.every((layer) => layer.uncompressedSize === layer.compressedSize)).toBe(true);
    expect(shape(analysis)).toEqual(['415 +415 ~0 -0', ...DOCKERFILE_SHAPE]);
    expect(analysis.model.entryCount).toBe(451);
    const top = analysis.model.treeAt(13);
    expect(top.size).toBe(423);
    expect(top.root.totalSize).toBe(1188573);
    const rootDir = top.children(top.root).find((node) => node.name === 'root')!;
    expect(listing(top, rootDir)).toEqual([
      '/root/.data dir 8592 unmodified',
      '/root/.data/saved.again2.txt file 6405 unmodified',
      '/root/.data/tag.sh file 917 unmodified',
      '/root/.data/test.sh file 1270 unmodified',
      '/root/.saved.txt file 6405 unmodified',
      '/root/saved.txt file 6405 modified',
    ]);
    // Layer 9 (rm -rf /root/example/) removed the directory with what was left in it.
    expect(listing(analysis.model.layerTree(9))).toEqual([
      '/root dir 0 unmodified',
      '/root/example dir 12810 removed',
      '/root/example/really dir 0 removed',
      '/root/example/really/nested dir 0 removed',
      '/root/example/somefile1.txt file 6405 removed',
      '/root/example/somefile2.txt file 6405 removed',
    ]);
  });

  it('gives the kaniko build of the same Dockerfile the same shape (its README and busybox differ)', async () => {
    const analysis = await analyse('test-kaniko-image.tar');
    expect(analysis.layers.every((layer) => layer.compression === 'gzip')).toBe(true);
    expect(shape(analysis)).toEqual(['421 +421 ~0 -0', ...DOCKERFILE_SHAPE]);
    // README.md is 9249 bytes here (6405 in the docker build), busybox is another release.
    expect(analysis.layers.map((layer) => layer.contentSize)).toEqual([
      1231733, 9249, 0, 9249, 9249, 9249, 9249, 9249, 9249, 0, 2187, 9249, 9249, 9249,
    ]);
    expect(analysis.waste.inefficientFiles.map((file) => [file.path, file.count, file.wastedBytes])).toEqual([
      ['/root/saved.txt', 2, 2 * 9249],
      ['/root/example/somefile1.txt', 2, 2 * 9249],
      ['/root/example/somefile3.txt', 2, 9249],
    ]);
    expect(analysis.waste.wastedBytes).toBe(5 * 9249);
    expect(analysis.waste.efficiency).toBe(0.9793688490216431);
    expect(analysis.layers.map((layer) => layer.createdBy.slice(0, 26))).toContain(
      'RUN rm -rf /root/example/',
    );
  });

  it.each([
    ['test-oci-gzip-image.tar', 'gzip', 12800],
    ['test-oci-zstd-image.tar', 'zstd', 12800],
    ['test-oci-uncompressed-image.tar', 'none', 12800],
    // estargz appends stargz.index.json (hidden from the tree) in its own gzip member.
    ['test-oci-estargz-image.tar', 'gzip', 14848],
  ])('analyses %s: one COPY of README.md, %s-compressed', async (name, compression, uncompressedSize) => {
    const analysis = await analyse(name);
    expect(analysis.layers).toHaveLength(1);
    expect(analysis.layers[0]).toMatchObject({
      compression,
      uncompressedSize,
      contentSize: 11189,
      fileCount: 1,
      added: 1,
      createdBy: 'COPY README.md /README.md # buildkit',
    });
    expect(listing(analysis.model.treeAt(0))).toEqual(['/README.md file 11189 added']);
    expect(analysis.waste).toEqual({
      contentSize: 11189,
      userSize: 0,
      efficiency: 1,
      wastedBytes: 0,
      userWastedPercent: 0,
      reclaimableBytes: 0,
      inefficientFiles: [],
    });
  });
});
