import type { AnalysisSummary } from '../../analysis/summary.js';
import type { CheckResult, CheckStatus } from '../../report/report.js';
import type { ImageFacts } from '../facts.js';
import type { Policy } from '../policy.js';

/** A check that needs only the manifest and config; undefined when it does not apply to the policy. */
export type ManifestCheck = (facts: ImageFacts, policy: Policy) => CheckResult | undefined;

/**
 * A check that needs the streamed layers — their summary, fresh or cached, never the file model;
 * undefined when it does not apply to the policy.
 */
export type AnalysisCheck = (
  facts: ImageFacts,
  analysis: AnalysisSummary,
  policy: Policy,
) => CheckResult | undefined;

/** Builds a result, leaving out the optional fields that are undefined (the JSON stays minimal). */
export function checkResult(
  id: string,
  status: CheckStatus,
  message: string,
  extra: Pick<CheckResult, 'actual' | 'limit' | 'hint' | 'details'> = {},
): CheckResult {
  const result: CheckResult = { id, status, message };
  if (extra.actual !== undefined) result.actual = extra.actual;
  if (extra.limit !== undefined) result.limit = extra.limit;
  if (extra.hint !== undefined) result.hint = extra.hint;
  if (extra.details !== undefined) result.details = extra.details;
  return result;
}

/**
 * Why a check of the image is skipped when there is no image: the reference named an index without one
 * for the platform (`indexOnlyFacts`, the only facts without a compressed size).
 */
export const NO_IMAGE = 'no image: the index has none for this platform';

/**
 * Said where a size over a limit warns instead of failing: the size counts layers a push compresses
 * (`ImageFacts.storedUncompressed`), so the image in the registry may well be under it.
 */
export const STORED_UNCOMPRESSED =
  'this docker save archive stores its layers uncompressed and a push compresses them, so the pushed image is smaller';
export const STORED_UNCOMPRESSED_HINT =
  'check the pushed image (imgscope check REGISTRY/NAME:TAG) for the verdict, or an OCI layout with compressed layers';

/** ` (from --max-layers)`: says where a user-configured limit came from. */
export function fromOrigin(origin: string): string {
  return ` (from ${origin})`;
}
