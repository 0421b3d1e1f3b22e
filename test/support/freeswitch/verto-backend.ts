// The VertoBackend side of the channel model: Verto sessions, calls from a
// Verto client (verto.invite -> dialplan), calls toward a Verto client
// (bridge/originate to a logged-in user), detach on socket loss, and calls
// from the SIP trunk into the public context.
import { exportedValues } from './dialplan-apps.ts';
import { randomUUID } from 'node:crypto';
import type { VertoCallResult, VertoCallSink, VertoInviteRequest } from './contract.ts';
import type { Channel, CallerProfile } from './channel.ts';
import { SITES } from './channel-events.ts';
import { causeCode } from './causes.ts';
import type { FreeSwitchModel, InboundCallHandle, InboundCallRequest, LegOwner } from './channel-model.ts';

export interface VertoSession {
  readonly sessid: string;
  readonly user: string;
  readonly jsockUuid: string;
  sink: VertoCallSink | undefined;
}

const mediaSent = new WeakSet<Channel>();
const offered = new WeakMap<Channel, string>();

/** A `verto.invite` FreeSWITCH sent to a logged-in Verto client (a call toward the client). */
export interface SentInvite {
  readonly sessid: string;
  readonly user: string;
  /** The callID: the uuid of the outbound verto leg. */
  readonly callId: string;
  /** The A leg the call came from (the trunk leg for an inbound call), when there is one. */
  readonly originator: string | undefined;
  /** When it was sent (Date.now(), ms). */
  readonly at: number;
}

const sentInvites = new WeakMap<FreeSwitchModel, SentInvite[]>();

/** Every `verto.invite` the model sent to a Verto client's socket, in order. */
export function vertoInvitesSent(model: FreeSwitchModel): readonly SentInvite[] {
  return sentInvites.get(model) ?? [];
}

function sessionOf(model: FreeSwitchModel, ch: Channel): VertoSession | undefined {
  return ch.sessid === undefined ? undefined : model.sessions.get(ch.sessid);
}

function callOf(model: FreeSwitchModel, sessid: string, callId: string): Channel | undefined {
  const ch = model.channel(callId);
  return ch !== undefined && ch.kind === 'verto' && ch.sessid === sessid && !ch.hungUp ? ch : undefined;
}

/**
 * A socket logged in with `sessid` (mod_verto.c attach_jsock, then
 * attach_calls on the socket's first loop after authentication): every call
 * of this sessid that is still detached gets a `verto.attach` with a fresh
 * FreeSWITCH offer (tech_reattach: detach_time cleared, new local SDP) and is
 * no longer subject to the detach timeout; their uuids go into
 * verto.clientReady. A call is never re-attached to another sessid.
 */
export function attachSession(model: FreeSwitchModel, sessid: string, user: string, sink: VertoCallSink): readonly string[] {
  const existing = model.sessions.get(sessid);
  const session: VertoSession = { sessid, user, jsockUuid: existing?.jsockUuid ?? sessid, sink };
  model.sessions.set(sessid, session);
  const reattached: string[] = [];
  for (const ch of model.channels()) {
    if (ch.kind === 'verto' && ch.sessid === sessid && ch.detached && !ch.hungUp) {
      ch.detached = false;
      const remote = ch.other?.channel;
      // set_call_params: caller/callee ids, display_direction, then every verto_h_* variable
      const headers = Object.fromEntries([...ch.variables].filter(([k]) => k.toLowerCase().startsWith('verto_h_')));
      sink.attach(ch.uuid, {
        variables: model.channelDataVariables(),
        sdp: model.reofferSdpFor(ch.getVar('switch_r_sdp') ?? ''),
        caller_id_name: ch.profile.callerIdName,
        caller_id_number: ch.profile.callerIdNumber,
        callee_id_name: remote?.profile.calleeIdName ?? ch.profile.calleeIdName,
        callee_id_number: remote?.profile.calleeIdNumber ?? ch.profile.calleeIdNumber,
        display_direction: ch.direction === 'inbound' ? 'inbound' : 'outbound',
        ...headers,
      });
      reattached.push(ch.uuid);
    }
  }
  return reattached;
}

