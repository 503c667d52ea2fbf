import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ImgscopeError } from '../errors.js';
import { parseLocalReference } from '../oci/local/reference.js';
import type { PolicyFlags } from '../policy/index.js';
import { parseSize, SIZE_SYNTAX, whyNotASize } from '../policy/sizes.js';

/** Every option imgscope accepts; each command reads the ones it needs. */
const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  json: { type: 'boolean' },
  format: { type: 'string' },
  platform: { type: 'string' },
  debug: { type: 'boolean' },
  // registry
  'insecure-registry': { type: 'string', multiple: true },
  username: { type: 'string', short: 'u' },
  'password-stdin': { type: 'boolean' },
  // policy
  profile: { type: 'string' },
  memory: { type: 'string' },
  'max-compressed': { type: 'string' },
  'max-uncompressed': { type: 'string' },
  'max-layers': { type: 'string' },
  'lowest-efficiency': { type: 'string' },
  'highest-wasted-bytes': { type: 'string' },
  'highest-user-wasted-percent': { type: 'string' },
  // dive's own spelling of its CI rules, so `dive --ci` command lines carry over
  lowestEfficiency: { type: 'string' },
  highestWastedBytes: { type: 'string' },
  highestUserWastedPercent: { type: 'string' },
  config: { type: 'string' },
  'ci-config': { type: 'string' },
  'fail-on': { type: 'string' },
  full: { type: 'boolean' },
  'no-layers': { type: 'boolean' },
  // performance
  concurrency: { type: 'string' },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
  'max-size': { type: 'string' },
} as const;

export type ParsedOptions = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

export interface ParsedArgs {
  command: 'check' | 'inspect' | 'cache' | 'tui' | 'help' | 'version';
  positionals: string[];
  options: ParsedOptions;
}

const COMMANDS = new Set(['check', 'inspect', 'cache', 'help']);

export type OptionName = keyof typeof OPTIONS;
const IMAGE_ACCESS: OptionName[] = ['platform', 'insecure-registry', 'username', 'password-stdin'];
/** Budgets that only the layer analysis can evaluate, by the spelling given. */
const LAYER_BUDGETS: OptionName[] = [
  'max-uncompressed',
  'lowest-efficiency',
  'highest-wasted-bytes',
  'highest-user-wasted-percent',
  'lowestEfficiency',
  'highestWastedBytes',
  'highestUserWastedPercent',
];
const POLICY: OptionName[] = [
  'profile',
  'memory',
  'max-compressed',
  'max-layers',
  ...LAYER_BUDGETS,
  'config',
  'ci-config',
  'fail-on',
];
const ANALYSIS: OptionName[] = ['concurrency', 'cache-dir', 'no-cache'];
/**
 * The options each command reads. Another command's option is refused rather than ignored: a CI line
 * `imgscope check --max-size 300MB IMAGE` that silently passed would be a budget nobody enforces.
 */
export const COMMAND_OPTIONS: Record<'check' | 'inspect' | 'cache' | 'tui', ReadonlySet<OptionName>> = {
  check: new Set([...IMAGE_ACCESS, ...POLICY, ...ANALYSIS, 'json', 'format', 'full', 'no-layers']),
  inspect: new Set([...IMAGE_ACCESS, 'json']),
  cache: new Set(['json', 'cache-dir', 'max-size']),
  tui: new Set([...IMAGE_ACCESS, ...POLICY, ...ANALYSIS]),
};
const EVERY_COMMAND: ReadonlySet<OptionName> = new Set(['help', 'version', 'debug']);

function refuseForeignOptions(command: keyof typeof COMMAND_OPTIONS, values: ParsedOptions): void {
  for (const name of Object.keys(values) as OptionName[]) {
    if (EVERY_COMMAND.has(name) || COMMAND_OPTIONS[command].has(name)) continue;
    const owners = (Object.keys(COMMAND_OPTIONS) as (keyof typeof COMMAND_OPTIONS)[])
      .filter((owner) => COMMAND_OPTIONS[owner].has(name))
      .map((owner) =>
        owner === 'tui' ? 'the explorer' : owner === 'cache' && name === 'max-size' ? 'cache prune' : owner,
      );
    const subject = command === 'tui' ? 'the explorer (imgscope IMAGE)' : command;
    const budget = name === 'max-size' ? '; image budgets are --max-compressed and --max-uncompressed' : '';
    const list = owners.length > 1 ? `${owners.slice(0, -1).join(', ')} and ${owners.at(-1)}` : owners[0];
    throw new ImgscopeError('BAD_INPUT', `${subject} does not take --${name}`, {
      hint: `--${name} is for ${list}${budget}`,
    });
  }
}

