// Compares ESL messages the simulator sent with those a trace shows:
// same Content-Type, header names in order, literal texts, JSON keys/types
// in event bodies; ids, uuids, times, hosts and addresses may differ.
import { headerValue, type ParsedMessage } from './esl-wire.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Learns which uuid of the trace is which uuid of the simulator, to rewrite later client commands. */
export class UuidMap {
  readonly #map = new Map<string, string>();

  learn(expected: string, actual: string): void {
    const e = expected.match(UUID) ?? [];
    const a = actual.match(UUID) ?? [];
    e.forEach((u, i) => {
      const v = a[i];
      if (v !== undefined && !this.#map.has(u.toLowerCase())) this.#map.set(u.toLowerCase(), v);
    });
  }

  /** Replaces known trace uuids in a client command by the simulator's. */
  apply(text: string): string {
    return text.replace(UUID, (u) => this.#map.get(u.toLowerCase()) ?? u);
  }
}

export function normaliseText(text: string): string {
  let t = text.replace(UUID, '<uuid>');
  if (/^UP \d+ years/.test(t) || t.includes('session(s)')) {
    t = t.replace(/\(Version [^)]*\)/, '(Version X)').replace(/\d+(\.\d+)?/g, 'N');
  }
  return t;
}

type EventFields = { readonly keys: string[]; readonly values: Map<string, string | string[]>; readonly body: string | undefined };

function parseEventBody(contentType: string, body: string): EventFields {
  if (contentType === 'text/event-json') {
    const obj: unknown = JSON.parse(body);
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error('event-json body is not an object');
    const values = new Map<string, string | string[]>();
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'string') values.set(k, v);
      else if (Array.isArray(v) && v.every((x): x is string => typeof x === 'string')) values.set(k, v);
      else throw new Error(`event-json value of ${k} is neither a string nor an array of strings`);
    }
    const b = values.get('_body');
    values.delete('_body');
    values.delete('Content-Length');
    return { keys: [...values.keys()], values, body: typeof b === 'string' ? b : undefined };
  }
  // text/event-plain: header lines with URL-encoded values, blank line, optional inner body
  const end = body.indexOf('\n\n');
  const head = end < 0 ? body : body.slice(0, end);
  const values = new Map<string, string | string[]>();
  let inner: string | undefined;
  for (const line of head.split('\n')) {
    const at = line.indexOf(': ');
    if (at < 0) continue;
    const k = line.slice(0, at);
    const v = decodeURIComponent(line.slice(at + 2));
    if (k === 'Content-Length') inner = body.slice(end + 2);
    else values.set(k, v);
  }
  return { keys: [...values.keys()], values, body: inner };
}

/** Headers whose values must be equal (after uuid normalisation). */
const SEMANTIC = ['Event-Name', 'Event-Subclass', 'Channel-State', 'Channel-Call-State', 'Channel-State-Number', 'Answer-State',
  'Hangup-Cause', 'Call-Direction', 'Job-Command', 'Job-Command-Arg', 'DTMF-Digit', 'DTMF-Duration', 'Application',
  'Application-Data', 'API-Command', 'API-Command-Argument', 'Other-Type', 'Event-Calling-Function', 'Bridge-A-Unique-ID',
  'Bridge-B-Unique-ID'];

/** Variables the sidecar relies on: if the trace has one, the simulator must too, with the same value where marked. */
const VARIABLES_SAME_VALUE = ['variable_hangup_cause', 'variable_hangup_cause_q850', 'variable_sip_term_status', 'variable_sip_term_cause',
  'variable_proto_specific_hangup_cause', 'variable_sip_hangup_disposition', 'variable_originate_disposition', 'variable_DIALSTATUS',
  'variable_last_bridge_hangup_cause', 'variable_last_bridge_proto_specific_hangup_cause', 'variable_endpoint_disposition',
  'variable_sip_gateway_name', 'variable_direction', 'variable_is_outbound', 'variable_verto_hangup_disposition',
  'variable_sip_invite_failure_status', 'variable_bridge_hangup_cause', 'variable_current_application', 'variable_last_app'];
