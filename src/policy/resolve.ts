import { basename, resolve } from 'node:path';
import { ImgscopeError } from '../errors.js';
import {
  type ConfigFile,
  findConfigFile,
  loadConfigFile,
  type PolicySettings,
  readNamedFile,
  readOptionalFile,
} from './config-file.js';
import { parseDiveCiLines } from './dive-ci.js';
import type { Policy, Setting } from './policy.js';
import { DEFAULT_PROFILE, profileNamed } from './profiles.js';
import { referenceMatches } from './reference-pattern.js';
import {
  DIVE_RULE_KEYS,
  type DiveRuleKey,
  readCount,
  readFailOn,
  readMemory,
  readPlatform,
  readProfile,
  readRule,
  readSize,
} from './values.js';

/** The policy flags of `check`, as the CLI parsed them (raw strings; validated here). */
export interface PolicyFlags {
  profile?: string;
  failOn?: string;
  platform?: string;
  memory?: string | number;
  maxCompressed?: string | number;
  maxUncompressed?: string | number;
  maxLayers?: string | number;
  lowestEfficiency?: string | number;
  highestWastedBytes?: string | number;
  highestUserWastedPercent?: string | number;
  /** `--config FILE`: instead of searching upward for imgscope.config.json. */
  config?: string;
  /** `--ci-config FILE`: instead of `.dive-ci` in the working directory (dive's flag). */
  ciConfig?: string;
  /** How the user spelled a flag where it is not as FLAG_NAMES has it (dive's `--lowestEfficiency`). */
  spelled?: Partial<Record<keyof PolicyFlags, string>>;
}

/** How each flag is spelled on the command line: errors and origins name it so. */
export const FLAG_NAMES: Readonly<Record<Exclude<keyof PolicyFlags, 'spelled'>, string>> = {
  profile: '--profile',
  failOn: '--fail-on',
  platform: '--platform',
  memory: '--memory',
  maxCompressed: '--max-compressed',
  maxUncompressed: '--max-uncompressed',
  maxLayers: '--max-layers',
  lowestEfficiency: '--lowest-efficiency',
  highestWastedBytes: '--highest-wasted-bytes',
  highestUserWastedPercent: '--highest-user-wasted-percent',
  config: '--config',
  ciConfig: '--ci-config',
};

export const DIVE_CI_FILE_NAME = '.dive-ci';

/** dive's defaults for rules a `.dive-ci` leaves out (dive's CI evaluator sets them before reading it). */
const DIVE_DEFAULTS: Readonly<Record<DiveRuleKey, number | 'disabled'>> = {
  lowestEfficiency: 0.9,
  highestWastedBytes: 'disabled',
  highestUserWastedPercent: 0.1,
};

function flagSettings(flags: PolicyFlags): PolicySettings {
  const settings: PolicySettings = {};
  const set = <T>(key: keyof typeof FLAG_NAMES, value: T): Setting<T> => ({
    value,
    origin: flags.spelled?.[key] ?? FLAG_NAMES[key],
  });
  if (flags.profile !== undefined)
    settings.profile = set('profile', readProfile(flags.profile, FLAG_NAMES.profile));
  if (flags.failOn !== undefined)
    settings.failOn = set('failOn', readFailOn(flags.failOn, FLAG_NAMES.failOn));
  if (flags.platform !== undefined) {
    settings.platform = set('platform', readPlatform(flags.platform, FLAG_NAMES.platform));
  }
  if (flags.memory !== undefined)
    settings.memoryMiB = set('memory', readMemory(flags.memory, FLAG_NAMES.memory));
  if (flags.maxCompressed !== undefined) {
    settings.maxCompressed = set('maxCompressed', readSize(flags.maxCompressed, FLAG_NAMES.maxCompressed));
  }
  if (flags.maxUncompressed !== undefined) {
    settings.maxUncompressed = set(
      'maxUncompressed',
      readSize(flags.maxUncompressed, FLAG_NAMES.maxUncompressed),
    );
  }
  if (flags.maxLayers !== undefined) {
    settings.maxLayers = set('maxLayers', readCount(flags.maxLayers, FLAG_NAMES.maxLayers));
  }
  for (const key of DIVE_RULE_KEYS) {
    const value = flags[key];
    const name = flags.spelled?.[key] ?? FLAG_NAMES[key];
    if (value !== undefined) settings[key] = set(key, readRule(key, value, name));
  }
  return settings;
}