/**
 * Options of `check` that ask for opposite things. Either way one of them would be dropped without a
 * word — and a budget dropped from a CI line is a deploy gate that passes whatever the image. (A config
 * file's layer budgets stay allowed with --no-layers: they are reported SKIP, as the file is shared.)
 */
function refuseContradictions(values: ParsedOptions): void {
  if (values.json && values.format !== undefined && values.format !== 'json') {
    throw new ImgscopeError('BAD_INPUT', `--json contradicts --format ${values.format}`, {
      hint: `--json is short for --format json; keep one of the two`,
    });
  }
  if (!values['no-layers']) return;
  if (values.full) {
    throw new ImgscopeError('BAD_INPUT', '--full contradicts --no-layers', {
      hint: '--full analyses the layers even after a failed manifest check, --no-layers never reads them; keep one',
    });
  }
  // A dive rule given as "disabled" asks for nothing the layers must answer.
  const budget = LAYER_BUDGETS.find((name) => values[name] !== undefined && values[name] !== 'disabled');
  if (budget) {
    throw new ImgscopeError('BAD_INPUT', `--${budget} cannot be checked with --no-layers`, {
      hint: `it needs the layers analysed: drop --no-layers to enforce it, or drop --${budget}`,
    });
  }
}

/** dive's spelling of each rule option beside imgscope's: both are read, and only one value can win. */
const DIVE_SPELLINGS: readonly [
  OptionName,
  'lowestEfficiency' | 'highestWastedBytes' | 'highestUserWastedPercent',
][] = [
  ['lowest-efficiency', 'lowestEfficiency'],
  ['highest-wasted-bytes', 'highestWastedBytes'],
  ['highest-user-wasted-percent', 'highestUserWastedPercent'],
];

function refuseTwoSpellings(values: ParsedOptions): void {
  for (const [ours, dives] of DIVE_SPELLINGS) {
    const a = values[ours];
    const b = values[dives];
    if (a === undefined || b === undefined || a === b) continue;
    throw new ImgscopeError('BAD_INPUT', `--${ours} ${a} contradicts --${dives} ${b}`, {
      hint: `--${dives} is dive's spelling of --${ours}; keep one of the two`,
    });
  }
}

const HELP_HINT = 'run imgscope --help for the options each command takes';

const NEGATIVE_NUMBER = /^-\.?[0-9]/;

/**
 * `--max-layers -1` becomes `--max-layers=-1`: parseArgs refuses a value that starts with '-' as maybe a
 * forgotten one, but no option looks like a number, so the number is the value — and the option's own
 * check then names it and says what it accepts.
 */
function withNegativeValuesAttached(argv: readonly string[]): string[] {
  const attached: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const next = argv[i + 1];
    if (token === '--') return [...attached, ...argv.slice(i)];
    if (takesValue(token) && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      attached.push(`${token}=${next}`);
      i++;
    } else {
      attached.push(token);
    }
  }
  return attached;
}

function takesValue(token: string): boolean {
  if (!token.startsWith('--')) return false;
  const option = OPTIONS[token.slice(2) as OptionName] as { type: string } | undefined;
  return option?.type === 'string';
}

/** `-u` → `username`; a long option → its name. */
function longName(option: string): string {
  if (option.startsWith('--')) return option.slice(2);
  const short = option.slice(1);
  const found = Object.entries(OPTIONS).find(([, spec]) => 'short' in spec && spec.short === short);
  return found?.[0] ?? short;
}

/** parseArgs' complaint in imgscope's words: one line naming the option, Node's advice left out. */
function commandLineError(error: Error, argv: readonly string[]): ImgscopeError {
  const line = error.message.split('\n')[0] ?? 'bad arguments';
  // Node names the option as '--name', '-n, --name' or '-n, --name <value>'.
  const option = /^(?:Unknown option|Option) '(?:-\w, )?(-{1,2}[^' ]+)/.exec(line)?.[1];
  if (option && /^Unknown option/.test(line)) {
    return new ImgscopeError('BAD_INPUT', `unknown option ${option}`, { hint: HELP_HINT });
  }
  if (option && / argument is ambiguous/.test(line)) {
    // parseArgs names the option as it was written.
    const next = argv[argv.indexOf(option) + 1] ?? '';
    const long = `--${longName(option)}`;
    return new ImgscopeError('BAD_INPUT', `${option} needs a value, but "${next}" follows it`, {
      hint: `write ${long} VALUE, or ${long}=VALUE for a value that starts with '-'`,
    });
  }
  if (option && / argument missing$/.test(line)) {
    return new ImgscopeError('BAD_INPUT', `${option} needs a value`, { hint: HELP_HINT });
  }
  if (option && / does not take an argument$/.test(line)) {
    return new ImgscopeError('BAD_INPUT', `${option} takes no value`, {
      hint: `write ${option} alone to turn it on`,
    });
  }
  return new ImgscopeError('BAD_INPUT', line, { hint: HELP_HINT });
}

