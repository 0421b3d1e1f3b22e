// Hangup causes: names <-> numbers (switch_call_cause_t / CAUSE_CHART) and the
// SIP mappings of mod_sofia. Facts: shared/protocols/esl.md §6.

const CAUSES: ReadonlyArray<readonly [string, number]> = [
  ['NONE', 0], ['UNALLOCATED_NUMBER', 1], ['NO_ROUTE_TRANSIT_NET', 2], ['NO_ROUTE_DESTINATION', 3],
  ['CHANNEL_UNACCEPTABLE', 6], ['CALL_AWARDED_DELIVERED', 7], ['NORMAL_CLEARING', 16], ['USER_BUSY', 17],
  ['NO_USER_RESPONSE', 18], ['NO_ANSWER', 19], ['SUBSCRIBER_ABSENT', 20], ['CALL_REJECTED', 21],
  ['NUMBER_CHANGED', 22], ['REDIRECTION_TO_NEW_DESTINATION', 23], ['EXCHANGE_ROUTING_ERROR', 25],
  ['DESTINATION_OUT_OF_ORDER', 27], ['INVALID_NUMBER_FORMAT', 28], ['FACILITY_REJECTED', 29],
  ['RESPONSE_TO_STATUS_ENQUIRY', 30], ['NORMAL_UNSPECIFIED', 31], ['NORMAL_CIRCUIT_CONGESTION', 34],
  ['NETWORK_OUT_OF_ORDER', 38], ['NORMAL_TEMPORARY_FAILURE', 41], ['SWITCH_CONGESTION', 42],
  ['ACCESS_INFO_DISCARDED', 43], ['REQUESTED_CHAN_UNAVAIL', 44], ['PRE_EMPTED', 45],
  ['FACILITY_NOT_SUBSCRIBED', 50], ['OUTGOING_CALL_BARRED', 52], ['INCOMING_CALL_BARRED', 54],
  ['BEARERCAPABILITY_NOTAUTH', 57], ['BEARERCAPABILITY_NOTAVAIL', 58], ['SERVICE_UNAVAILABLE', 63],
  ['BEARERCAPABILITY_NOTIMPL', 65], ['CHAN_NOT_IMPLEMENTED', 66], ['FACILITY_NOT_IMPLEMENTED', 69],
  ['SERVICE_NOT_IMPLEMENTED', 79], ['INVALID_CALL_REFERENCE', 81], ['INCOMPATIBLE_DESTINATION', 88],
  ['INVALID_MSG_UNSPECIFIED', 95], ['MANDATORY_IE_MISSING', 96], ['MESSAGE_TYPE_NONEXIST', 97],
  ['WRONG_MESSAGE', 98], ['IE_NONEXIST', 99], ['INVALID_IE_CONTENTS', 100], ['WRONG_CALL_STATE', 101],
  ['RECOVERY_ON_TIMER_EXPIRE', 102], ['MANDATORY_IE_LENGTH_ERROR', 103], ['PROTOCOL_ERROR', 111],
  ['INTERWORKING', 127], ['SUCCESS', 142], ['ORIGINATOR_CANCEL', 487], ['CRASH', 700],
  ['SYSTEM_SHUTDOWN', 701], ['LOSE_RACE', 702], ['MANAGER_REQUEST', 703], ['BLIND_TRANSFER', 800],
  ['ATTENDED_TRANSFER', 801], ['ALLOTTED_TIMEOUT', 802], ['USER_CHALLENGE', 803], ['MEDIA_TIMEOUT', 804],
  ['PICKED_OFF', 805], ['USER_NOT_REGISTERED', 806], ['PROGRESS_TIMEOUT', 807], ['INVALID_GATEWAY', 808],
  ['GATEWAY_DOWN', 809], ['INVALID_URL', 810], ['INVALID_PROFILE', 811], ['NO_PICKUP', 812],
  ['SRTP_READ_ERROR', 813], ['BOWOUT', 814], ['BUSY_EVERYWHERE', 815], ['DECLINE', 816],
  ['DOES_NOT_EXIST_ANYWHERE', 817], ['NOT_ACCEPTABLE', 818], ['UNWANTED', 819], ['NO_IDENTITY', 820],
  ['BAD_IDENTITY_INFO', 821], ['UNSUPPORTED_CERTIFICATE', 822], ['INVALID_IDENTITY', 823],
  ['STALE_DATE', 824], ['REJECT_ALL', 825],
];

const BY_NAME = new Map<string, number>(CAUSES);
const BY_CODE = new Map<number, string>(CAUSES.map(([n, c]) => [c, n]));

export function causeCode(name: string): number | undefined {
  return BY_NAME.get(name.toUpperCase());
}

export function causeName(code: number): string | undefined {
  return BY_CODE.get(code);
}

/**
 * switch_channel_str2cause as uuid_kill uses it: a name (case-insensitive) or
 * a number; anything unknown becomes NORMAL_CLEARING.
 */
export function parseCause(text: string | undefined): string {
  if (text === undefined || text === '') return 'NORMAL_CLEARING';
  if (/^\d+$/.test(text)) return causeName(Number(text)) ?? 'NORMAL_CLEARING';
  const upper = text.toUpperCase();
  return BY_NAME.has(upper) ? upper : 'NORMAL_CLEARING';
}