const VARIABLES_PRESENT = ['variable_uuid', 'variable_call_uuid', 'variable_channel_name', 'variable_session_id', 'variable_billsec',
  'variable_duration', 'variable_start_stamp', 'variable_end_stamp', 'variable_answer_stamp', 'variable_origination_uuid',
  'variable_originator', 'variable_sip_destination_url', 'variable_verto_user', 'variable_presence_id', 'variable_jsock_uuid_str',
  'variable_digits_dialed'];

function same(a: string | string[] | undefined, b: string | string[] | undefined): boolean {
  const n = (v: string | string[] | undefined): string => (v === undefined ? '<absent>' : Array.isArray(v) ? `[${v.join('|')}]` : normaliseText(v));
  return n(a) === n(b);
}

/** Differences between one event body of the simulator and of the trace. */
export function compareEvent(actual: ParsedMessage, expected: ParsedMessage, where: string): string[] {
  const ct = headerValue(expected.headers, 'Content-Type') ?? '';
  const a = parseEventBody(ct, actual.body ?? '');
  const e = parseEventBody(ct, expected.body ?? '');
  const diffs: string[] = [];
  const name = String(e.values.get('Event-Name'));
  const nonVar = (f: EventFields): string[] => f.keys.filter((k) => !k.startsWith('variable_'));
  const ak = nonVar(a).join(',');
  const ek = nonVar(e).join(',');
  if (ak !== ek) {
    const as = nonVar(a);
    const es = nonVar(e);
    const missing = es.filter((k) => !as.includes(k));
    const extra = as.filter((k) => !es.includes(k));
    const firstDiff = es.findIndex((k, i) => as[i] !== k);
    diffs.push(`${where} ${name}: header names differ; missing [${missing.join(',')}] extra [${extra.join(',')}] first difference at #${firstDiff} (sim ${String(as[firstDiff])}, trace ${String(es[firstDiff])})`);
  }
  for (const k of SEMANTIC) {
    if (!same(a.values.get(k), e.values.get(k))) diffs.push(`${where} ${name}: ${k} sim=${String(a.values.get(k))} trace=${String(e.values.get(k))}`);
  }
  for (const [k, v] of e.values) {
    const av = a.values.get(k);
    if (av !== undefined && Array.isArray(av) !== Array.isArray(v)) diffs.push(`${where} ${name}: ${k} value type differs`);
  }
  for (const k of VARIABLES_SAME_VALUE) {
    if (e.values.has(k) && !same(a.values.get(k), e.values.get(k))) diffs.push(`${where} ${name}: ${k} sim=${String(a.values.get(k))} trace=${String(e.values.get(k))}`);
  }
  for (const k of VARIABLES_PRESENT) {
    if (e.values.has(k) && !a.values.has(k)) diffs.push(`${where} ${name}: ${k} missing`);
  }
  if ((a.body === undefined) !== (e.body === undefined) || (e.body !== undefined && !same(a.body, e.body))) {
    diffs.push(`${where} ${name}: body sim=${JSON.stringify(a.body)} trace=${JSON.stringify(e.body)}`);
  }
  return diffs;
}