/** dive's rules from a `.dive-ci`, dive's defaults filling the rules it leaves out. */
export function diveCiSettings(text: string, file: string): PolicySettings {
  const raw = parseDiveCiLines(text, file);
  const name = basename(file);
  const settings: PolicySettings = {};
  for (const key of DIVE_RULE_KEYS) {
    const value = raw[key];
    settings[key] =
      value === undefined
        ? { value: DIVE_DEFAULTS[key], origin: `dive's default, as ${name} does not set it` }
        : { value: readRule(key, value.text, `${file}:${value.line}: "rules.${key}"`), origin: name };
  }
  return settings;
}

/**
 * The file a flag names. `--config "$UNSET"` would otherwise name the working directory, and say that
 * it is a directory rather than that the value is missing.
 */
function namedPath(cwd: string, value: string, flag: string): string {
  if (value.trim() === '') {
    throw new ImgscopeError('BAD_INPUT', `${flag} is empty`, {
      hint: `name the file (${flag} FILE), or leave the option out for the default`,
    });
  }
  return resolve(cwd, value);
}

async function readDiveCi(
  flags: PolicyFlags,
  cwd: string,
): Promise<{ file: string; settings: PolicySettings } | undefined> {
  if (flags.ciConfig !== undefined) {
    const file = namedPath(cwd, flags.ciConfig, FLAG_NAMES.ciConfig);
    return { file, settings: diveCiSettings(await readNamedFile(file, FLAG_NAMES.ciConfig), file) };
  }
  const file = resolve(cwd, DIVE_CI_FILE_NAME);
  const text = await readOptionalFile(file, '--ci-config');
  return text === undefined ? undefined : { file, settings: diveCiSettings(text, file) };
}

async function readConfig(flags: PolicyFlags, cwd: string): Promise<ConfigFile | undefined> {
  if (flags.config !== undefined) {
    return loadConfigFile(namedPath(cwd, flags.config, FLAG_NAMES.config), FLAG_NAMES.config);
  }
  return findConfigFile(cwd);
}

/** Later layers win, key by key. */
function merge(layers: readonly PolicySettings[]): PolicySettings {
  const merged: PolicySettings = {};
  for (const layer of layers) {
    Object.assign(
      merged,
      Object.fromEntries(Object.entries(layer).filter(([, setting]) => setting !== undefined)),
    );
  }
  return merged;
}

/** Builds a policy from settings layers, lowest precedence first, over the profile they name. */
export function policyFrom(layers: readonly PolicySettings[], files: string[] = []): Policy {
  const s = merge(layers);
  const policy: Policy = {
    profile: profileNamed(s.profile?.value ?? DEFAULT_PROFILE),
    failOn: s.failOn?.value ?? 'fail',
    budgets: {},
    rules: {},
    files,
  };
  if (s.platform) policy.platform = s.platform;
  if (s.memoryMiB) policy.memoryMiB = s.memoryMiB;
  if (s.maxCompressed) policy.budgets.maxCompressed = s.maxCompressed;
  if (s.maxUncompressed) policy.budgets.maxUncompressed = s.maxUncompressed;
  if (s.maxLayers) policy.budgets.maxLayers = s.maxLayers;
  for (const key of DIVE_RULE_KEYS) {
    const rule = s[key];
    if (rule) policy.rules[key] = rule;
  }
  return policy;
}

/**
 * The policy for one image. Precedence, highest first: flags; imgscope.config.json (its overrides whose
 * pattern matches `reference`, later ones winning, then its top level); `.dive-ci` (dive's defaults for
 * the rules it leaves out); the profile. Flags are validated before any file is read.
 */
export async function resolvePolicy(options: {
  flags?: PolicyFlags;
  cwd: string;
  reference?: string;
}): Promise<Policy> {
  const flags = options.flags ?? {};
  const fromFlags = flagSettings(flags);
  const diveCi = await readDiveCi(flags, options.cwd);
  const config = await readConfig(flags, options.cwd);
  const overrides =
    config && options.reference !== undefined
      ? config.overrides.filter((o) => o.patterns.some((p) => referenceMatches(p, options.reference!)))
      : [];
  const layers = [
    ...(diveCi ? [diveCi.settings] : []),
    ...(config ? [config.settings, ...overrides.map((o) => o.settings)] : []),
    fromFlags,
  ];
  const files = [...(diveCi ? [diveCi.file] : []), ...(config ? [config.path] : [])];
  return policyFrom(layers, files);
}
