import { beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/shared.js';
import { analyzeImage } from '../../analysis/analyze.js';
import { summarizeAnalysis } from '../../analysis/summary.js';
import type { Analysis } from '../../analysis/types.js';
import { openLocalImage } from '../../oci/local/index.js';
import type { CheckResult } from '../../report/report.js';
import { imageFactsOf } from '../facts.js';
import { profilePolicy } from '../policy.js';
import { hints } from './hints.js';

// fixtures/demo, analysed for real; every figure below is worked out by hand in fixtures/README.md.
describe('hints on fixtures/demo', () => {
  let analysis: Analysis;
  let result: CheckResult;
  beforeAll(async () => {
    const source = await openLocalImage(fixture('demo'));
    try {
      analysis = await analyzeImage(source);
      result = hints(imageFactsOf(source), summarizeAnalysis(analysis), profilePolicy('scf'))!;
    } finally {
      await source.close();
    }
  });

  const detail = (kind: string, layer?: number) =>
    result.details!.find((d) => d.kind === kind && (layer === undefined || d.layer === layer));

  it('finds the apt cache L2 never removed and the npm cache L6 and L8 only partly removed', () => {
    expect(detail('apt-cache')).toMatchObject({ path: '/var/cache/apt', bytes: 16_384, layer: 1 });
    expect(detail('apt-cache')!.message).toContain(
      '`RUN apt-get update && apt-get install -y --no-install-recommends',
    );
    // index-v5 228 + 227 + 226 (L6); the logs beside it, 2,200 (L6) + 1,100 (L8), are no cache.
    expect(detail('npm-cache')).toMatchObject({ path: '/root/.npm/_cacache', bytes: 681, layer: 5 });
    expect(detail('apt-lists')).toBeUndefined(); // L3 emptied it (in a layer of its own)
    expect(detail('vcs')).toBeUndefined(); // L8 removed /app/.git
  });

  it('attributes every dead byte to the layer that deleted or overwrote it', () => {
    const dead = result
      .details!.filter((d) => d.kind === 'deleted' || d.kind === 'overwritten')
      .map((d) => [d.layer, d.kind, d.bytes]);
    expect(dead).toEqual([
      [7, 'deleted', 10_977 + 13_312 + 12_000],
      [2, 'deleted', 31_980],
      [6, 'overwritten', 8_406],
      [7, 'overwritten', 8_000],
      [1, 'overwritten', 6_000],
    ]);
    expect(detail('deleted', 7)!.message).toContain(
      'deleted 35.4 KiB that earlier layers still ship: /root/.npm/_cacache/content-v2 (13 KiB), /app/dist/bundle.js.map (11.7 KiB), /app/.git (10.7 KiB)',
    );
  });

  it('totals what could be saved: caches plus everything later layers made dead', () => {
    expect(result.actual).toBe(16_384 + 681 + 90_675);
    expect(result.message).toBe(
      'could save about 105 KiB: 2 package caches (16.7 KiB), files deleted or overwritten later (88.5 KiB)',
    );
    // A toy image: nothing reaches the 1 MiB that makes a finding worth a warning.
    expect(result.status).toBe('pass');
  });

  it('lists the largest files of the final image', () => {
    expect(result.details!.filter((d) => d.kind === 'largest-file').map((d) => [d.path, d.bytes])).toEqual([
      ['/usr/local/bin/node', 16_384],
      ['/usr/lib/x86_64-linux-gnu/libc.so.6', 12_288],
      ['/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0', 12_288],
      ['/etc/ssl/certs/ca-certificates.crt', 12_000],
      ['/app/dist/bundle.js', 9_500],
    ]);
  });
});
