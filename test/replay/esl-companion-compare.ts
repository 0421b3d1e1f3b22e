// Compares what an `event json ALL` socket of the simulator received with
// the ESL companion of a real Verto capture:
//  * replies (auth/request, command/reply, api/response, disconnect notice)
//    in order and literally (ids and uuids aside: compareMessage);
//  * BACKGROUND_JOB events like any other compared event (compareEvent);
//  * channel events per channel, the channels paired by role (`verto#1`,
//    `sip#1`, in order of first appearance): the order of the COMPARED events,
//    the names of their non-variable headers in order, and the values the
//    edge decides on (DECISIVE, DECISIVE_VARIABLES, `variable_verto_dvar_*`,
//    the Channel-Name prefix, and which channel Other-Leg-Unique-ID and
//    Bridge-A/B-Unique-ID point at).
// Ids, times, ports, addresses, SDP and every other variable are not compared.
import { compareEvent, compareMessage } from '../support/freeswitch/esl-trace-compare.ts';
import { headerValue, type ParsedMessage } from '../support/freeswitch/esl-wire.ts';

/** Channel events the simulator models; compared per channel. */
export const COMPARED_CHANNEL_EVENTS: ReadonlySet<string> = new Set([
  'CHANNEL_OUTGOING', 'CHANNEL_CREATE', 'CHANNEL_ORIGINATE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_DESTROY', 'DTMF',
  'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_HOLD', 'CHANNEL_UNHOLD',
]);

/** Non-channel events compared in order with compareEvent. */
export const COMPARED_OTHER_EVENTS: ReadonlySet<string> = new Set(['BACKGROUND_JOB']);

/**
 * Events left out, and why:
 *  - CHANNEL_STATE, CHANNEL_CALLSTATE: state-machine detail whose count and
 *    order depend on FreeSWITCH's threads; the edge does not read them.
 *  - HEARTBEAT, RE_SCHEDULE: core timers. API: one per api command, from
 *    any socket. CUSTOM: mod_verto's verto::client_connect / login /
 *    client_disconnect bookkeeping.
 *  - CODEC, CALL_SECURE (DTLS/SRTP), CALL_UPDATE, PRESENCE_IN, COMMAND,
 *    PRIVATE_COMMAND: media, security and presence subsystems the simulator
 *    does not model.
 * An event in none of these lists fails the comparison (so a new kind in a
 * capture gets classified on purpose).
 */
export const IGNORED_EVENTS: ReadonlySet<string> = new Set([
  'CHANNEL_STATE', 'CHANNEL_CALLSTATE', 'HEARTBEAT', 'RE_SCHEDULE', 'API', 'CUSTOM', 'CODEC', 'CALL_SECURE', 'CALL_UPDATE',
  'PRESENCE_IN', 'COMMAND', 'PRIVATE_COMMAND',
]);

const DECISIVE = ['Hangup-Cause', 'Answer-State', 'Call-Direction', 'DTMF-Digit', 'Application'];
const DECISIVE_VARIABLES = ['variable_last_bridge_hangup_cause', 'variable_originate_disposition', 'variable_sip_term_status',
  'variable_last_bridge_proto_specific_hangup_cause', 'variable_verto_hangup_disposition'];
const LINKS = ['Other-Leg-Unique-ID', 'Bridge-A-Unique-ID', 'Bridge-B-Unique-ID'];

type Row = Readonly<Record<string, unknown>>;

interface Ev {
  readonly row: Row;
  readonly msg: ParsedMessage;
}

export type Kind = 'reply' | 'channel' | 'other' | 'ignored' | 'unknown';

function rowOf(m: ParsedMessage): Row | undefined {
  if (headerValue(m.headers, 'Content-Type') !== 'text/event-json' || m.body === undefined) return undefined;
  const v: unknown = JSON.parse(m.body);
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Row) : undefined;
}

function str(row: Row, key: string): string | undefined {
  const v = row[key];
  return typeof v === 'string' ? v : undefined;
}

export function classify(m: ParsedMessage): Kind {
  const ct = headerValue(m.headers, 'Content-Type') ?? '';
  if (!ct.startsWith('text/event-')) return 'reply';
  const name = str(rowOf(m) ?? {}, 'Event-Name') ?? '';
  if (COMPARED_CHANNEL_EVENTS.has(name)) return 'channel';
  if (COMPARED_OTHER_EVENTS.has(name)) return 'other';
  return IGNORED_EVENTS.has(name) ? 'ignored' : 'unknown';
}

function kindOfName(name: string): string {
  if (name.startsWith('verto.rtc/')) return 'verto';
  if (name.startsWith('sofia/')) return 'sip';
  return 'other';
}

/** Role label (`verto#1`, `sip#1`...) of each channel uuid, in order of first appearance. */
export function channelRoles(msgs: readonly ParsedMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of msgs) {
    const row = rowOf(m);
    const uuid = row === undefined ? undefined : str(row, 'Unique-ID');
    const name = row === undefined ? undefined : str(row, 'Channel-Name');
    if (uuid === undefined || name === undefined) continue;
    if (!names.has(uuid) || names.get(uuid) === 'N/A') names.set(uuid, name);
  }
  const counts = new Map<string, number>();
  const roles = new Map<string, string>();
  for (const [uuid, name] of names) {
    const kind = kindOfName(name);
    const n = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, n);
    roles.set(uuid, `${kind}#${n}`);
  }
  return roles;
}