/**
 * The socket of `sessid` is gone. mod_verto.c, client_thread() after
 * client_run(): detach_jsock() (the sessid no longer has a socket, so
 * verto_on_hangup finds none: no verto.bye, no verto_hangup_disposition),
 * then detach_calls() over the verto legs of the sessid, both directions
 * (verto__invite_func and verto_outgoing_channel legs alike: verto_on_init
 * tracks both):
 *  - not CF_ANSWERED (ringing, early media): hung up DESTINATION_OUT_OF_ORDER;
 *  - CF_NO_RECOVER (only ever set by verto__invite_func, for a client invite
 *    with dialogParams.recoverCall false; never on a call FreeSWITCH offered
 *    the client): hung up NORMAL_CLEARING;
 *  - otherwise media stopped and detach_time set: the leg and its bridge
 *    stay up (ESL shows nothing but the CUSTOM event below, real verto-07/08).
 * A hung-up leg ends its bridge as any hangup does: the SIP partner gets
 * NORMAL_CLEARING with last_bridge_hangup_cause set to the leg's cause
 * (switch_ivr_bridge.c audio_bridge_on_exchange_media; real verto-08).
 * Then CUSTOM verto::client_disconnect (verto_profile_name,
 * verto_client_address, verto_login). The punt of an older socket
 * (attach_jsock) runs the same detach_calls on it.
 *
 * drop_detached(), run about once a second by mod_verto_runtime, hangs up
 * a call detached for more than detach-timeout-sec with
 * RECOVERY_ON_TIMER_EXPIRE when no socket holds its sessid (real verto-08),
 * or BEARERCAPABILITY_NOTAUTH when the socket holding it has expired auth
 * (not modelled: the simulator has no auth expiry).
 */
export function detachSession(model: FreeSwitchModel, sessid: string, clientAddress?: string): void {
  const session = model.sessions.get(sessid);
  if (session === undefined) return;
  session.sink = undefined;
  for (const ch of model.channels()) {
    if (ch.kind !== 'verto' || ch.sessid !== sessid || ch.hungUp) continue;
    if (!ch.answered) model.hangupChannel(ch, 'DESTINATION_OUT_OF_ORDER');
    else if (ch.noRecover) model.hangupChannel(ch, 'NORMAL_CLEARING');
    else detachCall(model, ch);
  }
  model.fireCustom('verto::client_disconnect', [
    ['verto_profile_name', model.options.vertoProfile ?? 'default-v4'],
    ['verto_client_address', clientAddress ?? `${model.identity.ipv4}:0`],
    ['verto_login', session.user],
  ]);
}

/** detach_calls for one answered, recoverable leg: detach_time = now; drop_detached ends it after detach-timeout-sec. */
function detachCall(model: FreeSwitchModel, ch: Channel): void {
  ch.detached = true;
  const detach = ++ch.detachCount;
  model.schedule(model.options.detachTimeoutMs ?? 120_000, () => {
    if (!ch.detached || ch.hungUp || ch.detachCount !== detach) return;
    if (sessionOf(model, ch)?.sink !== undefined) return; // a socket holds the sessid (auth expiry not modelled)
    model.hangupChannel(ch, 'RECOVERY_ON_TIMER_EXPIRE');
  }, ch);
}

function vertoProfile(model: FreeSwitchModel, req: VertoInviteRequest, name: string): CallerProfile {
  const cidNum = req.callerIdNumber ?? req.user.split('@')[0] ?? '';
  return {
    direction: 'inbound', logicalDirection: 'inbound', username: req.user, dialplan: 'XML',
    callerIdName: req.callerIdName ?? cidNum, callerIdNumber: cidNum,
    origCallerIdName: req.callerIdName ?? cidNum, origCallerIdNumber: cidNum,
    calleeIdName: 'Outbound Call', calleeIdNumber: req.destinationNumber,
    networkAddr: model.identity.ipv4, ani: cidNum, destinationNumber: req.destinationNumber,
    source: 'mod_verto', context: req.socketVariables.user_context ?? 'default', channelName: name,
  };
}

