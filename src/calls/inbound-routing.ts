import type { EdgeConfig } from '../config/load.ts';
import type { InboundCallInfo } from './inbound-call.ts';

/** One DID -> room route, compiled from `inbound.routes`. */
export interface InboundRoute {
  readonly matches: (e164: string) => boolean;
  /** A room that rings, or a user rung in the edge's DM with them. */
  readonly target: { readonly room: string } | { readonly user: string };
  readonly invitee: string | undefined;
  readonly dtmfNotices: boolean;
}

export function compileInboundRoutes(routes: EdgeConfig['inbound']['routes']): InboundRoute[] {
  return routes.map((r) => {
    const re = r.did.startsWith('/') ? new RegExp(r.did.slice(1, -1)) : undefined;
    return {
      matches: re ? (n: string) => re.test(n) : (n: string) => n === r.did,
      target: r.room !== undefined ? { room: r.room } : { user: r.user ?? '' },
      invitee: r.invitee ?? r.user,
      dtmfNotices: r.dtmf_notices,
    };
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DIGITS = /^\+?[0-9]{2,15}$/;
/** What the shipped public dialplan lets through for a caller's name. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._()+-]{0,63}$/;

export type InboundParse =
  | { readonly ok: true; readonly info: Omit<InboundCallInfo, 'roomId'>; readonly target: InboundRoute['target'] }
  | { readonly ok: false; readonly callId: string | undefined; readonly reason: string; readonly refusal: string; readonly cause: string };

function str(params: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const v = params[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A server `verto.invite` (FreeSWITCH bridging a trunk call to the edge's
 * Verto user), validated: the callID is a UUID, the DID comes from the
 * dialplan's checked `verto_h_mse_did`, the caller from the checked
 * `verto_h_mse_caller_*` (else caller_id_*, checked the same way).
 */
export function inboundFromInvite(params: Readonly<Record<string, unknown>>, routes: readonly InboundRoute[]): InboundParse {
  const callId = str(params, 'callID');
  if (callId === undefined || !UUID.test(callId)) {
    return { ok: false, callId: undefined, reason: 'verto.invite without a valid callID', refusal: 'invalid_inbound', cause: 'CALL_REJECTED' };
  }
  const sdp = str(params, 'sdp');
  if (sdp === undefined || !sdp.startsWith('v=0') || !/^m=audio /m.test(sdp)) {
    return { ok: false, callId, reason: 'verto.invite without an audio SDP', refusal: 'invalid_inbound', cause: 'INCOMPATIBLE_DESTINATION' };
  }
  const didRaw = str(params, 'verto_h_mse_did');
  if (didRaw === undefined || !DIGITS.test(didRaw)) {
    return { ok: false, callId, reason: 'verto.invite without a checked DID (verto_h_mse_did)', refusal: 'unknown_did', cause: 'UNALLOCATED_NUMBER' };
  }
  const did = didRaw.startsWith('+') ? didRaw : `+${didRaw}`;
  const route = routes.find((r) => r.matches(did));
  if (route === undefined) {
    return { ok: false, callId, reason: `no inbound route for ${did}`, refusal: 'unknown_did', cause: 'UNALLOCATED_NUMBER' };
  }
  const numberRaw = str(params, 'verto_h_mse_caller_number') ?? str(params, 'caller_id_number');
  const callerNumber = numberRaw !== undefined && DIGITS.test(numberRaw) ? numberRaw : 'anonymous';
  const nameRaw = str(params, 'verto_h_mse_caller_name') ?? str(params, 'caller_id_name');
  const callerName = nameRaw !== undefined && NAME.test(nameRaw) ? nameRaw : undefined;
  return {
    ok: true,
    target: route.target,
    info: { uuid: callId, did, callerNumber, callerName, offerSdp: sdp, invitee: route.invitee, dtmfNotices: route.dtmfNotices },
  };
}
