import { codeSpan, imageText } from '../../report/format.js';
import { checkResult, type ManifestCheck } from './check.js';

function commandOf(entrypoint: string[] | null | undefined, cmd: string[] | null | undefined): string[] {
  // docker resets an Entrypoint of [""] (`ENTRYPOINT [""]`) to none before it looks for a command.
  const reset = entrypoint?.length === 1 && entrypoint[0] === '';
  return [...(reset ? [] : (entrypoint ?? [])), ...(cmd ?? [])];
}

function exposes(ports: Record<string, object> | null | undefined, port: number): boolean {
  // A port without a protocol is TCP (Docker's rule for EXPOSE and the config's ExposedPorts).
  return Object.keys(ports ?? {}).some((key) => key === `${port}/tcp` || key === String(port));
}

/**
 * Something must start the server: warn when the config has neither Entrypoint nor Cmd. For scf the
 * server listens on 0.0.0.0:9000 and is up within 30 s (platform-limits.md, "start-up"); EXPOSE is only
 * a hint, so a missing `9000/tcp` warns rather than fails.
 */
export const startup: ManifestCheck = (facts, policy) => {
  const rule = policy.profile.startup;
  if (!rule) return undefined;
  const { config } = facts;
  if (!config) return checkResult('startup', 'skip', 'no image config to read the command from');
  const command = commandOf(config.config?.Entrypoint, config.config?.Cmd);
  const ports = Object.keys(config.config?.ExposedPorts ?? {});
  const limit = rule.port === undefined ? 'a command' : `a command; ${rule.port}/tcp exposed`;
  const problems: string[] = [];
  const fixes: string[] = [];
  if (rule.needsCommand && command.length === 0) {
    problems.push('the config has neither Entrypoint nor Cmd, so nothing starts the server');
    fixes.push('add a CMD (or ENTRYPOINT) that starts the HTTP server');
  }
  if (rule.port !== undefined && !exposes(config.config?.ExposedPorts, rule.port)) {
    const exposed = ports.length > 0 ? `it exposes ${ports.map(imageText).join(', ')}` : 'it exposes no port';
    problems.push(
      `${rule.port}/tcp is not exposed (${exposed}); ${policy.profile.title} call port ${rule.port}`,
    );
    fixes.push(`listen on 0.0.0.0:${rule.port} and add \`EXPOSE ${rule.port}\``);
  }
  const actual = command.length > 0 ? command.join(' ') : null;
  if (problems.length > 0) {
    return checkResult('startup', 'warn', problems.join('; '), { actual, limit, hint: fixes.join('; ') });
  }
  const deadline = rule.timeoutSeconds === undefined ? '' : `, up within ${rule.timeoutSeconds} s`;
  const listen =
    rule.port === undefined ? 'an HTTP server' : `an HTTP server on 0.0.0.0:${rule.port}${deadline}`;
  return checkResult('startup', 'pass', `${codeSpan(String(actual))} must start ${listen}`, {
    actual,
    limit,
  });
};
