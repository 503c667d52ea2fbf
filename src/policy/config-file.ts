import { access, constants, lstat, open, readlink, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ImgscopeError } from '../errors.js';
import { jsonErrorPosition } from '../json-error-offset.js';
import type { Platform } from '../oci/platform.js';
import type { FailOn, RuleSetting, Setting } from './policy.js';
import type { ProfileName } from './profiles.js';
import {
  DIVE_RULE_KEYS,
  readCount,
  readFailOn,
  readMemory,
  readPlatform,
  readProfile,
  readRule,
  readSize,
} from './values.js';

export const CONFIG_FILE_NAME = 'imgscope.config.json';

/** One layer of settings (a config file, an override, the flags), each value with its origin. */
export interface PolicySettings {
  profile?: Setting<ProfileName>;
  failOn?: Setting<FailOn>;
  platform?: Setting<Platform>;
  memoryMiB?: Setting<number>;
  maxCompressed?: Setting<number>;
  maxUncompressed?: Setting<number>;
  maxLayers?: Setting<number>;
  lowestEfficiency?: RuleSetting;
  highestWastedBytes?: RuleSetting;
  highestUserWastedPercent?: RuleSetting;
}

/** Settings for the images whose reference matches one of `patterns`. */
export interface ImageOverride {
  patterns: string[];
  settings: PolicySettings;
}

export interface ConfigFile {
  path: string;
  settings: PolicySettings;
  overrides: ImageOverride[];
}

/**
 * imgscope.config.json:
 * ```json
 * {
 *   "profile": "scf", "failOn": "fail", "platform": "linux/amd64", "memory": 512,
 *   "budgets": { "maxCompressed": "300MB", "maxUncompressed": "1GiB", "maxLayers": 20 },
 *   "rules": { "lowestEfficiency": 0.9, "highestWastedBytes": "20MB", "highestUserWastedPercent": "disabled" },
 *   "overrides": [{ "match": "registry.example.com/team/*", "memory": 1024, "budgets": { "maxLayers": 30 } }]
 * }
 * ```
 * Unknown keys are errors, so a typo never silently turns a budget off.
 */
const TOP_KEYS = ['$schema', 'profile', 'failOn', 'platform', 'memory', 'budgets', 'rules', 'overrides'];
const OVERRIDE_KEYS = ['match', 'profile', 'failOn', 'platform', 'memory', 'budgets', 'rules'];
const BUDGET_KEYS = ['maxCompressed', 'maxUncompressed', 'maxLayers'];

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function badFile(file: string, message: string, hint: string): ImgscopeError {
  return new ImgscopeError('BAD_INPUT', `${file}: ${message}`, { hint });
}

/** The file and `:LINE:COLUMN` of the key at a path (`budgets.maxLayers`), for an error about it. */
type Place = (path: string) => string;

function checkKeys(object: Json, allowed: readonly string[], place: Place, prefix: string): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      const shownKey = prefix ? `${prefix}.${key}` : key;
      throw badFile(
        place(shownKey),
        `unknown key "${shownKey}"`,
        `allowed here: ${allowed.filter((k) => k !== '$schema').join(', ')}`,
      );
    }
  }
}

function objectAt(value: unknown, place: Place, key: string): Json {
  if (!isObject(value)) throw badFile(place(key), `"${key}" must be an object`, `write "${key}": { … }`);
  return value;
}

/** Reads the settings keys of the file's top level or of one override; `prefix` names where (`overrides[0]`). */
function readSettings(object: Json, file: string, place: Place, prefix: string): PolicySettings {
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  const where = (key: string) => `${place(at(key))}: "${at(key)}"`;
  const origin = prefix ? `${basename(file)} ${prefix}` : basename(file);
  const settings: PolicySettings = {};
  const set = <T>(value: T): Setting<T> => ({ value, origin });

  if (object.profile !== undefined) settings.profile = set(readProfile(object.profile, where('profile')));
  if (object.failOn !== undefined) settings.failOn = set(readFailOn(object.failOn, where('failOn')));
  if (object.platform !== undefined)
    settings.platform = set(readPlatform(object.platform, where('platform')));
  if (object.memory !== undefined) settings.memoryMiB = set(readMemory(object.memory, where('memory')));
  if (object.budgets !== undefined) {
    const budgets = objectAt(object.budgets, place, at('budgets'));
    checkKeys(budgets, BUDGET_KEYS, place, at('budgets'));
    if (budgets.maxCompressed !== undefined) {
      settings.maxCompressed = set(readSize(budgets.maxCompressed, where('budgets.maxCompressed')));
    }
    if (budgets.maxUncompressed !== undefined) {
      settings.maxUncompressed = set(readSize(budgets.maxUncompressed, where('budgets.maxUncompressed')));
    }
    if (budgets.maxLayers !== undefined)
      settings.maxLayers = set(readCount(budgets.maxLayers, where('budgets.maxLayers')));
  }
  if (object.rules !== undefined) {
    const rules = objectAt(object.rules, place, at('rules'));
    checkKeys(rules, DIVE_RULE_KEYS, place, at('rules'));
    for (const key of DIVE_RULE_KEYS) {
      if (rules[key] !== undefined) settings[key] = set(readRule(key, rules[key], where(`rules.${key}`)));
    }
  }
  return settings;
}

