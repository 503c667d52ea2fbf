import type { AnalysisSummary } from '../analysis/summary.js';
import type { CheckResult, Report } from '../report/report.js';
import type { AnalysisCheck, ManifestCheck } from './checks/check.js';
import { checkResult, fromOrigin } from './checks/check.js';
import { compressedSize } from './checks/compressed-size.js';
import { highestUserWastedPercent } from './checks/highest-user-wasted-percent.js';
import { highestWastedBytes } from './checks/highest-wasted-bytes.js';
import { hints } from './checks/hints.js';
import { lowestEfficiency } from './checks/lowest-efficiency.js';
import { manifestFormat } from './checks/manifest-format.js';
import { maxCompressed } from './checks/max-compressed.js';
import { maxLayers } from './checks/max-layers.js';
import { maxUncompressed } from './checks/max-uncompressed.js';
import { memoryTier, tierOf } from './checks/memory-tier.js';
import { pinned } from './checks/pinned.js';
import { platformCheck } from './checks/platform.js';
import { startup } from './checks/startup.js';
import type { ImageFacts } from './facts.js';
import type { FailOn, Policy } from './policy.js';
import { formatSize } from './sizes.js';

/** In report order: what the platform accepts first, then the user's budgets. */
const MANIFEST_CHECKS: readonly ManifestCheck[] = [
  manifestFormat,
  platformCheck,
  compressedSize,
  memoryTier,
  startup,
  pinned,
  maxCompressed,
  maxLayers,
];

const ANALYSIS_CHECKS: readonly AnalysisCheck[] = [
  maxUncompressed,
  lowestEfficiency,
  highestWastedBytes,
  highestUserWastedPercent,
  hints,
];

function present<T>(value: T | undefined): value is T {
  return value !== undefined;
}

/** The checks that need no layer contents: manifest, config and blob sizes. */
export function evaluateManifest(facts: ImageFacts, policy: Policy): CheckResult[] {
  return MANIFEST_CHECKS.map((check) => check(facts, policy)).filter(present);
}

/**
 * The checks that need the streamed layers: uncompressed budget, dive's rules, hints. They read the
 * analysis summary (`summarizeAnalysis` of a fresh analysis, or one cached for the image).
 */
export function evaluateAnalysis(
  facts: ImageFacts,
  analysis: AnalysisSummary,
  policy: Policy,
): CheckResult[] {
  return ANALYSIS_CHECKS.map((check) => check(facts, analysis, policy)).filter(present);
}

/**
 * What the layer checks report when layers were not streamed: `skip` with the reason, for each one the
 * policy configures (dive's `disabled` stays "rule disabled"), so a report never silently drops a rule.
 */
export function skippedAnalysisChecks(policy: Policy, reason: string): CheckResult[] {
  const skipped: CheckResult[] = [];
  // The setting and its origin, as when evaluated: a skipped rule must still say which file set it.
  const skip = (id: string, limit?: number, setting?: string) =>
    skipped.push(
      checkResult(id, 'skip', `not evaluated: ${reason}${setting ? `; ${setting}` : ''}`, { limit }),
    );
  const maxUncompressed = policy.budgets.maxUncompressed;
  if (maxUncompressed) {
    const budget = `budget ${formatSize(maxUncompressed.value)}${fromOrigin(maxUncompressed.origin)}`;
    skip('max-uncompressed', maxUncompressed.value, budget);
  }
  for (const id of ['lowestEfficiency', 'highestWastedBytes', 'highestUserWastedPercent'] as const) {
    const rule = policy.rules[id];
    if (!rule) continue;
    const from = fromOrigin(rule.origin);
    if (rule.value === 'disabled')
      skipped.push(checkResult(id, 'skip', `rule disabled${from}`, { limit: 'disabled' }));
    else {
      const threshold = id === 'highestWastedBytes' ? formatSize(rule.value) : String(rule.value);
      skip(id, rule.value, `threshold ${threshold}${from}`);
    }
  }
  skip('hints');
  return skipped;
}

export type Verdict = 'pass' | 'warn' | 'fail';

/** `fail` when any check failed (or warned, with `failOn: 'warn'`); `warn` when any warned; else `pass`. */
export function verdictOf(checks: readonly CheckResult[], failOn: FailOn): Verdict {
  const failed = checks.some((c) => c.status === 'fail');
  const warned = checks.some((c) => c.status === 'warn');
  if (failed || (warned && failOn === 'warn')) return 'fail';
  return warned ? 'warn' : 'pass';
}

/** Exit code of `check`: 0 pass (warnings allowed), 1 fail. Errors (2) never reach a verdict. */
export function exitCodeOf(verdict: Verdict): 0 | 1 {
  return verdict === 'fail' ? 1 : 0;
}

export interface LayerFlags {
  /** `--full`: stream layers even when the manifest-level checks already failed. */
  full?: boolean;
  /** `--no-layers`: never stream layers. */
  noLayers?: boolean;
}

/**
 * Whether `check` should stream the layers: never with `--no-layers`; not when the manifest-level checks
 * already decide a failing verdict, unless `--full`; otherwise yes, for the full report. (Facts from
 * `indexOnlyFacts` have no image behind them, so nothing to stream at all.)
 */
export function needsLayers(
  manifestChecks: readonly CheckResult[],
  policy: Policy,
  flags: LayerFlags = {},
): boolean {
  if (flags.noLayers) return false;
  if (flags.full) return true;
  return verdictOf(manifestChecks, policy.failOn) !== 'fail';
}

/** Every check and the verdict, with or without an analysis (`reason` says why layers were not read). */
export function evaluate(
  facts: ImageFacts,
  analysis: AnalysisSummary | undefined,
  policy: Policy,
  reason = 'layers were not analysed',
): { checks: CheckResult[]; verdict: Verdict } {
  const checks = [
    ...evaluateManifest(facts, policy),
    ...(analysis ? evaluateAnalysis(facts, analysis, policy) : skippedAnalysisChecks(policy, reason)),
  ];
  return { checks, verdict: verdictOf(checks, policy.failOn) };
}

/** The report fields policy evaluation adds: `Object.assign(report, policyReportFields(…))`. */
export function policyReportFields(
  facts: ImageFacts,
  policy: Policy,
  checks: CheckResult[],
): Required<Pick<Report, 'profile' | 'checks' | 'verdict'>> & Pick<Report, 'tier'> {
  const fields: Required<Pick<Report, 'profile' | 'checks' | 'verdict'>> & Pick<Report, 'tier'> = {
    profile: policy.profile.name,
    checks,
    verdict: verdictOf(checks, policy.failOn),
  };
  const tier = tierOf(facts, policy);
  if (tier !== undefined) fields.tier = tier;
  return fields;
}
