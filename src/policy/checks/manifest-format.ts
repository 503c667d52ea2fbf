import type { ManifestSchema } from '../../oci/media-types.js';
import { checkResult, type ManifestCheck } from './check.js';

const SCHEMA_NAMES: Record<ManifestSchema, string> = {
  'oci-v1': 'OCI image v1',
  'docker-v2s2': 'Docker image manifest v2 schema 2',
  'docker-v2s1': 'Docker image manifest v2 schema 1',
  unknown: 'unknown manifest format',
};

const REPUSH_HINT =
  're-push it in a current format: `skopeo copy --format v2s2 docker://IMAGE docker://IMAGE`, or rebuild and push with a current Docker or buildx';

/**
 * Docker v2 schema 2 and OCI v1 pass. Schema 1 (and anything unrecognised) fails where the profile
 * states the accepted formats (scf: platform-limits.md, "manifest format"), and warns elsewhere:
 * current Docker no longer pulls schema 1 (imgscope still reads its layers, to report them).
 */
export const manifestFormat: ManifestCheck = (facts, policy) => {
  const actual = SCHEMA_NAMES[facts.schema];
  const accepted = policy.profile.acceptedSchemas;
  const current = facts.schema === 'oci-v1' || facts.schema === 'docker-v2s2';
  if (current && (!accepted || accepted.includes(facts.schema))) {
    return checkResult('manifest-format', 'pass', actual, { actual: facts.schema });
  }
  const limit = accepted ? accepted.map((s) => SCHEMA_NAMES[s]).join(' or ') : null;
  const message = accepted
    ? `${actual} (${facts.mediaType}): ${policy.profile.title} accept only ${limit}`
    : `${actual} (${facts.mediaType}): deprecated, and current Docker no longer pulls it`;
  return checkResult('manifest-format', accepted ? 'fail' : 'warn', message, {
    actual: facts.schema,
    limit,
    hint: REPUSH_HINT,
  });
};
