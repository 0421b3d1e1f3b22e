import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { ApiCommand } from '../esl/commands.ts';
import { uuidKill, uuidSendDtmf } from '../esl/commands.ts';
import { EslArgumentError } from '../esl/grammar.ts';
import { VertoRpcError } from '../verto/messages.ts';
import type { CallEvent } from '../matrix/call-events.ts';
import { isEndOfCandidates, mergeCandidates, type TrickledCandidate } from '../sdp/candidates.ts';
import { sdpForMatrix } from '../sdp/for-matrix.ts';
import type { CallerId } from '../routing/caller-id.ts';
import type { Destination } from '../routing/numbers.ts';
import { canMove, type CallState } from './call-state.ts';
import { lostWithVertoSocket, lostWithVertoSocketRinging, outcomeOf, type CallOutcome, type HangupFacts, type MatrixHangupReason } from './hangup-causes.ts';
import { CallTimers, type TimerLedger } from './call-timers.ts';
import { killLeg, maxDurationNotice, VERTO_LOST_OUTCOME, VERTO_LOST_RINGING_OUTCOME } from './call-endings.ts';
import type { CallUpdate } from '../store/state-store.ts';

type Invite = Extract<CallEvent, { type: 'm.call.invite' }>;

/** What a call needs from the outside world; the call manager provides it. */
export interface CallPorts {
  /** Kept until the homeserver acknowledged it; sends of one key (the call id) go out in order. */
  sendMatrix(roomId: string, type: string, content: Record<string, unknown>, key: string): Promise<void>;
  notice(roomId: string, text: string, key: string): Promise<void>;
  /** What the state store keeps of the call changed. */
  journal(matrixCallId: string, update: CallUpdate): void;
  verto(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
  esl(command: ApiCommand): Promise<string>;
  /** The call has ended on both sides; forget it. */
  ended(call: OutboundCall, outcome: CallOutcome): void;
  lateCandidates(count: number): void;
  /** Set-up milestones, for latency metrics. */
  milestone(call: OutboundCall, kind: MilestoneKind): void;
  /** Where the call's timers are counted (the manager's; a private one when absent). */
  readonly timers?: TimerLedger;
}

/** Points in a call's set-up whose distances the metrics measure. */
export type MilestoneKind =
  // outbound (Matrix -> SIP)
  | 'matrix_invite_received'
  | 'verto_invite_sent'
  | 'verto_answer_received'
  | 'matrix_answer_sent'
  // inbound (SIP -> Matrix)
  | 'verto_invite_received'
  | 'matrix_invite_sent'
  | 'matrix_answer_received'
  | 'verto_answer_sent';

export interface OutboundCallSettings {
  readonly destination: Destination;
  readonly gateway: string;
  readonly callerId: CallerId;
  /** Longest wait for end-of-candidates, from the invite's arrival. */
  readonly gatheringWindowMs: number;
  /** Longest wait, after FreeSWITCH's verto.bye, for ESL's CHANNEL_HANGUP_COMPLETE. */
  readonly hangupCauseWaitMs: number;
  /** Ring timeout toward the trunk, in seconds (handed to the dialplan). */
  readonly ringTimeoutS: number;
  /** Longest answered call, in seconds; then the edge hangs up. */
  readonly maxDurationS: number;
}

/** One Matrix -> SIP call: owns its state, timers and logger. */
export class OutboundCall {
  readonly matrixCallId: string;
  readonly roomId: string;
  readonly userId: string;
  /** The FreeSWITCH UUID of the Verto leg (= the Verto callID). */
  readonly uuid: string = randomUUID();
  readonly partyId: string = randomUUID().replace(/-/g, '').slice(0, 12);
  readonly version: '0' | '1';
  readonly log: Logger;
  readonly #invite: Invite;
  readonly #settings: OutboundCallSettings;
  readonly #ports: CallPorts;
  readonly #receivedAt: number;
  #state: CallState = 'gathering';
  #candidates: TrickledCandidate[] = [];
  #offerSdp: string;
  #sipLegUuid: string | undefined;
  #hangupFacts: HangupFacts | undefined;
  #answeredToMatrix = false;
  #farEndAnswered = false;
  readonly #timers: CallTimers<'gather' | 'lifetime' | 'cause' | 'max_duration'>;
  #byeCause: string | undefined;
  #told: Promise<void> = Promise.resolve();
  #dialled = false;