function keyOf(row: Row): string {
  const name = str(row, 'Event-Name') ?? '';
  return name.startsWith('CHANNEL_EXECUTE') ? `${name}(${str(row, 'Application') ?? ''})` : name;
}

function perChannel(msgs: readonly ParsedMessage[], roles: ReadonlyMap<string, string>): Map<string, Ev[]> {
  const out = new Map<string, Ev[]>();
  for (const m of msgs) {
    if (classify(m) !== 'channel') continue;
    const row = rowOf(m) ?? {};
    const role = roles.get(str(row, 'Unique-ID') ?? '') ?? '?';
    out.set(role, [...(out.get(role) ?? []), { row, msg: m }]);
  }
  return out;
}

function prefix(name: string | undefined): string {
  return name === undefined || name === 'N/A' ? String(name) : name.replace(/[^/]*$/, '');
}

function nonVariableKeys(row: Row): string[] {
  return Object.keys(row).filter((k) => !k.startsWith('variable_') && k !== '_body' && k !== 'Content-Length');
}

function compareChannelEvent(a: Ev, e: Ev, aRoles: ReadonlyMap<string, string>, eRoles: ReadonlyMap<string, string>, where: string): string[] {
  const diffs: string[] = [];
  const ak = nonVariableKeys(a.row);
  const ek = nonVariableKeys(e.row);
  if (ak.join(',') !== ek.join(',')) {
    const at = ek.findIndex((k, i) => ak[i] !== k);
    diffs.push(`${where}: header names differ: missing [${ek.filter((k) => !ak.includes(k)).join(',')}] extra [${ak.filter((k) => !ek.includes(k)).join(',')}] first difference at #${at} (sim ${String(ak[at])}, trace ${String(ek[at])})`);
  }
  const value = (row: Row, k: string): string => String(str(row, k));
  for (const k of DECISIVE) if (value(a.row, k) !== value(e.row, k)) diffs.push(`${where}: ${k} sim=${value(a.row, k)} trace=${value(e.row, k)}`);
  const dvars = [...new Set([...Object.keys(a.row), ...Object.keys(e.row)].filter((k) => k.startsWith('variable_verto_dvar_')))];
  for (const k of [...DECISIVE_VARIABLES, ...dvars]) {
    if (value(a.row, k) !== value(e.row, k)) diffs.push(`${where}: ${k} sim=${value(a.row, k)} trace=${value(e.row, k)}`);
  }
  if (prefix(str(a.row, 'Channel-Name')) !== prefix(str(e.row, 'Channel-Name'))) {
    diffs.push(`${where}: Channel-Name sim=${value(a.row, 'Channel-Name')} trace=${value(e.row, 'Channel-Name')}`);
  }
  for (const k of LINKS) {
    const ar = aRoles.get(str(a.row, k) ?? '') ?? str(a.row, k);
    const er = eRoles.get(str(e.row, k) ?? '') ?? str(e.row, k);
    if (ar !== er) diffs.push(`${where}: ${k} points at sim=${String(ar)} trace=${String(er)}`);
  }
  return diffs;
}

/** Differences between the messages one simulator socket received and the capture's. */
export function compareCompanion(actual: readonly ParsedMessage[], expected: readonly ParsedMessage[], socket: string): string[] {
  const diffs: string[] = [];
  for (const m of [...actual, ...expected]) {
    if (classify(m) === 'unknown') diffs.push(`[${socket}] unclassified event ${String(str(rowOf(m) ?? {}, 'Event-Name'))}`);
  }
  const pick = (msgs: readonly ParsedMessage[], kinds: readonly Kind[]): ParsedMessage[] => msgs.filter((m) => kinds.includes(classify(m)));
  const aSeq = pick(actual, ['reply', 'other']);
  const eSeq = pick(expected, ['reply', 'other']);
  eSeq.forEach((e, i) => {
    const a = aSeq[i];
    if (a === undefined) diffs.push(`[${socket}] reply/event #${i} missing; trace has ${JSON.stringify(e.raw.slice(0, 120))}`);
    else diffs.push(...(classify(e) === 'other' ? compareEvent(a, e, `[${socket}] #${i}`) : compareMessage(a, e, `[${socket}] #${i}`)));
  });
  for (const extra of aSeq.slice(eSeq.length)) diffs.push(`[${socket}] extra ${JSON.stringify(extra.raw.slice(0, 120))}`);
  const aRoles = channelRoles(actual);
  const eRoles = channelRoles(expected);
  const aCh = perChannel(actual, aRoles);
  const eCh = perChannel(expected, eRoles);
  for (const role of new Set([...eCh.keys(), ...aCh.keys()])) {
    const a = aCh.get(role) ?? [];
    const e = eCh.get(role) ?? [];
    const aKeys = a.map((x) => keyOf(x.row));
    const eKeys = e.map((x) => keyOf(x.row));
    if (aKeys.join(' ') !== eKeys.join(' ')) diffs.push(`[${socket}] ${role} events differ:\n  sim   ${aKeys.join(' ')}\n  trace ${eKeys.join(' ')}`);
    // pair the k-th occurrence of each event key
    const seen = new Map<string, number>();
    for (const ev of e) {
      const key = keyOf(ev.row);
      const k = seen.get(key) ?? 0;
      seen.set(key, k + 1);
      const match = a.filter((x) => keyOf(x.row) === key)[k];
      if (match !== undefined) diffs.push(...compareChannelEvent(match, ev, aRoles, eRoles, `[${socket}] ${role} ${key}#${k + 1}`));
    }
  }
  return diffs;
}
