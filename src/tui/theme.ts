import type { TextProps } from 'ink';
import type { Role } from './view-model/lines.js';

export interface Theme {
  /** False when NO_COLOR is set: styles (bold, dim, inverse) stay, colours go. */
  readonly color: boolean;
  props(role: Role | undefined): TextProps;
}

const STYLES: Record<Role, TextProps> = {
  plain: {},
  dim: { dimColor: true },
  heading: { bold: true },
  key: { bold: true, color: 'cyan' },
  added: { color: 'green' },
  modified: { color: 'yellow' },
  removed: { color: 'red' },
  pass: { bold: true, color: 'green' },
  warn: { bold: true, color: 'yellow' },
  fail: { bold: true, color: 'red' },
  skip: { dimColor: true },
  error: { bold: true, color: 'red' },
  progress: { color: 'cyan' },
};

const WITHOUT_COLOR = Object.fromEntries(
  Object.entries(STYLES).map(([role, { color: _color, ...rest }]) => [role, rest]),
) as Record<Role, TextProps>;

/** https://no-color.org: NO_COLOR set to anything but the empty string turns colour off. */
export function themeFor(env: Readonly<Record<string, string | undefined>>): Theme {
  const color = !env.NO_COLOR;
  const styles = color ? STYLES : WITHOUT_COLOR;
  return { color, props: (role) => styles[role ?? 'plain'] };
}
