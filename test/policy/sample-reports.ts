import { summarizeAnalysis } from '../../src/analysis/summary.js';
import type { Analysis } from '../../src/analysis/types.js';
import { evaluate, policyReportFields } from '../../src/policy/evaluate.js';
import { imageFactsOf, indexOnlyFacts } from '../../src/policy/facts.js';
import { type Policy, profilePolicy } from '../../src/policy/policy.js';
import { GiB, MiB } from '../../src/policy/sizes.js';
import { buildReport, reportWithoutImage } from '../../src/report/build-report.js';
import type { Report } from '../../src/report/report.js';
import { fakeAnalysis, fakeLayer, fakeSource } from './fakes.js';

function reportOf(source = fakeSource(), analysis: Analysis | undefined, policy: Policy): Report {
  const facts = imageFactsOf(source);
  const { checks } = evaluate(
    facts,
    analysis && summarizeAnalysis(analysis),
    policy,
    'the manifest-level checks already failed',
  );
  return { ...buildReport(source, analysis), ...policyReportFields(facts, policy, checks) };
}

/** An analysed image that passes with a warning: an apt cache, a deleting layer, dive rules. */

/** An index with one linux/arm64 image and no linux/amd64 one. */
function arm64Index() {
  return {
    digest: `sha256:${'9'.repeat(64)}` as const,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'm',
        digest: `sha256:${'7'.repeat(64)}` as const,
        size: 1,
        platform: { os: 'linux', architecture: 'arm64' },
      },
    ],
  };
}
export function warningReport(): Report {
  const analysis = fakeAnalysis({
    layers: [
      fakeLayer(0, { createdBy: '/bin/sh -c #(nop) ADD file:base in /' }),
      fakeLayer(1, { createdBy: '/bin/sh -c apt-get update && apt-get install -y curl', wastedBytes: 0 }),
      fakeLayer(2, { createdBy: '/bin/sh -c rm -rf /build', removed: 2, wastedBytes: 10 * MiB }),
    ],
    files: [
      { path: '/var/lib/apt/lists/Packages', size: 9 * MiB, layer: 1 },
      { path: '/usr/bin/curl', size: 300_000, layer: 1 },
    ],
    layerTrees: {
      2: [
        { path: '/build', type: 'dir', change: 'removed' },
        { path: '/build/a.o', size: 10 * MiB, change: 'removed' },
      ],
    },
    waste: {
      efficiency: 0.93,
      wastedBytes: 10 * MiB,
      userWastedPercent: 0.17,
      reclaimableBytes: 10 * MiB,
      inefficientFiles: [
        {
          path: '/build/a.o',
          count: 2,
          wastedBytes: 10 * MiB,
          reclaimableBytes: 10 * MiB,
          overwrittenBy: [{ layer: 2, createdBy: '/bin/sh -c rm -rf /build', change: 'removed' }],
        },
      ],
    },
  });
  const policy: Policy = {
    ...profilePolicy('scf'),
    memoryMiB: { value: 384, origin: '--memory' },
    rules: {
      lowestEfficiency: { value: 0.9, origin: '.dive-ci' },
      highestWastedBytes: { value: 'disabled', origin: '.dive-ci' },
      highestUserWastedPercent: { value: 0.2, origin: '.dive-ci' },
    },
  };
  return reportOf(fakeSource(), analysis, policy);
}

/** An arm64 image over 1 GiB, not analysed: the manifest-level checks failed. */
export function failingReport(): Report {
  const layers = [0, 1].map((i) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: `sha256:${String(i + 5).repeat(64)}` as const,
    size: 700 * MiB,
  }));
  const source = fakeSource({
    platform: { os: 'linux', architecture: 'arm64' },
    layers,
    index: arm64Index(),
  });
  const policy: Policy = {
    ...profilePolicy('scf'),
    budgets: { maxUncompressed: { value: 2 * GiB, origin: '--max-uncompressed' } },
  };
  return reportOf(source, undefined, policy);
}

/** A clean image checked without a profile. */
export function passingReport(): Report {
  const policy: Policy = {
    ...profilePolicy('none'),
    budgets: { maxLayers: { value: 5, origin: '--max-layers' } },
  };
  return reportOf(fakeSource({ reference: 'oci:fixtures/app', kind: 'oci-layout' }), fakeAnalysis(), policy);
}

/** An index without the profile's platform: no image was selected, the platform check fails. */
export function noImageReport(): Report {
  const facts = indexOnlyFacts({
    reference: 'registry.test/team/app:1.0',
    kind: 'registry',
    schema: 'oci-v1',
    index: arm64Index(),
  });
  const policy = profilePolicy('scf');
  const { checks } = evaluate(facts, undefined, policy, 'the index has no image for this platform');
  return { ...reportWithoutImage(facts), ...policyReportFields(facts, policy, checks) };
}
