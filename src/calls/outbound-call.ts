import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { ApiCommand } from '../esl/commands.ts';
import { originateTrunk, uuidBridge, uuidKill, uuidSendDtmf } from '../esl/commands.ts';
import { EslArgumentError } from '../esl/grammar.ts';
import { VertoRpcError } from '../verto/messages.ts';
import type { CallEvent } from '../matrix/call-events.ts';
import { isEndOfCandidates, mergeCandidates, type TrickledCandidate } from '../sdp/candidates.ts';
import { sdpForMatrix } from '../sdp/for-matrix.ts';
import { answerTo, classifyOffer, offerFrom } from '../sdp/renegotiate.ts';
import type { CallerId } from '../routing/caller-id.ts';
import type { Destination } from '../routing/numbers.ts';
import { canMove, type CallState } from './call-state.ts';
import { lostWithVertoSocket, lostWithVertoSocketRinging, outcomeOf, type CallOutcome, type HangupFacts, type MatrixHangupReason } from './hangup-causes.ts';
import { CallTimers, type TimerLedger } from './call-timers.ts';
import { handedOverOutcome, killLeg, maxDurationNotice, VERTO_LOST_OUTCOME, VERTO_LOST_RINGING_OUTCOME } from './call-endings.ts';
import type { CallUpdate } from '../store/state-store.ts';
import { TrunkDtmf } from './trunk-dtmf.ts';

type Invite = Extract<CallEvent, { type: 'm.call.invite' }>;

export { DTMF_WAIT_MS } from './trunk-dtmf.ts';

