// Validation of what a Verto client sends. mod_verto reads fields with
// cJSON_GetObjectCstr / cJSON_GetObjectItem: a field of the wrong type is
// treated as absent. These helpers do the same, typed, without `any`.
import { z } from 'zod';
import type { Json } from './verto-rpc.ts';

type JsonObject = { readonly [key: string]: Json };

const jsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonSchema), z.record(z.string(), jsonSchema)]),
);

const objectSchema = z.record(z.string(), jsonSchema);

/** Parse one text frame; undefined when it is not JSON. */
export function parseFrame(text: string): Json | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = jsonSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

export function asObject(v: Json | undefined): JsonObject | undefined {
  const parsed = objectSchema.safeParse(v);
  return parsed.success ? parsed.data : undefined;
}

/**
 * cJSON_GetObjectItem on an object (any type), undefined if absent or `o` is
 * not an object. FreeSWITCH's cJSON (src/cJSON.c `cJSON_GetObjectItem` ->
 * `get_object_item(object, name, false)`) compares keys case-insensitively
 * and returns the first match in key order; so does this (JSON.parse has
 * already kept only the last of two identical keys).
 */
export function field(o: Json | undefined, key: string): Json | undefined {
  const obj = asObject(o);
  if (obj === undefined) return undefined;
  const lower = key.toLowerCase();
  const k = Object.keys(obj).find((name) => name.toLowerCase() === lower);
  return k === undefined ? undefined : obj[k];
}

/** cJSON_GetObjectCstr: the value only if it is a string. */
export function stringField(o: Json | undefined, key: string): string | undefined {
  const v = field(o, key);
  return typeof v === 'string' ? v : undefined;
}

export function objectField(o: Json | undefined, key: string): JsonObject | undefined {
  return asObject(field(o, key));
}

/** Variables as mod_verto copies them: strings kept, booleans become "true"/"false", others dropped. */
export function variablesOf(o: JsonObject | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (o === undefined) return out;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'boolean') out[k] = v ? 'true' : 'false';
  }
  return out;
}

/** switch_true(): "yes", "on", "true", "t", "enabled", "active", "allow" or a non-zero number. */
export function isTrueString(s: string): boolean {
  const v = s.toLowerCase();
  if (['yes', 'on', 'true', 't', 'enabled', 'active', 'allow'].includes(v)) return true;
  const n = Number(v);
  return v !== '' && Number.isFinite(n) && n !== 0;
}

/** Plain data from the model (unknown) as JSON; undefined members dropped, functions become null. */
export function toJson(v: unknown): Json {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  return null;
}
