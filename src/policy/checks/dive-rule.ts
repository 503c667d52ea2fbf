import type { CheckResult } from '../../report/report.js';
import type { RuleSetting } from '../policy.js';
import { checkResult, fromOrigin } from './check.js';

/**
 * dive's CI rule frame (runtime/ci in wagoodman/dive): an unset rule is absent, `disabled` is reported
 * as skipped, otherwise the rule's own comparison decides pass or fail.
 */
export function diveRule(
  id: string,
  setting: RuleSetting | undefined,
  judge: (threshold: number, from: string) => Omit<CheckResult, 'id'>,
): CheckResult | undefined {
  if (!setting) return undefined;
  if (setting.value === 'disabled') {
    return checkResult(id, 'skip', `rule disabled${fromOrigin(setting.origin)}`, { limit: 'disabled' });
  }
  return { id, ...judge(setting.value, fromOrigin(setting.origin)) };
}
