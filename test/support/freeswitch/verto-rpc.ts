// JSON-RPC 2.0 framing as mod_verto writes it (cJSON_PrintUnformatted).
//
// mod_verto builds its replies with cJSON and appends keys in a fixed order;
// some replies carry the same key twice (the invite error's two "message"
// keys, echo's two "sessid" keys). A JS object cannot hold that, so replies
// are built as ordered entry lists and serialised here as text.

/** A JSON value as parsed from the client (plain data, no prototypes). */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** An object whose keys keep their order and may repeat. */
export interface Ordered {
  readonly ordered: ReadonlyArray<readonly [string, Value]>;
}

export type Value = Json | Ordered;
export type Entries = ReadonlyArray<readonly [string, Value]>;

export const CODE_INVALID = -32600;
export const CODE_AUTH_REQUIRED = -32000;
export const CODE_AUTH_FAILED = -32001;
export const CODE_SESSION_ERROR = -32002;
export const CODE_METHOD_NOT_FOUND = -32601;
export const CODE_PERMISSION_DENIED = -32602;

export const MSG_INVALID_METHOD = 'Invalid Method, Missing Method or Permission Denied';

export function ordered(entries: Entries): Ordered {
  return { ordered: entries };
}

function isOrdered(v: Value): v is Ordered {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'ordered' in v && Array.isArray((v as Ordered).ordered);
}

/** Ordered entries of a parsed JSON object, in insertion order. */
export function entriesOf(obj: { readonly [key: string]: Json }): Entries {
  return Object.entries(obj);
}

export function toText(v: Value): string {
  if (isOrdered(v)) {
    return `{${v.ordered.map(([k, x]) => `${JSON.stringify(k)}:${toText(x)}`).join(',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map((x: Json) => toText(x)).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toText(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** `{"jsonrpc":"2.0","id":…,"result":{…,"sessid":…}}`; sessid appended once bound. */
export function resultText(id: Json, fields: Entries, sessid: string | undefined): string {
  const result = sessid === undefined ? fields : [...fields, ['sessid', sessid] as const];
  return toText(ordered([['jsonrpc', '2.0'], ['id', id], ['result', ordered(result)]]));
}

/** Handler failure: the handler's own object becomes `error` (no sessid). */
export function errorText(id: Json, fields: Entries): string {
  return toText(ordered([['jsonrpc', '2.0'], ['id', id], ['error', ordered(fields)]]));
}

/** Standard error object `{code, message}` after the id. */
export function codeErrorText(id: Json, code: number, message: string): string {
  return errorText(id, [['code', code], ['message', message]]);
}

/** Bad or missing `jsonrpc`: error written before the id. */
export function invalidMessageText(id: Json): string {
  return toText(ordered([['jsonrpc', '2.0'], ['error', ordered([['code', CODE_INVALID], ['message', 'Invalid message']])], ['id', id]]));
}

/** A frame that is not JSON at all. */
export function invalidRequestText(): string {
  return toText(ordered([['jsonrpc', '2.0'], ['error', ordered([['code', CODE_INVALID], ['message', 'Invalid Request']])], ['id', null]]));
}

/** Server-originated request: `{"jsonrpc":"2.0","id":n,"method":m,"params":{…}}`. */
export function requestText(id: number, method: string, params: Entries): string {
  return toText(ordered([['jsonrpc', '2.0'], ['id', id], ['method', method], ['params', ordered(params)]]));
}

/** A batch reply: the replies joined into one JSON array. */
export function batchText(replies: readonly string[]): string {
  return `[${replies.join(',')}]`;
}
