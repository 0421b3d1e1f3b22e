// A call whose Matrix media was lost, its far end still there: the trunk
// leg waits parked (park_after_bridge, traces/real/ctl-08) while the user is
// rung again in the same room. The edge originates a new Verto leg toward
// its own session (FreeSWITCH's verto.invite brings the offer), rings Matrix
// with it, and bridges it to the waiting trunk leg once answered; not
// answered within calls.recovery_ring_s, the trunk leg is ended.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { ConnectionState } from '../net/connection-state.ts';
import { originateToEdge, uuidBridge, uuidBroadcast, uuidKill, type ApiCommand } from '../esl/commands.ts';

/** One trunk leg waiting for its user. */
export interface Recovery {
  /** The new Verto leg's UUID (origination_uuid): its verto.invite is recognised by it. */
  readonly leg: string;
  readonly trunk: string;
  readonly roomId: string;
  /** The user to ring again (the caller of the lost call). */
  readonly userId: string;
  /** The number the call is connected to (an inbound caller's may be "anonymous"). */
  readonly number: string;
  /** Who the edge is in the room (its events, its notices). */
  readonly as: { readonly speaker: string | undefined; readonly noticeFrom: string | undefined };
  /** ms since the epoch: the user must answer by then. */
  readonly deadline: number;
  /**
   * The lost media leg whose end parks the trunk leg (its CHANNEL_HANGUP_COMPLETE
   * is the cue for the hold music); undefined when it is gone already.
   */
  readonly mediaLeg: string | undefined;
  /** The stored call (state handed_over) that keeps this recovery across a restart, until it is continued or ended. */
  readonly storedCallId: string;
}

/**
 * How long the hold music waits for the lost media leg's CHANNEL_HANGUP_COMPLETE
 * before it is started anyway (the trunk leg parks as that leg goes: real
 * ctl-08 shows the trunk leg's CHANNEL_PARK 20 ms before it).
 */
const PARK_CUE_WAIT_MS = 2_000;

/** A number the ring again can show as its caller id (not "anonymous"). */
const CALLER_NUMBER = /^\+?[0-9]{2,15}$/;

/** How the trunk leg is ended when nobody answered the ring again. */
export const RECOVERY_UNANSWERED_CAUSE = 'NO_ANSWER';

/** What the ringer needs: ESL, the Verto connection's state, the edge's Verto session id, and the manager's reactions. */
export interface RecoveryPorts {
  esl(command: ApiCommand): Promise<string>;
  bgapi(command: ApiCommand, timeoutMs: number): Promise<string>;
  /** End a trunk leg; one ESL could not be asked to end is the manager's to end at the next connection. */
  endTrunk(uuid: string, cause: string, log: Logger): Promise<void>;
  vertoState(): ConnectionState;
  onVertoState(fn: (state: ConnectionState) => void): () => void;
  vertoSessionId(): string;
  /** How long the user is rung again (calls.recovery_ring_s). */
  readonly ringS: number;
  /** What the waiting trunk leg hears (calls.recovery_hold_music); undefined: silence. */
  readonly holdMusic: string | undefined;
  /** The call that rings the user again could not be bridged: end it. */
  failRing(leg: string): void;
  /** The waiting far end hung up while its user was being rung again: end that ring, saying so. */
  farEndGone(leg: string, number: string): void;
  /** The recovery is over: continued (the new call holds the trunk leg now) or ended; its stored call can go. */
  settled(r: Recovery): void;
  /** A recovery ended without ringing: the manager may be idle now. */
  idle(): void;
}

type Waiting = Omit<Recovery, 'leg' | 'deadline'>;

/**
 * The far ends waiting for their user: each gets a new Verto leg toward the
 * edge's own session once Verto is up; its verto.invite is taken by the
 * manager (take()) to ring the room, its answer bridged to the trunk leg;
 * the trunk leg is ended when the ring is not answered in time, when the
 * continued call ends (ended()) and at stop(). A far end that hangs up
 * meanwhile (trunkGone()) ends its recovery.
 */
export class RecoveryRinger {
  readonly #ports: RecoveryPorts;
  /** Not ringing yet, by the new Verto leg's UUID. */
  readonly #waiting = new Map<string, Recovery>();
  /** Ringing or continued, by the new Verto leg's UUID. */
  readonly #ringing = new Map<string, Recovery>();
  /** Of those, the continued ones (uuid_bridge answered +OK). */
  readonly #bridged = new Set<string>();
  /** New Verto legs of recoveries that ended before they rang (with when): their verto.invite, if it still comes, is ended. */
  readonly #dropped = new Map<string, number>();
  /** Waits for Verto under way (stop() cancels them). */
  readonly #waits = new Set<() => void>();
  /** Hold music waiting for its cue, by the lost media leg's UUID. */
  readonly #musicCues = new Map<string, { readonly r: Recovery; readonly timer: NodeJS.Timeout; readonly log: Logger }>();
  #stopped = false;