/** What a call needs from the outside world; the call manager provides it. */
export interface CallPorts {
  /** Kept until the homeserver acknowledged it; sends of one key (the call id) go out in order. */
  sendMatrix(roomId: string, type: string, content: Record<string, unknown>, key: string): Promise<void>;
  notice(roomId: string, text: string, key: string): Promise<void>;
  /** What the state store keeps of the call changed. */
  journal(matrixCallId: string, update: CallUpdate): void;
  verto(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
  esl(command: ApiCommand): Promise<string>;
  /** The Matrix side's media of an answered call was lost: its trunk leg, parked, is handed over to ring the user again. */
  recover?(call: OutboundCall): void;
  /** ESL is connected now (a recovery needs it from the first step). */
  eslUp?(): boolean;
  /** A bgapi job: resolves with its BACKGROUND_JOB body (an originate: at answer, or its failure). */
  bgapi(command: ApiCommand, timeoutMs: number): Promise<string>;
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
  | 'trunk_originate_sent'
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
  /** Longest wait for end-of-candidates, from the invite's arrival (the trunk rings meanwhile). */
  readonly gatheringWindowMs: number;
  /** Longest wait, after an originate failed, for ESL's CHANNEL_HANGUP_COMPLETE of the trunk leg (its SIP status). */
  readonly hangupCauseWaitMs: number;
  /** Ring timeout toward the trunk, in seconds (originate_timeout). */
  readonly ringTimeoutS: number;
  /** Longest answered call, in seconds; then the edge hangs up. */
  readonly maxDurationS: number;
  /** No RTP on the trunk leg for this long: FreeSWITCH hangs it up. */
  readonly mediaTimeoutMs: number;
  /** The media lost in an answered call: ring the user again this long (0: end the call). */
  readonly recoveryRingS?: number;
}

/** The trunk leg, as ESL reports it: ringing (its originate under way), answered (parked or bridged), gone. */
type TrunkState = 'originating' | 'answered' | 'gone';
/** The Verto (media) leg: not placed yet, invited, pre-answered and parked (its SDP known), bridging, bridged, gone. */
type MediaState = 'none' | 'inviting' | 'ready' | 'bridging' | 'bridged' | 'gone';

/**
 * One Matrix -> SIP call, driven over ESL: the trunk leg is originated the
 * moment the invite is admitted (the phone rings at once), the Verto leg
 * (the WebRTC media of the Matrix client) is placed once its candidates are
 * complete and waits pre-answered and parked (hearing ringback), and the two
 * are bridged with uuid_bridge as soon as both are ready, whichever comes
 * first. Owns its state, timers and logger.
 */
export class OutboundCall {
  readonly matrixCallId: string;
  readonly roomId: string;
  readonly userId: string;
  /** The FreeSWITCH UUID of the Verto leg (= the Verto callID). */
  readonly uuid: string = randomUUID();
  /** The FreeSWITCH UUID of the trunk leg (origination_uuid): known before it exists. */
  readonly trunkUuid: string = randomUUID();
  readonly partyId: string = randomUUID().replace(/-/g, '').slice(0, 12);
  readonly version: '0' | '1';
  readonly log: Logger;
  readonly #invite: Invite;
  readonly #settings: OutboundCallSettings;
  readonly #ports: CallPorts;
  readonly #receivedAt: number;
  #state: CallState = 'gathering';
  #trunk: TrunkState = 'originating';
  #media: MediaState = 'none';
  #candidates: TrickledCandidate[] = [];
  #offerSdp: string;
  /** The originate failed with this cause: waiting (bounded) for the trunk leg's CHANNEL_HANGUP_COMPLETE. */
  #failedCause: string | undefined;
  #answeredToMatrix = false;
  /** The SDP of the edge's last answer to Matrix (m.call.answer, then negotiate answers). */
  #matrixAnswerSdp: string | undefined;
  /** sdp_stream_metadata of the edge's answer (its stream id). */
  #streamMetadata: Record<string, unknown> = {};
  /** The Matrix side put the call on hold (verto.modify hold). */
  #held = false;
  /** Negotiations, one after the other. */
  #negotiating: Promise<void> = Promise.resolve();
  /** ESL reported the media leg's CHANNEL_HANGUP_COMPLETE. */
  #mediaLegHungUp = false;
  /** ESL reported the trunk leg's CHANNEL_HANGUP_COMPLETE. */
  #trunkHungUp = false;
  /** The trunk leg was handed over to ring the user again (the call's media was lost). */
  #handedOver = false;
  /** `!dtmf` toward the trunk leg, in order, waiting for the far end's answer (trunk-dtmf.ts). */
  readonly #dtmf: TrunkDtmf;
  /** The far end holds the call (a re-INVITE hold from the trunk). */
  #heldByFarEnd = false;
  readonly #timers: CallTimers<'gather' | 'lifetime' | 'cause' | 'max_duration'>;
  #told: Promise<void> = Promise.resolve();

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
    this.log = log.child({ call: this.matrixCallId, room: this.roomId, uuid: this.uuid, trunk: this.trunkUuid, direction: 'outbound' });
    this.#dtmf = new TrunkDtmf({ trunk: () => this.#trunk, ended: () => this.#state === 'ended', esl: (c) => this.#ports.esl(c), log: this.log });
  }

  get state(): CallState {
    return this.#state;
  }

  /** The caller's party_id (v1). */
  get peerPartyId(): string | undefined {
    return this.#invite.content.version === '1' ? this.#invite.content.party_id : undefined;
  }

  /** The trunk leg (always known: the edge names it). */
  get sipLegUuid(): string {
    return this.trunkUuid;
  }

  /** True once the media leg was placed (FreeSWITCH may hold a Verto leg of this call). */
  get dialled(): boolean {
    return this.#media !== 'none';
  }

  /** True while FreeSWITCH may still hold the trunk leg: its originate did not fail and its CHANNEL_HANGUP_COMPLETE was not seen. */
  get trunkLegMayExist(): boolean {
    return !this.#trunkHungUp && this.#failedCause === undefined && !this.#handedOver;
  }

  /** The number the call is connected to. */
  get destinationNumber(): string {
    return this.#settings.destination.number;
  }

