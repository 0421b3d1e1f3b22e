// Builds FreeSWITCH events (FsEvent) with headers in FreeSWITCH's order and
// names, as the real captures show (shared/traces/real, FreeSWITCH 1.11.1).
import type { FsEvent } from './contract.ts';
import { CALL_STATE_NUMBERS, STATE_NUMBERS, type CallState, type Channel } from './channel.ts';

export type Header = readonly [string, string];

/** Identity of the simulated switch, stamped on every event. */
export interface SwitchIdentity {
  readonly coreUuid: string;
  readonly hostname: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

/** Where FreeSWITCH fires an event from (Event-Calling-*). */
export interface CallSite {
  readonly file: string;
  readonly func: string;
  readonly line: number;
}

export const SITES = {
  outgoing: { file: 'switch_core_session.c', func: 'switch_core_session_outgoing_channel', line: 768 },
  state: { file: 'switch_channel.c', func: 'switch_channel_perform_set_running_state', line: 2409 },
  create: { file: 'switch_core_state_machine.c', func: 'switch_core_session_run', line: 626 },
  originate: { file: 'switch_core_state_machine.c', func: 'switch_core_session_run', line: 632 },
  callstate: { file: 'switch_channel.c', func: 'switch_channel_perform_set_callstate', line: 328 },
  progress: { file: 'switch_channel.c', func: 'switch_channel_perform_mark_ring_ready_value', line: 3597 },
  progressMedia: { file: 'switch_channel.c', func: 'switch_channel_perform_mark_pre_answered', line: 3659 },
  answer: { file: 'switch_channel.c', func: 'switch_channel_perform_mark_answered', line: 3848 },
  bridge: { file: 'switch_ivr_bridge.c', func: 'switch_ivr_multi_threaded_bridge', line: 1689 },
  unbridge: { file: 'switch_ivr_bridge.c', func: 'switch_ivr_multi_threaded_bridge', line: 1826 },
  hangup: { file: 'switch_channel.c', func: 'switch_channel_perform_hangup', line: 3572 },
  hangupComplete: { file: 'switch_core_state_machine.c', func: 'switch_core_session_reporting_state', line: 943 },
  destroy: { file: 'switch_core_session.c', func: 'switch_core_session_perform_destroy', line: 1753 },
  execute: { file: 'switch_core_session.c', func: 'switch_core_session_exec', line: 2975 },
  executeComplete: { file: 'switch_core_session.c', func: 'switch_core_session_exec', line: 3032 },
  park: { file: 'switch_ivr.c', func: 'switch_ivr_park', line: 1000 },
  unpark: { file: 'switch_ivr.c', func: 'switch_ivr_park', line: 1231 },
  dtmf: { file: 'switch_channel.c', func: 'switch_channel_dequeue_dtmf', line: 678 },
  hold: { file: 'switch_channel.c', func: 'switch_channel_perform_mark_hold', line: 1254 },
  api: { file: 'switch_loadable_module.c', func: 'switch_api_execute', line: 2954 },
  backgroundJob: { file: 'mod_event_socket.c', func: 'api_exec', line: 1569 },
  heartbeat: { file: 'switch_core.c', func: 'send_heartbeat', line: 95 },
  reloadxml: { file: 'switch_xml.c', func: 'switch_xml_open_root', line: 2416 },
  channelData: { file: 'switch_channel.c', func: 'switch_channel_get_variables_prefix', line: 4466 },
  custom: { file: 'mod_verto.c', func: 'client_thread', line: 2254 },
  sendevent: { file: 'mod_event_socket.c', func: 'parse_command', line: 2162 },
} as const satisfies Record<string, CallSite>;

/** Event types whose channel events carry variable_* (CH switch_channel_event_set_extended_data). */
const WITH_VARIABLES = new Set([
  'CHANNEL_CREATE', 'CHANNEL_ORIGINATE', 'CHANNEL_UUID', 'CHANNEL_ANSWER', 'CHANNEL_PARK', 'CHANNEL_UNPARK',
  'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_DATA', 'CHANNEL_EXECUTE', 'CHANNEL_EXECUTE_COMPLETE', 'CHANNEL_DESTROY',
  'CHANNEL_HOLD', 'CHANNEL_UNHOLD', 'CUSTOM', 'API', 'CALL_UPDATE',
]);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `YYYY-MM-DD HH:MM:SS` in local time (the simulator runs in whatever TZ the host has). */
export function localStamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The standard headers (EV switch_event_prep_for_delivery_detailed). */
export function standardHeaders(id: SwitchIdentity, name: string, site: CallSite, sequence: number, nowUs: number): Header[] {
  const ms = Math.floor(nowUs / 1000);
  return [
    ['Event-Name', name],
    ['Core-UUID', id.coreUuid],
    ['FreeSWITCH-Hostname', id.hostname],
    ['FreeSWITCH-Switchname', id.hostname],
    ['FreeSWITCH-IPv4', id.ipv4],
    ['FreeSWITCH-IPv6', id.ipv6],
    ['Event-Date-Local', localStamp(ms)],
    ['Event-Date-GMT', new Date(ms).toUTCString()],
    ['Event-Date-Timestamp', String(nowUs)],
    ['Event-Calling-File', site.file],
    ['Event-Calling-Function', site.func],
    ['Event-Calling-Line-Number', String(site.line)],
    ['Event-Sequence', String(sequence)],
  ];
}

/**
 * switch_caller_profile_event_set_data: empty strings omitted, times always
 * present. `own` = the channel's own profile; the Other-Leg profile is a copy
 * (switch_caller_profile_dup) that has no Profile-Index and no Transfer-Source
 * (real verto-13).
 */
export function profileHeaders(ch: Channel, prefix: string, own: boolean): Header[] {
  const p = ch.profile;
  const t = ch.times;
  const out: Header[] = [];
  const add = (k: string, v: string): void => {
    if (v !== '') out.push([`${prefix}-${k}`, v]);
  };
  add('Direction', p.direction);
  add('Logical-Direction', p.logicalDirection);
  add('Username', p.username);
  add('Dialplan', p.dialplan);
  add('Caller-ID-Name', p.callerIdName);
  add('Caller-ID-Number', p.callerIdNumber);
  add('Orig-Caller-ID-Name', p.origCallerIdName);
  add('Orig-Caller-ID-Number', p.origCallerIdNumber);
  add('Callee-ID-Name', p.calleeIdName);
  add('Callee-ID-Number', p.calleeIdNumber);
  add('Network-Addr', p.networkAddr);
  add('ANI', p.ani);
  add('Destination-Number', p.destinationNumber);
  add('Unique-ID', ch.uuid);
  add('Source', p.source);
  if (own) add('Transfer-Source', p.transferSource ?? '');
  add('Context', p.context);
  add('RDNIS', p.rdnis ?? '');
  add('Channel-Name', p.channelName);
  if (own) add('Profile-Index', '1');
  out.push(
    [`${prefix}-Profile-Created-Time`, String(t.profileCreated)],
    [`${prefix}-Channel-Created-Time`, String(t.created)],
    [`${prefix}-Channel-Answered-Time`, String(t.answered)],
    [`${prefix}-Channel-Progress-Time`, String(t.progress)],
    [`${prefix}-Channel-Progress-Media-Time`, String(t.progressMedia)],
    [`${prefix}-Channel-Hangup-Time`, String(t.hangup)],
    [`${prefix}-Channel-Transfer-Time`, '0'],
    [`${prefix}-Channel-Resurrect-Time`, '0'],
    [`${prefix}-Channel-Bridged-Time`, String(t.bridged)],
    [`${prefix}-Channel-Last-Hold`, '0'],
    [`${prefix}-Channel-Hold-Accum`, '0'],
    [`${prefix}-Screen-Bit`, 'true'],
    [`${prefix}-Privacy-Hide-Name`, 'false'],
    [`${prefix}-Privacy-Hide-Number`, 'false'],
  );
  return out;
}

export interface ChannelEventOptions {
  /** Headers placed right after the standard headers (Bridge-A-Unique-ID, Original-Channel-Call-State...). */
  readonly lead?: readonly Header[];
  /** Headers appended after the channel data and before variables (Application, ...). */
  readonly extra?: readonly Header[];
  /** Headers appended after the variables (DTMF-Digit, ...). */
  readonly tail?: readonly Header[];
  /** CHANNEL_OUTGOING of a verto leg: no name yet, no profile. */
  readonly bare?: boolean;
}

/** switch_channel_event_set_data: basic channel data, caller profile, other leg, variables. */
export function channelEvent(id: SwitchIdentity, name: string, site: CallSite, sequence: number, nowUs: number, ch: Channel, opts: ChannelEventOptions = {}): FsEvent {
  const headers: Header[] = standardHeaders(id, name, site, sequence, nowUs);
  const hangupFirst = name === 'CHANNEL_HANGUP_COMPLETE' && ch.hangupCause !== undefined;
  if (hangupFirst && ch.hangupCause !== undefined) headers.push(['Hangup-Cause', ch.hangupCause]);
  headers.push(...(opts.lead ?? []));
  headers.push(
    ['Channel-State', ch.state],
    ['Channel-Call-State', ch.callState],
    ['Channel-State-Number', String(ch.stateNumber)],
    ['Channel-Name', opts.bare === true ? 'N/A' : ch.name],
    ['Unique-ID', ch.uuid],
    ['Call-Direction', opts.bare === true ? 'outbound' : ch.direction],
    ['Presence-Call-Direction', opts.bare === true ? 'outbound' : ch.direction],
    ['Channel-HIT-Dialplan', String(ch.hitDialplan)],
  );
  if (ch.presenceId !== undefined && opts.bare !== true) headers.push(['Channel-Presence-ID', ch.presenceId]);
  headers.push(['Channel-Call-UUID', ch.callUuid], ['Answer-State', ch.answerState]);
  if (!hangupFirst && ch.hangupCause !== undefined) headers.push(['Hangup-Cause', ch.hangupCause]);
  if (opts.bare === true) return { headers };
  if (ch.codec !== undefined) {
    headers.push(
      ['Channel-Read-Codec-Name', ch.codec.name], ['Channel-Read-Codec-Rate', String(ch.codec.rate)],
      ['Channel-Read-Codec-Bit-Rate', String(ch.codec.bitRate)],
      ['Channel-Write-Codec-Name', ch.codec.name], ['Channel-Write-Codec-Rate', String(ch.codec.rate)],
      ['Channel-Write-Codec-Bit-Rate', String(ch.codec.bitRate)],
    );
  }
  headers.push(...profileHeaders(ch, 'Caller', true));
  if (ch.other !== undefined) {
    headers.push(['Other-Type', ch.other.type], ...profileHeaders(ch.other.channel, 'Other-Leg', false));
  }
  headers.push(...(opts.extra ?? []));
  if (WITH_VARIABLES.has(name)) {
    for (const [k, v] of ch.variables) headers.push([`variable_${k}`, v]);
  }
  headers.push(...(opts.tail ?? []));
  return { headers };
}

/** Leading headers of CHANNEL_CALLSTATE. */
export function callStateLead(previous: CallState, current: CallState): Header[] {
  return [['Original-Channel-Call-State', previous], ['Channel-Call-State-Number', String(CALL_STATE_NUMBERS[current])]];
}

export function stateNumber(state: keyof typeof STATE_NUMBERS): number {
  return STATE_NUMBERS[state];
}

/** A non-channel event: standard headers then the given ones (API, BACKGROUND_JOB, HEARTBEAT, RELOADXML...). */
export function plainEvent(id: SwitchIdentity, name: string, site: CallSite, sequence: number, nowUs: number, rest: readonly Header[], body?: string): FsEvent {
  const headers = [...standardHeaders(id, name, site, sequence, nowUs), ...rest];
  return body === undefined ? { headers } : { headers, body };
}

/** A CUSTOM event: Event-Subclass comes before Event-Name (real capture observation 4). */
export function customEvent(id: SwitchIdentity, subclass: string, site: CallSite, sequence: number, nowUs: number, rest: readonly Header[]): FsEvent {
  return { headers: [['Event-Subclass', subclass], ...standardHeaders(id, 'CUSTOM', site, sequence, nowUs), ...rest] };
}