function readOverrides(value: unknown, file: string, place: Place): ImageOverride[] {
  if (!Array.isArray(value)) {
    throw badFile(
      place('overrides'),
      '"overrides" must be an array',
      'write "overrides": [{ "match": "registry/team/*", … }]',
    );
  }
  return value.map((item, i) => {
    const prefix = `overrides[${i}]`;
    const object = objectAt(item, place, prefix);
    checkKeys(object, OVERRIDE_KEYS, place, prefix);
    const match = object.match;
    const patterns = typeof match === 'string' ? [match] : match;
    if (
      !Array.isArray(patterns) ||
      patterns.length === 0 ||
      !patterns.every((p) => typeof p === 'string' && p !== '')
    ) {
      throw badFile(
        place(`${prefix}.match`),
        `"${prefix}.match" must be a reference pattern or a list of them`,
        'write for example "match": "registry.example.com/team/*"',
      );
    }
    return { patterns: patterns as string[], settings: readSettings(object, file, place, prefix) };
  });
}

/**
 * The first key an object of valid JSON `text` holds twice, as a path (`budgets`, `overrides[1].memory`);
 * undefined when none. JSON.parse keeps the last of them, which would drop the first's budgets unseen.
 */
export function repeatedKey(text: string): string | undefined {
  for (const key of keysOf(text)) if (key.repeated) return key.path;
  return undefined;
}

/** Every key of valid JSON `text`, in order: its path (`overrides[1].memory`) and the offset of its quote. */
function* keysOf(text: string): Generator<{ path: string; offset: number; repeated: boolean }> {
  type Frame = { keys?: Set<string>; key?: string; index: number; wantsKey: boolean };
  const stack: Frame[] = [];
  const pathTo = (last: string) =>
    stack
      .slice(0, -1)
      .map((frame) => (frame.keys ? `.${frame.key}` : `[${frame.index}]`))
      .join('')
      .concat(`.${last}`)
      .slice(1);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    if (c === '{') stack.push({ keys: new Set(), index: 0, wantsKey: true });
    else if (c === '[') stack.push({ index: 0, wantsKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && top) {
      top.index++;
      top.wantsKey = top.keys !== undefined;
    } else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (top?.keys && top.wantsKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        yield { path: pathTo(key), offset: i, repeated: top.keys.has(key) };
        top.keys.add(key);
        top.key = key;
        top.wantsKey = false;
      }
      i = end;
    }
  }
}

/**
 * `:LINE:COLUMN` of the key at `path` in valid JSON `text` (of the nearest key above it, for a list item
 * such as `overrides[0]`); empty when there is none. A value error then points the editor at its line.
 */
function keyLocation(text: string, path: string): string {
  const offsets = new Map<string, number>();
  for (const key of keysOf(text)) if (!offsets.has(key.path)) offsets.set(key.path, key.offset);
  for (let at: string | undefined = path; at; at = /^(.*)(?:\.[^.[\]]*|\[\d+\])$/.exec(at)?.[1]) {
    const offset = offsets.get(at);
    if (offset !== undefined) return locationOf(text, offset);
  }
  return '';
}

/** `:LINE:COLUMN` of `offset` in `text`, both from 1. */
function locationOf(text: string, offset: number): string {
  const before = text.slice(0, offset);
  return `:${before.split('\n').length}:${before.length - before.lastIndexOf('\n')}`;
}

/**
 * `:LINE:COLUMN` of the character a JSON.parse error names "at position N", else of where a scan stops
 * (empty when neither finds one): a position alone leaves the reader counting characters through the file.
 */
function lineAndColumn(json: string, message: string): string {
  const position = jsonErrorPosition(json, message);
  return position === undefined ? '' : locationOf(json, position);
}

/** Parses and validates the text of an imgscope.config.json read from `file`. */
export function parseConfigFile(text: string, file: string): ConfigFile {
  let doc: unknown;
  // Editors on Windows may save a byte order mark, which JSON.parse refuses as an invisible token.
  const json = text.replace(/^\uFEFF/, '');
  try {
    doc = JSON.parse(json);
  } catch (error) {
    const message = (error as Error).message;
    throw badFile(
      `${file}${lineAndColumn(json, message)}`,
      `not valid JSON (${message})`,
      'fix the JSON syntax',
    );
  }
  if (!isObject(doc)) throw badFile(file, 'must hold a JSON object', 'write { "profile": "scf", … }');
  const repeated = repeatedKey(text);
  if (repeated !== undefined) {
    throw badFile(file, `"${repeated}" is given twice`, 'merge the two into one: JSON keeps only the last');
  }
  const place: Place = (path) => `${file}${keyLocation(json, path)}`;
  checkKeys(doc, TOP_KEYS, place, '');
  return {
    path: file,
    settings: readSettings(doc, file, place, ''),
    overrides: doc.overrides === undefined ? [] : readOverrides(doc.overrides, file, place),
  };
}

