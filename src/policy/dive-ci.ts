import { ImgscopeError } from '../errors.js';
import { truncate } from '../report/format.js';
import { DIVE_RULE_KEYS, type DiveRuleKey } from './values.js';

/** A rule's value as dive would read it, with the line it is on, for errors about the value. */
export interface DiveCiValue {
  text: string;
  line: number;
}

/** The rules of a `.dive-ci` as strings (see parseDiveCiLines). */
export function parseDiveCi(text: string, file: string): Partial<Record<DiveRuleKey, string>> {
  const rules = parseDiveCiLines(text, file);
  return Object.fromEntries(Object.entries(rules).map(([key, value]) => [key, value.text]));
}

/**
 * dive's `.dive-ci`: YAML whose `rules:` mapping holds `lowestEfficiency`, `highestWastedBytes` and
 * `highestUserWastedPercent`. This reads the subset such files use — block mappings, a one-line flow
 * mapping of rules (`rules: {lowestEfficiency: 0.9}`), plain or quoted scalars, comments, `---`, and
 * other top-level keys (dive's own example has `plugins:` with a list), which are skipped — and refuses
 * anything else with the line named. Keys match case-insensitively, as
 * viper (dive's config library) matches them; unknown rule keys are ignored, as dive ignores them.
 *
 * Values come back as the strings dive would read (viper's GetString); readRule validates them.
 */
export function parseDiveCiLines(text: string, file: string): Partial<Record<DiveRuleKey, DiveCiValue>> {
  const rules: Partial<Record<DiveRuleKey, DiveCiValue>> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let section: 'top' | 'rules' | 'other' = 'top';
  let rulesIndent: number | undefined;
  let skipDeeperThan: number | undefined;
  // YAML lets the whole document be indented (a heredoc in an indented script): its first key's column
  // is the top level.
  let topIndent: number | undefined;
  const topKeys = new Set<string>();

  const fail = (line: number, what: string) =>
    new ImgscopeError('BAD_INPUT', `${file}:${line}: ${what}`, {
      hint: 'write rules as in dive\'s README: "rules:" then indented "lowestEfficiency: 0.9" lines',
    });

  for (const [i, raw] of lines.entries()) {
    const lineNo = i + 1;
    const line = stripComment(raw).trimEnd();
    // dive reads the first YAML document only: a second one (after `---` or `...`) is not its config.
    if ((line === '---' || line === '...') && topIndent !== undefined) break;
    if (line.trim() === '' || line === '---' || line === '...') continue;
    const indentMatch = /^[ \t]*/.exec(line)![0];
    if (indentMatch.includes('\t')) throw fail(lineNo, 'tabs are not allowed in YAML indentation');
    const indent = indentMatch.length;
    const content = line.slice(indent);

    topIndent ??= indent;
    if (indent < topIndent) throw fail(lineNo, 'indentation does not match the lines above');
    if (skipDeeperThan !== undefined) {
      if (indent > skipDeeperThan) continue;
      skipDeeperThan = undefined;
    }
    if (indent === topIndent) {
      // A list item at the top level's column continues the key above it (`plugins:` then `- plugin1`).
      if (content.startsWith('- ') || content === '-') {
        if (section === 'rules') throw fail(lineNo, '"rules" must be a mapping, not a list');
        continue;
      }
      const entry = keyValue(content);
      if (!entry) throw fail(lineNo, `expected "key: value", found ${shown(content)}`);
      // YAML refuses a key given twice, and so does dive: merging two "rules:" blocks would gate by both.
      if (topKeys.has(entry.key)) throw fail(lineNo, `"${entry.key}" is given twice`);
      topKeys.add(entry.key);
      if (entry.key.toLowerCase() === 'rules') {
        section = 'rules';
        rulesIndent = undefined;
        if (entry.value === '') continue;
        const flow = /^\{(.*)\}$/.exec(entry.value);
        if (!flow) throw fail(lineNo, '"rules:" must be followed by an indented block of rules');
        for (const item of splitFlowItems(flow[1]!)) {
          const rule = keyValue(item);
          if (!rule) throw fail(lineNo, `expected "key: value" in the rules, found ${shown(item)}`);
          setRule(rule, lineNo);
        }
        section = 'other';
      } else {
        section = 'other';
      }
      continue;
    }
    if (section !== 'rules') continue;
    rulesIndent ??= indent;
    if (indent > rulesIndent) throw fail(lineNo, 'unexpected indentation');
    if (indent < rulesIndent) throw fail(lineNo, 'indentation does not match the rules above');
    const entry = keyValue(content);
    if (!entry) throw fail(lineNo, `expected "key: value", found ${shown(content)}`);
    // Unknown rules (dive's example has `plugin1/rule1: error`) are ignored, with anything nested under them.
    if (!setRule(entry, lineNo)) skipDeeperThan = indent;
  }
  return rules;

  /** Records a known rule (false for a key dive does not know). */
  function setRule(entry: { key: string; value: string }, lineNo: number): boolean {
    const key = DIVE_RULE_KEYS.find((k) => k.toLowerCase() === entry.key.toLowerCase());
    if (!key) return false;
    if (entry.value === '') throw fail(lineNo, `${key} has no value (use a threshold or "disabled")`);
    if (key in rules) throw fail(lineNo, `${key} is set twice`);
    const value = scalar(entry.value, () =>
      fail(lineNo, `${key}: unsupported YAML value ${shown(entry.value)}`),
    );
    rules[key] = { text: value, line: lineNo };
    return true;
  }
}

/**
 * A line of the file quoted in an error, cut short: `--ci-config` given a binary or minified file by
 * mistake would otherwise put all of it in the one-line error.
 */
function shown(text: string): string {
  return `"${truncate(text, 60)}"`;
}

/** The entries of a one-line flow mapping's inside, split at the commas outside quotes. */
function splitFlowItems(inside: string): string[] {
  const items: string[] = [];
  let start = 0;
  for (const i of unquoted(inside)) {
    if (inside[i] !== ',') continue;
    items.push(inside.slice(start, i));
    start = i + 1;
  }
  items.push(inside.slice(start));
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

/** Drops a `#` comment: at the line start or after whitespace, outside quotes. */
function stripComment(line: string): string {
  for (const i of unquoted(line)) {
    if (line[i] === '#' && (i === 0 || line[i - 1] === ' ' || line[i - 1] === '\t')) return line.slice(0, i);
  }
  return line;
}

/** The indexes of `text`'s characters outside single or double quotes (the quotes excluded). */
function* unquoted(text: string): Generator<number> {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else {
      yield i;
    }
  }
}

function keyValue(content: string): { key: string; value: string } | undefined {
  const match = /^("[^"]*"|'[^']*'|[^\s:][^:]*?)\s*:(?:\s+(.*))?$/.exec(content);
  if (!match) return undefined;
  const key = match[1]!.replace(/^(["'])(.*)\1$/, '$2');
  return { key, value: (match[2] ?? '').trim() };
}

/** A plain or quoted YAML scalar as a string; flow collections, anchors and block scalars are refused. */
function scalar(value: string, unsupported: () => ImgscopeError): string {
  const quoted = /^(["'])(.*)\1$/.exec(value);
  if (quoted) return quoted[1] === "'" ? quoted[2]!.replaceAll("''", "'") : quoted[2]!;
  if (/^[[{&*!|>%@`]/.test(value)) throw unsupported();
  if (value === '~' || value === 'null') return '';
  return value;
}
