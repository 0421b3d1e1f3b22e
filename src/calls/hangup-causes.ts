// How a call ended, in one place: the FreeSWITCH cause (from ESL
// CHANNEL_HANGUP_COMPLETE, the source of truth) -> the Matrix hangup reason
// and the notice a user reads. The real captures (verto-14..21) show why
// verto.bye is not enough: a 480 or a ring timeout reaches the Verto leg as
// NORMAL_CLEARING, while the leg's last_bridge_hangup_cause /
// originate_disposition / last_bridge_proto_specific_hangup_cause keep the
// trunk's answer.

/** The spec's m.call.hangup reasons (1.7+). */
export type MatrixHangupReason =
  | 'user_hangup'
  | 'user_busy'
  | 'invite_timeout'
  | 'ice_failed'
  | 'ice_timeout'
  | 'user_media_failed'
  | 'unknown_error';

export interface CallOutcome {
  /** The FreeSWITCH cause name that decided it (e.g. USER_BUSY). */
  readonly cause: string;
  /** SIP status from the trunk when one was received (e.g. 486). */
  readonly sipStatus: number | undefined;
  readonly reason: MatrixHangupReason;
  /** Words for the room, when the Matrix reason alone says too little. */
  readonly notice: string | undefined;
}

interface Row {
  readonly reason: MatrixHangupReason;
  readonly notice: string | undefined;
}

/** Cause name -> Matrix reason and notice. Anything not here is unknown_error with a generic notice. */
export const CAUSE_TABLE: Readonly<Record<string, Row>> = {
  NORMAL_CLEARING: { reason: 'user_hangup', notice: undefined },
  USER_BUSY: { reason: 'user_busy', notice: 'The number you called is busy.' },
  NO_USER_RESPONSE: { reason: 'invite_timeout', notice: 'Nobody answered: the number is temporarily unavailable.' },
  NO_ANSWER: { reason: 'invite_timeout', notice: 'Nobody answered.' },
  SUBSCRIBER_ABSENT: { reason: 'invite_timeout', notice: 'The person you called is not reachable.' },
  RECOVERY_ON_TIMER_EXPIRE: { reason: 'invite_timeout', notice: 'The phone network did not answer in time.' },
  PROGRESS_TIMEOUT: { reason: 'invite_timeout', notice: 'The phone network did not answer in time.' },
  UNALLOCATED_NUMBER: { reason: 'unknown_error', notice: 'The number you called does not exist.' },
  NO_ROUTE_DESTINATION: { reason: 'unknown_error', notice: 'The number you called cannot be reached.' },
  INVALID_NUMBER_FORMAT: { reason: 'unknown_error', notice: 'The number you called is not complete or not valid.' },
  NUMBER_CHANGED: { reason: 'unknown_error', notice: 'The number you called has changed.' },
  CALL_REJECTED: { reason: 'user_hangup', notice: 'The call was declined.' },
  OUTGOING_CALL_BARRED: { reason: 'unknown_error', notice: 'The phone network refused this call.' },
  DECLINE: { reason: 'user_hangup', notice: 'The call was declined.' },
  NORMAL_TEMPORARY_FAILURE: { reason: 'unknown_error', notice: 'The phone network is unavailable right now; please try again later.' },
  SWITCH_CONGESTION: { reason: 'unknown_error', notice: 'The phone network is busy right now; please try again later.' },
  NORMAL_CIRCUIT_CONGESTION: { reason: 'unknown_error', notice: 'The phone network is busy right now; please try again later.' },
  NETWORK_OUT_OF_ORDER: { reason: 'unknown_error', notice: 'The phone network is unavailable right now; please try again later.' },
  DESTINATION_OUT_OF_ORDER: { reason: 'unknown_error', notice: 'The number you called is out of order.' },
  GATEWAY_DOWN: { reason: 'unknown_error', notice: 'The phone line is down; please tell the operator.' },
  INVALID_GATEWAY: { reason: 'unknown_error', notice: 'The phone line is not configured; please tell the operator.' },
  SERVICE_UNAVAILABLE: { reason: 'unknown_error', notice: 'The phone network is unavailable right now; please try again later.' },
  INCOMPATIBLE_DESTINATION: { reason: 'user_media_failed', notice: 'The far end does not support any audio format offered.' },
  BEARERCAPABILITY_NOTAVAIL: { reason: 'user_media_failed', notice: 'No common audio format with the far end.' },
  MEDIA_TIMEOUT: { reason: 'ice_timeout', notice: 'The call was cut off: no audio arrived for too long.' },
  ORIGINATOR_CANCEL: { reason: 'user_hangup', notice: undefined },
  UNWANTED: { reason: 'user_hangup', notice: 'The call was refused as unwanted.' },
};

