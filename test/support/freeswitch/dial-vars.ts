// `{a=b,c='d e'}` variable lists of originate and bridge dial strings, split
// and unquoted as FreeSWITCH 1.11.1 does: switch_event_create_brackets()
// splits on the separator with switch_separate_string(), whose
// cleanup_separated_string() (src/switch_utils.c) drops leading blanks,
// removes a pair of single quotes (a lone quote stays), keeps separators and
// blanks inside quotes, and unescapes \' \" \\ \n \r \t \s and an escaped
// separator. `name=value` is then split at the first `=`.

const UNESCAPE: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', s: ' ' };

/** Splits on `delim` outside single quotes (backslash escapes kept for cleanup). */
function splitOutsideQuotes(text: string, delim: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + (text[i + 1] ?? '');
      i++;
      continue;
    }
    if (ch === "'" && (quoted || text.indexOf("'", i + 1) >= 0)) quoted = !quoted;
    if (ch === delim && !quoted) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

/** cleanup_separated_string: unquote, unescape, trim blanks outside quotes. */
export function cleanupSeparated(text: string, delim: string): string {
  let out = '';
  let end = 0;
  let quoted = false;
  let i = 0;
  while (text[i] === ' ') i++;
  for (; i < text.length; i++) {
    const ch = text[i] ?? '';
    const next = text[i + 1];
    if (ch === '\\' && next !== undefined) {
      const un = next === "'" || next === '"' || next === delim || next === '\\' ? next : UNESCAPE[next];
      if (un !== undefined) {
        out += un;
        end = out.length;
        i++;
        continue;
      }
    }
    if (ch === "'" && (quoted || text.indexOf("'", i + 1) >= 0)) {
      quoted = !quoted;
      if (quoted) end = out.length;
      continue;
    }
    out += ch;
    if (ch !== ' ' || quoted) end = out.length;
  }
  return out.slice(0, end);
}

/** `a=b,c='d e'` (the text inside the braces) -> variables. */
export function parseVarList(text: string, delim = ','): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of splitOutsideQuotes(text, delim)) {
    const item = cleanupSeparated(part, delim);
    const eq = item.indexOf('=');
    if (eq > 0) out[item.slice(0, eq)] = cleanupSeparated(item.slice(eq + 1), '=');
  }
  return out;
}
