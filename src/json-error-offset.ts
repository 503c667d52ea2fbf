const NUMBER_OR_LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * Where JSON.parse stopped in `json`, for an error that names no position: V8 says only "Unexpected
 * token 'x', …" for a bare word, a single-quoted string or a comment, the commonest slips in a config.
 * Undefined when the text parses, or nests too deep to scan.
 */
export function jsonErrorOffset(json: string): number | undefined {
  let at = 0;
  const space = () => {
    while (at < json.length && ' \t\n\r'.includes(json[at]!)) at++;
  };
  const expect = (char: string) => {
    if (json[at] !== char) throw at;
    at++;
  };
  const string = () => {
    expect('"');
    for (;;) {
      const char = json[at];
      if (char === undefined || char < ' ') throw at;
      if (char === '"') return void at++;
      if (char !== '\\') at++;
      else {
        ESCAPE.lastIndex = at;
        if (!ESCAPE.test(json)) throw at;
        at = ESCAPE.lastIndex;
      }
    }
  };
  const members = (close: string, member: () => void) => {
    at++;
    space();
    if (json[at] === close) return void at++;
    for (;;) {
      member();
      space();
      if (json[at] === close) return void at++;
      expect(',');
    }
  };
  const value = (): void => {
    space();
    if (json[at] === '{') {
      members('}', () => {
        space();
        string();
        space();
        expect(':');
        value();
      });
    } else if (json[at] === '[') members(']', value);
    else if (json[at] === '"') string();
    else {
      NUMBER_OR_LITERAL.lastIndex = at;
      if (!NUMBER_OR_LITERAL.test(json)) throw at;
      at = NUMBER_OR_LITERAL.lastIndex;
    }
  };
  try {
    value();
    space();
    return at < json.length ? at : undefined;
  } catch (stopped) {
    return typeof stopped === 'number' ? stopped : undefined;
  }
}

/** Where a JSON.parse error of `json` is: the position its message names, else where a scan stops. */
export function jsonErrorPosition(json: string, message: string): number | undefined {
  const named = /at position (\d+)/.exec(message);
  return named ? Number(named[1]) : jsonErrorOffset(json);
}