const GENERIC: Row = { reason: 'unknown_error', notice: 'The call failed.' };

/** The variables of a CHANNEL_HANGUP_COMPLETE that decide the outcome. */
export interface HangupFacts {
  readonly hangupCause: string | undefined;
  readonly answered: boolean;
  readonly lastBridgeHangupCause?: string | undefined;
  readonly originateDisposition?: string | undefined;
  /** e.g. "sip:480" */
  readonly lastBridgeProtoSpecificCause?: string | undefined;
  readonly sipTermStatus?: string | undefined;
  /** mod_verto's verto_hangup_disposition: send_bye / recv_bye; absent when the Verto socket was gone. */
  readonly vertoHangupDisposition?: string | undefined;
}

/**
 * The Verto leg was hung up by mod_verto because its socket closed
 * (detach_calls, recoverCall false): NORMAL_CLEARING, no
 * verto_hangup_disposition (verto_on_hangup found no socket), and no
 * last_bridge_hangup_cause (the leg hung up first, before its trunk leg;
 * real capture ctl-08). A far-end BYE carries send_bye and the bridge's
 * cause (verto-05); the edge's own verto.bye carries recv_bye. ESL can
 * report this before the edge notices its socket closed.
 */
export function lostWithVertoSocket(facts: Omit<HangupFacts, 'answered'>): boolean {
  return facts.hangupCause === 'NORMAL_CLEARING' && facts.vertoHangupDisposition === undefined && facts.lastBridgeHangupCause === undefined;
}

/**
 * The same for a call not answered yet: detach_calls hangs an unanswered
 * Verto leg up with DESTINATION_OUT_OF_ORDER when its socket closes, and no
 * verto_hangup_disposition (verto_on_hangup found no socket).
 */
export function lostWithVertoSocketRinging(facts: Omit<HangupFacts, 'answered'>): boolean {
  return facts.hangupCause === 'DESTINATION_OUT_OF_ORDER' && facts.vertoHangupDisposition === undefined;
}

function sipStatusOf(facts: HangupFacts): number | undefined {
  const m = /^sip:(\d{3})$/.exec(facts.lastBridgeProtoSpecificCause ?? '');
  if (m) return Number(m[1]);
  const t = /^(\d{3})$/.exec(facts.sipTermStatus ?? '');
  return t ? Number(t[1]) : undefined;
}

const NOT_A_CAUSE = new Set(['SUCCESS', 'failure', 'NONE', '']);

/**
 * Decide the outcome. An answered call that ends normally is a hangup; an
 * unanswered one takes the trunk's cause (last bridge, then originate
 * disposition) over the Verto leg's own, which says NORMAL_CLEARING for a
 * 480 or a ring timeout.
 */
export function outcomeOf(facts: HangupFacts): CallOutcome {
  let cause = facts.hangupCause ?? 'NORMAL_CLEARING';
  if (facts.answered) {
    // An answered call ended by the trunk leg: the Verto leg says NORMAL_CLEARING,
    // the bridge's cause says why (e.g. MEDIA_TIMEOUT).
    const bridge = facts.lastBridgeHangupCause;
    if (cause === 'NORMAL_CLEARING' && bridge !== undefined && !NOT_A_CAUSE.has(bridge)) cause = bridge;
  } else {
    for (const candidate of [facts.lastBridgeHangupCause, facts.originateDisposition]) {
      if (candidate !== undefined && !NOT_A_CAUSE.has(candidate) && candidate !== 'NORMAL_CLEARING') {
        cause = candidate;
        break;
      }
    }
  }
  // Own keys only: a peer's cause "__proto__" or "constructor" is no row.
  const row = (Object.hasOwn(CAUSE_TABLE, cause) ? CAUSE_TABLE[cause] : undefined) ?? GENERIC;
  const sipStatus = facts.answered ? undefined : sipStatusOf(facts);
  // An unanswered call that "cleared normally" never reached anyone.
  if (!facts.answered && cause === 'NORMAL_CLEARING') {
    return { cause, sipStatus, reason: 'unknown_error', notice: 'The call ended before it was answered.' };
  }
  return { cause, sipStatus, reason: row.reason, notice: row.notice };
}
