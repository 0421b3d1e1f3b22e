// The simulated FreeSWITCH core: channels, their state machines and the
// events they fire. Shared by the ESL server (esl-server.ts) and the Verto
// server (verto-server.ts, through the VertoBackend interface).
//
// Event order and hangup semantics follow the real captures
// (shared/traces/real/esl-04, verto-04, verto-14..21).
import { randomUUID } from 'node:crypto';
import type { DialplanEngine, FarEndBehaviour, FsEvent, VertoBackend, VertoCallResult, VertoCallSink, VertoInviteRequest } from './contract.ts';
import { Channel, STATE_NUMBERS, type CallState, type CallerProfile, type ChannelState, type ChannelKind, type Direction } from './channel.ts';
import { SITES, callStateLead, channelEvent, customEvent, plainEvent, type CallSite, type ChannelEventOptions, type Header, type SwitchIdentity } from './channel-events.ts';
import { playFarEnd, resolveFarEnd, type FarEndConfig, type FarEndLeg } from './far-end.ts';
import { causeCode, q850Of, sipStatusToCause } from './causes.ts';
import { fsAnswerSdp, fsOfferSdp, fsReofferSdp, trunkSdp } from './fs-sdp.ts';
import { runDialplan, type AppHost } from './dialplan-apps.ts';
import * as verto from './verto-backend.ts';
import { parseVarList } from './dial-vars.ts';

export interface GatewayConfig {
  /** Sofia profile the gateway lives in; the SIP leg is named `sofia/<profile>/<number>`. Default `external`. */
  readonly profile?: string;
  /** `host:port` of the trunk, for sip_* variables. */
  readonly host?: string;
}

export interface FreeSwitchModelOptions {
  readonly hostname?: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly coreUuid?: string;
  /** `api version` text without the trailing LF. */
  readonly version?: string;
  readonly dialplan?: DialplanEngine;
  readonly farEnd?: FarEndConfig;
  /** Known gateways; when given, a bridge/originate to any other name fails with INVALID_GATEWAY. */
  readonly gateways?: Readonly<Record<string, GatewayConfig>>;
  /** Originate/bridge ring timeout (FreeSWITCH default 60 s). */
  readonly originateTimeoutMs?: number;
  /** mod_verto detach-timeout-sec in ms (vanilla 120 s). */
  readonly detachTimeoutMs?: number;
  /** Factor on the `sleep` application's milliseconds (tests shorten dialplan sleeps; default 1). */
  readonly sleepScale?: number;
  readonly vertoProfile?: string;
  /** The domain of Verto users (vanilla: local_ip_v4). */
  readonly domain?: string;
  /** FreeSWITCH's answer SDP for a client offer. */
  readonly answerSdp?: (offer: string) => string;
  /** FreeSWITCH's offer SDP toward a Verto client. */
  readonly offerSdp?: () => string;
  /**
   * DTLS-SRTP handshake time of a client-placed Verto leg, from the first
   * SDP FreeSWITCH sends it (verto.media or verto.answer) to DTLS up.
   * switch_channel_perform_mark_answered waits for it
   * (switch_core_media_check_dtls, switch_channel.c:3832 in 1.11.1), so the
   * leg's CHANNEL_ANSWER, and the CHANNEL_BRIDGE after it, come only then,
   * after verto.answer (real: 0.15 s to 1.1 s, protocols/observed.md).
   * `'manual'`: DTLS is up when the test calls vertoDtlsUp(uuid) (the
   * client applied the SDP). Unset (default): no wait, and CHANNEL_ANSWER
   * precedes verto.answer as before.
   */
  readonly vertoDtlsDelayMs?: number | 'manual';
}

export type OriginateResult = { readonly ok: true; readonly uuid: string } | { readonly ok: false; readonly cause: string };

/** Who reacts to what happens on an outbound leg (the bridge app or an API originate). */
export interface LegOwner {
  progress(leg: Channel): void;
  earlyMedia(leg: Channel): void;
  answered(leg: Channel): void;
  /** The leg ended before answer (reject, timeout, cancel, kill). Called after the leg's HANGUP. */
  failed(leg: Channel, cause: string, sipStatus: number | undefined): void;
  /** The leg ended after answer. Called after the leg's HANGUP_COMPLETE. */
  ended(leg: Channel, cause: string): void;
  /** An API originate whose job has not returned yet: the leg cannot be uuid_bridged (observed.md). */
  readonly originating?: boolean;
}

export interface InboundCallRequest {
  readonly did: string;
  readonly callerNumber: string;
  readonly callerName?: string;
  readonly context?: string;
  readonly variables?: Readonly<Record<string, string>>;
  readonly uuid?: string;
}

export interface InboundCallHandle {
  readonly uuid: string;
  /** The caller hangs up (BYE, or CANCEL before answer). */
  hangup(): void;
  /**
   * The caller sends RFC 2833 digits: all at once, or one every `gapMs`.
   * Resolves once the last digit was sent.
   */
  sendDtmf(digits: string, opts?: { readonly gapMs?: number }): Promise<void>;
  /** Resolves with the leg's final cause once it is destroyed. */
  readonly ended: Promise<string>;
}

type Listener = (event: FsEvent) => void;

/** Causes after which the bridge app lets the dialplan continue (switch_channel_handle_cause defaults). */
export const CONTINUE_CAUSES: ReadonlySet<string> = new Set(['NO_ANSWER', 'NO_USER_RESPONSE', 'ORIGINATOR_CANCEL']);

export class FreeSwitchModel implements VertoBackend {
  readonly identity: SwitchIdentity;
  readonly version: string;
  readonly startedAtMs = Date.now();
  readonly options: FreeSwitchModelOptions;
  dialplan: DialplanEngine | undefined;
  sessionsSinceStartup = 0;
  peakSessions = 0;
  /** Verto sessions by sessid. */
  readonly sessions = new Map<string, verto.VertoSession>();

  #listeners = new Set<Listener>();
  #channels = new Map<string, Channel>();
  #sequence = 1000;
  #timers = new Set<NodeJS.Timeout>();
  #lastUs = 0;
  #stopped = false;
  #sessionId = 0;

  constructor(options: FreeSwitchModelOptions = {}) {
    this.options = options;
    this.identity = {
      coreUuid: options.coreUuid ?? randomUUID(),
      hostname: options.hostname ?? 'fs-sim',
      ipv4: options.ipv4 ?? '127.0.0.1',
      ipv6: options.ipv6 ?? '::1',
    };
    this.version = options.version ?? 'FreeSWITCH Version 1.11.1-release~64bit ( 64bit)';
    this.dialplan = options.dialplan;
  }