/** Client `verto.invite`: the verto leg (uuid = callID) runs the dialplan in the user's context. */
export function invite(model: FreeSwitchModel, req: VertoInviteRequest): VertoCallResult {
  const session = model.sessions.get(req.sessid);
  if (session === undefined) return { ok: false, message: 'NOT LOGGED IN' };
  if (model.channel(req.callId) !== undefined) return { ok: false, message: 'CALL EXISTS' };
  const name = `verto.rtc/${req.destinationNumber === '' ? 'service' : req.destinationNumber}`;
  const ch = model.newChannel({ uuid: req.callId, kind: 'verto', direction: 'inbound', name, profile: vertoProfile(model, req, name) });
  ch.sessid = req.sessid;
  ch.state = 'CS_NONE';
  ch.stateNumber = 1;
  model.fire('CHANNEL_OUTGOING', ch, SITES.outgoing, { bare: true });
  ch.presenceId = req.user;
  ch.hitDialplan = true;
  ch.setVar('is_outbound', 'true');
  ch.setVar('uuid', ch.uuid);
  ch.setVar('call_uuid', ch.uuid);
  ch.setVar('session_id', model.nextSessionId());
  ch.setVar('direction', 'inbound');
  ch.setVar('channel_name', name);
  ch.setVar('secondary_recovery_module', 'mod_verto');
  for (const [k, v] of Object.entries(req.dialogVariables)) ch.setVar(`verto_dvar_${k}`, v);
  ch.setVar('jsock_uuid_str', session.jsockUuid);
  ch.setVar('verto_user', req.user);
  ch.setVar('presence_id', req.user);
  ch.setVar('chat_proto', 'verto');
  ch.setVar('verto_host', req.user.split('@')[1] ?? model.identity.ipv4);
  ch.setVar('verto_profile_name', model.options.vertoProfile ?? 'default-v4');
  for (const [k, v] of Object.entries(req.socketVariables)) ch.setVar(k, v);
  ch.setVar('verto_remote_caller_id_name', 'Outbound Call');
  ch.setVar('verto_remote_caller_id_number', req.destinationNumber);
  ch.setVar('switch_r_sdp', req.sdp);
  ch.noRecover = req.noRecover === true;
  // an ICE offer without a single candidate cannot be answered (see FreeSwitchModel.refuseVertoMedia)
  ch.noIceCandidates = /^a=ice-ufrag:/m.test(req.sdp) && !/^a=candidate:/m.test(req.sdp);
  offered.set(ch, req.sdp);
  model.setRunning(ch, 'CS_INIT');
  ch.stateNumber = 2;
  model.fire('CHANNEL_CREATE', ch, SITES.create);
  model.schedule(0, () => routeChannel(model, ch), ch);
  return { ok: true };
}

/** Routing: CALLSTATE RINGING, CS_ROUTING, dialplan lookup, CS_EXECUTE, actions. */
export function routeChannel(model: FreeSwitchModel, ch: Channel): void {
  if (ch.hungUp) return;
  ch.state = 'CS_ROUTING';
  if (ch.callState === 'DOWN') model.setCallState(ch, 'RINGING');
  model.setRunning(ch, 'CS_ROUTING');
  const vars: Record<string, string> = Object.fromEntries(ch.variables);
  vars.destination_number = ch.profile.destinationNumber;
  vars.caller_id_name = ch.profile.callerIdName;
  vars.caller_id_number = ch.profile.callerIdNumber;
  vars.context = ch.profile.context;
  vars.source = ch.profile.source;
  const engine = model.dialplan;
  const actions = engine === undefined
    ? [{ app: 'bridge', data: `sofia/gateway/default/${ch.profile.destinationNumber}` }]
    : engine.route(ch.profile.context, vars);
  if (actions === undefined) {
    model.hangupChannel(ch, 'NO_ROUTE_DESTINATION');
    return;
  }
  model.setRunning(ch, 'CS_EXECUTE');
  model.runActions(ch, actions);
}

