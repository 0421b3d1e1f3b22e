import type { EdgeConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import type { EslClient } from '../esl/client.ts';
import type { EslEvent } from '../esl/events.ts';
import type { VertoClient } from '../verto/client.ts';
import type { ServerRequest } from '../verto/messages.ts';
import type { MatrixLink, RingingRoom, RoomFacts, RoomInvite } from '../matrix/link.ts';
import type { CallEvent } from '../matrix/call-events.ts';
import { UserLimits } from '../routing/limits.ts';
import { checkCaller, type Refusal } from '../routing/policy.ts';
import { chooseCallerId } from '../routing/caller-id.ts';
import { OutboundCall, type CallPorts, type MilestoneKind } from './outbound-call.ts';
import { routeOutboundEvent } from './outbound-events.ts';
import { RecoveryRinger, type Recovery } from './recovery.ts';
import { HANDED_OVER_CAUSE, recoveryNotice, VERTO_LOST_OUTCOME, VERTO_LOST_RINGING_OUTCOME } from './call-endings.ts';
import { InboundCall, type InboundPorts } from './inbound-call.ts';
import { compileInboundRoutes, inboundFromInvite, type InboundRoute } from './inbound-routing.ts';
import { admitInvite, compileRules, type CompiledRules } from './refusals.ts';
import { runRoomCommand } from './room-command-runner.ts';
import type { CallOutcome } from './hangup-causes.ts';
import { Listeners } from '../net/connection-state.ts';
import { reconcile, type KnownCall, type Orphan } from './reconcile.ts';
import { TimerLedger } from './call-timers.ts';
import { EndedLegs } from './ended-legs.ts';
import { PreviousRun } from './previous-run.ts';
import type { StateStore } from '../store/state-store.ts';
import type { MatrixOutbox } from '../matrix/outbox.ts';
import { HANDED_OVER_STATE, TOLD_STATE } from './stored-calls.ts';

/** A set-up milestone of a call, with a monotonic timestamp (performance.now(), ms). */
export interface Milestone {
  readonly callId: string;
  readonly direction: 'outbound' | 'inbound';
  readonly kind: MilestoneKind;
  readonly at: number;
}

/** Counters the metrics endpoint reads. */
export interface CallStats {
  readonly live: number;
  readonly liveByDirection: { readonly outbound: number; readonly inbound: number };
  readonly outcomes: ReadonlyMap<string, number>;
  readonly refusals: ReadonlyMap<string, number>;
  readonly lateCandidates: number;
  /** Entries in the manager's call indexes and per-user live counts: all 0 when no call is in progress. */
  readonly held: Readonly<Record<HeldKind, number>>;
}

export type HeldKind = 'by_matrix_id' | 'by_uuid' | 'by_far_leg' | 'pending_inbound' | 'user_live' | 'timers';

/**
 * Routes every event to the call it belongs to, admits or refuses new
 * calls, and runs room commands. Holds the index of live calls (by Matrix
 * call id and by FreeSWITCH UUID); each call's state lives in the call.
 */
export class CallManager {
  readonly #config: EdgeConfig;
  readonly #rules: CompiledRules;
  readonly #log: Logger;
  readonly #matrix: MatrixLink;
  readonly #verto: VertoClient;
  readonly #esl: EslClient;
  readonly #store: StateStore;
  readonly #outbox: MatrixOutbox;
  /** The calls the previous process left in the store (previous-run.ts). */
  readonly #previousRun: PreviousRun;
  /** Legs of this run's ended calls not confirmed gone yet, and trunk legs left to end (ended-legs.ts). */
  readonly #endedLegs: EndedLegs;
  /** The leg whose CHANNEL_HANGUP_COMPLETE (or confirmed absence) is being handed to its call. */
  #goneLeg: string | undefined;
  /** SIGTERM: no new calls; live ones run on. */
  #draining = false;
  readonly #limits: UserLimits;
  readonly #byMatrixId = new Map<string, OutboundCall | InboundCall>();
  readonly #byUuid = new Map<string, OutboundCall | InboundCall>();
  /** Inbound calls by the UUID of their trunk leg (for the caller's DTMF). */
  readonly #byFarLeg = new Map<string, InboundCall>();
  readonly #inboundRoutes: readonly InboundRoute[];
  /** Inbound legs accepted but not ringing yet (their DM is being found or created); true once FreeSWITCH ended one. */
  readonly #pendingInbound = new Map<string, boolean>();
  /** Trunk legs waiting for their user to be rung again (recovery.ts). */
  readonly #ringer: RecoveryRinger;
  /** Invites being admitted (their room read), with the events of their calls that arrived meanwhile. */
  readonly #admitting = new Map<string, CallEvent[]>();
  /** Numbers set with !dial, per room (room configuration, not call state). */
  readonly #dialled = new Map<string, string>();
  readonly #outcomes = new Map<string, number>();
  readonly #refusals = new Map<string, number>();
  #lateCandidates = 0;
  /** Reconciliation runs once per ESL connection, when Matrix is up too. */
  #reconciled = false;
  #reconcileRuns = 0;
  /** Reconciliations under way, and the Verto legs of calls that ended meanwhile (not orphans: they were ended here). */
  #reconciling = 0;
  readonly #endedWhileReconciling = new Set<string>();
  readonly #unsubscribe: Array<() => void> = [];
  readonly #milestones = new Listeners<[Milestone]>();
  /** Timers pending in this manager's calls (0 when no call is in progress). */
  readonly #timers = new TimerLedger();

  constructor(config: EdgeConfig, clients: { matrix: MatrixLink; verto: VertoClient; esl: EslClient; store: StateStore; outbox: MatrixOutbox }, log: Logger) {
    this.#config = config;
    this.#rules = compileRules(config);
    this.#log = log.child({ component: 'calls' });
    this.#matrix = clients.matrix;
    this.#verto = clients.verto;
    this.#esl = clients.esl;
    this.#store = clients.store;
    this.#outbox = clients.outbox;
    this.#endedLegs = new EndedLegs(
      {
        esl: (c) => this.#esl.api(c),
        eslConnected: () => this.#esl.state === 'connected',
        updateCall: (id, update) => this.#store.updateCall(id, update),
        deleteCall: (id) => this.#store.deleteCall(id),
      },
      this.#log,
    );
    this.#ringer = new RecoveryRinger({
      esl: (c) => this.#esl.api(c),
      bgapi: (c, timeoutMs) => this.#esl.bgapi(c, { timeoutMs }),
      endTrunk: (uuid, cause, log) => this.#endTrunk(uuid, cause, log),
      vertoState: () => this.#verto.state,
      onVertoState: (fn) => this.#verto.onState(fn),
      vertoSessionId: () => this.#store.vertoSessionId(),
      ringS: config.calls.recovery_ring_s,
      holdMusic: config.calls.recovery_hold_music === '' ? undefined : config.calls.recovery_hold_music,
      failRing: (leg) => {
        const ringing = this.#byUuid.get(leg);
        if (ringing instanceof InboundCall) void ringing.hangup('NORMAL_TEMPORARY_FAILURE');
      },
      farEndGone: (leg, number) => {
        const ringing = this.#byUuid.get(leg);
        if (ringing instanceof InboundCall) void ringing.hangup('ORIGINATOR_CANCEL', `The call with ${number === 'anonymous' ? 'the anonymous caller' : number} is over: the other side hung up.`);
      },
      settled: (r) => {
        this.#store.deleteCall(r.storedCallId);
        this.#previousRun.release(r.trunk);
      },
      idle: () => this.#notifyIfIdle(),
    });
    this.#previousRun = new PreviousRun(
      {
        store: this.#store,
        outbox: this.#outbox,
        esl: (c) => this.#esl.api(c),
        eslConnected: () => this.#esl.state === 'connected',
        ringer: this.#ringer,
        recoveryRingS: config.calls.recovery_ring_s,
      },
      this.#log,
    );
    this.#inboundRoutes = compileInboundRoutes(config.inbound.routes);
    this.#limits = new UserLimits({
      maxConcurrentPerUser: config.policy.max_concurrent_calls_per_user,
      rate: { calls: config.policy.rate_limit.calls, windowMs: config.policy.rate_limit.window_s * 1000 },
    });
  }

  onMilestone(fn: (m: Milestone) => void): () => void {
    return this.#milestones.add(fn);
  }

  stats(): CallStats {
    let inbound = 0;
    for (const c of this.#byMatrixId.values()) if (c instanceof InboundCall) inbound += 1;
    const held = {
      by_matrix_id: this.#byMatrixId.size,
      by_uuid: this.#byUuid.size,
      by_far_leg: this.#byFarLeg.size,
      pending_inbound: this.#pendingInbound.size,
      user_live: this.#limits.totalLive(),
      timers: this.#timers.pending,
    };
    return { live: this.#byMatrixId.size, liveByDirection: { outbound: this.#byMatrixId.size - inbound, inbound }, outcomes: this.#outcomes, refusals: this.#refusals, lateCandidates: this.#lateCandidates, held };
  }

  start(): void {
    this.#previousRun.tellMatrix();
    this.#unsubscribe.push(
      this.#matrix.onCallEvent((e) => this.#onCallEvent(e)),
      this.#matrix.onRejectedCallEvent((info) => void this.#onMalformedCallEvent(info)),
      this.#matrix.onRoomMessage(
        (m) => void runRoomCommand(m, { matrix: this.#matrix, rules: this.#rules, dialled: this.#dialled, calls: () => this.#byMatrixId.values(), log: this.#log }),
      ),
      this.#matrix.onInvite((i) => void this.#onRoomInvite(i)),
      this.#matrix.onDisplayNameChange((c) => {
        // FreeSWITCH has no way to change the caller ID of a bridged SIP leg
        // mid-call; the change is recorded, and the next call uses the new name.
        for (const call of this.#byMatrixId.values()) {
          if (call instanceof OutboundCall && call.roomId === c.roomId && call.userId === c.userId) {
            call.log.info({ displayName: c.displayName }, 'caller changed display name during the call; the trunk keeps the caller ID sent at dial time');
          }
        }
      }),
      this.#verto.onRequest((r) => this.#onVertoRequest(r)),
      this.#verto.onState((state) => {
        if (state === 'reconnecting') this.#onVertoLost();
      }),
      this.#esl.onEvent((e) => this.#onEslEvent(e)),
      this.#esl.onState((state) => {
        if (state !== 'connected') this.#reconciled = false;
        void this.#onEslConnection().then(() => this.#maybeReconcile());
      }),
      this.#matrix.onState(() => void this.#maybeReconcile()),
    );
  }

  /**
   * At each ESL connection: end the legs of the calls the previous run left
   * (or ring their users again, previous-run.ts), and the legs of this run's
   * ended calls that FreeSWITCH has not confirmed gone (ended-legs.ts).
   */
  async #onEslConnection(): Promise<void> {
    if (this.#esl.state !== 'connected') return;
    this.#endedLegs.retry();
    await this.#previousRun.endLegs();
  }

  /** End a trunk leg a recovery let go of (ended-legs.ts retries one ESL could not be asked to end). */
  #endTrunk(uuid: string, cause: string, log: Logger): Promise<void> {
    this.#previousRun.release(uuid);
    return this.#endedLegs.endTrunk(uuid, cause, log);
  }

  /**
   * After ESL (re)connects: hang up FreeSWITCH channels of the edge that no
   * call holds (a previous run crashed or was killed), telling their rooms;
   * and end answered calls whose channel vanished while ESL was away.
   * Calls go on meanwhile: reconcile.ts judges each channel right after its
   * facts are read, and legs of calls that end during the walk are not
   * taken for orphans.
   */
  async #maybeReconcile(): Promise<void> {
    if (this.#reconciled || this.#esl.state !== 'connected' || this.#matrix.state !== 'connected') return;
    this.#reconciled = true;
    const run = ++this.#reconcileRuns;
    this.#reconciling += 1;
    try {
      await reconcile(
        {
          esl: (c) => this.#esl.api(c),
          knows: (uuid) =>
            this.#byUuid.has(uuid) ||
            this.#byFarLeg.has(uuid) ||
            this.#ringer.holds(uuid) ||
            this.#pendingInbound.has(uuid) ||
            this.#endedWhileReconciling.has(uuid) ||
            this.#previousRun.knows(uuid) ||
            this.#endedLegs.has(uuid),
          calls: () => [...this.#byMatrixId.values()].map((call) => this.#known(call)),
          orphaned: (o) => void this.#tellOrphaned(o),
        },
        this.#log,
      );
    } catch (err) {
      // A later connection's run may be under way already: only the latest run's failure asks for another.
      if (run === this.#reconcileRuns) this.#reconciled = false;
      this.#log.warn({ err: (err as Error).message }, 'reconciliation failed; retried at the next connection');
    } finally {
      this.#reconciling -= 1;
      if (this.#reconciling === 0) this.#endedWhileReconciling.clear();
    }
  }

  /** A held call as reconciliation sees it: answered only while this very call is still held. */
  #known(call: OutboundCall | InboundCall): KnownCall {
    return {
      uuid: call.uuid,
      answered: () => this.#byUuid.get(call.uuid) === call && call.state === 'answered',
      vanished: () => {
        call.log.warn('the FreeSWITCH channel of this call is gone (events lost while ESL was away)');
        this.#goneLeg = call.uuid;
        try {
          if (call instanceof InboundCall) call.onVertoBye('NORMAL_CLEARING');
          else call.onHangupComplete({ hangupCause: 'NORMAL_CLEARING' });
        } finally {
          this.#goneLeg = undefined;
        }
      },
    };
  }

  /** An orphaned leg was hung up: end its call in the room it belonged to, as the same party. */
  async #tellOrphaned(o: Orphan): Promise<void> {
    if (o.roomId === undefined || o.matrixCallId === undefined) return;
    const roomId = o.roomId;
    const key = o.matrixCallId;
    if (this.#matrixTold(key)) {
      this.#log.info({ call: key, uuid: o.uuid }, 'the orphaned leg belonged to a call already ended in Matrix; no second ending');
      return;
    }
    try {
      await Promise.all([
        this.#outbox.enqueue(
          key,
          roomId,
          'm.call.hangup',
          o.version === '0' ? { call_id: o.matrixCallId, version: 0, reason: 'unknown_error' } : { call_id: o.matrixCallId, party_id: o.partyId ?? 'sipedge', version: '1', reason: 'unknown_error' },
        ),
        this.#outbox.enqueue(key, roomId, 'm.room.message', { msgtype: 'm.notice', body: 'The call was cut off: the phone bridge restarted.' }),
      ]);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'could not tell Matrix about an orphaned call');
    }
  }

  /** True when Matrix was given (or is being given) this call's ending: the store keeps it marked told, or the outbox holds its ending. */
  #matrixTold(matrixCallId: string): boolean {
    return (
      this.#store.call(matrixCallId)?.state === TOLD_STATE ||
      this.#store.call(matrixCallId)?.state === HANDED_OVER_STATE ||
      this.#store.pendingSends().some((s) => s.key === matrixCallId && (s.type === 'm.call.hangup' || s.type === 'm.call.reject'))
    );
  }

  /** Calls the state store keeps (this run's live calls and ended ones whose leg FreeSWITCH has not confirmed gone, and the previous run's until they are ended). */
  storedCalls(): number {
    return this.#store.callCount();
  }

  /** SIGTERM: admit no new call from now on (refused with a notice); live calls go on. */
  drain(): void {
    this.#draining = true;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Live calls, both directions (inbound legs being set up included). */
  get liveCalls(): number {
    return this.#byMatrixId.size + this.#pendingInbound.size + this.#ringer.pending;
  }

  /** Resolves when no call is live, or with false at the deadline. */
  callsEnded(timeoutMs: number): Promise<boolean> {
    if (this.liveCalls === 0) return Promise.resolve(true);
    // Each waiter settles once, disarming its own timer and removing only itself;
    // stop() settles those still waiting (a drain cut short by a second signal).
    return new Promise<boolean>((resolve) => {
      const settle = (idle: boolean) => {
        clearTimeout(timer);
        this.#whenIdle.delete(settle);
        resolve(idle);
      };
      const timer = setTimeout(() => settle(false), timeoutMs);
      this.#whenIdle.add(settle);
    });
  }

  /**
   * Hang up every live call (both sides told) and stop listening. Waits for
   * the ends to go out up to `tellTimeoutMs`; what the homeserver has not
   * acknowledged by then stays in the store for the next start.
   */
  async stop(tellTimeoutMs = 5_000): Promise<void> {
    const deadlineAt = Date.now() + tellTimeoutMs;
    for (const settle of [...this.#whenIdle]) settle(false);
    // Only the hangups of the legs are heard from now on: they let the stored calls go.
    const offHangups = this.#esl.onEvent((e) => {
      if (e.name === 'CHANNEL_HANGUP_COMPLETE' && e.uniqueId !== undefined) this.#endedLegs.gone(e.uniqueId);
    });
    for (const off of this.#unsubscribe.splice(0)) off();
    // Far ends still waiting for their user to be rung again: ended now, every wait for Verto cancelled.
    await this.#ringer.stop(this.#log);
    const calls = [...this.#byMatrixId.values()];
    const ending = Promise.allSettled(
      calls.map((c) =>
        c instanceof InboundCall
          ? c.hangup('SYSTEM_SHUTDOWN')
          : c.hangup('SYSTEM_SHUTDOWN', { cause: 'SYSTEM_SHUTDOWN', sipStatus: undefined, reason: 'unknown_error', notice: 'The call was ended because the bridge is shutting down.' }),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, tellTimeoutMs);
    });
    await Promise.race([ending, deadline]);
    clearTimeout(timer);
    // Ended calls whose legs are not confirmed gone by then stay stored, told: the next start ends their legs.
    await this.#endedLegs.allGone(deadlineAt);
    offHangups();
    this.#endedLegs.stop();
  }

  /** A call's ways out; `as` says who the edge is in its room (its events, its notices). */
  #ports(as: { readonly speaker: string | undefined; readonly noticeFrom: string | undefined }): CallPorts {
    return {
      sendMatrix: async (roomId, type, content, key) => {
        await this.#outbox.enqueue(key, roomId, type, content, as.speaker);
      },
      notice: async (roomId, text, key) => {
        await this.#outbox.enqueue(key, roomId, 'm.room.message', { msgtype: 'm.notice', body: text }, as.noticeFrom);
      },
      journal: (id, update) => this.#store.updateCall(id, update),
      verto: (method, params) => this.#verto.request(method, params),
      esl: (command) => this.#esl.api(command),
      eslUp: () => this.#esl.state === 'connected',
      bgapi: (command, timeoutMs) => this.#esl.bgapi(command, { timeoutMs }),
      recover: (call) => this.#recover(call, as),
      ended: (call, outcome) => this.#onCallEnded(call, outcome),
      lateCandidates: (n) => {
        this.#lateCandidates += n;
      },
      milestone: (call, kind) => this.#milestones.emit({ callId: call.matrixCallId, direction: 'outbound', kind, at: performance.now() }),
      timers: this.#timers,
    };
  }

  #inboundPorts(as: { readonly speaker: string | undefined; readonly noticeFrom: string | undefined }): InboundPorts {
    const ports = this.#ports(as);
    return {
      sendMatrix: ports.sendMatrix,
      notice: ports.notice,
      journal: ports.journal,
      verto: ports.verto,
      esl: ports.esl,
      eslUp: ports.eslUp,
      recover: (call) => this.#recoverInbound(call, as),
      ended: (call, outcome) => this.#onCallEnded(call, outcome),
      milestone: (call, kind) => this.#milestones.emit({ callId: call.matrixCallId, direction: 'inbound', kind, at: performance.now() }),
      timers: this.#timers,
    };
  }

  #onCallEnded(call: OutboundCall | InboundCall, outcome: CallOutcome): void {
    if (outcome.cause === HANDED_OVER_CAUSE) {
      // Its far end waits for a recovery (recovery.ts): kept, marked handed over, until that is continued or ended.
      this.#store.updateCall(call.matrixCallId, { state: HANDED_OVER_STATE });
    } else {
      // Forgotten once its leg is gone; until then kept marked told, so that neither
      // the channel walk nor a restart tells Matrix of its end a second time.
      // An outbound call has two legs (the media leg and the trunk leg the edge originated): the row goes once both are.
      // An inbound call whose trunk leg was kept for a recovery ends that leg too (it would wait parked): the row goes once both are gone.
      const legs =
        call instanceof OutboundCall
          ? [...(call.mediaLegMayExist ? [call.uuid] : []), ...(call.trunkLegMayExist ? [call.trunkUuid] : [])]
          : [call.uuid, ...(call.trunkLegMayExist && call.farLegUuid !== undefined ? [call.farLegUuid] : [])];
      this.#endedLegs.await(
        call.matrixCallId,
        legs.filter((uuid) => uuid !== this.#goneLeg),
      );
    }
    this.#byMatrixId.delete(call.matrixCallId);
    this.#byUuid.delete(call.uuid);
    if (call instanceof OutboundCall) this.#byUuid.delete(call.trunkUuid);
    if (this.#reconciling > 0) {
      this.#endedWhileReconciling.add(call.uuid);
      if (call instanceof OutboundCall) this.#endedWhileReconciling.add(call.trunkUuid);
    }
    if (call instanceof OutboundCall) this.#limits.release(call.userId);
    else if (call.farLegUuid !== undefined) this.#byFarLeg.delete(call.farLegUuid);
    // The call that rang the user again is over (hung up, or not answered): the trunk leg waiting for it goes too.
    if (call instanceof InboundCall) this.#ringer.ended(call.uuid, outcome.cause === HANDED_OVER_CAUSE ? 'handed_over' : outcome.reason === 'invite_timeout' ? 'unanswered' : 'ended', call.log);
    const key = `${outcome.reason}:${outcome.cause}`;
    this.#outcomes.set(key, (this.#outcomes.get(key) ?? 0) + 1);
    this.#log.info({ live: this.#byMatrixId.size }, 'calls');
    this.#notifyIfIdle();
  }

  /** Waiters of callsEnded (true: no call is live any more). */
  readonly #whenIdle = new Set<(idle: boolean) => void>();

  #notifyIfIdle(): void {
    if (this.liveCalls !== 0) return;
    for (const settle of [...this.#whenIdle]) settle(true);
  }

  /** Routes a call event; for an invite, the promise settles once it is taken (admitted and stored, or its refusal kept). */
  #onCallEvent(event: CallEvent): Promise<void> | undefined {
    if (event.type === 'm.call.invite') return this.#onInvite(event);
    // Events of a call whose invite is still being admitted wait for it, in order.
    const waiting = this.#admitting.get(event.content.call_id);
    if (waiting !== undefined) {
      waiting.push(event);
      return undefined;
    }
    const found = this.#byMatrixId.get(event.content.call_id);
    if (found === undefined || found.roomId !== event.roomId) return undefined;
    if (found instanceof InboundCall) {
      this.#onInboundCallEvent(found, event);
      return undefined;
    }
    const call = found;
    if (event.sender !== call.userId) return undefined;
    switch (event.type) {
      case 'm.call.candidates':
        call.onCandidates(event.content.candidates);
        break;
      case 'm.call.hangup':
        call.onMatrixHangup(`hangup (${event.content.reason ?? 'no reason'})`);
        break;
      case 'm.call.reject':
        call.onMatrixHangup('reject');
        break;
      case 'm.call.select_answer':
        if (event.content.selected_party_id !== call.partyId) call.onMatrixHangup('caller selected another answer');
        break;
      case 'm.call.negotiate':
        if (event.content.party_id === undefined || event.content.party_id === call.peerPartyId) call.onNegotiate(event.content.description);
        break;
      default:
        call.log.debug({ type: event.type }, 'call event not handled');
    }
    return undefined;
  }

  #onInboundCallEvent(call: InboundCall, event: Exclude<CallEvent, { type: 'm.call.invite' }>): void {
    switch (event.type) {
      case 'm.call.answer':
        call.onAnswer(event);
        break;
      case 'm.call.candidates':
        call.onCandidates(event.sender, event.content.party_id, event.content.candidates);
        break;
      case 'm.call.reject':
        call.onMatrixReject(event.sender, event.content.reason);
        break;
      case 'm.call.hangup':
        call.onMatrixHangup(event.sender, event.content.party_id, event.content.reason);
        break;
      case 'm.call.negotiate':
        call.onNegotiate(event.sender, event.content.party_id, event.content.description);
        break;
      default:
        call.log.debug({ type: event.type }, 'call event not handled');
    }
  }

  /** An answered outbound call lost its Matrix media; its trunk leg waits parked while the user is rung again (recovery.ts). */
  #recover(call: OutboundCall, as: { readonly speaker: string | undefined; readonly noticeFrom: string | undefined }): void {
    this.#ringer.start(
      { trunk: call.trunkUuid, roomId: call.roomId, userId: call.userId, number: call.destinationNumber, as, mediaLeg: call.mediaLegEnded ? undefined : call.uuid, storedCallId: call.matrixCallId },
      call.log,
    );
  }

  /** An answered inbound call lost its Matrix media; its trunk leg (kept with park_after_bridge) waits while the user who answered is rung again. */
  #recoverInbound(call: InboundCall, as: { readonly speaker: string | undefined; readonly noticeFrom: string | undefined }): void {
    const trunk = call.farLegUuid;
    if (trunk === undefined) return;
    // the edge ends the detached Verto leg right after this: its end parks the trunk leg
    this.#ringer.start({ trunk, roomId: call.roomId, userId: call.answeredBy ?? '', number: call.peerNumber, as, mediaLeg: call.uuid, storedCallId: call.matrixCallId }, call.log);
  }

  /** FreeSWITCH's verto.invite for a recovery leg: ring the user again, in the same room, as the same party. */
  async #ringAgain(r: Recovery, params: Readonly<Record<string, unknown>>): Promise<void> {
    const sdp = params['sdp'];
    if (typeof sdp !== 'string') {
      this.#ringer.ended(r.leg, 'unanswered', this.#log);
      return;
    }
    const call = new InboundCall(
      { uuid: r.leg, roomId: r.roomId, did: r.number, callerNumber: r.number, callerName: undefined, offerSdp: sdp, invitee: r.userId === '' ? undefined : r.userId, dtmfNotices: false, ringNotice: recoveryNotice(r.number) },
      {
        ringTimeoutMs: Math.max(1_000, r.deadline - Date.now()),
        gatheringWindowMs: this.#config.calls.gathering_window_ms,
        dtmfBatchMs: this.#config.inbound.dtmf_batch_ms,
        maxDurationS: this.#config.calls.max_duration_s,
        recoveryRingS: this.#config.calls.recovery_ring_s,
      },
      this.#inboundPorts(r.as),
      this.#log,
    );
    this.#store.putCall({ matrixCallId: call.matrixCallId, direction: 'inbound', roomId: r.roomId, partyId: call.partyId, peerPartyId: undefined, version: '1', vertoLeg: r.leg, farLeg: r.trunk, state: call.state, answered: false, createdAt: Date.now(), sender: r.as.speaker });
    this.#byMatrixId.set(call.matrixCallId, call);
    this.#byUuid.set(call.uuid, call);
    await call.ring();
  }

  /** FreeSWITCH offers a call to the edge's Verto user: a trunk dialled a DID. */
  async #onInboundInvite(params: Readonly<Record<string, unknown>>): Promise<void> {
    const parsed = inboundFromInvite(params, this.#inboundRoutes);
    if (!parsed.ok) {
      this.#refusals.set(parsed.refusal, (this.#refusals.get(parsed.refusal) ?? 0) + 1);
      this.#log.info({ callID: parsed.callId, reason: parsed.reason }, 'inbound call refused');
      if (parsed.callId !== undefined) {
        await this.#verto.request('verto.bye', { cause: parsed.cause, dialogParams: { callID: parsed.callId } }).catch(() => undefined);
      }
      return;
    }
    const uuid = parsed.info.uuid;
    if (this.#byUuid.has(uuid) || this.#pendingInbound.has(uuid)) return;
    if (this.#draining) {
      this.#refusals.set('shutting_down', (this.#refusals.get('shutting_down') ?? 0) + 1);
      this.#log.info({ callID: uuid }, 'inbound call refused: the edge is shutting down');
      await this.#verto.request('verto.bye', { cause: 'NORMAL_TEMPORARY_FAILURE', dialogParams: { callID: uuid } }).catch(() => undefined);
      return;
    }
    let ringing: RingingRoom;
    this.#pendingInbound.set(uuid, false);
    try {
      ringing = await this.#matrix.ringingRoom(parsed.target, { number: parsed.info.callerNumber, name: parsed.info.callerName });
    } catch (err) {
      this.#pendingInbound.delete(uuid);
      this.#notifyIfIdle();
      this.#log.error({ callID: uuid, err: (err as Error).message }, 'no room to ring');
      await this.#verto.request('verto.bye', { cause: 'NORMAL_TEMPORARY_FAILURE', dialogParams: { callID: uuid } }).catch(() => undefined);
      return;
    }
    const endedMeanwhile = this.#pendingInbound.get(uuid) === true;
    this.#pendingInbound.delete(uuid);
    if (endedMeanwhile) {
      this.#log.info({ callID: uuid }, 'the caller hung up before the room could ring');
      this.#notifyIfIdle();
      return;
    }
    const roomId = ringing.roomId;
    const call = new InboundCall(
      { ...parsed.info, roomId },
      {
        ringTimeoutMs: this.#config.inbound.ring_timeout_s * 1000,
        gatheringWindowMs: this.#config.calls.gathering_window_ms,
        dtmfBatchMs: this.#config.inbound.dtmf_batch_ms,
        maxDurationS: this.#config.calls.max_duration_s,
        recoveryRingS: this.#config.calls.recovery_ring_s,
      },
      this.#inboundPorts(ringing),
      this.#log,
    );
    // Kept before the room rings: a crash from here on is ended on both sides by the next start.
    this.#store.putCall({ matrixCallId: call.matrixCallId, direction: 'inbound', roomId, partyId: call.partyId, peerPartyId: undefined, version: '1', vertoLeg: uuid, farLeg: undefined, state: call.state, answered: false, createdAt: Date.now(), sender: ringing.speaker });
    this.#byMatrixId.set(call.matrixCallId, call);
    this.#byUuid.set(call.uuid, call);
    await call.ring();
  }

  /** An m.call.invite: admitted (events of its call that arrive meanwhile wait), then dialled or refused. */
  async #onInvite(invite: Extract<CallEvent, { type: 'm.call.invite' }>): Promise<void> {
    const callId = invite.content.call_id;
    if (this.#byMatrixId.has(callId) || this.#admitting.has(callId)) return;
    const waiting: CallEvent[] = [];
    this.#admitting.set(callId, waiting);
    try {
      await this.#admit(invite);
    } finally {
      this.#admitting.delete(callId);
    }
    // The call exists now (or was refused, and they go nowhere).
    for (const e of waiting) void this.#onCallEvent(e);
  }

  async #admit(invite: Extract<CallEvent, { type: 'm.call.invite' }>): Promise<void> {
    const invitee = invite.content.invitee;
    if (invitee !== undefined && !this.#matrix.isEdgeUser(invitee)) {
      // A v1 invite addressed to another member of the room: not the edge's to dial, nor to refuse.
      this.#log.info({ call: invite.content.call_id, room: invite.roomId, invitee }, 'ignored an invite addressed to another user');
      return;
    }
    let facts: RoomFacts;
    try {
      facts = await this.#matrix.roomFacts(invite.roomId, invite.sender);
    } catch (err) {
      this.#log.warn({ call: invite.content.call_id, room: invite.roomId, err: (err as Error).message }, 'could not read the room');
      this.#refuse(invite, { code: 'unavailable', message: 'The phone bridge could not read this room; try again in a minute.' }, { speaker: undefined, noticeFrom: undefined });
      return;
    }
    if (this.#draining) {
      this.#refuse(invite, { code: 'shutting_down', message: 'The phone bridge is restarting; try the call again in a minute.' }, facts);
      return;
    }
    const decided = admitInvite(this.#rules, invite, facts, this.#dialled.get(invite.roomId));
    if (!decided.ok) {
      this.#refuse(invite, decided.refusal, facts);
      return;
    }
    const limited = this.#limits.admit(invite.sender);
    if (limited) {
      this.#refuse(invite, limited, facts);
      return;
    }
    const callerId = chooseCallerId(
      {
        defaultNumber: this.#config.caller_id.default_number ?? '',
        perUser: this.#config.caller_id.per_user,
        perRoom: this.#config.caller_id.per_room,
      },
      invite.sender,
      invite.roomId,
      facts.displayName,
    );
    const call = new OutboundCall(
      invite,
      {
        destination: decided.admission.destination,
        gateway: decided.admission.gateway,
        callerId,
        gatheringWindowMs: this.#config.calls.gathering_window_ms,
        hangupCauseWaitMs: this.#config.calls.hangup_cause_wait_ms,
        ringTimeoutS: this.#config.calls.ring_timeout_s,
        maxDurationS: this.#config.calls.max_duration_s,
        mediaTimeoutMs: this.#config.calls.media_timeout_s * 1000,
        recoveryRingS: this.#config.calls.recovery_ring_s,
      },
      this.#ports(facts),
      this.#log,
      Date.now(),
    );
    // Kept before FreeSWITCH hears of it: a crash from here on is ended on both sides by the next start.
    this.#store.putCall({ matrixCallId: call.matrixCallId, direction: 'outbound', roomId: call.roomId, partyId: call.partyId, peerPartyId: call.peerPartyId, version: call.version, vertoLeg: call.uuid, farLeg: call.trunkUuid, state: call.state, answered: false, createdAt: Date.now(), sender: facts.speaker });
    this.#byMatrixId.set(call.matrixCallId, call);
    this.#byUuid.set(call.uuid, call);
    this.#byUuid.set(call.trunkUuid, call);
    call.log.info({ destination: decided.admission.destination.number, gateway: decided.admission.gateway, version: call.version }, 'call admitted');
    call.start();
  }

  /** The refusal is kept in the outbox at once (it goes out, with retries, in the background). */
  #refuse(invite: Extract<CallEvent, { type: 'm.call.invite' }>, refusal: Refusal, as: { readonly speaker: string | undefined; readonly noticeFrom: string | undefined }): void {
    this.#refusals.set(refusal.code, (this.#refusals.get(refusal.code) ?? 0) + 1);
    this.#log.info({ call: invite.content.call_id, room: invite.roomId, sender: invite.sender, refusal: refusal.code }, 'call refused');
    const v1 = invite.content.version === '1';
    const key = invite.content.call_id;
    Promise.all([
      v1
        ? this.#outbox.enqueue(key, invite.roomId, 'm.call.reject', { call_id: invite.content.call_id, party_id: 'sipedge', version: '1' }, as.speaker)
        : this.#outbox.enqueue(key, invite.roomId, 'm.call.hangup', { call_id: invite.content.call_id, version: 0, reason: 'user_hangup' }, as.speaker),
      this.#outbox.enqueue(key, invite.roomId, 'm.room.message', { msgtype: 'm.notice', body: refusal.message }, as.noticeFrom),
    ]).catch((err: Error) => this.#log.error({ err: err.message }, 'could not send the refusal'));
  }

  async #onMalformedCallEvent(info: { roomId: string; sender: string; type: string; reason: string; content: unknown }): Promise<void> {
    if (info.type !== 'm.call.invite') return;
    this.#refusals.set('invalid_invite', (this.#refusals.get('invalid_invite') ?? 0) + 1);
    const c = typeof info.content === 'object' && info.content !== null ? (info.content as Record<string, unknown>) : {};
    try {
      const facts = await this.#matrix.roomFacts(info.roomId, info.sender);
      if (typeof c['call_id'] === 'string' && c['call_id'].length <= 255) {
        const v1 = c['version'] !== 0 && c['version'] !== '0';
        await this.#matrix.sendEvent(
          info.roomId,
          v1 ? 'm.call.reject' : 'm.call.hangup',
          v1 ? { call_id: c['call_id'], party_id: 'sipedge', version: '1' } : { call_id: c['call_id'], version: 0, reason: 'unknown_error' },
          facts.speaker,
        );
      }
      await this.#matrix.sendNotice(info.roomId, `Your call could not be placed: the invitation was malformed (${info.reason}).`, facts.noticeFrom);
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'could not answer a malformed invite');
    }
  }

  /** The edge's bot (or, in appservice mode, a ghost) was invited: it joins when the inviter may call, else declines. */
  async #onRoomInvite({ roomId, inviter, invitee }: RoomInvite): Promise<void> {
    if (inviter === undefined || checkCaller(this.#rules.policy, inviter, Number.MAX_SAFE_INTEGER) !== undefined) {
      this.#log.info({ room: roomId, inviter, invitee }, 'declined an invite from a user who may not call');
      await this.#matrix.declineInvite(roomId, invitee, 'You may not make calls through this phone bridge.').catch((err: Error) =>
        this.#log.warn({ room: roomId, err: err.message }, 'could not decline the invite'),
      );
      return;
    }
    try {
      await this.#matrix.joinRoom(roomId, invitee);
      this.#log.info({ room: roomId, inviter, invitee }, 'joined');
    } catch (err) {
      this.#log.warn({ room: roomId, err: (err as Error).message }, 'could not join');
    }
  }

  #onVertoRequest(request: ServerRequest): void {
    const callId = request.params['callID'];
    if (typeof callId !== 'string') return;
    const found = this.#byUuid.get(callId);
    const str = (k: string): string | undefined => (typeof request.params[k] === 'string' ? (request.params[k] as string) : undefined);
    if (found === undefined) {
      if (this.#pendingInbound.has(callId)) {
        if (request.method === 'verto.bye') this.#pendingInbound.set(callId, true);
        return;
      }
      if (request.method === 'verto.invite') {
        const recovery = this.#ringer.take(callId);
        if (recovery === 'dropped') {
          this.#log.info({ callID: callId }, 'ending the ring again of a recovery that is over');
          this.#verto.request('verto.bye', { cause: 'ORIGINATOR_CANCEL', dialogParams: { callID: callId } }).catch(() => undefined);
        } else if (recovery !== undefined) void this.#ringAgain(recovery, request.params);
        else void this.#onInboundInvite(request.params);
      } else if (request.method === 'verto.media' || request.method === 'verto.answer') {
        // A call the edge gave up on (e.g. its verto.invite timed out) was answered after all: end it.
        this.#log.warn({ method: request.method, callID: callId }, 'ending a Verto call the edge no longer holds');
        this.#verto.request('verto.bye', { cause: 'NORMAL_CLEARING', dialogParams: { callID: callId } }).catch(() => undefined);
      } else if (request.method === 'verto.attach') {
        // A re-attach after a reconnect cannot restore media the edge never carried: end the leg.
        this.#log.info({ callID: callId }, 'ending a re-attached Verto call the edge does not hold');
        this.#verto.request('verto.bye', { cause: 'NORMAL_CLEARING', dialogParams: { callID: callId } }).catch(() => undefined);
      }
      return;
    }
    if (found instanceof InboundCall) {
      if (request.method === 'verto.bye') found.onVertoBye(str('cause'));
      else if (request.method === 'verto.attach') {
        found.log.warn('FreeSWITCH re-attached the call after a Verto reconnect; media cannot be restored, ending it');
        void found.hangup('NORMAL_CLEARING');
      }
      return;
    }
    const call = found;
    switch (request.method) {
      case 'verto.media': {
        const sdp = str('sdp');
        if (sdp) call.onMedia(sdp);
        break;
      }
      case 'verto.answer':
        call.onAnswer(str('sdp'));
        break;
      case 'verto.bye':
        call.onVertoBye(str('cause'));
        break;
      case 'verto.display':
        call.onDisplay(str('display_name'), str('display_number'));
        break;
      case 'verto.attach':
        call.log.warn('FreeSWITCH re-attached the call after a Verto reconnect; media cannot be restored, ending it');
        void call.hangup('NORMAL_CLEARING', VERTO_LOST_OUTCOME);
        break;
      default:
        call.log.debug({ method: request.method }, 'Verto request not handled');
    }
  }

  /**
   * The Verto socket dropped: FreeSWITCH has already hung up every
   * unanswered call of the session. Answered ones lost their media (the
   * edge cannot re-attach it): their phone side waits while the user is
   * rung again (recovery.ts), or, without a kept trunk leg, they are ended
   * now over ESL, instead of being left in silence until FreeSWITCH's
   * detach timeout or a re-attach.
   */
  #onVertoLost(): void {
    for (const call of [...this.#byMatrixId.values()]) {
      if (call.state === 'answered') {
        void call.onVertoLost();
        continue;
      }
      if (call instanceof InboundCall) {
        call.onVertoBye('DESTINATION_OUT_OF_ORDER');
        continue;
      }
      if (call.state === 'gathering' || call.state === 'dialling' || call.state === 'early_media') {
        void call.hangup('DESTINATION_OUT_OF_ORDER', VERTO_LOST_RINGING_OUTCOME);
      }
    }
  }

  #onEslEvent(event: EslEvent): void {
    const uuid = event.uniqueId;
    if (uuid === undefined) return;
    if (event.name !== 'CHANNEL_HANGUP_COMPLETE') {
      this.#routeEslEvent(event, uuid);
      return;
    }
    this.#goneLeg = uuid;
    try {
      this.#routeEslEvent(event, uuid);
    } finally {
      this.#goneLeg = undefined;
    }
    this.#endedLegs.gone(uuid);
    this.#ringer.legGone(uuid);
  }

  #routeEslEvent(event: EslEvent, uuid: string): void {
    const h = (name: string) => event.headers.get(name);
    if (event.name === 'DTMF') {
      const digit = h('DTMF-Digit');
      const inbound = this.#byFarLeg.get(uuid);
      if (inbound && digit !== undefined) inbound.onFarEndDtmf(digit);
      return;
    }
    if (event.name === 'CHANNEL_HANGUP_COMPLETE') this.#byFarLeg.get(uuid)?.onTrunkGone();
    if (event.name === 'CHANNEL_BRIDGE') {
      // Inbound: the trunk leg is the A leg; its bridge event names the edge's leg as the other one.
      const other = h('Other-Leg-Unique-ID');
      const inbound = other === undefined ? undefined : this.#byUuid.get(other);
      if (inbound instanceof InboundCall) {
        inbound.onBridged(uuid);
        this.#byFarLeg.set(uuid, inbound);
        return;
      }
    }
    if (event.name === 'CHANNEL_HANGUP_COMPLETE' && this.#pendingInbound.has(uuid)) this.#pendingInbound.set(uuid, true);
    const found = this.#byUuid.get(uuid);
    if (found === undefined) return;
    if (found instanceof InboundCall) {
      if (event.name === 'CHANNEL_BRIDGE') {
        const far = h('Other-Leg-Unique-ID');
        if (far) {
          found.onBridged(far);
          this.#byFarLeg.set(far, found);
        }
      } else if (event.name === 'CHANNEL_HANGUP_COMPLETE') {
        found.onVertoBye(h('Hangup-Cause'));
      }
      return;
    }
    routeOutboundEvent(found, event, uuid);
  }
}
