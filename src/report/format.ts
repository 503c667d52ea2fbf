import type { Report } from './report.js';

/** `1 layer`, `8 layers`: a count with its noun in the right number. */
export function counted(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * The number a person reads for a layer: layers count from 1 in every table, message and error, like the
 * `layer 3/14` of a failed download. JSON keeps dive's 0-based `index` and `layer` fields.
 */
export function layerNumber(index: number): number {
  return index + 1;
}

export function formatPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)} %`;
}

/**
 * A shell form's prefix as builders record it: `/bin/sh -c`, or the SHELL of the Dockerfile
 * (`/bin/bash -o pipefail -c`, `/bin/sh -eux -c`).
 */
const SHELL = String.raw`\/(?:usr\/)?bin\/(?:ba|da|z|k)?sh(?: -[a-zA-Z]+(?: [a-z]+)?)*? -c `;
const SHELL_PREFIX = new RegExp(`^${SHELL}`);
const SHELL_AFTER_ARGS = new RegExp(` (?=${SHELL})`);

/**
 * Drops the build arguments a RUN recorded before its command (`|2 A=1 B=2 /bin/sh -c …`, docker's and
 * BuildKit's form, values unquoted): up to the shell, or for an exec form N `name=value` words (the text as
 * it is when there are fewer).
 */
function withoutBuildArgs(text: string): string {
  const count = /^\|(\d+) /.exec(text);
  if (!count) return text;
  const shell = SHELL_AFTER_ARGS.exec(text);
  if (shell) return text.slice(shell.index + 1);
  let rest = text.slice(count[0].length);
  for (let left = Number(count[1]); left > 0; left--) {
    const arg = /^[^=\s]+=\S* /.exec(rest);
    if (!arg) return text;
    rest = rest.slice(arg[0].length);
  }
  return rest;
}

/**
 * Shortens a history command for one-line display, as the Dockerfile line that made it: drops the
 * `#(nop)` marker, the shell prefix and the build arguments of a RUN, and BuildKit's `# buildkit`.
 */
export function shortCommand(createdBy: string, width = 60): string {
  let text = createdBy.trim().replace(/\s*# buildkit$/, '');
  const nop = /^\/bin\/sh -c #\(nop\)\s*/.exec(text);
  if (nop) text = text.slice(nop[0].length);
  else {
    const run = /^RUN /.exec(text);
    const command = withoutBuildArgs(run ? text.slice(run[0].length) : text);
    const shell = SHELL_PREFIX.exec(command);
    if (shell) text = `RUN ${command.slice(shell[0].length)}`;
    else if (run || command !== text) text = `RUN ${command}`;
  }
  return truncate(text.replace(/\s+/g, ' ').trim(), width);
}

/** Built at the first cut: ICU sets a segmenter up in ~10 ms, which every run would pay at load. */
let graphemes: Intl.Segmenter | undefined;

/**
 * Cuts `text` to at most `width` UTF-16 units, ending in `…` when cut. The cut falls between characters as
 * a reader sees them: half a surrogate pair shows as U+FFFD (and a lone `\ud83d` in JSON), half a flag
 * as a letter, a letter without its combining accent as another letter.
 */
export function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  const room = Math.max(0, width - 1);
  // A boundary at `room` depends on the code point after it only: the segmenter needs no more text
  // than that, however long a command from the image is.
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let end = 0;
  for (const { index, segment } of graphemes.segment(text.slice(0, room + 2))) {
    if (index + segment.length > room) break;
    end = index + segment.length;
  }
  return `${text.slice(0, end)}…`;
}

/**
 * How a registry image's `name@sha256:…` is offered: as the line to deploy with, unless the verdict fails,
 * since the platform would reject that digest.
 */
export function pinnedLabel(report: Pick<Report, 'verdict'>): 'deploy' | 'pinned' {
  return report.verdict === 'fail' ? 'pinned' : 'deploy';
}

export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * `text` as a code span in a message: fenced with one backtick more than its longest run of backticks
 * (padded when it starts or ends with one), so a command like printf '`x`' stays one span — in the
 * Markdown comment, which reads spans as CommonMark does, and to a person reading the plain text.
 */
export function codeSpan(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * `text` as one word of a POSIX shell command: as it is when every character is one no shell treats
 * specially, else in single quotes (a quote inside as `'\''`), so a suggested command stays right to
 * paste whatever a path holds (spaces, `$`, globs, quotes).
 */
export function shellQuote(text: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(text)) return text;
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * Text from the image (a path, a platform, a port) placed in a message: as it is, unless it holds a
 * backtick. Then it becomes a code span itself, so that a reader of the message's code spans (the
 * Markdown comment) cannot pair its backtick with one of the message's own spans.
 */
export function imageText(text: string): string {
  return text.includes('`') ? codeSpan(text) : text;
}

/**
 * Text from the image (paths, commands, platform names) as it may be printed: control characters shown
 * as `\x1b`, so a crafted file name cannot move the cursor, retitle the terminal or colour a CI log; a
 * name's byte that is not UTF-8 (held as U+DC00 + byte, see paths.ts `decodeName`) as `\xff`; the
 * bidirectional embeddings, overrides and isolates, and the line and paragraph separators, as `\u202e`,
 * so a name cannot display reordered ("Trojan Source") or split across lines.
 */
export function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f]|(?<![\ud800-\udbff])[\udc80-\udcff]|[\u2028-\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => {
      const code = c.charCodeAt(0);
      if (code >= 0x2028 && code <= 0x2069) return `\\u${code.toString(16)}`;
      return `\\x${(code >= 0xdc00 ? code - 0xdc00 : code).toString(16).padStart(2, '0')}`;
    },
  );
}

/**
 * A message as one printed line: line breaks become spaces and other control characters visible escapes,
 * so what it quotes (a path, a config excerpt, a registry's text) neither splits it nor reaches the
 * terminal as an escape sequence.
 */
export function printableLine(text: string): string {
  return printable(text.replace(/[\r\n\t]+/g, ' '));
}
