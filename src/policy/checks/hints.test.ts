import { describe, expect, it } from 'vitest';
import { fakeFacts, fakeLayer, fakeSummary } from '../../../test/policy/fakes.js';
import { profilePolicy } from '../policy.js';
import { KiB, MiB } from '../sizes.js';
import { commandLine, hints } from './hints.js';

const facts = fakeFacts();
const policy = profilePolicy('scf');
const layers = [
  fakeLayer(0, { createdBy: '/bin/sh -c #(nop) ADD file:abc in / ' }),
  fakeLayer(1, { createdBy: '/bin/sh -c apt-get update && apt-get install -y curl' }),
  fakeLayer(2, { createdBy: 'RUN /bin/sh -c rm -rf /build # buildkit' }),
];

describe('hints', () => {
  it('finds package caches in the final image, with the layer that left them and the fix', () => {
    const analysis = fakeSummary({
      layers,
      files: [
        {
          path: '/var/lib/apt/lists/deb.debian.org_dists_bookworm_main_Packages.lz4',
          size: 9 * MiB,
          layer: 1,
        },
        { path: '/var/lib/apt/lists/lock', size: 0, layer: 1 },
        { path: '/var/cache/apt/archives/curl.deb', size: 2 * MiB, layer: 1 },
        { path: '/root/.cache/pip/http/ab/cd', size: 3 * MiB, layer: 2 },
        { path: '/root/.npm/_cacache/index', size: 1 * MiB, layer: 2 },
        { path: '/root/.npm/_logs/2024-01-01T00_09_00_000Z-debug-0.log', size: 1 * MiB, layer: 2 },
        { path: '/usr/local/share/.cache/yarn/v6/pkg', size: 4 * MiB, layer: 2 },
        { path: '/var/cache/apk/APKINDEX.tar.gz', size: 2.5 * MiB, layer: 1 },
        { path: '/usr/bin/curl', size: 300 * KiB, layer: 1 },
      ],
    });
    const result = hints(facts, analysis, policy)!;
    expect(result.status).toBe('warn');
    const kinds = result.details!.filter((d) => d.kind !== 'largest-file').map((d) => d.kind);
    expect(kinds).toEqual(['apt-lists', 'yarn-cache', 'pip-cache', 'apk-cache', 'apt-cache', 'npm-cache']);
    const apt = result.details![0]!;
    expect(apt).toMatchObject({ path: '/var/lib/apt/lists', bytes: 9 * MiB, layer: 1 });
    expect(apt.message).toContain('left by layer 2 (`RUN apt-get update && apt-get install -y curl`)');
    expect(apt.message).toContain('rm -rf /var/lib/apt/lists/*');
    expect(result.hint).toContain('rm -rf /var/lib/apt/lists/*');
    // npm's logs are no cache: `npm cache clean --force` leaves them, so they are not counted in it.
    expect(result.details!.find((d) => d.kind === 'npm-cache')).toMatchObject({
      path: '/root/.npm/_cacache',
      bytes: 1 * MiB,
    });
    expect(result.actual).toBe(21.5 * MiB);
    expect(result.message).toBe('could save about 21.5 MiB: 6 package caches (21.5 MiB)');
  });

  it('finds every spelling of the caches it knows', () => {
    const analysis = fakeSummary({
      layers,
      files: [
        { path: '/etc/apk/cache/APKINDEX.tar.gz', size: 1 * MiB, layer: 1 },
        { path: '/var/cache/yum/x86_64/primary.sqlite', size: 2 * MiB, layer: 1 },
        { path: '/var/cache/dnf/repodata.xml', size: 3 * MiB, layer: 1 },
        { path: '/var/cache/libdnf5/fedora-1/repodata/primary.xml.zck', size: 3 * MiB, layer: 1 },
        { path: '/home/node/.yarn-cache/v6/pkg', size: 4 * MiB, layer: 2 },
        { path: '/srv/cache/data', size: 5 * MiB, layer: 2 },
        { path: '/var/cache/zypp/raw/repo-oss/repomd.xml', size: 1 * MiB, layer: 1 },
        { path: '/root/.cache/uv/wheels-v1/x.whl', size: 1 * MiB, layer: 2 },
        { path: '/root/.cache/pypoetry/cache/x', size: 1 * MiB, layer: 2 },
        { path: '/root/.cache/go-build/00/x-d', size: 1 * MiB, layer: 2 },
        { path: '/go/pkg/mod/github.com/x/y@v1.0.0/y.go', size: 1 * MiB, layer: 2 },
        { path: '/home/app/.m2/repository/org/x/x.jar', size: 1 * MiB, layer: 2 },
        { path: '/home/app/.gradle/caches/modules-2/x.jar', size: 1 * MiB, layer: 2 },
        { path: '/srv/mod/x', size: 1 * MiB, layer: 2 },
        { path: '/srv/repository/x', size: 1 * MiB, layer: 2 },
      ],
    });
    const found = hints(facts, analysis, policy)!
      .details!.filter((d) => d.kind !== 'largest-file')
      .map((d) => [d.kind, d.path]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['apk-cache', '/etc/apk/cache'],
        ['yum-cache', '/var/cache/yum'],
        ['yum-cache', '/var/cache/dnf'],
        ['yum-cache', '/var/cache/libdnf5'],
        ['yarn-cache', '/home/node/.yarn-cache'],
        ['zypper-cache', '/var/cache/zypp'],
        ['uv-cache', '/root/.cache/uv'],
        ['poetry-cache', '/root/.cache/pypoetry'],
        ['go-cache', '/root/.cache/go-build'],
        ['go-cache', '/go/pkg/mod'],
        ['maven-cache', '/home/app/.m2/repository'],
        ['gradle-cache', '/home/app/.gradle/caches'],
      ]),
    );
    expect(found).toHaveLength(12);
  });

  it('fences a command that contains backticks with a longer run, so it stays one code span', () => {
    const analysis = fakeSummary({
      layers: [fakeLayer(0, { createdBy: "/bin/sh -c printf '`date`' > /big" })],
      files: [{ path: '/big', size: 2 * MiB, layer: 0 }],
    });
    const largest = hints(facts, analysis, policy)!.details!.find((d) => d.kind === 'largest-file')!;
    expect(largest.message).toBe("/big: 2 MiB, from layer 1 (``RUN printf '`date`' > /big``)");
  });

  it('finds VCS directories', () => {
    const analysis = fakeSummary({
      layers: [...layers, fakeLayer(3, { createdBy: 'COPY . /app # buildkit' })],
      files: [
        { path: '/app/.git/objects/pack/pack-1.pack', size: 5 * MiB, layer: 3 },
        { path: '/app/vendor/lib/.hg/store/data', size: 2 * MiB, layer: 3 },
        { path: '/app/index.js', size: 1 * KiB, layer: 3 },
      ],
    });
    const result = hints(facts, analysis, policy)!;
    expect(result.details!.filter((d) => d.kind === 'vcs').map((d) => d.path)).toEqual([
      '/app/.git',
      '/app/vendor/lib/.hg',
    ]);
    expect(result.message).toBe('could save about 7 MiB: 2 VCS directories (7 MiB)');
    expect(result.hint).toContain('.dockerignore');
  });

  it('tells to delete a VCS directory a RUN cloned in that RUN: .dockerignore does not reach it', () => {
    const analysis = fakeSummary({
      layers: [
        fakeLayer(0, { createdBy: '/bin/sh -c #(nop) ADD file:abc in / ' }),
        fakeLayer(1, {
          createdBy: 'RUN /bin/sh -c git clone https://example.com/lib.git /src/lib # buildkit',
        }),
      ],
      files: [{ path: '/src/lib/.git/objects/pack/pack-1.pack', size: 5 * MiB, layer: 1 }],
    });
    const result = hints(facts, analysis, policy)!;
    const vcs = result.details!.find((d) => d.kind === 'vcs')!;
    expect(vcs.message).toContain('delete it in the RUN that cloned it (`&& rm -rf /src/lib/.git`)');
    expect(vcs.message).not.toContain('.dockerignore');
    expect(result.hint).toContain('rm -rf /src/lib/.git');
  });

  it('quotes the path in the suggested rm as a POSIX shell needs: spaces, $, globs, quotes', () => {
    const analysis = fakeSummary({
      layers: [
        fakeLayer(0, { createdBy: '/bin/sh -c #(nop) ADD file:abc in / ' }),
        fakeLayer(1, { createdBy: 'RUN /bin/sh -c git clone https://example.com/lib.git /src # buildkit' }),
      ],
      files: ['/srv/my app', '/srv/$HOME', "/srv/it's", '/srv/[a]*', '/srv/plain-1.2_x'].map((dir, n) => ({
        path: `${dir}/.git/HEAD`,
        size: (n + 1) * MiB,
        layer: 1,
      })),
    });
    const removals = hints(facts, analysis, policy)!
      .details!.filter((d) => d.kind === 'vcs')
      .map((d) => /\(`&& (rm -rf .*)`\)/.exec(d.message)?.[1]);
    expect(removals).toEqual([
      'rm -rf /srv/plain-1.2_x/.git',
      "rm -rf '/srv/[a]*/.git'",
      "rm -rf '/srv/it'\\''s/.git'",
      "rm -rf '/srv/$HOME/.git'",
      "rm -rf '/srv/my app/.git'",
    ]);
  });

  it('tells to copy less from the stage a VCS directory came from: .dockerignore does not reach it', () => {
    const analysis = fakeSummary({
      layers: [
        fakeLayer(0, { createdBy: '/bin/sh -c #(nop) ADD file:abc in / ' }),
        fakeLayer(1, { createdBy: 'COPY --chown=app --from=build /src /src # buildkit' }),
      ],
      files: [{ path: '/src/.git/objects/pack/pack-1.pack', size: 5 * MiB, layer: 1 }],
    });
    const vcs = hints(facts, analysis, policy)!.details!.find((d) => d.kind === 'vcs')!;
    expect(vcs.message).toContain('COPY only what the app needs from that stage');
    expect(vcs.message).not.toContain('.dockerignore');
  });

  it('attributes what later layers deleted or overwrote to those layers and their commands', () => {
    const analysis = fakeSummary({
      layers: [
        layers[0]!,
        fakeLayer(1, { createdBy: layers[1]!.createdBy, wastedBytes: 1 * MiB }),
        fakeLayer(2, { createdBy: layers[2]!.createdBy, wastedBytes: 13 * MiB }),
      ],
      layerTrees: {
        1: [{ path: '/var/lib/dpkg/status', size: 2 * MiB, change: 'modified' }],
        2: [
          { path: '/build', type: 'dir', change: 'removed' },
          { path: '/build/a.o', size: 6 * MiB, change: 'removed' },
          { path: '/build/b.o', size: 4 * MiB, change: 'removed' },
          { path: '/tmp/x', size: 1 * MiB, change: 'removed' },
          { path: '/app/bin', size: 5 * MiB, change: 'modified' },
          { path: '/app/new', size: 1 * MiB, change: 'added' },
        ],
      },
      // What the modified paths replaced.
      trees: {
        0: [{ path: '/var/lib/dpkg/status', size: 1 * MiB }],
        1: [
          { path: '/var/lib/dpkg/status', size: 2 * MiB },
          { path: '/app/bin', size: 2 * MiB },
        ],
      },
    });
    const result = hints(facts, analysis, policy)!;
    expect(result.status).toBe('warn');
    const groups = result.details!.filter((d) => d.kind === 'deleted' || d.kind === 'overwritten');
    expect(groups.map((d) => [d.kind, d.layer, d.bytes])).toEqual([
      ['deleted', 2, 11 * MiB],
      ['overwritten', 2, 2 * MiB],
      ['overwritten', 1, 1 * MiB],
    ]);
    expect(groups[0]!.message).toBe(
      'layer 3 (`RUN rm -rf /build`) deleted 11 MiB that earlier layers still ship: /build (10 MiB), /tmp/x (1 MiB); ' +
        'delete files in the same RUN that created them, or build them in another stage',
    );
    expect(groups[1]!.message).toContain('overwrote 2 MiB that earlier layers still ship: /app/bin;');
    expect(result.message).toBe('could save about 14 MiB: files deleted or overwritten later (14 MiB)');
    expect(result.hint).toBe(
      'delete files in the same RUN that created them, or build them in another stage',
    );
  });

  it('says whose copies a layer overwrote: earlier layers’, its own, or both', () => {
    const overwrote = (shadowed: { path: string; bytes: number }[]) => {
      const analysis = fakeSummary({
        layers: [layers[0]!, fakeLayer(1, { wastedBytes: 3 * MiB })],
        layerTrees: { 1: [{ path: '/app/data.bin', size: 3 * MiB, change: 'modified' }] },
        trees: { 0: [{ path: '/app/data.bin', size: 2 * MiB }] },
        shadowed: { 1: shadowed },
      });
      return hints(facts, analysis, policy)!.details!.find((d) => d.kind === 'overwritten')!.message;
    };
    expect(overwrote([])).toContain('overwrote 3 MiB that earlier layers still ship: /app/data.bin;');
    expect(overwrote([{ path: '/app/data.bin', bytes: 1 * MiB }])).toContain(
      'overwrote 3 MiB that earlier layers and this one still ship: /app/data.bin;',
    );
    expect(overwrote([{ path: '/app/data.bin', bytes: 3 * MiB }])).toContain(
      'overwrote 3 MiB that this layer still ships: /app/data.bin;',
    );
  });

  it('advises a layer that ships only its own copies to be rebuilt, since no Dockerfile line made them', () => {
    const analysis = fakeSummary({
      layers: [layers[0]!, fakeLayer(1, { createdBy: '/bin/sh -c make', wastedBytes: 3 * MiB })],
      layerTrees: { 1: [{ path: '/app/data.bin', size: 3 * MiB, change: 'modified' }] },
      trees: { 0: [{ path: '/app/data.bin', size: 2 * MiB }] },
      shadowed: { 1: [{ path: '/app/data.bin', bytes: 3 * MiB }] },
    });
    const message = hints(facts, analysis, policy)!.details!.find((d) => d.kind === 'overwritten')!.message;
    expect(message).toMatch(
      /this layer's tar holds these paths more than once and ships every copy: rebuild it with a tool that writes each path once \(docker, buildkit and kaniko do\)$/,
    );
    expect(message).not.toContain('same RUN');
  });

  it('advises a COPY or ADD that overwrote files to copy them once, a RUN to change them where they were made', () => {
    const overwrite = (createdBy: string) => {
      const analysis = fakeSummary({
        layers: [layers[0]!, fakeLayer(1, { createdBy, wastedBytes: 3 * MiB })],
        layerTrees: { 1: [{ path: '/app/data.bin', size: 3 * MiB, change: 'modified' }] },
        trees: { 0: [{ path: '/app/data.bin', size: 3 * MiB }] },
      });
      return hints(facts, analysis, policy)!.details!.find((d) => d.kind === 'overwritten')!.message;
    };
    for (const copy of [
      'COPY . . # buildkit',
      '/bin/sh -c #(nop) COPY dir:abc in /app ',
      'ADD app.tar /app',
    ]) {
      const message = overwrite(copy);
      expect(message).toContain(
        '; copy each file in one layer: narrow this COPY so it leaves out what earlier layers hold',
      );
      expect(message).not.toMatch(/chmod|RUN/);
    }
    expect(overwrite('RUN /bin/sh -c chmod -R 755 /app # buildkit')).toContain(
      '; change files in the same RUN that created them (COPY --chmod/--chown instead of a later chmod/chown)',
    );
  });

  it('only lists overwrites and small findings: they do not warn', () => {
    const analysis = fakeSummary({
      layers: [
        layers[0]!,
        layers[1]!,
        fakeLayer(2, { createdBy: 'chmod', wastedBytes: 50 * MiB + 100 * KiB }),
      ],
      files: [{ path: '/var/lib/apt/lists/tiny', size: 10 * KiB, layer: 1 }],
      layerTrees: {
        2: [
          { path: '/usr/lib/big.so', size: 50 * MiB, change: 'modified' },
          { path: '/tmp/small', size: 100 * KiB, change: 'removed' },
        ],
      },
      trees: { 1: [{ path: '/usr/lib/big.so', size: 50 * MiB }] },
    });
    const result = hints(facts, analysis, policy)!;
    expect(result.status).toBe('pass');
    expect(result.details!.map((d) => d.kind)).toEqual([
      'apt-lists',
      'overwritten',
      'deleted',
      'largest-file',
    ]);
    expect(result.hint).toBeUndefined();
  });

  it('lists the largest files, largest first, with their layers', () => {
    const analysis = fakeSummary({
      layers,
      files: [1, 7, 3, 9, 5, 2, 8].map((n) => ({ path: `/data/f${n}`, size: n * MiB, layer: n % 3 })),
    });
    const largest = hints(facts, analysis, policy)!.details!.filter((d) => d.kind === 'largest-file');
    expect(largest.map((d) => d.path)).toEqual(['/data/f9', '/data/f8', '/data/f7', '/data/f5', '/data/f3']);
    expect(largest[0]).toMatchObject({ bytes: 9 * MiB, layer: 0 });
  });

  it('passes a clean image', () => {
    const result = hints(
      facts,
      fakeSummary({ layers, files: [{ path: '/app/server', size: 5 * MiB }] }),
      policy,
    )!;
    expect(result.status).toBe('pass');
    expect(result.actual).toBe(0);
    expect(result.message).toBe('no package caches, VCS directories, or files deleted or overwritten later');
  });
});

