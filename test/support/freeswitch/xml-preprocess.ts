// The FreeSWITCH XML pre-processor, for the part the shipped files use:
// `<X-PRE-PROCESS cmd="set" data="name=value"/>` defines a global variable
// (in document order, across files), `cmd="env-set" data="name=$ENVVAR"`
// defines it from the environment, and every `$${name}` is replaced by its
// value when the file is loaded.
//
// What FreeSWITCH does, and this follows (src/switch_xml.c and
// src/switch_core.c at tag v1.11.1; the same in v1.10.0 and v1.10.12):
// - `$${name}` of a variable that has no value expands to nothing
//   (expand_vars, switch_xml.c:1305-1351: the value is copied only
//   `if ((val = switch_core_get_variable_dup(var)))`). A line is expanded
//   as a whole before its X-PRE-PROCESS command runs (preprocess(),
//   switch_xml.c:1496 then 1523), so a `$${}` in `data` — even in the name
//   part — sees the variables set by the lines above.
// - `set`: the name is everything before the first '=' (trailing spaces
//   trimmed), the value everything after it (leading spaces trimmed);
//   without '=' nothing happens (switch_xml.c:1572-1590).
// - `env-set`: the name is everything before the first '=', then a '$'
//   must follow and the rest names the environment variable; when
//   getenv() returns NULL (not in the environment) nothing is set and the
//   variable keeps any earlier value (preprocess_env_set,
//   switch_xml.c:186-202: `if (data) switch_core_set_variable(key, data)`).
// - Setting a variable to "" deletes it, for `set` and for an env-set of a
//   variable that is present but empty: switch_core_set_variable
//   (switch_core.c:441-461) deletes the old value, then adds the new one
//   with switch_event_add_header_string, which deletes instead of adding
//   an empty value (switch_event.c:1090, `if (zstr(data))`).
//
// Stricter than FreeSWITCH on purpose: any other X-PRE-PROCESS command
// (include, exec, exec-set, stun-set...), a `set` / `env-set` without
// name=value, and an X-PRE-PROCESS inside a comment are errors. (Real
// FreeSWITCH runs pre-processor lines even when they sit inside an XML
// comment, a classic trap, so the shipped files must never rely on
// commenting one out.) A `$${name}` with no value is an error too unless
// the caller passes `unset`, where such references are collected instead
// and expand to '' as in FreeSWITCH: by default a typo in a variable name
// fails the test that loads the file.

export class PreprocessError extends Error {
  override readonly name = 'PreprocessError';
}

/** A `$${name}` that found no value (FreeSWITCH expands it to ''). */
export interface UnsetReference {
  readonly name: string;
  /** `file:line` */
  readonly where: string;
}

const DIRECTIVE = /^<X-PRE-PROCESS\s+cmd\s*=\s*"([^"]*)"\s+data\s*=\s*"([^"]*)"\s*\/>/;

/** The global variable table after `set name=value` (FreeSWITCH: '' deletes). */
function setGlobal(globals: Map<string, string>, name: string, value: string): void {
  if (value === '') globals.delete(name);
  else globals.set(name, value);
}

/**
 * Returns the text with directives removed and `$${}` substituted; `globals`
 * is updated in place. `unset`: collect `$${}` references without a value
 * (expanded to '') instead of failing.
 */
export function preprocessXml(
  text: string,
  globals: Map<string, string>,
  sourceName: string,
  env: Readonly<Record<string, string | undefined>> = {},
  unset?: UnsetReference[],
): string {
  let out = '';
  let pos = 0;
  const lineAt = (at: number): number => text.slice(0, at).split('\n').length;
  const fail = (message: string, at: number): never => {
    throw new PreprocessError(`${sourceName}:${lineAt(at)}: ${message}`);
  };
  const substitute = (segment: string, at: number): string =>
    segment.replace(/\$\$\{([^}]*)\}/g, (_whole, name: string) => {
      const value = globals.get(name);
      if (value !== undefined) return value;
      if (unset === undefined) fail(`pre-processor variable $\${${name}} has no value (FreeSWITCH would expand it to "")`, at);
      unset?.push({ name, where: `${sourceName}:${lineAt(at)}` });
      return '';
    });

  while (pos < text.length) {
    const comment = text.indexOf('<!--', pos);
    const directive = text.indexOf('<X-PRE-PROCESS', pos);
    const nextComment = comment < 0 ? Infinity : comment;
    const nextDirective = directive < 0 ? Infinity : directive;
    const stop = Math.min(nextComment, nextDirective, text.length);
    out += substitute(text.slice(pos, stop), pos);
    pos = stop;
    if (stop === text.length) break;
    if (stop === nextComment) {
      const end = text.indexOf('-->', pos + 4);
      const close = end < 0 ? text.length : end + 3;
      const body = text.slice(pos, close);
      if (body.includes('<X-PRE-PROCESS')) {
        fail('X-PRE-PROCESS inside a comment (FreeSWITCH would still run it)', pos);
      }
      out += body;
      pos = close;
      continue;
    }
    const m = DIRECTIVE.exec(text.slice(pos));
    if (!m) fail('malformed X-PRE-PROCESS (expected cmd="…" data="…"/>)', pos);
    const [whole = '', cmd = '', data = ''] = m ?? [];
    if (cmd !== 'set' && cmd !== 'env-set') fail(`X-PRE-PROCESS cmd="${cmd}" is not supported`, pos);
    const expanded = substitute(data, pos);
    const eq = expanded.indexOf('=');
    if (eq <= 0) fail(`X-PRE-PROCESS ${cmd} needs name=value, got "${data}"`, pos);
    if (cmd === 'set') {
      setGlobal(globals, expanded.slice(0, eq).replace(/ +$/, ''), expanded.slice(eq + 1).replace(/^ +/, ''));
    } else {
      const source = expanded.slice(eq + 1);
      if (!source.startsWith('$')) fail(`env-set needs name=$ENVVAR, got "${data}"`, pos);
      const fromEnv = env[source.slice(1)];
      // Not in the environment: nothing happens, an earlier value stays.
      if (fromEnv !== undefined) setGlobal(globals, expanded.slice(0, eq), fromEnv);
    }
    pos += whole.length;
  }
  return out;
}