/** Config files are a few hundred bytes; past this it is not one (`--config /dev/zero`). */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * The file's text, at most MAX_CONFIG_BYTES. A file found by convention must be a regular file: a FIFO
 * left under that name would wait for a writer forever. A file the user named may be a pipe
 * (`--config <(make-config)`), read as it comes.
 */
async function readBounded(file: string, named: boolean): Promise<string> {
  const handle = await open(file, named ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file}`), { code: 'EISDIR' });
    if (!named && !stats.isFile()) {
      throw new ImgscopeError('BAD_INPUT', `${file}: is not a regular file`, {
        hint: 'remove it or replace it with the JSON or YAML file it should be',
      });
    }
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_CONFIG_BYTES) {
        throw new ImgscopeError(
          'BAD_INPUT',
          `${file}: more than ${MAX_CONFIG_BYTES} bytes, not a config file`,
          {
            hint: 'name the JSON or YAML config file itself',
          },
        );
      }
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

async function readText(file: string, flag: string | undefined): Promise<string | undefined> {
  try {
    return await readBounded(file, flag !== undefined);
  } catch (error) {
    if (error instanceof ImgscopeError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !flag) {
      // A symlink to a file that is gone (a checkout without the shared config) is a config meant to
      // apply: ignoring it would gate with no budgets at all.
      const target = await readlink(file).catch(() => undefined);
      if (target === undefined) return undefined;
      throw new ImgscopeError('BAD_INPUT', `${file}: is a symbolic link to ${target}, which does not exist`, {
        hint: 'restore the file it points to, or remove the link',
      });
    }
    if (code === 'EACCES' && !flag && !(await searchable(dirname(file)))) {
      // Whether the file is there cannot be told: "check the file permissions" would name one that may
      // not exist.
      throw new ImgscopeError(
        'BAD_INPUT',
        `cannot look for ${basename(file)} in ${dirname(file)}: the folder cannot be searched (EACCES)`,
        { hint: 'run imgscope from a folder you may read, or name the files with --config and --ci-config' },
      );
    }
    const what =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : `cannot be read (${code ?? (error as Error).message})`;
    const found = code === 'EISDIR' ? 'remove or rename that directory' : 'check the file permissions';
    throw new ImgscopeError(
      code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_INPUT',
      `${flag ? `${flag} ` : ''}${file}: ${what}`,
      { hint: flag ? `check the path given to ${flag}` : found },
    );
  }
}

async function searchable(dir: string): Promise<boolean> {
  return access(dir, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Reads a file the user named (`--config`, `--ci-config`): missing is an error. */
export async function readNamedFile(file: string, flag: string): Promise<string> {
  return (await readText(file, flag))!;
}

/**
 * Reads a file found by convention: undefined when it is absent. `flag` names the option that would name
 * it instead, for the error about a file that may have been planted.
 */
export async function readOptionalFile(file: string, flag: string): Promise<string | undefined> {
  const text = await readText(file, undefined);
  if (text !== undefined) await refusePlanted(file, flag);
  return text;
}

/**
 * A file found by convention in a folder anyone may write to (/tmp, a shared runner's work folder) and
 * owned by another user (not root) may have been put there to loosen the policy of whoever runs imgscope
 * below it — as git refuses a repository another user owns. It is refused, not skipped: skipping would
 * change the policy without a word.
 */
async function refusePlanted(file: string, flag: string): Promise<void> {
  const me = process.getuid?.();
  if (me === undefined) return;
  const [folder, entry] = await Promise.all([stat(dirname(file)), lstat(file)]);
  const anyoneMayWrite = (folder.mode & 0o002) !== 0;
  if (!anyoneMayWrite || entry.uid === me || entry.uid === 0) return;
  throw new ImgscopeError(
    'BAD_INPUT',
    `${file}: found in a folder anyone may write to, and owned by another user (uid ${entry.uid})`,
    {
      hint: `if you trust it, name it with ${flag} ${file}; else remove it, or run imgscope from another folder`,
    },
  );
}

/** The nearest imgscope.config.json in `cwd` or a directory above it. */
export async function findConfigFile(cwd: string): Promise<ConfigFile | undefined> {
  let dir = resolve(cwd);
  for (;;) {
    const file = join(dir, CONFIG_FILE_NAME);
    const text = await readOptionalFile(file, '--config');
    if (text !== undefined) return parseConfigFile(text, file);
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export async function loadConfigFile(file: string, flag = '--config'): Promise<ConfigFile> {
  return parseConfigFile(await readNamedFile(file, flag), file);
}