export function notifyMedia(model: FreeSwitchModel, ch: Channel): void {
  const sink = sessionOf(model, ch)?.sink;
  if (sink === undefined || mediaSent.has(ch)) return;
  mediaSent.add(ch);
  sink.media(ch.uuid, model.answerSdpFor(offered.get(ch) ?? ''), model.channelDataVariables());
  model.vertoSdpSent(ch);
}

export function notifyAnswer(model: FreeSwitchModel, ch: Channel): void {
  const sink = sessionOf(model, ch)?.sink;
  if (sink === undefined) return;
  if (mediaSent.has(ch)) sink.answer(ch.uuid, undefined, model.channelDataVariables());
  else {
    mediaSent.add(ch);
    sink.answer(ch.uuid, model.answerSdpFor(offered.get(ch) ?? ''), model.channelDataVariables());
    model.vertoSdpSent(ch);
  }
}

/**
 * `verto.display` once `uuid_bridge` bridged the Verto leg `v` to `other`:
 * switch_ivr_uuid_bridge copies the originator's caller id into the
 * originatee's profile and its callee id from it, so the client sees the
 * other leg's caller id as display and callee (real ctl-05/06/08: the trunk
 * leg's origination_caller_id_*).
 */
export function notifyUuidBridgeDisplay(model: FreeSwitchModel, v: Channel, other: Channel): void {
  const sink = sessionOf(model, v)?.sink;
  const name = other.profile.callerIdName;
  const number = other.profile.callerIdNumber;
  v.setVar('last_sent_callee_id_name', name);
  v.setVar('last_sent_callee_id_number', number);
  sink?.display(v.uuid, {
    display_name: name, display_number: number,
    caller_id_name: v.profile.callerIdName, caller_id_number: v.profile.callerIdNumber,
    callee_id_name: name, callee_id_number: number,
    display_direction: v.direction,
  });
}

/**
 * `verto.display` once a verto leg `v` is bridged to `other`: an inbound leg
 * (the client called) sees the callee (real verto-04/05/08/12/21), an
 * outbound leg (FreeSWITCH called the client) sees the caller (real verto-13).
 */
export function notifyDisplay(model: FreeSwitchModel, v: Channel, other: Channel): void {
  const sink = sessionOf(model, v)?.sink;
  const inbound = v.direction === 'inbound';
  const name = inbound ? other.profile.calleeIdName : other.profile.callerIdName;
  const number = inbound ? other.profile.calleeIdNumber : other.profile.callerIdNumber;
  const callee = inbound ? other.profile : v.profile;
  v.setVar('last_sent_callee_id_name', name);
  v.setVar('last_sent_callee_id_number', number);
  sink?.display(v.uuid, {
    display_name: name, display_number: number,
    caller_id_name: v.profile.callerIdName, caller_id_number: v.profile.callerIdNumber,
    callee_id_name: callee.calleeIdName, callee_id_number: callee.calleeIdNumber,
    display_direction: v.direction,
  });
}

/**
 * switch_channel_hangup on a verto leg. FreeSWITCH runs the endpoint's
 * on_hangup (verto_on_hangup) later, in the channel's own thread: here one
 * timer turn later, at the latest just before HANGUP_COMPLETE.
 */
export function notifyHangup(model: FreeSwitchModel, ch: Channel, _cause: string): void {
  model.schedule(0, () => onHangupState(model, ch));
}