  constructor(invite: Invite, settings: OutboundCallSettings, ports: CallPorts, log: Logger, now: number) {
    this.#invite = invite;
    this.#settings = settings;
    this.#ports = ports;
    this.#timers = new CallTimers(ports.timers);
    this.matrixCallId = invite.content.call_id;
    this.roomId = invite.roomId;
    this.userId = invite.sender;
    this.version = invite.content.version;
    this.#offerSdp = invite.content.offer.sdp;
    this.#receivedAt = now;
    this.log = log.child({ call: this.matrixCallId, room: this.roomId, uuid: this.uuid, direction: 'outbound' });
  }

  get state(): CallState {
    return this.#state;
  }

  /** The caller's party_id (v1). */
  get peerPartyId(): string | undefined {
    return this.#invite.content.version === '1' ? this.#invite.content.party_id : undefined;
  }

  get sipLegUuid(): string | undefined {
    return this.#sipLegUuid;
  }

  /** True once verto.invite went to FreeSWITCH (a Verto leg may exist). */
  get dialled(): boolean {
    return this.#dialled;
  }

  /** Start gathering: dial at end-of-candidates, or when the window closes. */
  start(): void {
    this.#ports.milestone(this, 'matrix_invite_received');
    const lifetimeLeft = this.#invite.content.lifetime - (this.#invite.ageMs ?? 0);
    this.#timers.set('lifetime', Math.max(0, lifetimeLeft), () => this.#onLifetimeOver());
    if (/^a=end-of-candidates\r?$/m.test(this.#offerSdp)) {
      this.#dial('offer complete');
      return;
    }
    const windowLeft = Math.max(0, this.#settings.gatheringWindowMs - (Date.now() - this.#receivedAt));
    this.#timers.set('gather', windowLeft, () => this.#dial('gathering window closed'));
  }

  /** Trickled candidates from the caller's party. */
  onCandidates(candidates: readonly TrickledCandidate[]): void {
    if (this.#state !== 'gathering') {
      const late = candidates.filter((c) => !isEndOfCandidates(c)).length;
      if (late > 0) {
        this.log.warn({ late, state: this.#state }, 'candidates arrived after the offer went to FreeSWITCH; not used');
        this.#ports.lateCandidates(late);
      }
      return;
    }
    this.#candidates.push(...candidates);
    if (candidates.some(isEndOfCandidates)) this.#dial('end-of-candidates');
  }

  #move(to: CallState): boolean {
    if (!canMove(this.#state, to)) {
      this.log.warn({ from: this.#state, to }, 'ignored an event that does not fit the call state');
      return false;
    }
    this.log.debug({ from: this.#state, to }, 'call state');
    this.#state = to;
    return true;
  }

  #dial(trigger: string): void {
    if (this.#state !== 'gathering') return;
    this.#timers.clear('gather');
    const complete = trigger !== 'gathering window closed';
    const merged = mergeCandidates(this.#offerSdp, this.#candidates, complete);
    for (const r of merged.refused) this.log.warn({ candidate: r.candidate.slice(0, 120), reason: r.reason }, 'refused a trickled candidate');
    this.#offerSdp = merged.sdp;
    this.#candidates = [];
    this.#move('dialling');
    this.#dialled = true;
    const { destination, gateway, callerId, ringTimeoutS } = this.#settings;
    this.log.info({ trigger, candidatesAdded: merged.added, destination: destination.number, gateway }, 'verto.invite');
    this.#ports.milestone(this, 'verto_invite_sent');
    this.#ports
      .verto('verto.invite', {
        sdp: merged.sdp,
        dialogParams: {
          callID: this.uuid,
          destination_number: destination.number,
          caller_id_name: callerId.name,
          caller_id_number: callerId.number,
          remote_caller_id_name: destination.number,
          remote_caller_id_number: destination.number,
          // The edge cannot restore media after a Verto reconnect (the media is the
          // Matrix client's): FreeSWITCH ends the call at once instead of detaching it.
          recoverCall: false,
          userVariables: {
            mse_destination: destination.number,
            mse_gateway: gateway,
            mse_caller_id_number: callerId.number,
            mse_caller_id_name: callerId.name,
            mse_call_timeout: String(ringTimeoutS),
            // Not read by the dialplan: they tie the channel to the Matrix call,
            // so a restarted edge can end it on both sides (calls/reconcile.ts).
            mse_matrix_call_id: this.matrixCallId,
            mse_room_id: this.roomId,
            mse_party_id: this.partyId,
            mse_version: this.version,
          },
        },
      })
      .catch((err: Error) => {
        if (this.#state === 'ended') return;
        this.log.warn({ err: err.message }, 'verto.invite failed');
        // No reply is not a refusal: FreeSWITCH may have created the channel; make sure it goes.
        if (!(err instanceof VertoRpcError)) void this.#byeToVerto('NORMAL_TEMPORARY_FAILURE');
        this.#finish({ cause: 'NORMAL_TEMPORARY_FAILURE', sipStatus: undefined, reason: 'unknown_error', notice: 'The call could not be placed: the phone system did not accept it.' }, true);
      });
  }

  /** verto.media: FreeSWITCH's SDP before answer (early media). */
  onMedia(sdp: string): void {
    if (!this.#move('early_media')) return;
    void this.#answerMatrix(sdp);
  }

  /** verto.answer: the far end answered (SDP only when there was no early media). */
  onAnswer(sdp: string | undefined): void {
    if (!this.#move('answered')) return;
    this.#farEndAnswered = true;
    this.#ports.journal(this.matrixCallId, { state: 'answered' });
    this.#timers.set('max_duration', this.#settings.maxDurationS * 1000, () => {
      this.log.info({ maxDurationS: this.#settings.maxDurationS }, 'the call reached its maximum duration');
      void this.hangup('ALLOTTED_TIMEOUT', { cause: 'ALLOTTED_TIMEOUT', sipStatus: undefined, reason: 'user_hangup', notice: maxDurationNotice(this.#settings.maxDurationS) });
    });
    if (!this.#answeredToMatrix) {
      if (sdp === undefined) {
        this.log.error('verto.answer without SDP and no earlier verto.media');
        void this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'INCOMPATIBLE_DESTINATION', sipStatus: undefined, reason: 'user_media_failed', notice: 'The call was answered, but no audio could be set up.' });
        return;
      }
      void this.#answerMatrix(sdp);
    }
  }

  async #answerMatrix(freeswitchSdp: string): Promise<void> {
    this.#answeredToMatrix = true;
    this.#ports.journal(this.matrixCallId, { answered: true, state: this.#state });
    this.#ports.milestone(this, 'verto_answer_received');
    const { sdp, streamMetadata } = sdpForMatrix(freeswitchSdp, this.#offerSdp);
    try {
      const sending = this.#sendMatrix('m.call.answer', {
        ...this.#common(),
        answer: { type: 'answer', sdp },
        sdp_stream_metadata: streamMetadata,
        capabilities: { 'm.call.transferee': false, 'm.call.dtmf': false },
      });
      this.#ports.milestone(this, 'matrix_answer_sent');
      await sending;
      this.log.info('m.call.answer sent');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'could not send m.call.answer');
      await this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'NORMAL_TEMPORARY_FAILURE', sipStatus: undefined, reason: 'unknown_error', notice: undefined });
    }
  }

  /** verto.display: FreeSWITCH says who the far end is. */
  onDisplay(name: string | undefined, number: string | undefined): void {
    if (this.#state === 'ended' || this.version !== '1') return;
    const displayName = name && name !== number ? `${name} (${number ?? ''})`.trim() : number ?? name;
    if (displayName === undefined) return;
    void this
      .#sendMatrix('m.call.asserted_identity', {
        ...this.#common(),
        asserted_identity: { id: number === undefined ? undefined : `tel:${number}`, display_name: displayName },
      })
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not send m.call.asserted_identity'));
  }

  /** ESL: the Verto leg was bridged to the SIP leg. */
  onBridged(sipLegUuid: string): void {
    this.#sipLegUuid = sipLegUuid;
    this.#ports.journal(this.matrixCallId, { farLeg: sipLegUuid });
    this.log.info({ sipLeg: sipLegUuid }, 'bridged to the trunk');
  }

  /** FreeSWITCH sent verto.bye: wait (bounded) for ESL's cause, unless it is here already. */
  onVertoBye(cause: string | undefined): void {
    if (this.#state === 'ended') return;
    this.#byeCause = cause;
    if (this.#hangupFacts !== undefined) {
      this.#finish(outcomeOf(this.#hangupFacts), true);
      return;
    }
    if (!this.#move('ending')) return;
    this.#timers.set('cause', this.#settings.hangupCauseWaitMs, () => {
      this.log.warn('no CHANNEL_HANGUP_COMPLETE from ESL in time; using the verto.bye cause');
      this.#finish(outcomeOf({ hangupCause: this.#byeCause, answered: this.#farEndAnswered }), true);
    });
  }

  /** ESL CHANNEL_HANGUP_COMPLETE of the Verto leg: the source of truth. */
  onHangupComplete(facts: Omit<HangupFacts, 'answered'>): void {
    if (this.#state === 'ended') return;
    if (this.#state === 'answered' && lostWithVertoSocket(facts)) {
      this.log.warn('FreeSWITCH hung the Verto leg up as its socket closed; the media is gone');
      this.#finish(VERTO_LOST_OUTCOME, true);
      return;
    }
    if ((this.#state === 'dialling' || this.#state === 'early_media') && lostWithVertoSocketRinging(facts)) {
      this.log.warn('FreeSWITCH hung the Verto leg up as its socket closed, before the answer');
      this.#finish(VERTO_LOST_RINGING_OUTCOME, true);
      return;
    }
    this.#hangupFacts = { ...facts, answered: this.#farEndAnswered };
    this.#finish(outcomeOf(this.#hangupFacts), true);
  }

  /** The Matrix caller hung up or rejected (or chose another answer). */
  onMatrixHangup(why: string): void {
    if (this.#state === 'ended') return;
    this.log.info({ why }, 'Matrix side ended the call');
    const dialled = this.#state !== 'gathering';
    if (dialled) void this.#byeToVerto('NORMAL_CLEARING');
    this.#finish({ cause: 'NORMAL_CLEARING', sipStatus: undefined, reason: 'user_hangup', notice: undefined }, false);
  }

  /**
   * End the call from the edge (command, shutdown, failure): both sides are
   * told. Matrix first (its ending is kept in the outbox at once), then the
   * Verto bye: a stop that gives up before Verto answers (its request
   * timeout is longer than the stop's) has told the room all the same.
   */
  async hangup(vertoCause: string, outcome: CallOutcome): Promise<void> {
    if (this.#state === 'ended') return;
    const dialled = this.#state !== 'gathering';
    this.#finish(outcome, true);
    await Promise.all([dialled ? this.#byeToVerto(vertoCause) : undefined, this.#told]);
  }

  /**
   * The Verto socket dropped after the answer. mod_verto hangs up a leg
   * created with recoverCall false itself (protocols/verto.md §7), or
   * detaches it (a FreeSWITCH that ignores the flag; the simulator):
   * either way its media is gone. Ended at once on both sides, the leg over
   * ESL, since Verto is down (-ERR when FreeSWITCH ended it first).
   */
  async onVertoLost(): Promise<void> {
    if (this.#state !== 'answered') return;
    this.log.warn('the Verto connection was lost during the call; its media cannot be restored: ending it');
    this.#finish(VERTO_LOST_OUTCOME, true);
    await killLeg(this.#ports, this.uuid, VERTO_LOST_OUTCOME.cause, this.log);
    await this.#told;
  }

  /** `!dtmf`: only once answered, and only on the SIP leg (toward the trunk). */
  async sendDtmf(digits: string, durationMs: number | undefined): Promise<string> {
    if (this.#state !== 'answered') return 'DTMF can only be sent once the call is answered.';
    if (this.#sipLegUuid === undefined) return 'The call is not connected to the phone line yet.';
    let command: ApiCommand;
    try {
      command = uuidSendDtmf(this.#sipLegUuid, digits, durationMs);
    } catch (err) {
      if (err instanceof EslArgumentError) return `Not sent: ${err.message}`;
      throw err;
    }
    const reply = await this.#ports.esl(command);
    if (!reply.startsWith('+OK')) {
      this.log.warn({ reply: reply.trim().slice(0, 200) }, 'uuid_send_dtmf failed');
      return 'The tones could not be sent.';
    }
    this.log.info({ digits: digits.length }, 'DTMF sent');
    return `Sent ${digits}.`;
  }

  async #byeToVerto(cause: string): Promise<void> {
    try {
      await this.#ports.verto('verto.bye', { cause, dialogParams: { callID: this.uuid } });
    } catch (err) {
      // Verto is down or did not answer: end the leg over ESL instead.
      this.log.warn({ err: (err as Error).message }, 'verto.bye failed; hanging the leg up over ESL');
      try {
        await this.#ports.esl(uuidKill(this.uuid, cause));
      } catch (eslErr) {
        this.log.error({ err: (eslErr as Error).message }, 'uuid_kill failed too; the next reconciliation ends the channel');
      }
    }
  }

  /** Matrix sends of this call: kept at once, delivered in order (the outbox keys them by the call id). */
  #sendMatrix(type: string, content: Record<string, unknown>): Promise<void> {
    return this.#ports.sendMatrix(this.roomId, type, content, this.matrixCallId);
  }

  #onLifetimeOver(): void {
    if (this.#state === 'gathering' || this.#state === 'dialling') {
      this.log.info('invite lifetime over before answer');
      void this.hangup('NO_ANSWER', { cause: 'NO_ANSWER', sipStatus: undefined, reason: 'invite_timeout', notice: 'Nobody answered.' });
    }
  }

  #common(): Record<string, unknown> {
    return this.version === '1'
      ? { call_id: this.matrixCallId, party_id: this.partyId, version: '1' }
      : { call_id: this.matrixCallId, version: 0 };
  }

  #finish(outcome: CallOutcome, tellMatrix: boolean): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#timers.clearAll();
    this.log.info({ cause: outcome.cause, sipStatus: outcome.sipStatus, reason: outcome.reason }, 'call ended');
    if (tellMatrix) this.#told = this.#tellMatrix(outcome.reason, outcome.notice);
    this.#ports.ended(this, outcome);
  }

  async #tellMatrix(reason: MatrixHangupReason, notice: string | undefined): Promise<void> {
    // Both kept before the call is forgotten (the store drops the call right after): a crash loses neither.
    const hangup = this.#sendMatrix('m.call.hangup', { ...this.#common(), reason });
    const told = notice === undefined ? [hangup] : [hangup, this.#ports.notice(this.roomId, notice, this.matrixCallId)];
    try {
      await Promise.all(told);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'could not tell Matrix the call ended');
    }
  }
}