  constructor(ports: RecoveryPorts) {
    this.#ports = ports;
  }

  /** True for a leg of a recovery under way (the waiting trunk leg, or the Verto leg that rings for it): the channel walk leaves it alone. */
  holds(uuid: string): boolean {
    for (const r of [...this.#waiting.values(), ...this.#ringing.values()]) if (r.leg === uuid || r.trunk === uuid) return true;
    return false;
  }

  /** Far ends waiting, not ringing yet (they count as live calls). */
  get pending(): number {
    return this.#waiting.size;
  }

  start(w: Waiting, log: Logger): void {
    if (this.#stopped) return;
    const r: Recovery = { ...w, leg: randomUUID(), deadline: Date.now() + this.#ports.ringS * 1000 };
    this.#waiting.set(r.leg, r);
    if (r.mediaLeg === undefined) void this.#holdMusic(r, log);
    else {
      const timer = setTimeout(() => this.legGone(r.mediaLeg!), PARK_CUE_WAIT_MS);
      this.#musicCues.set(r.mediaLeg, { r, timer, log });
    }
    void this.#originate(r, log);
  }

  /**
   * FreeSWITCH offered the edge this Verto leg: the recovery it rings for;
   * 'dropped' for the leg of one that ended before it rang (end it);
   * undefined when it is not a recovery's.
   */
  take(leg: string): Recovery | 'dropped' | undefined {
    if (this.#dropped.delete(leg)) return 'dropped';
    this.#pruneDropped();
    const r = this.#waiting.get(leg);
    if (r === undefined) return undefined;
    this.#waiting.delete(leg);
    this.#ringing.set(leg, r);
    return r;
  }

  /** ESL: a leg's CHANNEL_HANGUP_COMPLETE. A lost media leg's end parks its trunk leg (the hold music starts); a waiting trunk leg's ends its recovery. */
  legGone(uuid: string): void {
    const cue = this.#musicCues.get(uuid);
    if (cue !== undefined) {
      clearTimeout(cue.timer);
      this.#musicCues.delete(uuid);
      void this.#holdMusic(cue.r, cue.log);
    }
    this.#trunkGone(uuid);
  }

  #trunkGone(uuid: string): void {
    for (const r of [...this.#waiting.values()]) {
      if (r.trunk !== uuid) continue;
      // Not ringing yet: the ring toward the edge is called off (its leg ended if it exists, its invite ended if it still comes).
      this.#waiting.delete(r.leg);
      this.#dropCue(r);
      this.#drop(r.leg);
      void this.#ports.esl(uuidKill(r.leg, 'ORIGINATOR_CANCEL')).catch(() => undefined);
      this.#ports.settled(r);
      this.#ports.idle();
    }
    for (const r of this.#ringing.values()) {
      // Ringing: the user must not answer a call nobody is on any more. (Continued: the bridge ends the new leg itself.)
      if (r.trunk === uuid && !this.#bridged.has(r.leg)) this.#ports.farEndGone(r.leg, r.number);
    }
  }

  /**
   * The waiting trunk leg hears calls.recovery_hold_music (uuid_broadcast on
   * the parked leg); uuid_bridge stops it when the user answers again. Only
   * once the leg is parked: a broadcast queued while its bridge still runs
   * would be played by the bridge.
   */
  async #holdMusic(r: Recovery, log: Logger): Promise<void> {
    const music = this.#ports.holdMusic;
    if (music === undefined || !this.#bridgeable(r)) return;
    try {
      const reply = await this.#ports.esl(uuidBroadcast(r.trunk, music));
      if (!reply.startsWith('+OK')) log.info({ reply: reply.trim().slice(0, 80) }, 'no hold music for the waiting trunk leg');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not start the hold music');
    }
  }

  /** The recovery still waits for its answer (not continued yet, not ended). */
  #bridgeable(r: Recovery): boolean {
    return this.#waiting.get(r.leg) === r || (this.#ringing.get(r.leg) === r && !this.#bridged.has(r.leg));
  }

  /** The recovery is still under way (waiting or ringing), not ended meanwhile. */
  #current(r: Recovery): boolean {
    return !this.#stopped && (this.#waiting.get(r.leg) === r || this.#ringing.get(r.leg) === r);
  }

  #dropCue(r: Recovery): void {
    if (r.mediaLeg === undefined) return;
    const cue = this.#musicCues.get(r.mediaLeg);
    if (cue?.r !== r) return;
    clearTimeout(cue.timer);
    this.#musicCues.delete(r.mediaLeg);
  }

  /**
   * The call on this Verto leg ended: the trunk leg it continued goes too,
   * unless `how` is handed_over (its media was lost again: a new recovery
   * has the trunk leg now).
   */
  ended(leg: string, how: 'unanswered' | 'ended' | 'handed_over', log: Logger): void {
    const r = this.#ringing.get(leg);
    if (r === undefined) return;
    this.#ringing.delete(leg);
    const continued = this.#bridged.delete(leg);
    this.#dropCue(r);
    if (how !== 'handed_over') void this.#ports.endTrunk(r.trunk, how === 'unanswered' ? RECOVERY_UNANSWERED_CAUSE : 'NORMAL_CLEARING', log);
    if (!continued) this.#ports.settled(r);
  }

  async stop(log: Logger): Promise<void> {
    this.#stopped = true;
    for (const cancel of [...this.#waits]) cancel();
    for (const cue of this.#musicCues.values()) clearTimeout(cue.timer);
    this.#musicCues.clear();
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    await Promise.allSettled(
      waiting.map(async (r) => {
        await this.#ports.endTrunk(r.trunk, 'SYSTEM_SHUTDOWN', log);
        this.#ports.settled(r);
      }),
    );
  }

  async #originate(r: Recovery, log: Logger): Promise<void> {
    const giveUp = () => {
      if (this.#waiting.get(r.leg) !== r) return;
      this.#waiting.delete(r.leg);
      this.#dropCue(r);
      this.#drop(r.leg);
      log.warn({ trunk: r.trunk }, 'the user could not be rung again in time: ending the trunk leg');
      void this.#ports.endTrunk(r.trunk, RECOVERY_UNANSWERED_CAUSE, log).then(() => this.#ports.settled(r));
      this.#ports.idle();
    };
    {
      for (;;) {
        // Verto may be reconnecting (its socket is what dropped; ESL can report the lost leg first): wait for it, up to the deadline.
        if (this.#ports.vertoState() !== 'connected' && !(await this.#vertoConnectedWithin(r.deadline - Date.now()))) {
          giveUp();
          return;
        }
        if (!this.#current(r)) return;
        const timeoutS = Math.max(1, Math.ceil((r.deadline - Date.now()) / 1000));
        let body: string;
        try {
          body = await this.#ports.bgapi(originateToEdge({ uuid: r.leg, sessid: this.#ports.vertoSessionId(), callerIdNumber: CALLER_NUMBER.test(r.number) ? r.number : undefined, timeoutS, trunkUuid: r.trunk }), (timeoutS + 15) * 1000);
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'could not ring the user again');
          giveUp();
          return;
        }
        // Ended meanwhile (the far end hung up, the ring was declined, a stop): nothing more to do here.
        if (!this.#current(r)) return;
        if (body.trim().startsWith('+OK')) break;
        // Rang and not answered (or hung up): the call that rang ends on its own verto.bye, and with it the trunk leg.
        if (this.#ringing.has(r.leg)) return;
        if (Date.now() >= r.deadline) {
          giveUp();
          return;
        }
        // Refused before it rang (the edge's Verto session was not back yet): again once Verto reconnects, or in a second.
        log.info({ reply: body.trim().slice(0, 80) }, 'the ring again was refused before it rang; trying again');
        await this.#vertoConnectedWithin(Math.min(1_000, r.deadline - Date.now()), true);
        if (!this.#current(r)) return;
      }
      const reply = await this.#ports.esl(uuidBridge(r.leg, r.trunk)).catch((err: Error) => `-ERR ${err.message}`);
      if (!this.#current(r)) return;
      if (reply.startsWith('+OK')) {
        this.#bridged.add(r.leg);
        log.info({ trunk: r.trunk, leg: r.leg }, 'the call continues: the user answered again');
        this.#ports.settled(r);
      } else {
        log.error({ reply: reply.trim().slice(0, 120) }, 'could not bridge the answered call to the waiting trunk leg');
        this.#ports.failRing(r.leg);
      }
    }
  }

  #drop(leg: string): void {
    this.#pruneDropped();
    this.#dropped.set(leg, Date.now());
  }

  /** A dropped leg's invite comes within its originate's timeout (at most 10 min): older entries go. */
  #pruneDropped(): void {
    const before = Date.now() - 600_000;
    for (const [leg, at] of this.#dropped) if (at < before) this.#dropped.delete(leg);
  }

  /** Resolves true once Verto is connected (with `fresh`: once it connects anew), false after `ms` or at stop(). */
  #vertoConnectedWithin(ms: number, fresh = false): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    if (!fresh && this.#ports.vertoState() === 'connected') return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (up: boolean) => {
        clearTimeout(timer);
        off();
        this.#waits.delete(cancel);
        resolve(up);
      };
      const cancel = () => done(false);
      const timer = setTimeout(cancel, Math.max(0, ms));
      const off = this.#ports.onVertoState((state) => {
        if (state === 'connected') done(true);
      });
      this.#waits.add(cancel);
    });
  }
}
