// FreeSWITCH dialplan regexes (PCRE2, as switch_regex_perform runs them)
// evaluated with JavaScript RegExp, and the `$1` substitution of
// switch_perform_substitution.
//
// PCRE and JavaScript agree on the constructs dialplans use, with a few
// differences this module translates: PCRE's `$` (no multiline flag) also
// matches before a final newline, `\z` / `\Z` / `\A` exist, `\s` is ASCII
// only, a `]` right after `[` is literal, `(?P<name>` is a named group.
// Constructs with no faithful JavaScript equivalent (possessive quantifiers,
// atomic groups, inline flag changes, `\Q…\E`, `\K`, `\G`, Unicode
// properties, Asterisk-style `_X.` patterns) are rejected with an error
// instead of being approximated.

export class UnsupportedRegexError extends Error {
  override readonly name = 'UnsupportedRegexError';
}

const END_OF_SUBJECT = '(?![\\s\\S])';
const PCRE_DOLLAR = '(?=\\n?(?![\\s\\S]))';
const ASCII_SPACE = '\\t\\n\\x0B\\f\\r ';
const POSIX: Readonly<Record<string, string>> = {
  alpha: 'A-Za-z',
  digit: '0-9',
  alnum: 'A-Za-z0-9',
  space: ASCII_SPACE,
  upper: 'A-Z',
  lower: 'a-z',
  xdigit: '0-9A-Fa-f',
};

const cache = new Map<string, RegExp>();

/** Compile a dialplan expression (`re` or `/re/flags`, flags i and s) the way FreeSWITCH does. */
export function compilePcre(expression: string): RegExp {
  const hit = cache.get(expression);
  if (hit) return hit;
  let body = expression;
  let flags = '';
  if (expression.startsWith('_')) {
    throw new UnsupportedRegexError(`Asterisk-style pattern ${expression} is not supported`);
  }
  if (expression.startsWith('/')) {
    const last = expression.lastIndexOf('/');
    if (last <= 0) throw new UnsupportedRegexError(`expression ${expression} lacks its closing '/'`);
    body = expression.slice(1, last);
    const opts = expression.slice(last + 1);
    if (opts.includes('i')) flags += 'i';
    if (opts.includes('s')) flags += 's';
  }
  const compiled = new RegExp(translate(body, expression), flags);
  cache.set(expression, compiled);
  return compiled;
}

function translate(body: string, whole: string): string {
  const unsupported = (what: string): never => {
    throw new UnsupportedRegexError(`${what} in ${whole} has no JavaScript equivalent here`);
  };
  let out = '';
  let i = 0;
  while (i < body.length) {
    const ch = body[i] ?? '';
    if (ch === '\\') {
      const next = body[i + 1] ?? '';
      if (next === '') unsupported('trailing backslash');
      if ('QEKGpPhHvRNX'.includes(next)) unsupported(`\\${next}`);
      if (next === 'z') out += END_OF_SUBJECT;
      else if (next === 'Z') out += PCRE_DOLLAR;
      else if (next === 'A') out += '(?<![\\s\\S])';
      else if (next === 's') out += `[${ASCII_SPACE}]`;
      else if (next === 'S') out += `[^${ASCII_SPACE}]`;
      else out += `\\${next}`;
      i += 2;
    } else if (ch === '$') {
      out += PCRE_DOLLAR;
      i += 1;
    } else if (ch === '[') {
      const [cls, end] = translateClass(body, i, unsupported);
      out += cls;
      i = end;
    } else if (ch === '(') {
      if (body.startsWith('(?P<', i)) {
        out += '(?<';
        i += 4;
      } else if (body[i + 1] === '?') {
        const kind = body[i + 2] ?? '';
        const lookbehind = kind === '<' && (body[i + 3] === '=' || body[i + 3] === '!');
        const named = kind === '<' && !lookbehind;
        if (kind !== ':' && kind !== '=' && kind !== '!' && !lookbehind && !named) {
          unsupported(`group (?${kind}`);
        }
        out += '(?';
        i += 2;
      } else {
        out += '(';
        i += 1;
      }
    } else if (ch === '+' && /[*+?}]$/.test(out) && !out.endsWith('\\+') && !out.endsWith('\\}')) {
      unsupported('possessive quantifier');
    } else {
      out += ch;
      i += 1;
    }
  }
  return out;
}

function translateClass(body: string, start: number, unsupported: (what: string) => never): [string, number] {
  let i = start + 1;
  let out = '[';
  if (body[i] === '^') {
    out += '^';
    i += 1;
  }
  if (body[i] === ']') {
    out += '\\]';
    i += 1;
  }
  while (i < body.length && body[i] !== ']') {
    const ch = body[i] ?? '';
    if (ch === '\\') {
      const next = body[i + 1] ?? '';
      if (next === 's') out += ASCII_SPACE;
      else if ('SWDzZAQEKGpPhHvRNX'.includes(next) || next === '') unsupported(`\\${next} inside a character class`);
      else out += `\\${next}`;
      i += 2;
    } else if (body.startsWith('[:', i)) {
      const close = body.indexOf(':]', i);
      const name = close < 0 ? '' : body.slice(i + 2, close);
      const range = POSIX[name];
      if (range === undefined) unsupported(`POSIX class [:${name}:]`);
      out += range ?? '';
      i = close + 2;
    } else {
      out += ch === '[' ? '\\[' : ch;
      i += 1;
    }
  }
  if (body[i] !== ']') unsupported('unterminated character class');
  return [`${out}]`, i + 1];
}

/**
 * switch_perform_substitution: `$N` and `${N}` (N up to 9 digits) become
 * capture N of the match (empty when N > 256, the group did not take part,
 * or there was no match); any other `$` is kept.
 */
export function substituteCaptures(data: string, match: RegExpExecArray | null): string {
  let out = '';
  let x = 0;
  while (x < data.length) {
    if (data[x] !== '$') {
      out += data[x];
      x += 1;
      continue;
    }
    x += 1;
    const brace = data[x] === '{';
    if (brace) x += 1;
    const digits = /^[0-9]{1,9}/.exec(data.slice(x))?.[0];
    if (digits === undefined) {
      if (brace) x -= 1;
      out += '$';
      continue;
    }
    x += digits.length;
    if (brace) {
      if (data[x] !== '}') {
        // FreeSWITCH emits the first digit and resumes after it.
        x -= digits.length - 1;
        out += data[x - 1];
        continue;
      }
      x += 1;
    }
    const n = Number(digits);
    if (n <= 256 && match) out += match[n] ?? '';
  }
  return out;
}
