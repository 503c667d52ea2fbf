import { checkResult, type ManifestCheck } from './check.js';

/**
 * The platform pulls by digest, not by tag (scf: platform-limits.md, "pulling"), so a checked tag is
 * reported with the digest to deploy: the tag may be pushed again with other content.
 */
export const pinned: ManifestCheck = (facts, policy) => {
  if (!policy.profile.pullsByDigest || !facts.pinnedReference) return undefined;
  if (!facts.referenceIsTag) {
    return checkResult('pinned', 'pass', `pinned by digest: ${facts.pinnedReference}`, {
      actual: facts.pinnedReference,
    });
  }
  return checkResult(
    'pinned',
    'pass',
    `${facts.reference} is a tag; ${policy.profile.title} pull by digest, and a tag can be pushed again`,
    {
      actual: facts.pinnedReference,
      hint: `deploy ${facts.pinnedReference}, the image checked here`,
    },
  );
};
