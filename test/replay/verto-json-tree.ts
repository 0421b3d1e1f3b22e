// A JSON reader that keeps what JSON.parse loses: key order and repeated
// keys. Used to compare mod_verto's wire text with the simulator's.

export type Tree =
  | { readonly t: 'obj'; readonly entries: ReadonlyArray<readonly [string, Tree]> }
  | { readonly t: 'arr'; readonly items: readonly Tree[] }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'num'; readonly v: number }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'null' };

export function parseTree(text: string): Tree {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i] ?? '')) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`JSON: ${what} at ${i} in ${text.slice(0, 80)}`);
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    const parsed: unknown = JSON.parse(text.slice(start, i));
    return typeof parsed === 'string' ? parsed : fail('string');
  };
  const value = (): Tree => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<readonly [string, Tree]> = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { t: 'obj', entries };
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('key');
        const k = str();
        ws();
        if (text[i] !== ':') fail('colon');
        i++;
        entries.push([k, value()]);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return { t: 'obj', entries };
        } else fail('object');
      }
    }
    if (c === '[') {
      i++;
      const items: Tree[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { t: 'arr', items };
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return { t: 'arr', items };
        } else fail('array');
      }
    }
    if (c === '"') return { t: 'str', v: str() };
    const m = /^(true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (m === null || m[1] === undefined) return fail('value');
    i += m[1].length;
    if (m[1] === 'true' || m[1] === 'false') return { t: 'bool', v: m[1] === 'true' };
    if (m[1] === 'null') return { t: 'null' };
    return { t: 'num', v: Number(m[1]) };
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing data');
  return v;
}

/** A parsed JS value as a tree (insertion order, no repeated keys). */
export function treeOf(v: unknown): Tree {
  if (v === null || v === undefined) return { t: 'null' };
  if (typeof v === 'string') return { t: 'str', v };
  if (typeof v === 'number') return { t: 'num', v };
  if (typeof v === 'boolean') return { t: 'bool', v };
  if (Array.isArray(v)) return { t: 'arr', items: v.map(treeOf) };
  if (typeof v === 'object') return { t: 'obj', entries: Object.entries(v).map(([k, x]) => [k, treeOf(x)] as const) };
  return { t: 'null' };
}

export function get(tree: Tree, key: string): Tree | undefined {
  return tree.t === 'obj' ? tree.entries.find(([k]) => k === key)?.[1] : undefined;
}

export function str(tree: Tree | undefined): string | undefined {
  return tree?.t === 'str' ? tree.v : undefined;
}
