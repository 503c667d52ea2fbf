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

/** Shortens a history command for one-line display: drops the shell prefix and `#(nop)` markers. */
export function shortCommand(createdBy: string, width = 60): string {
  const text = createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .replace(/^RUN \/bin\/(?:ba)?sh -c /, 'RUN ')
    .replace(/\s*# buildkit$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return truncate(text, width);
}

export function truncate(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text;
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
