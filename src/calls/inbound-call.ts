import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { CallEvent } from '../matrix/call-events.ts';
import { isEndOfCandidates, mergeCandidates, type TrickledCandidate } from '../sdp/candidates.ts';
import { checkClientSdp } from '../sdp/offer.ts';
import { sdpForMatrix } from '../sdp/for-matrix.ts';
import { answerTo, classifyOffer, withSetup } from '../sdp/renegotiate.ts';
import { CAUSE_TABLE, type CallOutcome, type MatrixHangupReason } from './hangup-causes.ts';
import type { ApiCommand } from '../esl/commands.ts';
import { uuidKill, uuidSetvar, uuidSetvarMulti } from '../esl/commands.ts';
import type { MilestoneKind } from './outbound-call.ts';
import { handedOverOutcome, killLeg, maxDurationNotice, VERTO_LOST_OUTCOME } from './call-endings.ts';
import { CallTimers, type TimerLedger } from './call-timers.ts';
import type { CallUpdate } from '../store/state-store.ts';

/**
 * The states of an inbound call (SIP -> Matrix):
 *
 *   ringing    m.call.invite sent to the room; devices may answer
 *   answering  the first m.call.answer won (select_answer sent); its
 *              trickled candidates are being coalesced
 *   answered   verto.answer sent with the complete answer
 *   ended      both sides told; timers cleared
 */
export type InboundState = 'ringing' | 'answering' | 'answered' | 'ended';

const TRANSITIONS: Readonly<Record<InboundState, readonly InboundState[]>> = {
  ringing: ['answering', 'ended'],
  answering: ['answered', 'ended'],
  answered: ['ended'],
  ended: [],
};

export interface InboundCallInfo {
  /** FreeSWITCH's UUID of the leg toward the edge (= the Verto callID). */
  readonly uuid: string;
  readonly roomId: string;
  readonly did: string;
  readonly callerNumber: string;
  readonly callerName: string | undefined;
  readonly offerSdp: string;
  readonly invitee: string | undefined;
  readonly dtmfNotices: boolean;
  /** The notice posted as the room rings (default: who calls, and which number they dialled). */
  readonly ringNotice?: string;
}

export interface InboundSettings {
  readonly ringTimeoutMs: number;
  readonly gatheringWindowMs: number;
  readonly dtmfBatchMs: number;
  /** Longest answered call, in seconds; then the edge hangs up. */
  readonly maxDurationS: number;
  /** calls.recovery_ring_s: how long the user is rung again when the Matrix side's media is lost (0: the call ends with it). */
  readonly recoveryRingS?: number;
}

