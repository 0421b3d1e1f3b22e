// Generic mutators: text edits that favour the characters protocols trip
// on, and edits of JSON-like values (delete, replace, add a key), so that a
// valid-looking seed reaches the deep checks of a parser instead of its
// first type check.
import fc from 'fast-check';

/** Characters and fragments that break line-framed, JSON and URI-encoded text, and some that only look harmless. */
export const hostile: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '\r', '\n', '\r\n', '\n\n', '\0', ' ', '\t', '\v', '\f', '\u0085', '\u00a0', '\u2028', '\ufeff',
    '%', '%0A', '%zz', '%E0%A4', '"', "'", '\\', '{', '}', '[', ']', ':', ';', ',', '|', '$', '${x}', '=', '/', '+', '-', '.',
    '@', '!', '#', '*', '<', '>', '&', '?', 'é', 'e\u0301', '١', '\ud83d\ude00', '\ud800', '\udfff',
    '0', '9', 'A', 'z', '_', '__proto__', 'constructor',
  ),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
);

/** Any short string: binary, graphemes, or a run of hostile fragments. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
  fc.array(hostile, { maxLength: 12 }).map((parts) => parts.join('')),
);

interface TextEdit {
  readonly at: number;
  readonly kind: 'insert' | 'delete' | 'replace' | 'duplicate';
  readonly len: number;
  readonly text: string;
}

const textEdit: fc.Arbitrary<TextEdit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('insert', 'delete', 'replace', 'duplicate'),
  len: fc.integer({ min: 1, max: 16 }),
  text: hostile,
});

function applyTextEdit(s: string, e: TextEdit): string {
  const at = s.length === 0 ? 0 : e.at % (s.length + 1);
  switch (e.kind) {
    case 'insert':
      return s.slice(0, at) + e.text + s.slice(at);
    case 'delete':
      return s.slice(0, at) + s.slice(at + e.len);
    case 'replace':
      return s.slice(0, at) + e.text + s.slice(at + e.len);
    case 'duplicate':
      return s.slice(0, at + e.len) + s.slice(at, at + e.len) + s.slice(at + e.len);
  }
}

/** A string from `seed` with up to `maxEdits` edits (none included: the seed itself). */
export function mutatedText(seed: fc.Arbitrary<string>, maxEdits = 4): fc.Arbitrary<string> {
  return fc
    .tuple(seed, fc.array(textEdit, { maxLength: maxEdits }))
    .map(([s, edits]) => edits.reduce(applyTextEdit, s));
}

/** Values a peer might put where another type belongs. */
export const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, undefined, '', 0, -1, 1.5, 2 ** 53, Number.NaN, Infinity, true, false, '0', '1', [], {}),
  anyText,
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
  fc.anything({ maxDepth: 2, withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withBoxedValues: true }),
);

const keyName: fc.Arbitrary<string> = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', ''), anyText);

interface ValueEdit {
  readonly kind: 'delete' | 'replace' | 'add';
  readonly pick: number;
  readonly key: string;
  readonly value: unknown;
}

const valueEdit: fc.Arbitrary<ValueEdit> = fc.record({
  kind: fc.constantFrom('delete', 'replace', 'replace', 'add'),
  pick: fc.nat(),
  key: keyName,
  value: junk,
});

type Container = Record<string, unknown> | unknown[];

/** Arrays and plain objects (not a boxed String, a Map or a Date, whose slots are not keys). */
function isContainer(v: unknown): v is Container {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return Array.isArray(v) || proto === Object.prototype || proto === null;
}

/** Every (container, key) slot of a JSON-like value, depth first; values an edit put in are not entered (fast-check owns them). */
function slots(root: Container, inserted: WeakSet<object>): Array<[Container, string | number]> {
  const out: Array<[Container, string | number]> = [];
  const walk = (c: Container): void => {
    for (const key of Array.isArray(c) ? c.keys() : Object.keys(c)) {
      out.push([c, key]);
      const v: unknown = Array.isArray(c) ? c[key as number] : c[key as string];
      if (isContainer(v) && !inserted.has(v)) walk(v);
    }
  };
  walk(root);
  return out;
}

function containers(root: Container, inserted: WeakSet<object>): Container[] {
  const inner = slots(root, inserted).map(([c, k]) => (Array.isArray(c) ? c[k as number] : c[k as string]));
  return [root, ...inner.filter((v): v is Container => isContainer(v) && !inserted.has(v))];
}

/** Set an own property, as JSON.parse does (so "__proto__" is a key, not the prototype). */
function put(c: Container, key: string | number, value: unknown): void {
  Object.defineProperty(c, key, { value, enumerable: true, writable: true, configurable: true });
}

function applyValueEdit(root: Container, e: ValueEdit, inserted: WeakSet<object>): void {
  if (typeof e.value === 'object' && e.value !== null) inserted.add(e.value);
  if (e.kind === 'add') {
    const all = containers(root, inserted);
    const target = all[e.pick % all.length] ?? root;
    if (Array.isArray(target)) target.push(e.value);
    else put(target, e.key, e.value);
    return;
  }
  const all = slots(root, inserted);
  const slot = all[e.pick % Math.max(all.length, 1)];
  if (slot === undefined) return;
  const [c, key] = slot;
  if (e.kind === 'replace') put(c, key, e.value);
  else if (Array.isArray(c)) c.splice(key as number, 1);
  else delete c[key as string];
}

/** A JSON-like value from `seed` (copied, never shared) with up to `maxEdits` edits anywhere in it. */
export function mutatedValue(seed: fc.Arbitrary<unknown>, maxEdits = 3): fc.Arbitrary<unknown> {
  return fc.tuple(seed, fc.array(valueEdit, { maxLength: maxEdits })).map(([s, edits]) => {
    if (!isContainer(s)) return edits.length > 0 ? edits[0]?.value : s;
    const root = structuredClone(s);
    const inserted = new WeakSet<object>();
    for (const e of edits) applyValueEdit(root, e, inserted);
    return root;
  });
}

/** JSON text of a generated value (BigInt as a string, as no peer can send one). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
}

/** Mostly `valid`, now and then `other`: enough valid fields together to get past every check. */
export function mostly<T, U>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<U>, weight = 6): fc.Arbitrary<T | U> {
  return fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: other });
}
