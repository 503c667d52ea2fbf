/** The policy module's public API: profiles, settings resolution, evaluation and the verdict. */
export { tierOf } from './checks/memory-tier.js';
export { platformCheck } from './checks/platform.js';
export { CONFIG_FILE_NAME, findConfigFile, loadConfigFile, parseConfigFile } from './config-file.js';
export { parseDiveCi } from './dive-ci.js';
export {
  evaluate,
  evaluateAnalysis,
  evaluateManifest,
  exitCodeOf,
  type LayerFlags,
  needsLayers,
  policyReportFields,
  skippedAnalysisChecks,
  type Verdict,
  verdictOf,
} from './evaluate.js';
export { type ImageFacts, imageFactsOf, indexOnlyFacts, pinnedReferenceFor } from './facts.js';
export { type FailOn, type Policy, profilePolicy, type RuleSetting, type Setting } from './policy.js';
export {
  DEFAULT_PROFILE,
  memoryTierOf,
  PROFILE_NAMES,
  type Profile,
  type ProfileName,
  profileNamed,
} from './profiles.js';
export { DIVE_CI_FILE_NAME, FLAG_NAMES, type PolicyFlags, policyFrom, resolvePolicy } from './resolve.js';
export { formatSize, parseMemoryMiB, parseSize } from './sizes.js';