export interface InboundPorts {
  /** Kept until the homeserver acknowledged it; sends of one key (the call id) go out in order. */
  sendMatrix(roomId: string, type: string, content: Record<string, unknown>, key: string): Promise<void>;
  notice(roomId: string, text: string, key: string): Promise<void>;
  /** What the state store keeps of the call changed. */
  journal(matrixCallId: string, update: CallUpdate): void;
  verto(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
  esl(command: ApiCommand): Promise<string>;
  ended(call: InboundCall, outcome: CallOutcome): void;
  /** The Matrix side's media was lost, the trunk leg waits parked: ring the user again (call-manager.ts, recovery.ts). */
  recover?(call: InboundCall): void;
  /** ESL is connected now (a recovery needs it from the first step). */
  eslUp?(): boolean;
  milestone(call: InboundCall, kind: MilestoneKind): void;
  /** Where the call's timers are counted (the manager's; a private one when absent). */
  readonly timers?: TimerLedger;
}

type Answer = Extract<CallEvent, { type: 'm.call.answer' }>;

/** Channel variables an inbound call's Verto leg carries once it rings (room without its leading "!", which ESL values may not hold). */
export const INBOUND_CHANNEL_VARS = { callId: 'mse_inbound_call_id', room: 'mse_inbound_room', partyId: 'mse_inbound_party_id' } as const;

/** One SIP -> Matrix call: owns its state, timers and logger. */
export class InboundCall {
  readonly matrixCallId = `mse${Date.now()}${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  readonly partyId = randomUUID().replace(/-/g, '').slice(0, 12);
  readonly uuid: string;
  readonly roomId: string;
  readonly log: Logger;
  readonly #info: InboundCallInfo;
  readonly #settings: InboundSettings;
  readonly #ports: InboundPorts;
  #state: InboundState = 'ringing';
  #winner: { userId: string; partyId: string | undefined; sdp: string } | undefined;
  /** Candidates per (user, party) until an answer is chosen. */
  readonly #candidates = new Map<string, TrickledCandidate[]>();
  readonly #timers: CallTimers<'ring' | 'gather' | 'dtmf' | 'max_duration'>;
  #dtmfDigits = '';
  #farLegUuid: string | undefined;
  #told: Promise<void> = Promise.resolve();
  /** What the edge last told the answering device of its media: the invite's offer, then negotiate answers. */
  #matrixSdp: string | undefined;
  #held = false;
  #negotiating: Promise<void> = Promise.resolve();
  /**
   * The trunk leg kept for a recovery (park_after_bridge set on it over ESL):
   * 'arming' while the request is out or its answer was lost. Once not 'no',
   * every end of this call ends the trunk leg itself, or it would wait parked.
   */
  #trunkKept: 'no' | 'arming' | 'kept' = 'no';
  #trunkGone = false;
  /** The Matrix side's media was lost and the trunk leg handed over to ring the user again. */
  #handedOver = false;
  /** The uuid_kill of the kept trunk leg at the call's end: true when FreeSWITCH took it (the bridge then ends the Verto leg). */
  #trunkEnded: Promise<boolean> = Promise.resolve(false);

  constructor(info: InboundCallInfo, settings: InboundSettings, ports: InboundPorts, log: Logger) {
    this.#info = info;
    this.#settings = settings;
    this.#ports = ports;
    this.#timers = new CallTimers(ports.timers);
    this.uuid = info.uuid;
    this.roomId = info.roomId;
    this.log = log.child({ call: this.matrixCallId, room: info.roomId, uuid: info.uuid, direction: 'inbound', did: info.did });
  }

  get state(): InboundState {
    return this.#state;
  }

  /** The user whose device answered (for commands such as !hangup). */
  get answeredBy(): string | undefined {
    return this.#winner?.userId;
  }

  get farLegUuid(): string | undefined {
    return this.#farLegUuid;
  }

  /** The number the Matrix user is connected to (the caller's, or "anonymous"). */
  get peerNumber(): string {
    return this.#info.callerNumber;
  }

  /** True while the ended call's trunk leg may still be up and is the edge's to end (kept for a recovery, not handed over). */
  get trunkLegMayExist(): boolean {
    return this.#farLegUuid !== undefined && this.#trunkKept !== 'no' && !this.#trunkGone && !this.#handedOver;
  }

  #move(to: InboundState): boolean {
    if (!TRANSITIONS[this.#state].includes(to)) {
      this.log.warn({ from: this.#state, to }, 'ignored an event that does not fit the call state');
      return false;
    }
    this.#state = to;
    return true;
  }

  #common(): Record<string, unknown> {
    return { call_id: this.matrixCallId, party_id: this.partyId, version: '1' };
  }

  /** Ring the room: a notice naming the caller, then m.call.invite (v1, lifetime = ring timeout). */
  async ring(): Promise<void> {
    this.#ports.milestone(this, 'verto_invite_received');
    const { sdp, streamMetadata } = sdpForMatrix(this.#info.offerSdp);
    this.#matrixSdp = sdp;
    this.#timers.set('ring', this.#settings.ringTimeoutMs, () => this.#noAnswer());
    const who = this.#info.callerName && this.#info.callerName !== this.#info.callerNumber ? `${this.#info.callerName} (${this.#info.callerNumber})` : this.#info.callerNumber;
    try {
      const inviting = this.#sendMatrix('m.call.invite', {
        ...this.#common(),
        lifetime: this.#settings.ringTimeoutMs,
        offer: { type: 'offer', sdp },
        sdp_stream_metadata: streamMetadata,
        ...(this.#info.invitee === undefined ? {} : { invitee: this.#info.invitee }),
      });
      this.#ports.milestone(this, 'matrix_invite_sent');
      await inviting;
      if (this.#state === 'ended') return;
      await this.#rememberOnChannel();
      await this.#chainNotice(this.#info.ringNotice ?? `Incoming call from ${who} to ${this.#info.did}`);
      this.log.info({ caller: this.#info.callerNumber }, 'ringing the room');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'could not ring the room');
      await this.#end('NORMAL_TEMPORARY_FAILURE', 'NORMAL_TEMPORARY_FAILURE', undefined);
    }
  }

  /**
   * Writes the Matrix side of the call onto its Verto leg (uuid_setvar), so
   * that an edge restarted after a crash can end the call in its room when it
   * finds the leg orphaned (reconcile.ts). Outbound legs carry the same facts
   * from their verto.invite.
   */
  async #rememberOnChannel(): Promise<void> {
    const facts: Array<[string, string]> = [
      [INBOUND_CHANNEL_VARS.callId, this.matrixCallId],
      [INBOUND_CHANNEL_VARS.room, this.roomId.replace(/^!/, '')],
      [INBOUND_CHANNEL_VARS.partyId, this.partyId],
    ];
    try {
      for (const [name, value] of facts) await this.#ports.esl(uuidSetvar(this.uuid, name, value));
    } catch (err) {
      // A room ID outside the ESL value grammar, or ESL away: the call goes on; only crash recovery loses its room.
      this.log.warn({ err: (err as Error).message }, 'could not record the Matrix call on its channel');
    }
  }

  /** A device answered. The first one wins; later ones are told by select_answer. */
  onAnswer(answer: Answer): void {
    if (this.#state !== 'ringing') {
      this.log.info({ from: answer.sender, party: answer.content.party_id, state: this.#state }, 'a later answer lost to the first one');
      return;
    }
    if (this.#info.invitee !== undefined && answer.sender !== this.#info.invitee) {
      this.log.warn({ from: answer.sender }, 'ignored an answer from a user the call was not for');
      return;
    }
    const check = checkClientSdp(answer.content.answer.sdp);
    if (!check.ok) {
      this.log.warn({ from: answer.sender, reason: check.reason }, 'ignored an answer with an unusable SDP');
      return;
    }
    this.#move('answering');
    this.#ports.milestone(this, 'matrix_answer_received');
    this.#timers.clear('ring');
    this.#winner = { userId: answer.sender, partyId: answer.content.party_id, sdp: answer.content.answer.sdp };
    this.#ports.journal(this.matrixCallId, { answered: true, state: 'answering', peerPartyId: answer.content.party_id });
    this.log.info({ by: answer.sender, party: answer.content.party_id }, 'answered in Matrix');
    // As matrix-js-sdk does: select_answer only names an answer that has a party_id (v1).
    if (answer.content.party_id !== undefined) {
      void this.#sendMatrix('m.call.select_answer', { ...this.#common(), selected_party_id: answer.content.party_id }).catch((err: Error) =>
        this.log.warn({ err: err.message }, 'could not send m.call.select_answer'),
      );
    }
    const own = this.#candidates.get(this.#key(answer.sender, answer.content.party_id)) ?? [];
    if (/^a=end-of-candidates\r?$/m.test(answer.content.answer.sdp) || own.some(isEndOfCandidates)) {
      void this.#sendAnswer('complete');
      return;
    }
    this.#timers.set('gather', this.#settings.gatheringWindowMs, () => void this.#sendAnswer('gathering window closed'));
  }

  onCandidates(sender: string, partyId: string | undefined, candidates: readonly TrickledCandidate[]): void {
    const key = this.#key(sender, partyId);
    if (this.#state === 'ringing') {
      this.#candidates.set(key, [...(this.#candidates.get(key) ?? []), ...candidates]);
      return;
    }
    if (this.#state !== 'answering' || this.#winner === undefined || key !== this.#key(this.#winner.userId, this.#winner.partyId)) return;
    this.#candidates.set(key, [...(this.#candidates.get(key) ?? []), ...candidates]);
    if (candidates.some(isEndOfCandidates)) void this.#sendAnswer('end-of-candidates');
  }

  #key(userId: string, partyId: string | undefined): string {
    return `${userId}|${partyId ?? ''}`;
  }

  async #sendAnswer(trigger: string): Promise<void> {
    if (this.#state !== 'answering' || this.#winner === undefined) return;
    this.#timers.clear('gather');
    const candidates = this.#candidates.get(this.#key(this.#winner.userId, this.#winner.partyId)) ?? [];
    const merged = mergeCandidates(this.#winner.sdp, candidates, trigger !== 'gathering window closed');
    this.#move('answered');
    this.#ports.journal(this.matrixCallId, { state: 'answered' });
    this.#timers.set('max_duration', this.#settings.maxDurationS * 1000, () => {
      this.log.info({ maxDurationS: this.#settings.maxDurationS }, 'the call reached its maximum duration');
      void this.#end('ALLOTTED_TIMEOUT', 'ALLOTTED_TIMEOUT', maxDurationNotice(this.#settings.maxDurationS));
    });
    try {
      const answering = this.#ports.verto('verto.answer', { sdp: merged.sdp, dialogParams: { callID: this.uuid } });
      this.#ports.milestone(this, 'verto_answer_sent');
      await answering;
      this.log.info({ trigger, candidatesAdded: merged.added }, 'verto.answer sent');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'verto.answer failed');
      await this.#end('NORMAL_TEMPORARY_FAILURE', 'NORMAL_TEMPORARY_FAILURE', 'The call could not be connected.');
    }
  }

  /**
   * m.call.negotiate from the device that answered: a hold or resume goes
   * to FreeSWITCH as verto.modify, and is answered from the edge's offer
   * with the directions mirrored and the DTLS role the device left it; new
   * streams are refused in the answer; an ICE restart ends the call.
   */
  onNegotiate(sender: string, partyId: string | undefined, description: { readonly type: 'offer' | 'answer'; readonly sdp: string }): void {
    if (this.#winner === undefined || sender !== this.#winner.userId || partyId !== this.#winner.partyId) return;
    if (description.type !== 'offer') {
      this.log.debug('a negotiate answer, to no offer of the edge: ignored');
      return;
    }
    this.#negotiating = this.#negotiating.then(() => this.#negotiate(description.sdp));
  }

  async #negotiate(offer: string): Promise<void> {
    const winner = this.#winner;
    const base = this.#matrixSdp;
    if (this.#state !== 'answered' || winner === undefined || base === undefined) return;
    const judged = classifyOffer(winner.sdp, offer, this.#held);
    this.log.info({ negotiate: judged.kind }, 'm.call.negotiate');
    if (judged.kind === 'ice_restart' || judged.kind === 'invalid') {
      const why = judged.kind === 'ice_restart' ? 'the phone system cannot restart its connection (ICE restart)' : judged.reason;
      await this.#end('NORMAL_TEMPORARY_FAILURE', 'NORMAL_TEMPORARY_FAILURE', `The call was ended: ${why}.`);
      return;
    }
    if (judged.kind === 'hold' || judged.kind === 'resume') {
      const action = judged.kind === 'hold' ? 'hold' : 'unhold';
      try {
        await this.#ports.verto('verto.modify', { action, dialogParams: { callID: this.uuid } });
        this.#held = judged.kind === 'hold';
      } catch (err) {
        this.log.warn({ action, err: (err as Error).message }, 'verto.modify failed');
      }
    }
    if (this.#state !== 'answered') return;
    // The device took the DTLS role (setup) in its answer; the edge keeps the other one.
    const sdp = answerTo(withSetup(base, /^a=setup:active\r?$/m.test(winner.sdp) ? 'passive' : 'active'), offer);
    this.#matrixSdp = sdp;
    await this.#sendMatrix('m.call.negotiate', { ...this.#common(), description: { type: 'answer', sdp }, lifetime: 60_000 }).catch((err: Error) =>
      this.log.warn({ err: err.message }, 'could not answer m.call.negotiate'),
    );
  }

  /** m.call.reject from a device, or a hangup while ringing (busy when it says so). */
  onMatrixReject(sender: string, reason: string | undefined): void {
    if (this.#state === 'ended') return;
    if (this.#info.invitee !== undefined && sender !== this.#info.invitee) {
      this.log.warn({ from: sender }, 'ignored a rejection from a user the call was not for');
      return;
    }
    if (this.#state === 'ringing') {
      const busy = reason === 'user_busy';
      void this.#end(busy ? 'USER_BUSY' : 'CALL_REJECTED', busy ? 'user_busy' : 'CALL_REJECTED', undefined, false);
      return;
    }
    // Answered already: another device's late reject is ignored (the answering one ends the call with m.call.hangup).
    this.log.info({ from: sender, state: this.#state }, 'ignored a rejection that came after the answer');
  }

  /** m.call.hangup from the answering device (or from a device while ringing). */
  onMatrixHangup(sender: string, partyId: string | undefined, reason: string | undefined): void {
    if (this.#state === 'ringing') {
      this.onMatrixReject(sender, reason);
      return;
    }
    if (this.#winner && this.#key(sender, partyId) !== this.#key(this.#winner.userId, this.#winner.partyId)) return;
    void this.#end('NORMAL_CLEARING', 'NORMAL_CLEARING', undefined, false);
  }

  /** FreeSWITCH ended the leg (the caller hung up, or the trunk went away). */
  onVertoBye(cause: string | undefined): void {
    if (this.#state === 'ended') return;
    const c = cause ?? 'NORMAL_CLEARING';
    const reason: MatrixHangupReason = c === 'NORMAL_CLEARING' || c === 'ORIGINATOR_CANCEL' ? 'user_hangup' : CAUSE_TABLE[c]?.reason ?? 'unknown_error';
    this.#finish({ cause: c, sipStatus: undefined, reason, notice: undefined }, true, this.#state === 'ringing' ? 'The caller hung up.' : undefined);
  }

  /**
   * The Verto socket dropped after the answer. FreeSWITCH detaches the leg
   * (it offered the call, so the edge could not ask for recoverCall false):
   * a re-attach cannot restore the Matrix client's media. A kept trunk leg
   * (park_after_bridge, ESL up) waits parked once the edge ends the
   * detached leg, and the user who answered is rung again (#handOver).
   * Otherwise the call is ended at once on both sides: the leg over ESL
   * (the trunk leg with it), the room told.
   */
  async onVertoLost(): Promise<void> {
    if (this.#state !== 'answered') return;
    if (this.#recoverable()) {
      // The trunk leg keeps park_after_bridge: ending the detached Verto leg parks it.
      this.#handOver();
      await killLeg(this.#ports, this.uuid, VERTO_LOST_OUTCOME.cause, this.log);
      await this.#told;
      return;
    }
    this.log.warn('the Verto connection was lost during the call; its media cannot be restored: ending it');
    this.#finish(VERTO_LOST_OUTCOME, true, VERTO_LOST_OUTCOME.notice);
    await killLeg(this.#ports, this.uuid, VERTO_LOST_OUTCOME.cause, this.log);
    await this.#told;
  }

  #recoverable(): boolean {
    return (
      this.#trunkKept === 'kept' && !this.#trunkGone && (this.#settings.recoveryRingS ?? 0) > 0 && this.#ports.recover !== undefined && (this.#ports.eslUp?.() ?? true)
    );
  }

  /** The Matrix call ends saying the call was interrupted; the waiting trunk leg is handed over to ring the user again. */
  #handOver(): void {
    this.#handedOver = true;
    this.log.warn('the Matrix side\'s media was lost; the caller waits while the user is rung again');
    const outcome = handedOverOutcome(this.#info.callerNumber);
    // the recovery first: the manager must not count the call over (a drain, a stop) before the far end is in its hands
    this.#ports.recover?.(this);
    this.#finish(outcome, true, outcome.notice);
  }

  /** ESL: the leg toward the edge is bridged to the trunk leg. */
  onBridged(farLegUuid: string): void {
    if (this.#farLegUuid === farLegUuid) return;
    this.#farLegUuid = farLegUuid;
    this.#ports.journal(this.matrixCallId, { farLeg: farLegUuid });
    if (this.#state !== 'ended' && (this.#settings.recoveryRingS ?? 0) > 0 && this.#ports.recover !== undefined) void this.#keepTrunk(farLegUuid);
  }

  /** ESL: the trunk leg hung up (the caller, or the edge's own kill). */
  onTrunkGone(): void {
    this.#trunkGone = true;
  }

  /**
   * Keeps the far end when the Matrix side's media is lost: park_after_bridge
   * on the trunk leg, read when its bridge ends (switch_ivr_multi_threaded_bridge,
   * so setting it during the bridge counts; it wins over the template's
   * hangup_after_bridge). With it go what a restarted edge needs to ring the
   * user again (mse_user, mse_peer_number) and what the channel walk knows
   * the leg by (mse_leg=trunk, the Matrix call), as on an outbound trunk leg.
   */
  async #keepTrunk(trunk: string): Promise<void> {
    const vars: Array<readonly [string, string]> = [
      ['mse_leg', 'trunk'],
      ['mse_matrix_call_id', this.matrixCallId],
      ['mse_room_id', this.roomId],
      ['mse_party_id', this.partyId],
      ['mse_version', '1'],
      ['mse_peer_number', this.#info.callerNumber],
      ...(this.#winner === undefined ? [] : [['mse_user', this.#winner.userId] as const]),
      ['park_after_bridge', 'true'],
    ];
    let command: ApiCommand;
    try {
      command = uuidSetvarMulti(trunk, vars);
    } catch (err) {
      // a value outside the ESL grammar (a room or user id): the call goes on, ending with its media as before
      this.log.warn({ err: (err as Error).message }, 'cannot keep the trunk leg for a recovery');
      return;
    }
    this.#trunkKept = 'arming';
    try {
      const reply = await this.#ports.esl(command);
      if (reply.startsWith('+OK')) this.#trunkKept = 'kept';
      else {
        this.#trunkKept = 'no';
        this.log.info({ reply: reply.trim().slice(0, 80) }, 'the trunk leg could not be kept for a recovery (gone already)');
      }
    } catch (err) {
      // unknown whether FreeSWITCH set it: the end of the call ends the trunk leg all the same
      this.log.warn({ err: (err as Error).message }, 'could not keep the trunk leg for a recovery');
    }
    if (this.#state === 'ended' && this.#trunkKept === 'kept' && !this.#handedOver && !this.#trunkGone) {
      // the call ended while the request was out: the trunk leg must not wait parked
      void killLeg(this.#ports, trunk, 'NORMAL_CLEARING', this.log);
    }
  }

  /** ESL DTMF from the trunk side: batched into one notice per burst. */
  onFarEndDtmf(digit: string): void {
    if (!this.#info.dtmfNotices || this.#state === 'ended' || !/^[0-9*#A-D]$/.test(digit)) return;
    this.#dtmfDigits += digit;
    this.#timers.set('dtmf', this.#settings.dtmfBatchMs, () => this.#flushDtmf());
  }

  #flushDtmf(): void {
    this.#timers.clear('dtmf');
    if (this.#dtmfDigits === '') return;
    const digits = this.#dtmfDigits;
    this.#dtmfDigits = '';
    void this.#chainNotice(`The caller pressed ${digits}`).catch((err: Error) => this.log.warn({ err: err.message }, 'could not post DTMF'));
  }

  /** Matrix sends of this call: kept at once, delivered in order (the outbox keys them by the call id). */
  #sendMatrix(type: string, content: Record<string, unknown>): Promise<void> {
    return this.#ports.sendMatrix(this.roomId, type, content, this.matrixCallId);
  }

  #chainNotice(text: string): Promise<void> {
    return this.#ports.notice(this.roomId, text, this.matrixCallId);
  }

  /** End from the edge (command, shutdown, the far end gone while it rang again), with a notice when given. */
  async hangup(vertoCause: string, notice?: string): Promise<void> {
    await this.#end(vertoCause, vertoCause, notice);
    await this.#told;
  }

  #noAnswer(): void {
    if (this.#state !== 'ringing') return;
    this.log.info('nobody answered in Matrix');
    void this.#end('NO_ANSWER', 'NO_ANSWER', 'Missed call.', true, 'invite_timeout');
  }

  async #end(vertoCause: string, cause: string, notice: string | undefined, tellMatrix = true, matrixReason = 'user_hangup'): Promise<void> {
    if (this.#state === 'ended') return;
    const reason: MatrixHangupReason =
      matrixReason === 'invite_timeout' ? 'invite_timeout' : cause === 'USER_BUSY' || cause === 'user_busy' ? 'user_busy' : cause === 'NORMAL_CLEARING' || cause === 'CALL_REJECTED' ? 'user_hangup' : CAUSE_TABLE[cause]?.reason ?? 'unknown_error';
    const byeCause = vertoCause === 'user_busy' ? 'USER_BUSY' : vertoCause;
    this.#finish({ cause, sipStatus: undefined, reason, notice }, tellMatrix, notice, byeCause);
    try {
      await this.#ports.verto('verto.bye', { cause: byeCause, dialogParams: { callID: this.uuid } });
    } catch (err) {
      // A kept trunk leg is ended at the same time (#finish): its bridge may have hung the Verto leg up first.
      if (await this.#trunkEnded) return;
      this.log.warn({ err: (err as Error).message }, 'verto.bye failed; hanging the leg up over ESL');
      await this.#ports.esl(uuidKill(this.uuid, byeCause)).catch((e: Error) => this.log.error({ err: e.message }, 'uuid_kill failed too; the next reconciliation ends the channel'));
    }
  }

  #finish(outcome: CallOutcome, tellMatrix: boolean, notice: string | undefined, trunkCause: string = outcome.cause): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    // A kept trunk leg would wait parked once its Verto leg goes: it ends with the call, with the cause it would have had.
    const far = this.#farLegUuid;
    if (far !== undefined && this.#trunkKept !== 'no' && !this.#handedOver && !this.#trunkGone) {
      const cause = /^[A-Z][A-Z_]{1,40}$/.test(trunkCause) ? trunkCause : 'NORMAL_CLEARING';
      // built inside the chain: a refused argument must not stop the call from ending
      this.#trunkEnded = Promise.resolve().then(() => this.#ports.esl(uuidKill(far, cause))).then(
        (reply) => reply.startsWith('+OK'),
        (err: Error) => {
          this.log.warn({ err: err.message }, 'could not end the trunk leg');
          return false;
        },
      );
    }
    // every timer, the DTMF batch's too: flushDtmf still posts the digits it holds
    this.#timers.clearAll();
    this.#flushDtmf();
    this.log.info({ cause: outcome.cause, reason: outcome.reason }, 'call ended');
    if (tellMatrix) {
      // Both kept before the call is forgotten (the store drops the call right after): a crash loses neither.
      const hangup = this.#sendMatrix('m.call.hangup', { ...this.#common(), reason: outcome.reason });
      const told = notice === undefined ? [hangup] : [hangup, this.#chainNotice(notice)];
      this.#told = Promise.all(told).then(
        () => undefined,
        (err: Error) => this.log.error({ err: err.message }, 'could not tell Matrix the call ended'),
      );
    }
    this.#ports.ended(this, outcome);
  }
}
