// One simulated FreeSWITCH channel: identity, state, caller profile, variables.
// Pure data plus small mutators; events are built in channel-events.ts and
// the lifecycle is driven by channel-model.ts.

import type { LegOwner } from './channel-model.ts';

export const STATE_NUMBERS = {
  CS_NEW: 0, CS_INIT: 1, CS_ROUTING: 2, CS_SOFT_EXECUTE: 3, CS_EXECUTE: 4, CS_EXCHANGE_MEDIA: 5, CS_PARK: 6,
  CS_CONSUME_MEDIA: 7, CS_HIBERNATE: 8, CS_RESET: 9, CS_HANGUP: 10, CS_REPORTING: 11, CS_DESTROY: 12, CS_NONE: 13,
} as const;
export type ChannelState = keyof typeof STATE_NUMBERS;

export type CallState = 'DOWN' | 'DIALING' | 'RINGING' | 'EARLY' | 'ACTIVE' | 'HELD' | 'RING_WAIT' | 'HANGUP' | 'UNHELD';
export const CALL_STATE_NUMBERS: Readonly<Record<CallState, number>> = {
  DOWN: 0, DIALING: 1, RINGING: 2, EARLY: 3, ACTIVE: 4, HELD: 5, RING_WAIT: 6, HANGUP: 7, UNHELD: 8,
};
export type AnswerState = 'ringing' | 'early' | 'answered' | 'hangup';
export type Direction = 'inbound' | 'outbound';
export type ChannelKind = 'verto' | 'sofia' | 'loopback';

/** The caller profile (switch_caller_profile_t) fields that events show. Empty strings are omitted from events. */
export interface CallerProfile {
  direction: Direction;
  logicalDirection: Direction;
  username: string;
  dialplan: string;
  callerIdName: string;
  callerIdNumber: string;
  origCallerIdName: string;
  origCallerIdNumber: string;
  calleeIdName: string;
  calleeIdNumber: string;
  networkAddr: string;
  ani: string;
  destinationNumber: string;
  source: string;
  context: string;
  channelName: string;
  /** Set by `transfer`: `<epoch>:<uuid>:bl_xfer:<dest>/<context>/XML`. */
  transferSource?: string | undefined;
  /** The destination before a transfer; inherited by legs the channel originates (real verto-13). */
  rdnis?: string | undefined;
}

/** Microsecond timestamps (0 = not happened). */
export interface ChannelTimes {
  created: number;
  profileCreated: number;
  answered: number;
  progress: number;
  progressMedia: number;
  hangup: number;
  bridged: number;
}

export interface Codec {
  readonly name: string;
  readonly rate: number;
  readonly bitRate: number;
}

export class Channel {
  readonly uuid: string;
  readonly kind: ChannelKind;
  readonly direction: Direction;
  name: string;
  state: ChannelState = 'CS_NEW';
  /** Channel-State-Number: the state being entered (may run ahead of `state`). */
  stateNumber = 0;
  callState: CallState = 'DOWN';
  answerState: AnswerState = 'ringing';
  hitDialplan = false;
  presenceId: string | undefined;
  hangupCause: string | undefined;
  codec: Codec | undefined;
  readonly profile: CallerProfile;
  readonly times: ChannelTimes;
  /** Profile of the partner leg and its role as seen from this channel. */
  other: { readonly type: 'originator' | 'originatee'; readonly channel: Channel } | undefined;
  /** Bridged partner uuid, while bridged. */
  bridgedTo: string | undefined;
  readonly variables = new Map<string, string>();
  application: string | undefined;
  applicationData: string | undefined;
  /** Verto side: the session that owns the call and the callID (equal to uuid for client-created calls). */
  sessid: string | undefined;
  held = false;
  /** CF_NO_RECOVER (mod_verto: the client's verto.invite had dialogParams.recoverCall false). */
  noRecover = false;
  /** mod_verto detached the call from its gone socket (tech_pvt->detach_time set); stays true through its hangup. */
  detached = false;
  /** Counts detaches, so a detach timer only ends the detach it was armed for. */
  detachCount = 0;
  /** mod_verto's verto_on_hangup ran for this leg (verto.bye sent or not, verto_hangup_disposition decided). */
  vertoHangupDone = false;
  /** True once CHANNEL_HANGUP fired (no second hangup). */
  hungUp = false;
  destroyed = false;
  readonly timers = new Set<NodeJS.Timeout>();
  /** The bridge app or originate waiting on this outbound leg. */
  owner: LegOwner | undefined;
  /** The outbound leg this channel's bridge app is dialing or bridged to. */
  bLeg: Channel | undefined;
  /** Completes the running application when the channel hangs up. */
  onHangupDuringApp: (() => void) | undefined;
  /** Called once the channel is destroyed, with its cause. */
  onDestroyed: ((cause: string) => void) | undefined;
  /**
   * Bumped when something takes the channel out of its dialplan (uuid_bridge
   * sets CF_REDIRECT and a new state): the running dialplan stops at its next
   * action.
   */
  appGeneration = 0;
  /** Verto leg: the client's offer has ICE (a=ice-ufrag) but not one a=candidate (no suitable candidates found). */
  noIceCandidates = false;
  /** Verto leg: DTLS-SRTP is up (switch_core_media_check_dtls passes); undefined = not started. */
  dtls: 'pending' | 'up' | undefined;
  /** Called once DTLS is up (CHANNEL_ANSWER waits for it). */
  readonly dtlsWaiters: (() => void)[] = [];
  /** A `mark_answered` is waiting for DTLS (CHANNEL_ANSWER not fired yet). */
  answerPending = false;
  /** Hold music this leg plays because its bridged partner put the call on hold (switch_ivr_broadcast, SMF_LOOP). */
  hearsHoldMusic: string | undefined;
  /** The far end (SIP re-INVITE a=sendonly / inactive) holds this trunk leg (CF_PROTO_HOLD). */
  farEndHeld = false;

  constructor(init: { uuid: string; kind: ChannelKind; direction: Direction; name: string; profile: CallerProfile; nowUs: number }) {
    this.uuid = init.uuid;
    this.kind = init.kind;
    this.direction = init.direction;
    this.name = init.name;
    this.profile = init.profile;
    this.times = { created: init.nowUs, profileCreated: init.nowUs, answered: 0, progress: 0, progressMedia: 0, hangup: 0, bridged: 0 };
  }

  get answered(): boolean {
    return this.times.answered !== 0;
  }

  get callUuid(): string {
    return this.variables.get('call_uuid') ?? this.uuid;
  }

  /** Sets (moves to the end, as switch_channel_set_variable does for a new name) or deletes on empty. */
  setVar(name: string, value: string | undefined): void {
    if (value === undefined || value === '') {
      this.variables.delete(name);
      return;
    }
    if (this.variables.has(name)) this.variables.set(name, value);
    else this.variables.set(name, value);
  }

  getVar(name: string): string | undefined {
    return this.variables.get(name);
  }

  clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