/**
 * `--max-compressed 100MB … --max-compressed 1GB`: parseArgs keeps the last value without a word, so a
 * budget or rule given twice would be half ignored. Repeating the same value is harmless.
 */
function refuseRepeatedValues(tokens: readonly { kind: string; name?: string; value?: string }[]): void {
  const seen = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined || token.value === undefined) continue;
    const spec = OPTIONS[token.name as OptionName] as { multiple?: boolean } | undefined;
    if (spec?.multiple) continue;
    const earlier = seen.get(token.name);
    if (earlier !== undefined && earlier !== token.value) {
      throw new ImgscopeError('BAD_INPUT', `--${token.name} is given twice: ${earlier} and ${token.value}`, {
        hint: `keep one --${token.name}`,
      });
    }
    seen.set(token.name, token.value);
  }
}

/**
 * Whether --debug was given, known even when the rest of the command line fails to parse. Read as
 * parseArgs reads it: after `--` every word is an argument (`imgscope inspect -- --debug` names an image).
 */
export function debugRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--debug');
}

export function parseCommandLine(argv: string[]): ParsedArgs {
  let parsed: {
    values: ParsedOptions;
    positionals: string[];
    tokens: { kind: string; name?: string; value?: string }[];
  };
  try {
    parsed = parseArgs({
      args: withNegativeValuesAttached(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw commandLineError(error as Error, argv);
  }
  const { values, positionals } = parsed;
  refuseRepeatedValues(parsed.tokens);
  if (values.version) return { command: 'version', positionals: [], options: values };
  const [first, ...rest] = positionals;
  if (first === 'help' && rest[0] !== undefined && !COMMANDS.has(rest[0])) refuseHelpTopic(rest[0]);
  if (values.help || first === undefined || first === 'help') {
    return { command: 'help', positionals: first === 'help' ? rest : positionals, options: values };
  }
  if (COMMANDS.has(first)) {
    const command = first as 'check' | 'inspect' | 'cache';
    refuseForeignOptions(command, values);
    if (command === 'check') {
      refuseContradictions(values);
      refuseTwoSpellings(values);
    }
    return { command, positionals: rest, options: values };
  }
  if (rest.length > 0) refuseMistypedCommand(first);
  refuseForeignOptions('tui', values);
  refuseTwoSpellings(values);
  return { command: 'tui', positionals, options: values };
}

/** `imgscope help bogus` names what it does not know, as `docker help bogus` does, rather than printing the global help. */
function refuseHelpTopic(topic: string): never {
  const topics = [...COMMANDS].filter((command) => command !== 'help').join(', ');
  throw new ImgscopeError('BAD_INPUT', `unknown help topic "${topic}"`, {
    hint: `imgscope help COMMAND takes one of ${topics}; imgscope --help shows them all`,
  });
}

/**
 * `imgscope chek IMAGE`: a word close to a command, with more arguments after it, is a typo — the
 * explorer takes one IMAGE, so it cannot be meant as one. A lone word stays an image name.
 */
function refuseMistypedCommand(word: string): void {
  if (!/^[a-z]+$/i.test(word)) return;
  const [closest] = [...COMMANDS]
    .map((command) => ({ command, distance: editDistance(word.toLowerCase(), command) }))
    .filter(({ distance }) => distance <= 2)
    .sort((a, b) => a.distance - b.distance);
  if (closest) {
    throw new ImgscopeError('BAD_INPUT', `unknown command "${word}"`, {
      hint: `did you mean "${closest.command}"?`,
    });
  }
}

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + substitution);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The single IMAGE argument of check/inspect/tui, or a clear error. */
export function imageArgument(args: ParsedArgs): string {
  const [given, ...extra] = args.positionals;
  const image = given === undefined ? undefined : withoutStraySpaces(given);
  // Blank as well as missing: an unset variable inside quotes (" $IMAGE") is no reference to look up.
  if (!image) {
    throw new ImgscopeError(
      'BAD_INPUT',
      `${args.command === 'tui' ? 'imgscope' : `imgscope ${args.command}`} needs an IMAGE`,
      {
        hint: 'give a registry reference (alpine:3.20), oci:DIR, oci-archive:FILE or docker-archive:FILE',
      },
    );
  }
  if (extra.length > 0 && args.options['password-stdin']) {
    // Not quoted: typed after --password-stdin, it may be the password.
    throw new ImgscopeError(
      'BAD_INPUT',
      'unexpected argument after the image (not shown: it may be a password)',
      {
        hint: '--password-stdin takes no value: pipe the password in (echo "$TOKEN" | imgscope … --password-stdin IMAGE); give one image per run',
      },
    );
  }
  if (extra.length > 0) {
    // `imgscope pull alpine`, as docker is used: the first word was taken for the explorer's image.
    const commands =
      args.command === 'tui' && /^[a-z]+$/.test(image)
        ? `; "${image}" was read as the image: imgscope's commands are check, inspect and cache`
        : '';
    throw new ImgscopeError('BAD_INPUT', `unexpected argument "${extra[0]}" after the image`, {
      hint: `put options before or after the image; give one image per run${commands}`,
    });
  }
  return image;
}

/**
 * IMAGE without the spaces a paste left around it, as the registry reference parser drops them: a path
 * must not go to a registry as `docker.io/…` for them. A file or folder named with those spaces is kept.
 */
function withoutStraySpaces(image: string): string {
  const trimmed = image.trim();
  // The path without its oci:/oci-archive:/docker-archive: prefix or its :@N (or :REF) is what is named so.
  return trimmed === image || existsSync(parseLocalReference(image).path) ? image : trimmed;
}

export function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  // Decimal digits only: Number() would also take 1e2, 0x10 and 4.0, which --max-layers refuses.
  const n = /^\s*[0-9]+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isFinite(n) && !Number.isSafeInteger(n)) {
    throw new ImgscopeError('BAD_INPUT', `${flag} "${value}" is too large`, {
      hint: `for example ${flag} 4`,
    });
  }
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ImgscopeError('BAD_INPUT', `${flag} "${value}" is not a positive whole number`, {
      hint: `for example ${flag} 4`,
    });
  }
  return n;
}

