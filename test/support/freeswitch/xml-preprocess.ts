// The FreeSWITCH XML pre-processor, for the part the shipped files use:
// `<X-PRE-PROCESS cmd="set" data="name=value"/>` defines a global variable
// (in document order, across files), `cmd="env-set" data="name=$ENVVAR"`
// defines it from the environment, and every `$${name}` outside comments is
// replaced by its value when the file is loaded.
//
// Stricter than FreeSWITCH on purpose: a `$${name}` with no value, an
// env-set of a variable missing from the environment given, any other
// X-PRE-PROCESS command (include, exec, env-set, stun-set...) and an
// X-PRE-PROCESS inside a comment are errors. (Real FreeSWITCH runs
// pre-processor lines even when they sit inside an XML comment, a classic
// trap, so the shipped files must never rely on commenting one out.)

export class PreprocessError extends Error {
  override readonly name = 'PreprocessError';
}

const DIRECTIVE = /^<X-PRE-PROCESS\s+cmd\s*=\s*"([^"]*)"\s+data\s*=\s*"([^"]*)"\s*\/>/;

/** Returns the text with directives removed and `$${}` substituted; `globals` is updated in place. */
export function preprocessXml(
  text: string,
  globals: Map<string, string>,
  sourceName: string,
  env: Readonly<Record<string, string>> = {},
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
      if (value === undefined) fail(`pre-processor variable $\${${name}} is not defined`, at);
      return value ?? '';
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
    const value = substitute(data, pos);
    const eq = value.indexOf('=');
    if (eq <= 0) fail(`X-PRE-PROCESS ${cmd} needs name=value, got "${data}"`, pos);
    let assigned = value.slice(eq + 1);
    if (cmd === 'env-set') {
      const envName = assigned.replace(/^\$/, '');
      const fromEnv = env[envName];
      if (fromEnv === undefined) fail(`env-set: environment variable ${envName} is not set`, pos);
      assigned = fromEnv ?? '';
    }
    globals.set(value.slice(0, eq), assigned);
    pos += whole.length;
  }
  return out;
}
