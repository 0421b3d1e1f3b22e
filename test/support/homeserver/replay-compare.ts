// Structural comparison of a simulator answer with a captured one: same keys, same value
// types, equal values for the keys where the value itself is the protocol (errcode, error,
// type, membership, content, ...). Ids, tokens and timestamps only need the same type.

export interface CompareOptions {
  /** Keys whose values must be equal (after `normalise`). */
  readonly exactKeys?: ReadonlySet<string>;
  /** Keys ignored wherever they appear (timing-dependent sections). */
  readonly ignoreKeys?: ReadonlySet<string>;
  /**
   * 'strict': arrays must have the same length and match element by element.
   * 'loose': both empty or both non-empty; every actual element must match some expected one.
   */
  readonly arrays?: 'strict' | 'loose';
  /** Arrays at matching paths are compared sorted by (type, state_key): "state in no particular order". */
  readonly unordered?: RegExp;
  /** Applied to both sides' values of exact keys before comparing (e.g. trace id -> simulator id). */
  readonly normalise?: (v: unknown) => unknown;
}

export const DEFAULT_EXACT_KEYS: ReadonlySet<string> = new Set([
  'errcode',
  'error',
  'type',
  'membership',
  'limited',
  'content',
  'state_key',
  'sender',
  'notification_count',
  'highlight_count',
  'user_id',
  'home_server',
  'is_guest',
  'soft_logout',
]);

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
const isObj = (v: unknown): v is Record<string, unknown> => kind(v) === 'object';

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
}

export function compareShape(actual: unknown, expected: unknown, opts: CompareOptions = {}, path = '$'): string[] {
  const exact = opts.exactKeys ?? DEFAULT_EXACT_KEYS;
  const ignore = opts.ignoreKeys ?? new Set<string>();
  const norm = opts.normalise ?? ((v: unknown) => v);
  if (kind(actual) !== kind(expected)) return [`${path}: expected ${kind(expected)}, got ${kind(actual)}`];
  if (Array.isArray(actual) && Array.isArray(expected)) {
    let a: unknown[] = actual;
    let e: unknown[] = expected;
    if (opts.unordered?.test(path) === true) {
      const order = (v: unknown): string => (isObj(v) ? `${String(v['type'])}|${String(v['state_key'])}` : JSON.stringify(v));
      const byKey = (x: unknown, y: unknown): number => order(x).localeCompare(order(y));
      a = [...a].sort(byKey);
      e = [...e].sort(byKey);
    }
    if ((opts.arrays ?? 'strict') === 'strict') {
      if (a.length !== e.length) return [`${path}: expected ${e.length} elements, got ${a.length}`];
      return a.flatMap((x, i) => compareShape(x, e[i], opts, `${path}[${i}]`));
    }
    if ((a.length === 0) !== (e.length === 0)) return [`${path}: expected ${e.length} elements, got ${a.length}`];
    return a.flatMap((x, i) => {
      const attempts = e.map((y) => compareShape(x, y, opts, `${path}[${i}]`));
      return attempts.some((d) => d.length === 0) ? [] : (attempts[0] ?? []);
    });
  }
  if (isObj(actual) && isObj(expected)) {
    const diffs: string[] = [];
    const keys = new Set([...Object.keys(actual), ...Object.keys(expected)]);
    for (const k of keys) {
      if (ignore.has(k)) continue;
      const p = `${path}.${k}`;
      if (!(k in actual)) diffs.push(`${p}: missing`);
      else if (!(k in expected)) diffs.push(`${p}: unexpected (value ${JSON.stringify(actual[k])?.slice(0, 80)})`);
      else if (exact.has(k) && !deepEqual(norm(actual[k]), norm(expected[k]))) {
        diffs.push(`${p}: expected ${JSON.stringify(norm(expected[k]))?.slice(0, 200)}, got ${JSON.stringify(norm(actual[k]))?.slice(0, 200)}`);
      } else diffs.push(...compareShape(actual[k], expected[k], opts, p));
    }
    return diffs;
  }
  return [];
}