/**
 * `IMGSCOPE_DECOMPRESSION_LIMIT`: the decompression guard — how many uncompressed bytes the analysis of
 * one image may read before it stops with a LIMIT error (a gzip bomb); undefined keeps the default.
 */
export function decompressionLimit(env: NodeJS.ProcessEnv): number | undefined {
  const value = env.IMGSCOPE_DECOMPRESSION_LIMIT?.trim();
  if (!value) return undefined;
  const bytes = parseSize(value);
  if (bytes === 0) {
    // 0 turns many tools' limits off; here it would stop every image at its first byte.
    throw new ImgscopeError(
      'BAD_INPUT',
      `IMGSCOPE_DECOMPRESSION_LIMIT="${value.slice(0, 40)}" is 0 bytes — 0 does not turn the guard off`,
      { hint: `set it to ${SIZE_SYNTAX}, or unset it for the default (64GiB)` },
    );
  }
  if (bytes === undefined || bytes < 1) {
    throw new ImgscopeError(
      'BAD_INPUT',
      `IMGSCOPE_DECOMPRESSION_LIMIT="${value.slice(0, 40)}" ${whyNotASize(value)}`,
      {
        hint: `set it to ${SIZE_SYNTAX}, or unset it`,
      },
    );
  }
  return bytes;
}

/** The policy flags as the policy module names them (dive's camelCase spellings accepted too). */
export function policyFlagsOf(options: ParsedOptions): PolicyFlags {
  const flags: PolicyFlags = {
    profile: options.profile,
    failOn: options['fail-on'],
    platform: options.platform,
    memory: options.memory,
    maxCompressed: options['max-compressed'],
    maxUncompressed: options['max-uncompressed'],
    maxLayers: options['max-layers'],
    lowestEfficiency: options['lowest-efficiency'] ?? options.lowestEfficiency,
    highestWastedBytes: options['highest-wasted-bytes'] ?? options.highestWastedBytes,
    highestUserWastedPercent: options['highest-user-wasted-percent'] ?? options.highestUserWastedPercent,
    config: options.config,
    ciConfig: options['ci-config'],
  };
  const spelled: NonNullable<PolicyFlags['spelled']> = {};
  for (const [ours, dives] of DIVE_SPELLINGS) {
    if (options[ours] === undefined && options[dives] !== undefined) spelled[dives] = `--${dives}`;
  }
  if (Object.keys(spelled).length > 0) flags.spelled = spelled;
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as PolicyFlags;
}
