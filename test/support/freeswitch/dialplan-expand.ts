// Channel-variable expansion as FreeSWITCH does it (switch_channel_expand_variables):
//
// - `${name}` is the channel variable (then the caller-profile field, then
//   the global variable of that name), or empty. The VALUE IS NOT EXPANDED
//   AGAIN: a channel variable holding `${system(x)}` is inserted as that
//   literal text. Only values of global variables are expanded recursively.
// - `${name:offset}` / `${name:offset:length}` take a substring.
// - `${${other}}`: the name is itself expanded first.
// - `${func(args)}` and `${func args}` run the API `func` with the expanded
//   args; its output replaces the reference (empty when the API fails or
//   does not exist). Every call attempt is reported to `onApi`.
// - `$${name}` at run time is the global variable.
// - `\$` is a literal `$`, `\\` a single backslash, `\'` is dropped.

export interface ExpandContext {
  /** Channel variable or caller-profile field. */
  variable(name: string): string | undefined;
  /** Global variable (the pre-processor variables). */
  global(name: string): string | undefined;
  /** Run an API; undefined means the API failed or does not exist. */
  api?(name: string, args: string): string | undefined;
  /** Observe every API call attempt (also failed ones). */
  onApi?(name: string, args: string): void;
}

const MAX_RECURSION = 100;

export function expandVariables(input: string, ctx: ExpandContext, depth = 0): string {
  if (depth > MAX_RECURSION || !input.includes('$') && !input.includes('\\')) return input;
  let out = '';
  let p = 0;
  while (p < input.length) {
    const ch = input[p];
    if (ch === '\\') {
      const next = input[p + 1];
      if (next === '$') {
        p += input[p + 2] === '$' ? 3 : 2;
        out += '$';
        continue;
      }
      if (next === "'") {
        p += 2;
        continue;
      }
      if (next === '\\') {
        out += '\\';
        p += 2;
        continue;
      }
    }
    if (ch !== '$') {
      out += ch;
      p += 1;
      continue;
    }
    let q = p;
    const global = input[q + 1] === '$';
    if (global) q += 1;
    if (input[q + 1] !== '{') {
      out += '$';
      p = q + 1;
      continue;
    }
    const [inner, after] = braced(input, q + 2);
    out += resolve(inner, global, ctx, depth);
    p = after;
  }
  return out;
}

/** Text up to the matching `}` (nested braces counted) and the index after it. */
function braced(input: string, start: number): [string, number] {
  let level = 1;
  for (let e = start; e < input.length; e += 1) {
    const c = input[e];
    if (c === '}' && level === 1) return [input.slice(start, e), e + 1];
    if (c === '{' && e !== start) level += 1;
    else if (c === '}' && level > 1) level -= 1;
  }
  return [input.slice(start), input.length];
}

function resolve(inner: string, global: boolean, ctx: ExpandContext, depth: number): string {
  const cut = inner.search(/[ (]/);
  if (cut >= 0) return callApi(inner, cut, ctx, depth);
  const name = expandVariables(inner, ctx, depth + 1);
  const colon = name.indexOf(':');
  const varName = colon < 0 ? name : name.slice(0, colon);
  let value = global ? undefined : ctx.variable(varName);
  if (value === undefined) {
    const g = ctx.global(varName);
    value = g === undefined ? undefined : expandVariables(g, ctx, depth + 1);
  }
  if (value === undefined) return '';
  if (colon < 0) return value;
  const [offText = '', lenText] = name.slice(colon + 1).split(':');
  return substring(value, parseInt(offText, 10) || 0, lenText === undefined ? 0 : parseInt(lenText, 10) || 0);
}

function substring(value: string, offset: number, length: number): string {
  let v = value;
  if (offset >= 0) v = offset > v.length ? '' : v.slice(offset);
  else if (-offset <= v.length) v = v.slice(v.length + offset);
  if (length > 0 && length < v.length) v = v.slice(0, length);
  return v;
}

function callApi(inner: string, cut: number, ctx: ExpandContext, depth: number): string {
  const paren = inner[cut] === '(';
  const rawName = inner.slice(0, cut).replace(/ +$/, '');
  let rawArgs = inner.slice(cut + 1);
  if (paren) {
    let level = 1;
    for (let e = 0; e < rawArgs.length; e += 1) {
      if (rawArgs[e] === '(') level += 1;
      else if (rawArgs[e] === ')' && level > 1) level -= 1;
      else if (rawArgs[e] === ')' && level === 1) {
        rawArgs = rawArgs.slice(0, e);
        break;
      }
    }
  }
  const name = expandVariables(rawName, ctx, depth + 1);
  const args = expandVariables(rawArgs, ctx, depth + 1);
  ctx.onApi?.(name, args);
  return ctx.api?.(name, args) ?? '';
}