  // -------------------------------------------------------------------------
  // events

  onEvent(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Microseconds since the epoch, strictly increasing. */
  nowUs(): number {
    const us = Math.max(Date.now() * 1000, this.#lastUs + 1);
    this.#lastUs = us;
    return us;
  }

  #emit(event: FsEvent): void {
    for (const l of [...this.#listeners]) l(event);
  }

  #nextSeq(): number {
    return ++this.#sequence;
  }

  /** Fires a non-channel event (API, BACKGROUND_JOB, RELOADXML, HEARTBEAT, or one sent with `sendevent`). */
  fireEvent(name: string, site: CallSite, rest: readonly Header[], body?: string): void {
    this.#emit(plainEvent(this.identity, name, site, this.#nextSeq(), this.nowUs(), rest, body));
  }

  fireCustom(subclass: string, rest: readonly Header[]): void {
    this.#emit(customEvent(this.identity, subclass, SITES.custom, this.#nextSeq(), this.nowUs(), rest));
  }

  /** The CHANNEL_DATA standard headers mod_verto puts in `params.variables` (real README observation 6); uses a sequence number. */
  channelDataVariables(): Record<string, string> {
    return Object.fromEntries(plainEvent(this.identity, 'CHANNEL_DATA', SITES.channelData, this.#nextSeq(), this.nowUs(), []).headers);
  }

  /** Fires a channel event for `ch`. */
  fire(name: string, ch: Channel, site: CallSite, opts?: ChannelEventOptions): void {
    this.#emit(channelEvent(this.identity, name, site, this.#nextSeq(), this.nowUs(), ch, opts));
  }

  // -------------------------------------------------------------------------
  // timers

  /** setTimeout that stop() clears; tied to a channel when given (cleared when it is destroyed). */
  schedule(ms: number, fn: () => void, ch?: Channel): void {
    if (this.#stopped) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      ch?.timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    ch?.timers.add(t);
  }

  /** Runs fn after `ticks` zero-delay timer turns (to order events as FreeSWITCH's threads do). */
  later(ticks: number, fn: () => void): void {
    if (ticks <= 0) fn();
    else this.schedule(0, () => this.later(ticks - 1, fn));
  }

  // -------------------------------------------------------------------------
  // channels

  channels(): readonly Channel[] {
    return [...this.#channels.values()];
  }

  channel(uuid: string): Channel | undefined {
    return this.#channels.get(uuid);
  }

  newChannel(init: { uuid?: string; kind: ChannelKind; direction: Direction; name: string; profile: CallerProfile }): Channel {
    const uuid = init.uuid ?? randomUUID();
    if (this.#channels.has(uuid)) throw new Error(`channel ${uuid} exists`);
    const ch = new Channel({ ...init, uuid, nowUs: this.nowUs() });
    this.#channels.set(uuid, ch);
    this.sessionsSinceStartup++;
    this.peakSessions = Math.max(this.peakSessions, this.#channels.size);
    return ch;
  }

  nextSessionId(): string {
    return String(++this.#sessionId);
  }

  /** Moves the running state and fires CHANNEL_STATE (number = that state's number). */
  setRunning(ch: Channel, state: ChannelState): void {
    ch.state = state;
    ch.stateNumber = STATE_NUMBERS[state];
    this.fire('CHANNEL_STATE', ch, SITES.state);
  }

  setCallState(ch: Channel, state: CallState): void {
    const previous = ch.callState;
    if (previous === state) return;
    ch.callState = state;
    this.fire('CHANNEL_CALLSTATE', ch, SITES.callstate, { lead: callStateLead(previous, state) });
  }

  /** CHANNEL_PROGRESS (ring ready), once. */
  markRing(ch: Channel): void {
    if (ch.times.progress !== 0 || ch.hungUp) return;
    ch.times.progress = this.nowUs();
    this.fire('CHANNEL_PROGRESS', ch, SITES.progress);
    if (ch.direction === 'outbound') this.setCallState(ch, 'RINGING');
  }

  /** CHANNEL_PROGRESS_MEDIA (pre-answer), once. */
  markPreAnswer(ch: Channel): void {
    if (ch.times.progressMedia !== 0 || ch.answered || ch.hungUp) return;
    if (ch.kind === 'verto' && ch.direction === 'inbound' && ch.noIceCandidates) {
      this.refuseVertoMedia(ch);
      return;
    }
    ch.times.progressMedia = this.nowUs();
    ch.answerState = 'early';
    // media is negotiated when a channel pre-answers (real verto-06: opus on a verto leg; verto-13: PCMU on the SIP caller)
    ch.codec ??= ch.kind === 'verto' ? { name: 'opus', rate: 48000, bitRate: 0 } : { name: 'PCMU', rate: 8000, bitRate: 64000 };
    this.fire('CHANNEL_PROGRESS_MEDIA', ch, SITES.progressMedia);
    this.setCallState(ch, 'EARLY');
    if (ch.kind === 'verto' && ch.direction === 'inbound') verto.notifyMedia(this, ch);
  }

  /**
   * CHANNEL_ANSWER, once; then `then` (at once, or once a client-placed
   * Verto leg's DTLS is up when `vertoDtlsDelayMs` is set). Not called when
   * the channel is or gets hung up instead.
   */
  markAnswered(ch: Channel, then?: () => void): void {
    if (ch.hungUp) return;
    if (ch.answered) {
      then?.();
      return;
    }
    const vertoIn = ch.kind === 'verto' && ch.direction === 'inbound';
    if (vertoIn && ch.noIceCandidates) {
      this.refuseVertoMedia(ch);
      return;
    }
    if (vertoIn && this.options.vertoDtlsDelayMs !== undefined) {
      // switch_channel_perform_answer: INDICATE_ANSWER (mod_verto pre-answers and sends verto.answer), then mark_answered waits for DTLS
      if (then !== undefined) ch.dtlsWaiters.push(then);
      if (ch.answerPending) return;
      ch.answerPending = true;
      this.markPreAnswerSilently(ch);
      verto.notifyAnswer(this, ch);
      this.#startDtls(ch);
      this.#whenDtlsUp(ch);
      return;
    }
    if (vertoIn) this.markPreAnswerSilently(ch);
    this.#fireAnswer(ch);
    if (vertoIn) verto.notifyAnswer(this, ch);
    then?.();
  }

  #fireAnswer(ch: Channel): void {
    ch.times.answered = this.nowUs();
    ch.answerState = 'answered';
    ch.codec ??= ch.kind === 'verto' ? { name: 'opus', rate: 48000, bitRate: 0 } : { name: 'PCMU', rate: 8000, bitRate: 64000 };
    this.fire('CHANNEL_ANSWER', ch, SITES.answer);
    this.setCallState(ch, 'ACTIVE');
  }

  /** DTLS starts with the first SDP sent to the client (called by verto-backend when it sends verto.media / verto.answer). */
  #startDtls(ch: Channel): void {
    if (ch.dtls !== undefined) return;
    ch.dtls = 'pending';
    const delay = this.options.vertoDtlsDelayMs;
    if (typeof delay === 'number') this.schedule(delay, () => this.vertoDtlsUp(ch.uuid), ch);
  }

  /** verto-backend: FreeSWITCH sent this leg its SDP (DTLS may start). */
  vertoSdpSent(ch: Channel): void {
    if (this.options.vertoDtlsDelayMs !== undefined) this.#startDtls(ch);
  }

  #whenDtlsUp(ch: Channel): void {
    if (ch.dtls !== 'up' || ch.hungUp) return;
    if (ch.answerPending) {
      ch.answerPending = false;
      this.#fireAnswer(ch);
    }
    const waiters = ch.dtlsWaiters.splice(0);
    for (const w of waiters) if (!ch.hungUp) w();
  }

  /**
   * The client's DTLS handshake on a Verto leg completed (with
   * `vertoDtlsDelayMs: 'manual'`, the test says when). A pending answer
   * fires CHANNEL_ANSWER now. Returns false for an unknown channel.
   */
  vertoDtlsUp(uuid: string): boolean {
    const ch = this.#channels.get(uuid);
    if (ch === undefined || ch.kind !== 'verto') return false;
    ch.dtls = 'up';
    this.#whenDtlsUp(ch);
    return true;
  }

  /**
   * The client's offer had ICE but no candidate: answering or pre-answering
   * the leg fails. switch_channel_perform_answer / _pre_answer send
   * INDICATE_ANSWER / INDICATE_PROGRESS; mod_verto's messagehook
   * (mod_verto.c:2924-2931) runs verto_send_media_indication -> verto_media
   * -> verto_tech_media, whose ICE check fails ("no suitable candidates
   * found", switch_core_media.c:4307), endpoint_disposition CODEC
   * NEGOTIATION ERROR, nothing sent to the client; the core then hangs the
   * leg up INCOMPATIBLE_DESTINATION (switch_channel.c:3628 / 3957), and
   * verto_on_hangup sends verto.bye with that cause.
   */
  refuseVertoMedia(ch: Channel): void {
    ch.setVar('endpoint_disposition', 'CODEC NEGOTIATION ERROR');
    this.hangupChannel(ch, 'INCOMPATIBLE_DESTINATION');
  }

  /**
   * A verto leg is pre-answered (PROGRESS_MEDIA, EARLY) before its answer,
   * without a verto.media. No CHANNEL_PROGRESS: `answer` / `pre_answer` on a
   * verto leg never rings it (real verto-03/06/07).
   */
  markPreAnswerSilently(ch: Channel): void {
    if (ch.times.progressMedia !== 0) return;
    ch.times.progressMedia = this.nowUs();
    ch.answerState = 'early';
    this.fire('CHANNEL_PROGRESS_MEDIA', ch, SITES.progressMedia);
    this.setCallState(ch, 'EARLY');
  }

  // -------------------------------------------------------------------------
  // hangup in three phases, so flows can interleave them as FreeSWITCH does

  /** Phase 1: CHANNEL_HANGUP. Returns false if the channel was already hung up. */
  hangupStart(ch: Channel, cause: string): boolean {
    if (ch.hungUp) return false;
    ch.hungUp = true;
    ch.hangupCause = cause;
    ch.times.hangup = this.nowUs();
    ch.answerState = 'hangup';
    ch.stateNumber = STATE_NUMBERS.CS_HANGUP;
    if (ch.kind === 'sofia' && ch.getVar('sip_hangup_disposition') === undefined) {
      ch.setVar('sip_hangup_disposition', ch.answered ? 'send_bye' : ch.direction === 'outbound' ? 'send_cancel' : 'send_refuse');
    }
    ch.setVar('hangup_cause', cause);
    ch.setVar('hangup_cause_q850', String(q850Of(cause)));
    this.fire('CHANNEL_HANGUP', ch, SITES.hangup);
    if (ch.kind === 'verto') verto.notifyHangup(this, ch, cause);
    return true;
  }

  /** Phase 2: states, CHANNEL_HANGUP_COMPLETE with the CDR variables. */
  hangupFinish(ch: Channel): void {
    // the endpoint's on_hangup runs in CS_HANGUP, before HANGUP_COMPLETE (verto_on_hangup)
    if (ch.kind === 'verto') verto.onHangupState(this, ch);
    this.setRunning(ch, 'CS_HANGUP');
    this.setCallState(ch, 'HANGUP');
    this.setRunning(ch, 'CS_REPORTING');
    this.#cdrVariables(ch);
    this.fire('CHANNEL_HANGUP_COMPLETE', ch, SITES.hangupComplete);
  }

  /** Phase 3: CHANNEL_DESTROY, CS_DESTROY; the channel is gone. */
  destroy(ch: Channel): void {
    if (ch.destroyed) return;
    ch.destroyed = true;
    ch.clearTimers();
    ch.stateNumber = STATE_NUMBERS.CS_DESTROY;
    this.fire('CHANNEL_DESTROY', ch, SITES.destroy);
    ch.state = 'CS_DESTROY';
    ch.stateNumber = STATE_NUMBERS.CS_DESTROY;
    this.fire('CHANNEL_STATE', ch, SITES.state);
    this.#channels.delete(ch.uuid);
    ch.onDestroyed?.(ch.hangupCause ?? 'NORMAL_CLEARING');
  }

  /** Phases 2 and 3 on later timer turns. */
  finishLater(ch: Channel, ticks = 1): void {
    this.later(ticks, () => {
      this.hangupFinish(ch);
      this.later(1, () => this.destroy(ch));
    });
  }

  #cdrVariables(ch: Channel): void {
    const t = ch.times;
    const end = t.hangup !== 0 ? t.hangup : this.nowUs();
    const stamp = (us: number): string => new Date(Math.floor(us / 1000)).toISOString().replace('T', ' ').slice(0, 19);
    const sec = (a: number, b: number): string => (a === 0 || b === 0 ? '0' : String(Math.floor((b - a) / 1e6)));
    const msec = (a: number, b: number): string => (a === 0 || b === 0 ? '0' : String(Math.floor((b - a) / 1e3)));
    if (ch.getVar('digits_dialed') === undefined) ch.setVar('digits_dialed', 'none');
    ch.setVar('start_stamp', stamp(t.created));
    if (t.answered !== 0) ch.setVar('answer_stamp', stamp(t.answered));
    if (t.bridged !== 0) ch.setVar('bridge_stamp', stamp(t.bridged));
    if (t.progress !== 0) ch.setVar('progress_stamp', stamp(t.progress));
    if (t.progressMedia !== 0) ch.setVar('progress_media_stamp', stamp(t.progressMedia));
    ch.setVar('end_stamp', stamp(end));
    ch.setVar('start_epoch', String(Math.floor(t.created / 1e6)));
    ch.setVar('start_uepoch', String(t.created));
    ch.setVar('answer_epoch', String(Math.floor(t.answered / 1e6)));
    ch.setVar('answer_uepoch', String(t.answered));
    ch.setVar('end_epoch', String(Math.floor(end / 1e6)));
    ch.setVar('end_uepoch', String(end));
    if (ch.application !== undefined) ch.setVar('last_app', ch.application);
    if (ch.applicationData !== undefined) ch.setVar('last_arg', ch.applicationData);
    ch.setVar('caller_id', `"${ch.profile.callerIdName}" <${ch.profile.callerIdNumber}>`);
    ch.setVar('duration', sec(t.created, end));
    ch.setVar('billsec', sec(t.answered, end));
    ch.setVar('progresssec', sec(t.created, t.progress));
    ch.setVar('answersec', sec(t.created, t.answered));
    ch.setVar('waitsec', sec(t.created, t.answered));
    ch.setVar('mduration', msec(t.created, end));
    ch.setVar('billmsec', msec(t.answered, end));
  }

  // -------------------------------------------------------------------------
  // outbound SIP legs (bridge / originate)

  gatewayExists(name: string): boolean {
    return this.options.gateways === undefined || Object.hasOwn(this.options.gateways, name);
  }

  /**
   * Creates `sofia/<profile>/<number>` toward gateway `gw`, fires its setup
   * events and starts the far end. `aLeg` is the bridging channel, if any.
   */
  createSipLeg(req: { gateway: string; number: string; vars: Readonly<Record<string, string>>; aLeg?: Channel; owner: LegOwner; uuid?: string }): Channel {
    const gw = this.options.gateways?.[req.gateway];
    const profileName = gw?.profile ?? 'external';
    const host = gw?.host ?? '127.0.0.1:5090';
    const name = `sofia/${profileName}/${req.number}`;
    const a = req.aLeg;
    const cidName = req.vars.origination_caller_id_name ?? req.vars.effective_caller_id_name ?? a?.getVar('effective_caller_id_name') ?? a?.profile.callerIdName ?? 'FreeSWITCH';
    const cidNum = req.vars.origination_caller_id_number ?? req.vars.effective_caller_id_number ?? a?.getVar('effective_caller_id_number') ?? a?.profile.callerIdNumber ?? '0000000000';
    const profile: CallerProfile = {
      direction: 'outbound',
      logicalDirection: a === undefined ? 'outbound' : 'inbound',
      username: a?.profile.username ?? '',
      dialplan: a?.profile.dialplan ?? '',
      callerIdName: cidName,
      callerIdNumber: cidNum,
      origCallerIdName: a?.profile.callerIdName ?? cidName,
      origCallerIdNumber: a?.profile.callerIdNumber ?? cidNum,
      calleeIdName: 'Outbound Call',
      calleeIdNumber: req.number,
      networkAddr: a?.profile.networkAddr ?? '',
      ani: a?.profile.ani ?? cidNum,
      destinationNumber: req.number,
      source: a?.profile.source ?? 'src/switch_ivr_originate.c',
      context: a?.profile.context ?? 'default',
      channelName: name,
      rdnis: a?.profile.rdnis,
    };
    const ch = this.newChannel({ uuid: req.uuid ?? req.vars.origination_uuid, kind: 'sofia', direction: 'outbound', name, profile });
    ch.owner = req.owner;
    if (a !== undefined) ch.other = { type: 'originator', channel: a };
    ch.state = 'CS_NONE';
    ch.stateNumber = 1;
    this.fire('CHANNEL_OUTGOING', ch, SITES.outgoing);
    ch.setVar('direction', 'outbound');
    ch.setVar('is_outbound', 'true');
    ch.setVar('uuid', ch.uuid);
    ch.setVar('call_uuid', a?.callUuid ?? ch.uuid);
    ch.setVar('session_id', this.nextSessionId());
    ch.setVar('sip_gateway_name', req.gateway);
    ch.setVar('sip_profile_name', 'gateway');
    ch.setVar('channel_name', name);
    ch.setVar('sip_destination_url', `sip:${req.number}@${host}`);
    for (const [k, v] of Object.entries(req.vars)) ch.setVar(k, v);
    if (a !== undefined) {
      ch.setVar('originator', a.uuid);
      ch.setVar('originator_codec', 'opus@48000h@20i');
      ch.setVar('origination_uuid', ch.uuid);
    }
    ch.setVar('originate_early_media', 'true');
    ch.setVar('originate_endpoint', 'sofia');
    ch.setVar('sip_req_uri', `${req.number}@${host}`);
    ch.setVar('sofia_profile_name', profileName);
    ch.setVar('recovery_profile_name', profileName);
    this.setRunning(ch, 'CS_INIT');
    ch.stateNumber = STATE_NUMBERS.CS_ROUTING;
    this.fire('CHANNEL_CREATE', ch, SITES.create);
    this.fire('CHANNEL_ORIGINATE', ch, SITES.originate);
    this.setRunning(ch, 'CS_ROUTING');
    this.setRunning(ch, 'CS_CONSUME_MEDIA');
    const behaviour: FarEndBehaviour = resolveFarEnd(this.options.farEnd, req.gateway, req.number);
    playFarEnd(behaviour, this.#farEndLeg(ch, host), (ms, fn) => this.schedule(ms, fn, ch));
    const timeout = Number(req.vars.originate_timeout ?? req.vars.call_timeout ?? NaN);
    const timeoutMs = Number.isFinite(timeout) ? timeout * 1000 : (this.options.originateTimeoutMs ?? 60_000);
    this.schedule(timeoutMs, () => {
      if (!ch.answered && !ch.hungUp) this.cancelLeg(ch, 'NO_ANSWER');
    }, ch);
    return ch;
  }

  #farEndLeg(ch: Channel, host: string): FarEndLeg {
    return {
      ringing: () => {
        if (ch.hungUp) return;
        ch.profile.networkAddr = host.split(':')[0] ?? host;
        this.markRing(ch);
        ch.owner?.progress(ch);
      },
      earlyMedia: () => {
        if (ch.hungUp) return;
        ch.profile.networkAddr = host.split(':')[0] ?? host;
        this.markRing(ch);
        ch.times.progressMedia = this.nowUs();
        ch.answerState = 'early';
        ch.codec = { name: 'PCMU', rate: 8000, bitRate: 64000 };
        ch.setVar('switch_r_sdp', trunkSdp());
        this.fire('CHANNEL_PROGRESS_MEDIA', ch, SITES.progressMedia);
        this.setCallState(ch, 'EARLY');
        ch.owner?.earlyMedia(ch);
      },
      answer: () => {
        if (ch.hungUp) return;
        ch.profile.networkAddr = host.split(':')[0] ?? host;
        if (ch.times.progress === 0) ch.times.progress = this.nowUs();
        ch.setVar('switch_r_sdp', trunkSdp());
        ch.setVar('endpoint_disposition', 'ANSWER');
        this.markAnswered(ch);
        ch.owner?.answered(ch);
      },
      reject: (status) => {
        if (ch.hungUp) return;
        const cause = sipStatusToCause(status);
        ch.setVar('sip_invite_failure_status', String(status));
        ch.setVar('sip_invite_failure_phrase', sipPhrase(status));
        ch.setVar('sip_term_status', String(status));
        ch.setVar('proto_specific_hangup_cause', `sip:${status}`);
        ch.setVar('sip_term_cause', String(causeCode(cause) ?? 16));
        ch.setVar('sip_hangup_disposition', 'recv_refuse');
        this.hangupStart(ch, cause);
        this.later(1, () => {
          this.hangupFinish(ch);
          this.later(1, () => {
            this.destroy(ch);
            ch.owner?.failed(ch, cause, status);
          });
        });
      },
      hangup: () => {
        if (ch.hungUp) return;
        ch.setVar('sip_term_status', '200');
        ch.setVar('proto_specific_hangup_cause', 'sip:200');
        ch.setVar('sip_term_cause', '16');
        ch.setVar('sip_hangup_disposition', 'recv_bye');
        // a leg whose originate completed (no owner) ends like any channel: its uuid_bridge partner goes too
        if (ch.owner === undefined) this.hangupChannel(ch, 'NORMAL_CLEARING');
        else this.endAnsweredLeg(ch, 'NORMAL_CLEARING');
      },
      dtmf: (digit) => {
        if (ch.hungUp) return;
        this.fireDtmf(ch, digit, 'RTP');
      },
      hold: (hold) => {
        if (ch.hungUp || !ch.answered) return;
        this.farEndHold(ch, hold);
      },
    };
  }

  /** An answered outbound leg ends (far-end BYE, uuid_kill): HANGUP, HANGUP_COMPLETE, then the owner reacts, then DESTROY. */
  endAnsweredLeg(ch: Channel, cause: string): void {
    if (!this.hangupStart(ch, cause)) return;
    this.#endApplication(ch);
    this.later(1, () => {
      this.hangupFinish(ch);
      this.later(1, () => this.destroy(ch));
      ch.owner?.ended(ch, cause);
    });
  }

  /** FreeSWITCH cancels an unanswered outbound leg (timeout, caller gone, kill). */
  cancelLeg(ch: Channel, cause: string): void {
    if (ch.hungUp) return;
    ch.setVar('sip_hangup_disposition', 'send_cancel');
    ch.setVar('sip_invite_failure_status', '487');
    ch.setVar('sip_invite_failure_phrase', 'CANCEL');
    this.hangupStart(ch, cause);
    ch.owner?.failed(ch, cause, undefined);
    // the bridging leg finishes first (real capture 19/20), then this one
    this.finishLater(ch, cause === 'NO_ANSWER' ? 3 : 1);
  }

  fireDtmf(ch: Channel, digit: string, source: string): void {
    ch.setVar('digits_dialed', (ch.getVar('digits_dialed') ?? '') + digit);
    this.fire('DTMF', ch, SITES.dtmf, { tail: [['DTMF-Digit', digit], ['DTMF-Duration', '2000'], ['DTMF-Source', source]] });
  }

  // -------------------------------------------------------------------------
  // applications (dialplan, originate's app, sendmsg execute)

  /** Runs dialplan actions on `ch` (bridge, set, answer, park, ...). */
  runActions(ch: Channel, actions: readonly { app: string; data: string }[]): void {
    runDialplan(this.#appHost(), ch, actions);
  }

  #appHost(): AppHost {
    return { model: this };
  }

  /** Completes the running application of a channel that is hanging up (UNPARK, EXECUTE_COMPLETE). */
  #endApplication(ch: Channel): void {
    const end = ch.onHangupDuringApp;
    ch.onHangupDuringApp = undefined;
    end?.();
  }

  // -------------------------------------------------------------------------
  // generic hangup (uuid_kill, hupall, sendmsg hangup, verto.bye, detach timeout)

  /** Hangs a channel up the way uuid_kill does. Returns false if unknown. */
  kill(uuid: string, cause: string): boolean {
    const ch = this.#channels.get(uuid);
    if (ch === undefined || ch.hungUp) return ch !== undefined;
    this.hangupChannel(ch, cause);
    return true;
  }

  hangupChannel(ch: Channel, cause: string): void {
    if (ch.hungUp) return;
    if (ch.owner !== undefined) {
      // an outbound leg owned by a bridge or originate
      if (ch.answered) {
        if (ch.kind === 'sofia') ch.setVar('sip_hangup_disposition', 'send_bye');
        this.endAnsweredLeg(ch, cause);
      } else this.cancelLeg(ch, cause);
      return;
    }
    const b = ch.bLeg;
    if (!this.hangupStart(ch, cause)) return;
    if (b !== undefined && !b.hungUp && b.answered && b.bLeg === ch && b.getVar('park_after_bridge') === 'true') {
      // switch_ivr_multi_threaded_bridge ends; the partner's park_after_bridge parks it instead of hanging it up (real ctl-08)
      this.#unlinkBridge(ch, b);
      b.setVar('last_bridge_hangup_cause', cause);
      this.parkChannel(b);
      this.#endApplication(ch);
      this.finishLater(ch, 1);
      return;
    }
    if (b !== undefined && !b.hungUp) {
      b.owner = undefined;
      if (b.answered) {
        // the bridge hangs the partner up NORMAL_CLEARING and tells it why (real verto-04/08/12/13)
        if (b.kind === 'sofia') b.setVar('sip_hangup_disposition', 'send_bye');
        b.setVar('last_bridge_hangup_cause', cause);
        b.setVar('last_bridge_proto_specific_hangup_cause', ch.getVar('proto_specific_hangup_cause'));
        this.hangupStart(b, 'NORMAL_CLEARING');
        this.#endApplication(b);
        this.later(1, () => {
          this.hangupFinish(b);
          this.later(1, () => this.destroy(b));
          this.#endApplication(ch);
          this.finishLater(ch, 1);
        });
        return;
      }
      b.setVar('sip_hangup_disposition', 'send_cancel');
      b.setVar('sip_invite_failure_status', '487');
      b.setVar('sip_invite_failure_phrase', 'CANCEL');
      b.setVar('last_bridge_hangup_cause', cause);
      this.hangupStart(b, 'ORIGINATOR_CANCEL');
      ch.setVar('originate_disposition', 'ORIGINATOR_CANCEL');
      ch.setVar('DIALSTATUS', 'CANCEL');
      this.#endApplication(ch);
      this.finishLater(ch);
      this.finishLater(b);
      return;
    }
    this.#endApplication(ch);
    this.finishLater(ch);
  }

  /** hupall: every channel. Returns how many. */
  hupall(cause: string): number {
    const all = this.channels().filter((c) => !c.hungUp && c.owner === undefined);
    for (const ch of all) this.hangupChannel(ch, cause);
    return all.length;
  }

  // -------------------------------------------------------------------------
  // uuid_bridge, park_after_bridge, hold from the far end

  /** Runs `park` on a channel outside its dialplan (CHANNEL_PARK; UNPARK when it hangs up or is bridged). */
  parkChannel(ch: Channel): void {
    ch.appGeneration++;
    runDialplan(this.#appHost(), ch, [{ app: 'park', data: '' }], { standalone: true });
  }

  #unlinkBridge(x: Channel, y: Channel): void {
    for (const c of [x, y]) {
      c.bridgedTo = undefined;
      c.bLeg = undefined;
    }
  }

  /**
   * `uuid_bridge <a> <b>` (mod_commands uuid_bridge_function ->
   * switch_ivr_uuid_bridge, switch_ivr_bridge.c in 1.11.1). A channel whose
   * media is up is answered or pre-answered (switch_channel_media_up). If
   * `a` has no media the two are swapped when `b` has; when neither has,
   * or either is unknown or `a` is hung up, or either is a leg whose API
   * originate has not returned yet: `-ERR Invalid uuid` (real ctl-04: a
   * ringing trunk leg and a parked Verto leg; observed.md reads it as the
   * originate still running, and observed.md wins over the source reading).
   * Otherwise `+OK <b>` at once; then both leave what they run (CHANNEL_UNPARK)
   * and the originator (the one with media) waits for the other
   * (uuid_bridge_on_soft_execute, switch_ivr_wait_for_answer):
   *  - the other has no media (a Verto leg never answered, real ctl-03; a
   *    trunk leg still ringing, ctl-07): it is hung up DESTINATION_OUT_OF_ORDER
   *    and the originator ORIGINATOR_CANCEL (both captures show exactly
   *    this; the source path that hangs up the media-less leg was not
   *    identified);
   *  - the other has media: the originator is answered if it was not
   *    (switch_ivr_multi_threaded_bridge; a Verto leg gets verto.answer and
   *    fires CHANNEL_ANSWER once DTLS is up), then CHANNEL_BRIDGE on the
   *    originator (Bridge-A = originator) and verto.display to a Verto leg
   *    (real ctl-05, ctl-06).
   */
  uuidBridge(aUuid: string, bUuid: string): string {
    let a = this.#channels.get(aUuid);
    let b = this.#channels.get(bUuid);
    if (a === undefined || b === undefined || a.hungUp) return '-ERR Invalid uuid\n';
    // observed.md (real ctl-04): a leg whose originate job has not returned cannot be bridged yet.
    if (a.owner?.originating === true || b.owner?.originating === true) return '-ERR Invalid uuid\n';
    const mediaUp = (c: Channel): boolean => c.answered || c.times.progressMedia !== 0;
    if (!mediaUp(a)) {
      if (!mediaUp(b)) return '-ERR Invalid uuid\n';
      [a, b] = [b, a];
    }
    const orig = a;
    const peer = b;
    orig.appGeneration++;
    peer.appGeneration++;
    this.later(1, () => this.#runUuidBridge(orig, peer));
    return `+OK ${bUuid}\n`;
  }

  #runUuidBridge(orig: Channel, peer: Channel): void {
    if (orig.hungUp || peer.hungUp) return;
    // both leave their application (park: CHANNEL_UNPARK, EXECUTE_COMPLETE); a previous bridge of either ends
    for (const c of [orig, peer]) {
      // switch_ivr_uuid_bridge: switch_channel_stop_broadcast on both
      c.hearsHoldMusic = undefined;
      const old = c.bLeg;
      if (old !== undefined && old !== peer && old !== orig) this.#unlinkBridge(c, old);
      this.#endApplication(c);
    }
    // an originate that returned early (return_ring_ready) has nothing more to report
    orig.owner = undefined;
    peer.owner = undefined;
    const mediaUp = (c: Channel): boolean => c.answered || c.times.progressMedia !== 0;
    if (!mediaUp(peer)) {
      // real ctl-03 / ctl-07: HANGUP of the media-less leg, then of the originator
      this.hangupStart(peer, 'DESTINATION_OUT_OF_ORDER');
      this.hangupStart(orig, 'ORIGINATOR_CANCEL');
      this.later(1, () => {
        this.hangupFinish(peer);
        this.hangupFinish(orig);
        this.later(1, () => {
          this.destroy(peer);
          this.destroy(orig);
        });
      });
      return;
    }
    const bridgeNow = (): void => {
      if (orig.hungUp || peer.hungUp) return;
      this.#bridgeLegs(orig, peer);
    };
    if (peer.answered) this.markAnswered(orig, bridgeNow);
    else bridgeNow();
  }

  #bridgeLegs(orig: Channel, peer: Channel): void {
    const now = this.nowUs();
    orig.times.bridged = now;
    peer.times.bridged = now;
    orig.bridgedTo = peer.uuid;
    peer.bridgedTo = orig.uuid;
    orig.bLeg = peer;
    peer.bLeg = orig;
    orig.other = { type: 'originatee', channel: peer };
    peer.other = { type: 'originator', channel: orig };
    orig.setVar('bridge_channel', peer.name);
    orig.setVar('bridge_uuid', peer.uuid);
    orig.setVar('signal_bond', peer.uuid);
    orig.setVar('last_bridge_to', peer.uuid);
    peer.setVar('bridge_channel', orig.name);
    peer.setVar('bridge_uuid', orig.uuid);
    peer.setVar('signal_bond', orig.uuid);
    const lead: [string, string][] = [['Bridge-A-Unique-ID', orig.uuid], ['Bridge-B-Unique-ID', peer.uuid]];
    this.fire('CHANNEL_BRIDGE', orig, SITES.bridge, { lead });
    for (const [v, other] of [[orig, peer], [peer, orig]] as const) {
      if (v.kind === 'verto') verto.notifyUuidBridgeDisplay(this, v, other);
    }
    const unbridge = (): void => {
      this.fire('CHANNEL_UNBRIDGE', orig, SITES.unbridge, { lead });
    };
    orig.onHangupDuringApp = unbridge;
    peer.onHangupDuringApp = undefined;
  }

  /**
   * The trunk puts the call on hold with a re-INVITE (a=sendonly) or
   * resumes it (a=sendrecv): switch_core_media_toggle_hold
   * (switch_core_media.c:6447 in 1.11.1) on the SIP leg marks it held
   * (CHANNEL_CALLSTATE HELD, CHANNEL_HOLD, as verto-12 shows for the Verto
   * leg) and plays the hold music to the bridged partner
   * (switch_ivr_broadcast of `hold_music`, default local_stream://moh,
   * SMF_ECHO_ALEG|SMF_LOOP: CHANNEL_EXECUTE playback on the partner). A
   * Verto partner's client is sent nothing: mod_verto's messagehook
   * (mod_verto.c:2819-2935) handles DISPLAY, PROMPT, MEDIA_PARAMS,
   * MEDIA_RENEG, ANSWER and PROGRESS only, and mod_verto never sends
   * verto.modify (it only answers it); the client just hears the music.
   * Resume: CALLSTATE UNHELD, CHANNEL_UNHOLD, CALLSTATE ACTIVE, the music stops.
   */
  farEndHold(ch: Channel, hold: boolean): void {
    if (ch.farEndHeld === hold) return;
    ch.farEndHeld = hold;
    const partner = ch.bridgedTo === undefined ? undefined : this.#channels.get(ch.bridgedTo);
    if (hold) {
      this.setCallState(ch, 'HELD');
      this.fire('CHANNEL_HOLD', ch, SITES.hold);
      if (partner !== undefined && !partner.hungUp) {
        const music = ch.getVar('hold_music') ?? 'local_stream://moh';
        partner.hearsHoldMusic = music;
        this.execute(partner.uuid, 'playback', music, undefined);
      }
      return;
    }
    this.setCallState(ch, 'UNHELD');
    this.fire('CHANNEL_UNHOLD', ch, SITES.hold);
    this.setCallState(ch, 'ACTIVE');
    if (partner !== undefined) partner.hearsHoldMusic = undefined;
  }

  /** Test hook: the far end of trunk leg `uuid` sends a hold (or resume) re-INVITE. False if there is no such answered leg. */
  farEndReinviteHold(uuid: string, hold: boolean): boolean {
    const ch = this.#channels.get(uuid);
    if (ch === undefined || ch.kind !== 'sofia' || ch.hungUp || !ch.answered) return false;
    this.farEndHold(ch, hold);
    return true;
  }

  // -------------------------------------------------------------------------
  // ESL-facing operations

  /** uuid_send_dtmf: goes out toward the endpoint; pre-answers an unanswered channel; no DTMF event. */
  sendDtmf(uuid: string, digits: string): 'ok' | 'no-session' | 'failed' {
    const ch = this.#channels.get(uuid);
    if (ch === undefined) return 'no-session';
    const valid = digits.split('@')[0]?.replace(/[^0-9*#A-Da-dWwFf]/g, '') ?? '';
    if (valid === '' || ch.hungUp || digits.length > 99) return 'failed';
    if (!ch.answered) this.markPreAnswer(ch);
    return 'ok';
  }

  /** uuid_recv_dtmf: digits as if received on the channel (DTMF events, Source APP). */
  recvDtmf(uuid: string, digits: string): boolean {
    const ch = this.#channels.get(uuid);
    if (ch === undefined) return false;
    const valid = [...(digits.split('@')[0] ?? '')].filter((c) => /[0-9*#A-Da-d]/.test(c));
    valid.forEach((d, i) => this.schedule(20 * (i + 1), () => { if (!ch.hungUp) this.fireDtmf(ch, d, 'APP'); }, ch));
    return true;
  }

  /** uuid_answer. */
  answerChannel(uuid: string): boolean {
    const ch = this.#channels.get(uuid);
    if (ch === undefined || ch.hungUp) return false;
    this.markAnswered(ch);
    return true;
  }

  /**
   * uuid_broadcast (switch_ivr_broadcast): `playback <path>` queued on the
   * channel (aleg, the default) and/or its bridged partner (bleg), run by
   * whatever loop holds it (a parked channel's park loop). Modelled as the
   * CHANNEL_EXECUTE of playback and the leg hearing it until a uuid_bridge
   * stops the broadcast (switch_channel_stop_broadcast) or it hangs up.
   */
  broadcast(uuid: string, path: string, legs: string | undefined): boolean {
    const ch = this.#channels.get(uuid);
    if (ch === undefined || ch.hungUp) return false;
    const targets: Channel[] = [];
    if (legs === undefined || /aleg|both/i.test(legs)) targets.push(ch);
    const partner = ch.bridgedTo === undefined ? undefined : this.#channels.get(ch.bridgedTo);
    if (legs !== undefined && /bleg|both/i.test(legs) && partner !== undefined && !partner.hungUp) targets.push(partner);
    for (const t of targets) {
      t.hearsHoldMusic = path;
      this.fire('CHANNEL_EXECUTE', t, SITES.execute, { extra: [['Application', 'playback'], ['Application-Data', path], ['Application-UUID', randomUUID()]] });
    }
    return true;
  }

  /** sendmsg execute: runs an application on the channel. */
  execute(uuid: string, app: string, data: string, appUuid: string | undefined): boolean {
    const ch = this.#channels.get(uuid);
    if (ch === undefined) return false;
    this.schedule(0, () => {
      if (!ch.hungUp) runDialplan(this.#appHost(), ch, [{ app, data }], { appUuid, standalone: true });
    }, ch);
    return true;
  }

  /**
   * `originate <dialstring> <app|&app(args)>`: creates the leg, waits for
   * answer or failure, then runs the app on the answered leg.
   */
  originate(args: string): Promise<OriginateResult> {
    return new Promise((resolve) => {
      const m = /^\s*(?:\{([^}]*)\})?(\S+)\s*(.*)$/.exec(args);
      if (m === null) {
        resolve({ ok: false, cause: 'INVALID_URL' });
        return;
      }
      const vars = parseVarList(m[1] ?? '');
      const dial = m[2] ?? '';
      const appText = (m[3] ?? '').trim();
      const gwMatch = /^sofia\/gateway\/([^/]+)\/(.+)$/.exec(dial);
      if (gwMatch === null) {
        const vertoTarget = verto.resolveDialTarget(this, dial);
        if (vertoTarget === undefined) {
          resolve({ ok: false, cause: dial.startsWith('verto.rtc/') || dial.startsWith('user/') ? 'USER_NOT_REGISTERED' : 'CHAN_NOT_IMPLEMENTED' });
          return;
        }
        verto.originateToSession(this, vertoTarget, vars, undefined, this.#originateOwner(resolve, appText, vars), dial);
        return;
      }
      const gw = gwMatch[1] ?? '';
      const number = gwMatch[2] ?? '';
      if (!this.gatewayExists(gw)) {
        resolve({ ok: false, cause: 'INVALID_GATEWAY' });
        return;
      }
      this.createSipLeg({ gateway: gw, number, vars, owner: this.#originateOwner(resolve, appText, vars) });
    });
  }

  /**
   * The API originate's view of its leg: the job returns when the leg
   * answers (real ctl-01) or fails (ctl-02: `-ERR USER_BUSY` after the leg's
   * HANGUP_COMPLETE), then the application runs on the answered leg. With
   * `return_ring_ready=true` it returns, and the application runs, at the
   * first ring or early media (switch_ivr_originate; real ctl-07).
   */
  #originateOwner(resolve: (r: OriginateResult) => void, appText: string, vars: Readonly<Record<string, string>> = {}): LegOwner {
    let settled = false;
    const succeed = (leg: Channel): void => {
      if (settled) return;
      settled = true;
      leg.owner = undefined;
      resolve({ ok: true, uuid: leg.uuid });
      const app = parseAppText(appText);
      const generation = leg.appGeneration;
      this.schedule(0, () => {
        if (leg.hungUp || leg.appGeneration !== generation) return;
        leg.hitDialplan = true;
        this.setRunning(leg, 'CS_EXECUTE');
        runDialplan(this.#appHost(), leg, [app], { standalone: true });
      }, leg);
    };
    const ringReady = vars.return_ring_ready === 'true';
    return {
      originating: true,
      progress: (leg) => {
        if (ringReady) succeed(leg);
      },
      earlyMedia: (leg) => {
        if (ringReady) succeed(leg);
      },
      answered: (leg) => succeed(leg),
      failed: (_leg, cause) => {
        if (settled) return;
        settled = true;
        resolve({ ok: false, cause });
      },
      ended: () => undefined,
    };
  }

  getVariable(uuid: string, name: string): string | undefined | null {
    const ch = this.#channels.get(uuid);
    if (ch === undefined) return null;
    return ch.getVar(name);
  }

  setVariable(uuid: string, name: string, value: string | undefined): boolean {
    const ch = this.#channels.get(uuid);
    if (ch === undefined) return false;
    ch.setVar(name, value);
    return true;
  }

  /** RELOADXML event (`reloadxml`). */
  reloadXml(): void {
    this.fireEvent('RELOADXML', SITES.reloadxml, []);
  }

  // -------------------------------------------------------------------------
  // Verto backend (see verto-backend.ts)

  attachSession(sessid: string, user: string, sink: VertoCallSink): readonly string[] {
    return verto.attachSession(this, sessid, user, sink);
  }
  detachSession(sessid: string, clientAddress?: string): void {
    verto.detachSession(this, sessid, clientAddress);
  }
  invite(req: VertoInviteRequest): VertoCallResult {
    return verto.invite(this, req);
  }
  answer(sessid: string, callId: string, sdp: string): VertoCallResult {
    return verto.answer(this, sessid, callId, sdp);
  }
  bye(sessid: string, callId: string, cause: string | undefined, causeCode: number | undefined): VertoCallResult {
    return verto.bye(this, sessid, callId, cause, causeCode);
  }
  dtmf(sessid: string, callId: string, digits: string): VertoCallResult {
    return verto.dtmf(this, sessid, callId, digits);
  }
  modify(sessid: string, callId: string, action: string, params: Readonly<Record<string, unknown>>): VertoCallResult {
    return verto.modify(this, sessid, callId, action, params);
  }
  reattach(sessid: string, callId: string, sdp: string): VertoCallResult {
    return verto.reattach(this, sessid, callId, sdp);
  }

  /** `verto_contact <user>@<domain>`: `verto.rtc/u:<sessid>` of a logged-in session, or undefined. */
  vertoContact(user: string): string | undefined {
    return verto.contact(this, user);
  }

  /** A call from the SIP trunk into the public context (the dialplan decides). */
  placeInboundCall(req: InboundCallRequest): InboundCallHandle {
    return verto.placeInboundCall(this, req);
  }

  answerSdpFor(offer: string): string {
    return (this.options.answerSdp ?? fsAnswerSdp)(offer);
  }

  offerSdp(): string {
    return (this.options.offerSdp ?? fsOfferSdp)();
  }

  /** FreeSWITCH's fresh offer for a `verto.attach`, given the client's last SDP. */
  reofferSdpFor(remote: string): string {
    return fsReofferSdp(remote);
  }

  // -------------------------------------------------------------------------

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Clears every timer and drops every channel (no events). */
  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const ch of this.#channels.values()) ch.clearTimers();
    this.#channels.clear();
    this.sessions.clear();
    this.#listeners.clear();
  }
}

/** `&park()`, `&echo`, `park`, `&playback(file)` -> {app, data}. */
export function parseAppText(text: string): { app: string; data: string } {
  const m = /^&?([\w.]+)(?:\((.*)\))?\s*(.*)$/.exec(text);
  if (m === null) return { app: 'park', data: '' };
  return { app: m[1] ?? 'park', data: m[2] ?? m[3] ?? '' };
}

function sipPhrase(status: number): string {
  const phrases: Record<number, string> = {
    403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 480: 'Temporarily Unavailable', 486: 'Busy Here',
    487: 'Request Terminated', 488: 'Not Acceptable Here', 500: 'Server Internal Error', 502: 'Bad Gateway',
    503: 'Service Unavailable', 600: 'Busy Everywhere', 603: 'Decline',
  };
  return phrases[status] ?? 'Error';
}