  /** The media leg's CHANNEL_HANGUP_COMPLETE was seen. */
  get mediaLegEnded(): boolean {
    return this.#mediaLegHungUp;
  }

  /** True while FreeSWITCH may still hold the media leg: placed, and its CHANNEL_HANGUP_COMPLETE not seen yet. */
  get mediaLegMayExist(): boolean {
    return this.#media !== 'none' && !this.#mediaLegHungUp;
  }

  /** The trunk rings now; the Verto leg follows at end-of-candidates, or when the window closes. */
  start(): void {
    this.#ports.milestone(this, 'matrix_invite_received');
    const lifetimeLeft = this.#invite.content.lifetime - (this.#invite.ageMs ?? 0);
    this.#timers.set('lifetime', Math.max(0, lifetimeLeft), () => this.#onLifetimeOver());
    this.#originate();
    if (/^a=end-of-candidates\r?$/m.test(this.#offerSdp)) {
      this.#placeMediaLeg('offer complete');
      return;
    }
    const windowLeft = Math.max(0, this.#settings.gatheringWindowMs - (Date.now() - this.#receivedAt));
    this.#timers.set('gather', windowLeft, () => this.#placeMediaLeg('gathering window closed'));
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
    if (candidates.some(isEndOfCandidates)) this.#placeMediaLeg('end-of-candidates');
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

  /** bgapi originate of the trunk leg: its job ends at the far end's answer, or with its failure. */
  #originate(): void {
    const { destination, gateway, callerId, ringTimeoutS, mediaTimeoutMs } = this.#settings;
    let command: ApiCommand;
    try {
      command = originateTrunk({
        uuid: this.trunkUuid,
        gateway,
        destination: destination.number,
        callerIdNumber: callerId.number,
        callerIdName: callerId.name,
        timeoutS: ringTimeoutS,
        mediaTimeoutMs,
        // They tie the leg to the Matrix call, so a restarted edge can find and end it (calls/reconcile.ts).
        // The number and the caller let a restarted edge ring the user again to continue the call (call-manager.ts #keepWaitingTrunkLegs).
        variables: {
          mse_matrix_call_id: this.matrixCallId,
          mse_room_id: this.roomId,
          mse_party_id: this.partyId,
          mse_version: this.version,
          mse_leg: 'trunk',
          mse_destination: destination.number,
          ...(/^@[A-Za-z0-9._=\-/+]{1,100}:[A-Za-z0-9.:\-]{1,100}$/.test(this.userId) ? { mse_user: this.userId } : {}),
        },
      });
    } catch (err) {
      // Admission checked every value already; a value the grammar refuses here is a bug, not a call.
      this.log.error({ err: (err as Error).message }, 'could not build the originate');
      this.#finish({ cause: 'INVALID_NUMBER_FORMAT', sipStatus: undefined, reason: 'unknown_error', notice: 'The call could not be placed.' }, true);
      return;
    }
    this.log.info({ destination: destination.number, gateway }, 'originate');
    this.#ports.milestone(this, 'trunk_originate_sent');
    this.#ports.bgapi(command, (ringTimeoutS + 15) * 1000).then(
      (body) => this.#onOriginateResult(body),
      (err: Error) => {
        if (this.#state === 'ended') return;
        this.log.warn({ err: err.message }, 'originate failed');
        // No answer is not a refusal: FreeSWITCH may have created the leg; make sure it goes.
        void killLeg(this.#ports, this.trunkUuid, 'NORMAL_TEMPORARY_FAILURE', this.log);
        void this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'NORMAL_TEMPORARY_FAILURE', sipStatus: undefined, reason: 'unknown_error', notice: 'The call could not be placed: the phone system did not accept it.' });
      },
    );
  }

  /** BACKGROUND_JOB of the originate: "+OK <uuid>" at the answer, "-ERR <CAUSE>" when the far end did not answer. */
  #onOriginateResult(body: string): void {
    const text = body.trim();
    if (this.#state === 'ended') {
      // The call ended while the originate was under way (a kill can miss a leg FreeSWITCH had not created yet): the far end answered a call nobody holds.
      if (text.startsWith('+OK')) void killLeg(this.#ports, this.trunkUuid, 'NORMAL_CLEARING', this.log);
      return;
    }
    if (text.startsWith('+OK')) {
      this.onTrunkAnswered();
      return;
    }
    const cause = /^-ERR\s+([A-Z_]{2,40})\b/.exec(text)?.[1] ?? 'NORMAL_TEMPORARY_FAILURE';
    this.log.info({ cause }, 'the trunk leg did not answer');
    this.#trunk = 'gone';
    this.#failedCause = cause;
    // The trunk leg's CHANNEL_HANGUP_COMPLETE says more (its SIP status); wait for it, bounded.
    this.#timers.set('cause', this.#settings.hangupCauseWaitMs, () => this.#endFailed({ hangupCause: cause, answered: false }));
  }

  /** ESL: the trunk leg answered (CHANNEL_ANSWER, or its originate job returned). */
  onTrunkAnswered(): void {
    if (this.#state === 'ended' || this.#trunk !== 'originating') return;
    this.#trunk = 'answered';
    this.log.info('the far end answered');
    this.#dtmf.answered();
    this.#ports.journal(this.matrixCallId, { farLeg: this.trunkUuid });
    if (this.#media === 'ready') this.#bridge();
  }

  /** ESL CHANNEL_HANGUP_COMPLETE of the trunk leg: the far end's outcome, the source of truth. */
  onTrunkHangupComplete(facts: Omit<HangupFacts, 'answered'>): void {
    this.#trunkHungUp = true;
    if (this.#state === 'ended') return;
    const answered = this.#trunk === 'answered';
    this.#trunk = 'gone';
    this.#endFailed({ ...facts, originateDisposition: facts.originateDisposition ?? this.#failedCause, answered });
  }

  /** The trunk leg is gone: end the media leg and tell Matrix, with the trunk's outcome. */
  #endFailed(facts: HangupFacts): void {
    if (this.#state === 'ended') return;
    const outcome = outcomeOf(facts);
    const media = this.#media;
    this.#finish(outcome, true);
    if (media !== 'none' && media !== 'gone') void this.#byeToVerto(facts.answered ? 'NORMAL_CLEARING' : outcome.cause);
  }

  /** verto.invite of the media leg, pre-answered and parked by the dialplan (mse_mode park) until the bridge. */
  #placeMediaLeg(trigger: string): void {
    if (this.#state !== 'gathering') return;
    this.#timers.clear('gather');
    const complete = trigger !== 'gathering window closed';
    const merged = mergeCandidates(this.#offerSdp, this.#candidates, complete);
    for (const r of merged.refused) this.log.warn({ candidate: r.candidate.slice(0, 120), reason: r.reason }, 'refused a trickled candidate');
    this.#offerSdp = merged.sdp;
    this.#candidates = [];
    this.#move('dialling');
    this.#media = 'inviting';
    const { destination, gateway, callerId } = this.#settings;
    this.log.info({ trigger, candidatesAdded: merged.added }, 'verto.invite');
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
          // Matrix client's): FreeSWITCH ends the leg at once instead of detaching it.
          recoverCall: false,
          userVariables: {
            // The dialplan pre-answers and parks this leg; the edge bridges it to the trunk leg.
            mse_mode: 'park',
            mse_destination: destination.number,
            mse_gateway: gateway,
            mse_caller_id_number: callerId.number,
            mse_caller_id_name: callerId.name,
            mse_trunk_uuid: this.trunkUuid,
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
        if (!(err instanceof VertoRpcError)) void this.#byeToVerto('NORMAL_TEMPORARY_FAILURE');
        void this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'NORMAL_TEMPORARY_FAILURE', sipStatus: undefined, reason: 'unknown_error', notice: 'The call could not be placed: the phone system did not accept it.' });
      });
  }

  /** verto.media: the media leg is pre-answered (its SDP: ringback plays on it); Matrix is answered so it hears it. */
  onMedia(sdp: string): void {
    if (this.#media !== 'inviting') return;
    this.#media = 'ready';
    if (this.#state === 'dialling') this.#move('early_media');
    void this.#answerMatrix(sdp);
    if (this.#trunk === 'answered') this.#bridge();
  }

  /** verto.answer: the media leg answered (after the bridge), or FreeSWITCH answered it without early media. */
  onAnswer(sdp: string | undefined): void {
    if (this.#state === 'ended') return;
    if (this.#media === 'inviting') {
      if (sdp === undefined) {
        this.log.error('verto.answer without SDP and no earlier verto.media');
        void this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'INCOMPATIBLE_DESTINATION', sipStatus: undefined, reason: 'user_media_failed', notice: 'The call was answered, but no audio could be set up.' });
        return;
      }
      this.onMedia(sdp);
    }
  }

  /** Both legs are ready: bridge them. */
  #bridge(): void {
    if (this.#media !== 'ready' || this.#trunk !== 'answered') return;
    this.#media = 'bridging';
    this.#ports.esl(uuidBridge(this.uuid, this.trunkUuid)).then(
      (reply) => {
        if (this.#state === 'ended') return;
        if (reply.startsWith('+OK')) {
          this.log.info('uuid_bridge accepted');
          return;
        }
        this.log.error({ reply: reply.trim().slice(0, 120) }, 'uuid_bridge refused');
        void this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'NORMAL_TEMPORARY_FAILURE', sipStatus: undefined, reason: 'unknown_error', notice: 'The call was answered, but could not be connected.' });
      },
      (err: Error) => {
        if (this.#state === 'ended') return;
        this.log.error({ err: err.message }, 'uuid_bridge failed');
        void this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'NORMAL_TEMPORARY_FAILURE', sipStatus: undefined, reason: 'unknown_error', notice: 'The call was answered, but could not be connected.' });
      },
    );
  }

  /** ESL CHANNEL_BRIDGE: the media leg and the trunk leg are connected: the call is answered. */
  onBridged(otherUuid: string): void {
    if (this.#state === 'ended' || otherUuid !== this.trunkUuid || this.#media === 'bridged') return;
    this.#media = 'bridged';
    if (!this.#move('answered')) return;
    this.#ports.journal(this.matrixCallId, { state: 'answered', farLeg: this.trunkUuid });
    this.log.info({ sipLeg: this.trunkUuid }, 'bridged to the trunk');
    this.#assertIdentity();
    this.#timers.set('max_duration', this.#settings.maxDurationS * 1000, () => {
      this.log.info({ maxDurationS: this.#settings.maxDurationS }, 'the call reached its maximum duration');
      void this.hangup('ALLOTTED_TIMEOUT', { cause: 'ALLOTTED_TIMEOUT', sipStatus: undefined, reason: 'user_hangup', notice: maxDurationNotice(this.#settings.maxDurationS) });
    });
  }

  async #answerMatrix(freeswitchSdp: string): Promise<void> {
    if (this.#answeredToMatrix) return;
    this.#answeredToMatrix = true;
    this.#ports.journal(this.matrixCallId, { answered: true, state: this.#state });
    this.#ports.milestone(this, 'verto_answer_received');
    const { sdp, streamMetadata } = sdpForMatrix(freeswitchSdp, this.#offerSdp);
    this.#matrixAnswerSdp = sdp;
    this.#streamMetadata = streamMetadata;
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

  /**
   * ESL CHANNEL_HOLD / CHANNEL_UNHOLD of the trunk leg: the far end put the
   * call on hold (a re-INVITE) or took it off. mod_verto tells its client
   * nothing (the media leg only hears the hold music), so the edge offers
   * the Matrix client the change itself: an m.call.negotiate offer whose
   * direction is sendonly while held (the client is sent hold music and
   * sends nothing), sendrecv again after.
   */
  onTrunkHold(held: boolean): void {
    if (this.#state !== 'answered' || this.version !== '1' || held === this.#heldByFarEnd || this.#matrixAnswerSdp === undefined) return;
    this.#heldByFarEnd = held;
    this.#negotiating = this.#negotiating.then(async () => {
      if (this.#state !== 'answered' || this.#matrixAnswerSdp === undefined) return;
      const sdp = offerFrom(this.#matrixAnswerSdp, held ? 'sendonly' : 'sendrecv');
      this.log.info({ held }, 'the far end changed its hold: offering it to Matrix');
      await this.#sendMatrix('m.call.negotiate', { ...this.#common(), description: { type: 'offer', sdp }, lifetime: 60_000, sdp_stream_metadata: this.#streamMetadata }).catch((err: Error) =>
        this.log.warn({ err: err.message }, 'could not send m.call.negotiate'),
      );
    });
  }

  /** Whether the Matrix side holds the call (for tests and logs). */
  get held(): boolean {
    return this.#held;
  }

  /**
   * m.call.negotiate from the caller: a hold or resume goes to FreeSWITCH
   * as verto.modify (it plays its hold music to the trunk) and is answered
   * here; new streams are refused in the answer; an ICE restart, which the
   * media leg cannot follow, ends the call with a notice. None is dropped.
   */
  onNegotiate(description: { readonly type: 'offer' | 'answer'; readonly sdp: string }): void {
    if (description.type !== 'offer') {
      this.log.debug('a negotiate answer, to no offer of the edge: ignored');
      return;
    }
    this.#negotiating = this.#negotiating.then(() => this.#negotiate(description.sdp));
  }

  async #negotiate(offer: string): Promise<void> {
    if (this.#state === 'ended') return;
    const previous = this.#matrixAnswerSdp;
    // To the Matrix client the call is up from its m.call.answer (ringback plays while the far end rings): a hold may come from then on.
    if (previous === undefined || this.version !== '1') {
      this.log.warn({ state: this.#state }, 'a negotiate before the call was answered: ending it');
      await this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'NORMAL_TEMPORARY_FAILURE', sipStatus: undefined, reason: 'unknown_error', notice: 'The call was ended: it was renegotiated before it was connected.' });
      return;
    }
    const judged = classifyOffer(this.#offerSdp, offer, this.#held);
    this.log.info({ negotiate: judged.kind }, 'm.call.negotiate');
    if (judged.kind === 'ice_restart' || judged.kind === 'invalid') {
      const why = judged.kind === 'ice_restart' ? 'the phone system cannot restart its connection (ICE restart)' : judged.reason;
      await this.hangup('NORMAL_TEMPORARY_FAILURE', { cause: 'NORMAL_TEMPORARY_FAILURE', sipStatus: undefined, reason: judged.kind === 'ice_restart' ? 'ice_failed' : 'unknown_error', notice: `The call was ended: ${why}.` });
      return;
    }
    if (judged.kind === 'hold' || judged.kind === 'resume') {
      const action = judged.kind === 'hold' ? 'hold' : 'unhold';
      try {
        const reply = await this.#ports.verto('verto.modify', { action, dialogParams: { callID: this.uuid } });
        this.#held = judged.kind === 'hold';
        this.log.info({ action, holdState: reply['holdState'] }, 'verto.modify');
      } catch (err) {
        // The Matrix side's own media changes all the same: its offer is answered.
        this.log.warn({ action, err: (err as Error).message }, 'verto.modify failed');
      }
    }
    if ((this.#state as CallState) === 'ended') return;
    const sdp = answerTo(previous, offer);
    this.#matrixAnswerSdp = sdp;
    await this.#sendMatrix('m.call.negotiate', { ...this.#common(), description: { type: 'answer', sdp }, lifetime: 60_000 }).catch((err: Error) =>
      this.log.warn({ err: err.message }, 'could not answer m.call.negotiate'),
    );
  }

  /**
   * verto.display after a uuid_bridge names the trunk leg's caller ID,
   * which is the edge's own (traces/real/ctl-06): not the far end. The
   * edge says who is connected itself, once bridged (#assertIdentity).
   */
  onDisplay(_name: string | undefined, _number: string | undefined): void {}

  /** m.call.asserted_identity: the number the call is connected to. */
  #assertIdentity(): void {
    if (this.version !== '1') return;
    const number = this.#settings.destination.number;
    void this
      .#sendMatrix('m.call.asserted_identity', { ...this.#common(), asserted_identity: { id: number.startsWith('+') ? `tel:${number}` : undefined, display_name: number } })
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not send m.call.asserted_identity'));
  }

  /** FreeSWITCH sent verto.bye for the media leg (so FreeSWITCH, not a lost socket, ended it). */
  onVertoBye(cause: string | undefined): void {
    this.#onMediaLegGone({ hangupCause: cause, vertoHangupDisposition: 'send_bye' });
  }

  /** ESL CHANNEL_HANGUP_COMPLETE of the media leg. */
  onHangupComplete(facts: Omit<HangupFacts, 'answered'>): void {
    this.#mediaLegHungUp = true;
    this.#onMediaLegGone(facts);
  }

  /**
   * The media leg is gone without the edge asking. After the trunk leg is
   * gone this is only the echo of the end. When its Verto socket closed
   * (ctl-08: NORMAL_CLEARING, no verto_hangup_disposition, no bridge
   * cause), or FreeSWITCH refused it before the answer, the Matrix side's
   * media is lost: the trunk leg is ended and the room told. Otherwise the
   * bridge ended from the trunk's side, whose own hangup (its cause) is on
   * its way: waited for, bounded.
   */
  #onMediaLegGone(facts: Omit<HangupFacts, 'answered'>): void {
    if (this.#state === 'ended' || this.#media === 'gone') return;
    const wasBridged = this.#media === 'bridged';
    const placed = this.#media !== 'none';
    this.#media = 'gone';
    if (!placed || this.#trunk === 'gone') return;
    if (wasBridged && !lostWithVertoSocket(facts)) {
      this.#timers.set('cause', this.#settings.hangupCauseWaitMs, () => {
        this.log.warn('no CHANNEL_HANGUP_COMPLETE of the trunk leg in time; using the media leg\'s cause');
        this.#endFailed({ ...facts, answered: true });
        void killLeg(this.#ports, this.trunkUuid, 'NORMAL_CLEARING', this.log);
      });
      return;
    }
    if (wasBridged && this.#recoverable()) {
      this.#handOver();
      return;
    }
    const cause = facts.hangupCause;
    this.log.warn({ cause, bridged: wasBridged }, 'the media leg ended; ending the trunk leg');
    const outcome: CallOutcome = wasBridged
      ? VERTO_LOST_OUTCOME
      : cause === 'INCOMPATIBLE_DESTINATION'
        ? { cause, sipStatus: undefined, reason: 'user_media_failed', notice: 'The call failed: the phone system could not use the audio your client offered.' }
        : lostWithVertoSocketRinging(facts) || cause === undefined
          ? VERTO_LOST_RINGING_OUTCOME
          : outcomeOf({ ...facts, answered: false });
    this.#finish(outcome, true);
    void killLeg(this.#ports, this.trunkUuid, wasBridged ? 'NORMAL_CLEARING' : 'ORIGINATOR_CANCEL', this.log);
  }

  #recoverable(): boolean {
    return (this.#settings.recoveryRingS ?? 0) > 0 && this.#ports.recover !== undefined && this.#trunk === 'answered' && !this.#trunkHungUp && (this.#ports.eslUp?.() ?? true);
  }

  /**
   * The Matrix side's media is lost, the far end still there: its trunk
   * leg waits parked (park_after_bridge), this Matrix call ends with a
   * notice saying so, and the trunk leg is handed over to ring the user
   * again in the same room (call-manager.ts).
   */
  #handOver(): void {
    this.#handedOver = true;
    this.log.warn('the Matrix side\'s media was lost; the far end waits while the user is rung again');
    // the recovery first: the manager must not count the call over (a drain, a stop) before the far end is in its hands
    this.#ports.recover?.(this);
    this.#finish(handedOverOutcome(this.#settings.destination.number), true);
  }

  /** The Matrix caller hung up or rejected (or chose another answer): both legs go. */
  onMatrixHangup(why: string): void {
    if (this.#state === 'ended') return;
    this.log.info({ why }, 'Matrix side ended the call');
    const media = this.#media;
    const trunk = this.#trunk;
    this.#finish({ cause: 'NORMAL_CLEARING', sipStatus: undefined, reason: 'user_hangup', notice: undefined }, false);
    if (trunk !== 'gone') void killLeg(this.#ports, this.trunkUuid, trunk === 'answered' ? 'NORMAL_CLEARING' : 'ORIGINATOR_CANCEL', this.log);
    if (media !== 'none' && media !== 'gone') void this.#byeToVerto('NORMAL_CLEARING');
  }

  /**
   * End the call from the edge (command, shutdown, failure): both sides are
   * told. Matrix first (its ending is kept in the outbox at once), then the
   * legs: a stop that gives up before FreeSWITCH answers has told the room
   * all the same.
   */
  async hangup(vertoCause: string, outcome: CallOutcome): Promise<void> {
    if (this.#state === 'ended') return;
    const media = this.#media;
    const trunk = this.#trunk;
    this.#finish(outcome, true);
    await Promise.all([
      trunk === 'gone' ? undefined : killLeg(this.#ports, this.trunkUuid, trunk === 'answered' ? vertoCause : 'ORIGINATOR_CANCEL', this.log),
      media === 'none' || media === 'gone' ? undefined : this.#byeToVerto(vertoCause),
      this.#told,
    ]);
  }

  /**
   * The Verto socket dropped: the media leg is gone with it (recoverCall
   * false). The trunk leg is ended over ESL and the room told.
   */
  async onVertoLost(): Promise<void> {
    if (this.#state === 'ended') return;
    if (this.#state === 'answered' && this.#recoverable()) {
      this.#media = 'gone';
      this.#handOver();
      return;
    }
    const answered = this.#state === 'answered';
    this.log.warn('the Verto connection was lost; the media of the call cannot be restored: ending it');
    this.#media = 'gone';
    const trunk = this.#trunk;
    this.#finish(answered ? VERTO_LOST_OUTCOME : VERTO_LOST_RINGING_OUTCOME, true);
    if (trunk !== 'gone') await killLeg(this.#ports, this.trunkUuid, answered ? VERTO_LOST_OUTCOME.cause : 'ORIGINATOR_CANCEL', this.log);
    await killLeg(this.#ports, this.uuid, VERTO_LOST_OUTCOME.cause, this.log);
    await this.#told;
  }

  /** `!dtmf` on the trunk leg, from the far end's answer on; typed while it rings, queued for the answer (trunk-dtmf.ts). */
  async sendDtmf(digits: string, durationMs: number | undefined): Promise<string> {
    if (this.#state === 'ended' || !this.#answeredToMatrix) return 'DTMF can only be sent once the call is answered.';
    let command: ApiCommand;
    try {
      command = uuidSendDtmf(this.trunkUuid, digits, durationMs);
    } catch (err) {
      if (err instanceof EslArgumentError) return `Not sent: ${err.message}`;
      throw err;
    }
    return this.#dtmf.send(command, digits);
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
    if (this.#trunk === 'originating' && this.#state !== 'ended') {
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
    this.#dtmf.ended();
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