/**
 * mod_verto.c verto_on_hangup, once per leg: unless the client hung the call
 * up itself (verto.bye: remote_hangup_cause, verto_hangup_disposition
 * recv_bye), the socket that holds the leg's sessid at that moment
 * (get_jsock) gets `verto.bye {callID, causeCode, cause}` and the leg gets
 * verto_hangup_disposition=send_bye (so it is in HANGUP_COMPLETE, not in
 * CHANNEL_HANGUP: real verto-05/10/13). When no socket holds the sessid (the
 * socket was lost: detach_calls' hangups, a detached leg killed or timed
 * out) neither happens: no verto.bye and no verto_hangup_disposition (real
 * ctl-08, verto-08). After a punt the sessid already belongs to the new
 * socket (attach_jsock inserts it before the hung-up legs reach
 * verto_on_hangup), which then gets the verto.bye.
 */
export function onHangupState(model: FreeSwitchModel, ch: Channel): void {
  if (ch.vertoHangupDone) return;
  ch.vertoHangupDone = true;
  if (ch.getVar('verto_hangup_disposition') === 'recv_bye') return;
  const sink = sessionOf(model, ch)?.sink;
  if (sink === undefined) return;
  ch.setVar('verto_hangup_disposition', 'send_bye');
  const cause = ch.hangupCause ?? 'NORMAL_CLEARING';
  sink.bye(ch.uuid, cause, causeCode(cause) ?? 16);
}

export function answer(model: FreeSwitchModel, sessid: string, callId: string, sdp: string): VertoCallResult {
  const ch = callOf(model, sessid, callId);
  if (ch === undefined || ch.direction !== 'outbound') return { ok: false, message: 'CALL DOES NOT EXIST' };
  ch.setVar('switch_r_sdp', sdp);
  model.markAnswered(ch);
  const owner = ch.owner;
  model.schedule(0, () => owner?.answered(ch));
  return { ok: true };
}

export function bye(model: FreeSwitchModel, sessid: string, callId: string, cause: string | undefined, code: number | undefined): VertoCallResult {
  const ch = callOf(model, sessid, callId);
  if (ch === undefined) return { ok: false, message: 'CALL DOES NOT EXIST' };
  const c = cause ?? 'NORMAL_CLEARING';
  ch.setVar('verto_hangup_disposition', 'recv_bye');
  if (ch.owner !== undefined && !ch.answered) {
    // rejecting a call FreeSWITCH offered: the bridge sees the client's cause
    const owner = ch.owner;
    model.hangupStart(ch, c);
    model.later(1, () => {
      model.hangupFinish(ch);
      model.later(1, () => {
        model.destroy(ch);
        owner.failed(ch, c, undefined);
      });
    });
  } else {
    model.hangupChannel(ch, c);
  }
  return { ok: true, fields: { cause: c, causeCode: code ?? causeCode(c) ?? 16 } };
}