/** Same JSON shape: keys in order and value types; numbers and row counts equal. */
function compareJsonShape(a: unknown, e: unknown, path: string, diffs: string[]): void {
  const type = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);
  if (type(a) !== type(e)) {
    diffs.push(`${path}: type sim=${type(a)} trace=${type(e)}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(e)) {
    if (a.length !== e.length) diffs.push(`${path}: length sim=${a.length} trace=${e.length}`);
    a.forEach((x, i) => compareJsonShape(x, e[i], `${path}[${i}]`, diffs));
    return;
  }
  if (typeof a === 'object' && a !== null && typeof e === 'object' && e !== null) {
    const ak = Object.keys(a).join(',');
    const ek = Object.keys(e).join(',');
    if (ak !== ek) diffs.push(`${path}: keys sim=${ak} trace=${ek}`);
    for (const [k, v] of Object.entries(e)) compareJsonShape((a as Record<string, unknown>)[k], v, `${path}.${k}`, diffs);
    return;
  }
  if (typeof e === 'number' && a !== e) diffs.push(`${path}: sim=${String(a)} trace=${String(e)}`);
}

/** Differences between a non-event message of the simulator and of the trace. */
export function compareMessage(actual: ParsedMessage, expected: ParsedMessage, where: string): string[] {
  const diffs: string[] = [];
  const an = actual.headers.map(([k]) => k).join(',');
  const en = expected.headers.map(([k]) => k).join(',');
  if (an !== en) diffs.push(`${where}: header names sim=${an} trace=${en}`);
  const ct = headerValue(expected.headers, 'Content-Type') ?? '';
  if (headerValue(actual.headers, 'Content-Type') !== ct) {
    diffs.push(`${where}: Content-Type sim=${String(headerValue(actual.headers, 'Content-Type'))} trace=${ct}`);
    return diffs;
  }
  if (ct.startsWith('text/event-')) return [...diffs, ...compareEvent(actual, expected, where)];
  for (const [k, v] of expected.headers) {
    if (k === 'Content-Length') continue;
    const av = headerValue(actual.headers, k);
    if (av === undefined || normaliseText(av) !== normaliseText(v)) diffs.push(`${where}: ${k} sim=${String(av)} trace=${v}`);
  }
  const ab = actual.body;
  const eb = expected.body;
  if ((ab === undefined) !== (eb === undefined)) diffs.push(`${where}: body presence differs`);
  else if (ab !== undefined && eb !== undefined) {
    if (ab.endsWith('\n') !== eb.endsWith('\n')) diffs.push(`${where}: trailing LF sim=${ab.endsWith('\n')} trace=${eb.endsWith('\n')}`);
    if (eb.trimStart().startsWith('{') && eb.trim().endsWith('}')) {
      if (eb.includes('": ') !== ab.includes('": ')) diffs.push(`${where}: JSON spacing differs sim=${JSON.stringify(ab)} trace=${JSON.stringify(eb)}`);
      compareJsonShape(JSON.parse(ab) as unknown, JSON.parse(eb) as unknown, `${where} body`, diffs);
    } else if (normaliseText(ab) !== normaliseText(eb)) {
      diffs.push(`${where}: body sim=${JSON.stringify(ab)} trace=${JSON.stringify(eb)}`);
    }
  }
  return diffs;
}

/** Event names that come from FreeSWITCH subsystems the simulator does not model (timers, codecs, presence, media). */
export const UNMODELLED_EVENTS: ReadonlySet<string> = new Set(['HEARTBEAT', 'RE_SCHEDULE', 'CODEC', 'CALL_UPDATE', 'CALL_SECURE',
  'PRESENCE_IN', 'MESSAGE_QUERY', 'RECV_RTCP_MESSAGE', 'SEND_RTCP_MESSAGE', 'API']);

export function eventName(m: ParsedMessage): string | undefined {
  const ct = headerValue(m.headers, 'Content-Type') ?? '';
  if (!ct.startsWith('text/event-') || m.body === undefined) return undefined;
  const v = parseEventBody(ct, m.body).values.get('Event-Name');
  return typeof v === 'string' ? v : undefined;
}

export function eventHeader(m: ParsedMessage, name: string): string | undefined {
  const ct = headerValue(m.headers, 'Content-Type') ?? '';
  if (m.body === undefined) return undefined;
  const v = parseEventBody(ct, m.body).values.get(name);
  return typeof v === 'string' ? v : undefined;
}
