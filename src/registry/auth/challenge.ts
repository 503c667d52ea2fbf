/**
 * `WWW-Authenticate` parsing (RFC 7235): one header may carry several challenges, each a scheme followed
 * by either a token68 or comma-separated `name=value` parameters whose values may be quoted strings
 * containing commas, `=` and backslash escapes — `scope="repository:a:pull,push"` must survive intact.
 */
export interface Challenge {
  /** Lowercased: `bearer`, `basic`, … */
  scheme: string;
  /** Parameter names lowercased; values unquoted and unescaped. */
  params: Record<string, string>;
  token68?: string;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const headers = Array.isArray(header) ? header : [header];
  return headers.flatMap((value) => new ChallengeParser(value).parseAll());
}

class ChallengeParser {
  private at = 0;
  constructor(private readonly text: string) {}

  parseAll(): Challenge[] {
    const challenges: Challenge[] = [];
    let current: Challenge | undefined;
    while (this.skipSeparators()) {
      const word = this.token();
      if (word === '') {
        this.at++; // not a token character: skip it rather than loop forever on garbage
        continue;
      }
      this.skipSpaces();
      if (current && this.peek() === '=') {
        // `name=value`: another parameter of the current challenge.
        this.at++;
        this.skipSpaces();
        current.params[word.toLowerCase()] = this.peek() === '"' ? this.quoted() : this.token();
        continue;
      }
      current = { scheme: word.toLowerCase(), params: {} };
      challenges.push(current);
      const token68 = this.token68();
      if (token68 !== undefined) current.token68 = token68;
    }
    return challenges;
  }

  /** After a scheme: a token68 (`Negotiate abc==`) is a run of token68 characters that ends the challenge. */
  private token68(): string | undefined {
    const start = this.at;
    while (this.at < this.text.length && TOKEN68_CHAR.test(this.text[this.at]!)) this.at++;
    while (this.peek() === '=') this.at++;
    const candidate = this.text.slice(start, this.at);
    const rest = this.text.slice(this.at).trimStart();
    if (candidate !== '' && (rest === '' || rest.startsWith(','))) return candidate;
    this.at = start;
    return undefined;
  }

  private token(): string {
    const start = this.at;
    while (this.at < this.text.length && TOKEN_CHAR.test(this.text[this.at]!)) this.at++;
    return this.text.slice(start, this.at);
  }

  private quoted(): string {
    this.at++; // opening quote
    let value = '';
    while (this.at < this.text.length) {
      const c = this.text[this.at++]!;
      if (c === '\\' && this.at < this.text.length) value += this.text[this.at++];
      else if (c === '"') break;
      else value += c;
    }
    return value;
  }

  private peek(): string | undefined {
    return this.text[this.at];
  }

  private skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.at++;
  }

  /** Skips whitespace and commas; false at the end of input. */
  private skipSeparators(): boolean {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.at++;
    return this.at < this.text.length;
  }
}

/** The first challenge with the given scheme, if the registry offered it. */
export function findChallenge(challenges: Challenge[], scheme: 'bearer' | 'basic'): Challenge | undefined {
  return challenges.find((challenge) => challenge.scheme === scheme);
}