/** Q.850 value FreeSWITCH reports in hangup_cause_q850 (ORIGINATOR_CANCEL and other >= 487 report 16 or their own). */
export function q850Of(cause: string): number {
  const code = causeCode(cause) ?? 16;
  if (code === 487) return 16;
  return code;
}

/** mod_sofia sofia_glue_sip_cause_to_freeswitch (esl.md §6.2). */
export function sipStatusToCause(status: number): string {
  switch (status) {
    case 200: return 'NORMAL_CLEARING';
    case 401: case 402: case 403: case 407: case 603: case 608: return 'CALL_REJECTED';
    case 404: return 'UNALLOCATED_NUMBER';
    case 405: return 'SERVICE_UNAVAILABLE';
    case 406: case 415: case 501: return 'SERVICE_NOT_IMPLEMENTED';
    case 408: case 504: return 'RECOVERY_ON_TIMER_EXPIRE';
    case 410: return 'NUMBER_CHANGED';
    case 413: case 414: case 416: case 420: case 421: case 423: case 505: case 513: return 'INTERWORKING';
    case 428: return 'NO_IDENTITY';
    case 429: return 'BAD_IDENTITY_INFO';
    case 437: return 'UNSUPPORTED_CERTIFICATE';
    case 438: return 'INVALID_IDENTITY';
    case 480: return 'NO_USER_RESPONSE';
    case 400: case 481: case 500: case 503: return 'NORMAL_TEMPORARY_FAILURE';
    case 482: case 483: return 'EXCHANGE_ROUTING_ERROR';
    case 484: return 'INVALID_NUMBER_FORMAT';
    case 485: case 604: return 'NO_ROUTE_DESTINATION';
    case 486: case 600: return 'USER_BUSY';
    case 487: return 'ORIGINATOR_CANCEL';
    case 488: case 606: return 'INCOMPATIBLE_DESTINATION';
    case 502: return 'NETWORK_OUT_OF_ORDER';
    case 607: return 'UNWANTED';
    default: return 'NORMAL_UNSPECIFIED';
  }
}

/** mod_sofia hangup_cause_to_sip (esl.md §6.3): the SIP status FreeSWITCH sends when it ends a SIP leg with this cause. */
export function causeToSipStatus(cause: string): number {
  switch (cause) {
    case 'UNALLOCATED_NUMBER': case 'NO_ROUTE_TRANSIT_NET': case 'NO_ROUTE_DESTINATION': return 404;
    case 'USER_BUSY': return 486;
    case 'NO_USER_RESPONSE': return 408;
    case 'NO_ANSWER': case 'SUBSCRIBER_ABSENT': return 480;
    case 'CALL_REJECTED': return 603;
    case 'NUMBER_CHANGED': case 'REDIRECTION_TO_NEW_DESTINATION': return 410;
    case 'DESTINATION_OUT_OF_ORDER': case 'INVALID_PROFILE': return 502;
    case 'INVALID_NUMBER_FORMAT': case 'INVALID_URL': case 'INVALID_GATEWAY': return 484;
    case 'FACILITY_REJECTED': return 501;
    case 'NORMAL_UNSPECIFIED': return 480;
    case 'REQUESTED_CHAN_UNAVAIL': case 'NORMAL_CIRCUIT_CONGESTION': case 'NETWORK_OUT_OF_ORDER':
    case 'NORMAL_TEMPORARY_FAILURE': case 'SWITCH_CONGESTION': case 'GATEWAY_DOWN': return 503;
    case 'OUTGOING_CALL_BARRED': case 'INCOMING_CALL_BARRED': case 'BEARERCAPABILITY_NOTAUTH': return 403;
    case 'BEARERCAPABILITY_NOTAVAIL': return 503;
    case 'BEARERCAPABILITY_NOTIMPL': case 'INCOMPATIBLE_DESTINATION': return 488;
    case 'FACILITY_NOT_IMPLEMENTED': case 'SERVICE_NOT_IMPLEMENTED': return 501;
    case 'RECOVERY_ON_TIMER_EXPIRE': return 504;
    case 'ORIGINATOR_CANCEL': return 487;
    case 'EXCHANGE_ROUTING_ERROR': return 483;
    case 'BUSY_EVERYWHERE': return 600;
    case 'DECLINE': case 'REJECT_ALL': return 603;
    case 'DOES_NOT_EXIST_ANYWHERE': return 604;
    case 'NOT_ACCEPTABLE': return 606;
    case 'UNWANTED': return 607;
    case 'NO_IDENTITY': return 428;
    case 'BAD_IDENTITY_INFO': return 429;
    case 'UNSUPPORTED_CERTIFICATE': return 437;
    case 'INVALID_IDENTITY': return 438;
    case 'STALE_DATE': return 403;
    default: return 480;
  }
}

/** DIALSTATUS as the bridge app sets it (real captures 14-21). */
export function dialStatusOf(cause: string): string {
  switch (cause) {
    case 'USER_BUSY': return 'BUSY';
    case 'CALL_REJECTED': return 'DONTCALL';
    case 'NO_ANSWER': return 'NOANSWER';
    case 'ORIGINATOR_CANCEL': return 'CANCEL';
    case 'SUCCESS': case 'NORMAL_CLEARING': return 'SUCCESS';
    default: return cause;
  }
}