describe('commandLine', () => {
  it('shows history commands as Dockerfile lines', () => {
    expect(commandLine('/bin/sh -c #(nop)  CMD ["node"]')).toBe('CMD ["node"]');
    expect(commandLine('/bin/sh -c apt-get   update')).toBe('RUN apt-get update');
    expect(commandLine('RUN /bin/sh -c make # buildkit')).toBe('RUN make');
    expect(commandLine('x'.repeat(100), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('never cuts an emoji in half where it shortens a command (no U+FFFD, no lone \\ud83d in JSON)', () => {
    // `RUN ` and 74 letters: the cut at 79 UTF-16 units falls between the halves of 😀.
    const line = commandLine(`/bin/sh -c ${'b'.repeat(74)}😀 tail`);
    expect(line).toBe(`RUN ${'b'.repeat(74)}…`);
    expect(JSON.stringify(line)).not.toMatch(/\\ud83d/);
  });

  it('drops the build arguments and the SHELL a RUN recorded, as docker, BuildKit and kaniko write them', () => {
    const install = 'apt-get update && apt-get install -y curl';
    expect(commandLine(`RUN |2 DEBIAN_FRONTEND=noninteractive V=1.2 /bin/sh -c ${install} # buildkit`)).toBe(
      `RUN ${install}`,
    );
    expect(commandLine(`|1 V=1.2 /bin/sh -c ${install}`)).toBe(`RUN ${install}`);
    expect(commandLine('RUN |1 EMPTY= echo hi # buildkit')).toBe('RUN echo hi');
    expect(commandLine(`RUN /bin/bash -o pipefail -c ${install} # buildkit`)).toBe(`RUN ${install}`);
    expect(commandLine(`/bin/bash -c ${install}`)).toBe(`RUN ${install}`);
    expect(commandLine(`RUN ${install}`)).toBe(`RUN ${install}`); // kaniko
    expect(commandLine('COPY . . # buildkit')).toBe('COPY . .');
    expect(commandLine('|1 MSG=two words /bin/sh -c make all')).toBe('RUN make all');
  });
});