export function dtmf(model: FreeSwitchModel, sessid: string, callId: string, digits: string): VertoCallResult {
  const ch = callOf(model, sessid, callId);
  if (ch === undefined) return { ok: true };
  // queued on the channel; DTMF events fire when something reads them: the bridge does (real verto-04), echo does not (verto-03)
  if (ch.bridgedTo !== undefined) {
    for (const d of digits) {
      if (/[0-9*#A-Da-d]/.test(d)) model.fireDtmf(ch, d, 'APP');
    }
  }
  return { ok: true, fields: { message: 'SENT' } };
}

export function modify(model: FreeSwitchModel, sessid: string, callId: string, action: string, _params: Readonly<Record<string, unknown>>): VertoCallResult {
  const ch = callOf(model, sessid, callId);
  if (ch === undefined) return { ok: false, message: 'CALL DOES NOT EXIST' };
  const hold = action === 'hold' ? true : action === 'unhold' ? false : action === 'toggleHold' ? !ch.held : undefined;
  if (hold !== undefined && hold !== ch.held) {
    ch.held = hold;
    model.fire(hold ? 'CHANNEL_HOLD' : 'CHANNEL_UNHOLD', ch, SITES.hold);
    model.setCallState(ch, hold ? 'HELD' : 'ACTIVE');
    // the bridged partner is played the hold music (real verto-12: playback on the SIP leg)
    const partner = ch.bridgedTo !== undefined ? model.channel(ch.bridgedTo) : undefined;
    if (partner !== undefined && hold) {
      // switch_core_media_toggle_hold: switch_ivr_broadcast(partner, hold_music, SMF_ECHO_ALEG|SMF_LOOP); no re-INVITE to the trunk
      const music = ch.getVar('hold_music') ?? 'local_stream://moh';
      partner.hearsHoldMusic = music;
      model.execute(partner.uuid, 'playback', music, undefined);
    } else if (partner !== undefined) partner.hearsHoldMusic = undefined;
  }
  return { ok: true, fields: { holdState: ch.held ? 'held' : 'active' } };
}

/**
 * Client `verto.attach` (mod_verto.c verto__attach_func): the call is found
 * by uuid alone (any socket may attach any call); one never answered is hung
 * up DESTINATION_OUT_OF_ORDER. The answer SDP becomes switch_r_sdp. (SDP
 * negotiation and RTP failures, CODEC NEGOTIATION ERROR / MEDIA ERROR with a
 * BEARERCAPABILITY_NOTAVAIL hangup, are not modelled.)
 */
export function reattach(model: FreeSwitchModel, _sessid: string, callId: string, sdp: string): VertoCallResult {
  const ch = model.channel(callId);
  if (ch === undefined || ch.kind !== 'verto' || ch.hungUp) return { ok: false, message: 'CALL DOES NOT EXIST' };
  if (!ch.answered) {
    model.hangupChannel(ch, 'DESTINATION_OUT_OF_ORDER');
    return { ok: false, message: 'Cannot attach to a call that has not been answered.' };
  }
  // detach_time is left alone: tech_reattach cleared it when the sessid logged in again
  ch.setVar('switch_r_sdp', sdp);
  return { ok: true };
}

export function contact(model: FreeSwitchModel, user: string): string | undefined {
  for (const s of model.sessions.values()) {
    if (s.sink !== undefined && s.user === user) return `verto.rtc/u:${s.sessid}`;
  }
  return undefined;
}

/** `verto.rtc/u:<sessid>`, `user/<user>@<domain>`, `${verto_contact(<user>)}` -> a connected session. */
export function resolveDialTarget(model: FreeSwitchModel, dial: string): VertoSession | undefined {
  const bySessid = /^verto\.rtc\/u:(.+)$/.exec(dial);
  if (bySessid !== null) {
    const s = model.sessions.get(bySessid[1] ?? '');
    return s?.sink === undefined ? undefined : s;
  }
  const user = /^user\/(.+)$/.exec(dial)?.[1] ?? /^\$\{verto_contact\((.+)\)\}$/.exec(dial)?.[1];
  if (user === undefined) return undefined;
  const full = user.includes('@') ? user : `${user}@${model.options.domain ?? model.identity.ipv4}`;
  for (const s of model.sessions.values()) {
    if (s.sink !== undefined && s.user === full) return s;
  }
  return undefined;
}

/**
 * The callee id number FreeSWITCH gives a leg toward a Verto client: the
 * dialled user for `user/1000@dom` (real verto-13), the sessid for
 * `verto.rtc/u:<sessid>` (real verto-10/11).
 */
export function dialledCallee(session: VertoSession, dial: string): string {
  const bySessid = /^verto\.rtc\/u:(.+)$/.exec(dial)?.[1];
  if (bySessid !== undefined) return bySessid;
  return session.user.split('@')[0] ?? session.user;
}

/** A call toward a Verto client: the outbound verto leg, and `verto.invite` to its session. */
export function originateToSession(model: FreeSwitchModel, session: VertoSession, vars: Readonly<Record<string, string>>, aLeg: Channel | undefined, owner: LegOwner, dial = ''): Channel {
  const uuid = vars.origination_uuid ?? randomUUID();
  const name = `verto.rtc/${session.jsockUuid}`;
  const cidName = vars.origination_caller_id_name ?? aLeg?.profile.callerIdName ?? 'FreeSWITCH';
  const cidNum = vars.origination_caller_id_number ?? aLeg?.profile.callerIdNumber ?? '0000000000';
  const callee = dialledCallee(session, dial);
  const profile: CallerProfile = {
    direction: 'outbound', logicalDirection: 'outbound', username: aLeg?.profile.username ?? '',
    dialplan: aLeg?.profile.dialplan ?? '', callerIdName: cidName, callerIdNumber: cidNum,
    origCallerIdName: aLeg?.profile.callerIdName ?? cidName, origCallerIdNumber: aLeg?.profile.callerIdNumber ?? cidNum,
    calleeIdName: 'Outbound Call', calleeIdNumber: callee, networkAddr: aLeg?.profile.networkAddr ?? '', ani: cidNum,
    destinationNumber: `u:${session.sessid}`, source: aLeg?.profile.source ?? 'src/switch_ivr_originate.c',
    context: aLeg?.profile.context ?? 'default', channelName: '', rdnis: aLeg?.profile.rdnis,
  };
  // real verto-10/11/13: CHANNEL_OUTGOING without a name, again once mod_verto named the channel,
  // then CHANNEL_PROGRESS (verto legs ring at once), CHANNEL_CREATE, CHANNEL_ORIGINATE
  const ch = model.newChannel({ uuid, kind: 'verto', direction: 'outbound', name: 'N/A', profile });
  ch.sessid = session.sessid;
  ch.owner = owner;
  if (aLeg !== undefined) ch.other = { type: 'originator', channel: aLeg };
  ch.state = 'CS_NONE';
  ch.stateNumber = 1;
  model.fire('CHANNEL_OUTGOING', ch, SITES.outgoing);
  ch.name = name;
  profile.channelName = name;
  model.fire('CHANNEL_OUTGOING', ch, SITES.outgoing);
  ch.presenceId = session.user;
  ch.setVar('direction', 'outbound');
  ch.setVar('is_outbound', 'true');
  ch.setVar('uuid', ch.uuid);
  ch.setVar('call_uuid', aLeg?.callUuid ?? ch.uuid);
  ch.setVar('session_id', model.nextSessionId());
  ch.setVar('channel_name', name);
  for (const [k, v] of Object.entries(vars)) ch.setVar(k, v);
  // Variables the A leg exported travel to the leg it originates (switch_ivr_originate).
  if (aLeg !== undefined) for (const [k, v] of exportedValues(aLeg)) ch.setVar(k, v);
  if (aLeg !== undefined) ch.setVar('originator', aLeg.uuid);
  ch.setVar('verto_user', session.user);
  ch.setVar('presence_id', session.user);
  ch.setVar('jsock_uuid_str', session.jsockUuid);
  model.markRing(ch);
  model.setRunning(ch, 'CS_INIT');
  ch.stateNumber = 2;
  model.fire('CHANNEL_CREATE', ch, SITES.create);
  model.fire('CHANNEL_ORIGINATE', ch, SITES.originate);
  model.setRunning(ch, 'CS_ROUTING');
  model.setRunning(ch, 'CS_CONSUME_MEDIA');
  const sdp = model.offerSdp();
  ch.setVar('verto_local_sdp', sdp);
  model.schedule(0, () => {
    if (ch.hungUp) return;
    // mod_verto adds every verto_h_* channel variable as a top-level key of
    // the params (verto.md §5; clients read e.g. params.verto_h_primaryCallID).
    const headers = Object.fromEntries([...ch.variables].filter(([k]) => k.startsWith('verto_h_')));
    if (session.sink !== undefined) {
      const sent = sentInvites.get(model) ?? [];
      sentInvites.set(model, sent);
      sent.push({ sessid: session.sessid, user: session.user, callId: ch.uuid, originator: aLeg?.uuid, at: Date.now() });
    }
    session.sink?.invite(ch.uuid, {
      callID: ch.uuid, sdp, caller_id_name: cidName, caller_id_number: cidNum,
      callee_id_name: 'Outbound Call', callee_id_number: callee, display_direction: 'outbound',
      ...headers,
    });
    owner.progress(ch);
  }, ch);
  const timeout = Number(vars.originate_timeout ?? vars.call_timeout ?? NaN);
  model.schedule(Number.isFinite(timeout) ? timeout * 1000 : (model.options.originateTimeoutMs ?? 60_000), () => {
    if (!ch.answered && !ch.hungUp) model.cancelLeg(ch, 'NO_ANSWER');
  }, ch);
  return ch;
}

/** A call from the trunk: an inbound `sofia/external/...` leg routed in the public context. */
export function placeInboundCall(model: FreeSwitchModel, req: InboundCallRequest): InboundCallHandle {
  const host = model.identity.ipv4;
  const name = `sofia/external/${req.callerNumber}@${host}`;
  const profile: CallerProfile = {
    direction: 'inbound', logicalDirection: 'inbound', username: req.callerNumber, dialplan: 'XML',
    callerIdName: req.callerName ?? req.callerNumber, callerIdNumber: req.callerNumber,
    origCallerIdName: req.callerName ?? req.callerNumber, origCallerIdNumber: req.callerNumber,
    calleeIdName: '', calleeIdNumber: '', networkAddr: host, ani: req.callerNumber, destinationNumber: req.did,
    source: 'mod_sofia', context: req.context ?? 'public', channelName: name,
  };
  const ch = model.newChannel({ uuid: req.uuid, kind: 'sofia', direction: 'inbound', name, profile });
  let resolveEnded: (cause: string) => void = () => undefined;
  const ended = new Promise<string>((resolve) => {
    resolveEnded = resolve;
  });
  ch.onDestroyed = (cause) => resolveEnded(cause);
  ch.hitDialplan = true;
  ch.setVar('direction', 'inbound');
  ch.setVar('uuid', ch.uuid);
  ch.setVar('session_id', model.nextSessionId());
  ch.setVar('sip_from_user', req.callerNumber);
  ch.setVar('sip_to_user', req.did);
  ch.setVar('sip_profile_name', 'external');
  ch.setVar('channel_name', name);
  // mod_sofia: an INVITE with SDP and no late negotiation (real verto-13); the vanilla `global` extension tests it
  ch.setVar('endpoint_disposition', 'DELAYED NEGOTIATION');
  for (const [k, v] of Object.entries(req.variables ?? {})) ch.setVar(k, v);
  model.setRunning(ch, 'CS_INIT');
  ch.stateNumber = 2;
  model.fire('CHANNEL_CREATE', ch, SITES.create);
  model.schedule(0, () => routeChannel(model, ch), ch);
  return {
    uuid: ch.uuid,
    hangup: () => {
      if (ch.hungUp) return;
      ch.setVar('sip_hangup_disposition', ch.answered ? 'recv_bye' : 'recv_cancel');
      if (ch.answered) {
        // FreeSWITCH's 200 to the caller's BYE (real verto-13)
        ch.setVar('sip_term_status', '200');
        ch.setVar('proto_specific_hangup_cause', 'sip:200');
        ch.setVar('sip_term_cause', '16');
      }
      model.hangupChannel(ch, ch.answered ? 'NORMAL_CLEARING' : 'ORIGINATOR_CANCEL');
    },
    sendDtmf: (digits, opts = {}) => {
      const gapMs = opts.gapMs ?? 0;
      if (gapMs <= 0) {
        for (const d of digits) if (!ch.hungUp) model.fireDtmf(ch, d, 'RTP');
        return Promise.resolve();
      }
      // One digit every gapMs (a person keying a burst); each from its own timer, the first at once.
      return new Promise<void>((resolve) => {
        [...digits].forEach((d, i) => {
          model.schedule(i * gapMs, () => {
            if (!ch.hungUp) model.fireDtmf(ch, d, 'RTP');
            if (i === digits.length - 1) resolve();
          });
        });
        if (digits.length === 0) resolve();
      });
    },
    ended,
  };
}
