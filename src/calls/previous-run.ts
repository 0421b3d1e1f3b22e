// The calls the previous process left in the state store (a crash, kill -9,
// a stop that could not wait for every leg): told in Matrix at start, then,
// at each ESL connection until it is done, their legs ended over ESL
// (stored-calls.ts), except a call whose far end is still there and kept
// (park_after_bridge): its user is rung again to continue it (recovery.ts).
import type { Logger } from '../log/logger.ts';
import { uuidExists, uuidGetvar, uuidKill, type ApiCommand } from '../esl/commands.ts';
import { parseGetvar } from '../esl/channels.ts';
import type { MatrixOutbox } from '../matrix/outbox.ts';
import type { CallRecord, StateStore } from '../store/state-store.ts';
import type { RecoveryRinger } from './recovery.ts';
import { endStoredLegs, HANDED_OVER_STATE, tellMatrixOfStoredCalls, TOLD_STATE, type MatrixEnding } from './stored-calls.ts';

const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** What a trunk leg's mse_peer_number / mse_destination may hold to be rung for again. */
const PEER_NUMBER = /^(\+?[0-9]{1,20}|anonymous)$/;

export interface PreviousRunPorts {
  readonly store: StateStore;
  readonly outbox: MatrixOutbox;
  esl(command: ApiCommand): Promise<string>;
  eslConnected(): boolean;
  readonly ringer: RecoveryRinger;
  /** calls.recovery_ring_s (0: nothing is rung again). */
  readonly recoveryRingS: number;
}

export class PreviousRun {
  readonly #ports: PreviousRunPorts;
  readonly #log: Logger;
  /** The calls the previous run left whose legs are still to be ended (read at start, before any call of this one). */
  #left: readonly CallRecord[] = [];
  /** A run of endLegs under way. */
  #ending: Promise<void> | undefined;
  /** Legs of those calls FreeSWITCH answered a kill for, or that a recovery took over: the channel walk leaves them alone. */
  readonly #settled = new Set<string>();

  constructor(ports: PreviousRunPorts, log: Logger) {
    this.#ports = ports;
    this.#log = log;
  }

  /** At start, before any peer is reached: every call left is ended in Matrix (kept in the outbox), once. */
  tellMatrix(): void {
    const { store } = this.#ports;
    this.#left = store.calls();
    if (this.#left.length === 0) return;
    this.#log.warn({ calls: this.#left.length }, 'the previous run left live calls: ending them in Matrix now, and their legs once FreeSWITCH is reachable');
    tellMatrixOfStoredCalls(
      this.#left,
      {
        endingKept: (id) => store.pendingSends().some((s) => s.key === id && (s.type === 'm.call.hangup' || s.type === 'm.call.reject')),
        tell: (call, ending, notice) => this.#tell(call, ending, notice),
      },
      this.#log,
    );
  }

  /** A leg of a call the previous run left: still to be ended here, ended, or taken over by a recovery. */
  knows(uuid: string): boolean {
    return this.#settled.has(uuid) || this.#left.some((c) => c.vertoLeg === uuid || c.farLeg === uuid);
  }

  /** A recovery let go of this trunk leg (it ends it): the channel walk may judge it again. */
  release(uuid: string): void {
    this.#settled.delete(uuid);
  }

  /**
   * At each ESL connection until it is done: end the legs of the calls the
   * previous run left (calls/stored-calls.ts). A call is forgotten once
   * FreeSWITCH answered for each of its legs; one whose kill got no reply
   * stays in the store, and its legs are tried again at the next connection
   * (the channel walk leaves them to this).
   */
  async endLegs(): Promise<void> {
    while (this.#ending !== undefined) await this.#ending;
    if (!this.#ports.eslConnected() || this.#left.length === 0) return;
    await this.#ringAgainWhereFarEndWaits();
    if (this.#left.length === 0) return;
    const { store, ringer } = this.#ports;
    const run = endStoredLegs(
      this.#left,
      // a trunk leg a recovery waits on (another stored call, the ring again, may name it too) is kept
      { esl: (c) => this.#ports.esl(c), forget: (id) => store.deleteCall(id), keeps: (uuid) => this.#settled.has(uuid) || ringer.holds(uuid) },
      this.#log,
    ).then((result) => {
      for (const leg of result.gone) this.#settled.add(leg);
      this.#left = result.unfinished;
      if (result.unfinished.length > 0) this.#log.warn({ calls: result.unfinished.length }, 'calls the previous run left are kept: a leg could not be ended; tried again at the next ESL connection');
    });
    this.#ending = run;
    try {
      await run;
    } finally {
      this.#ending = undefined;
    }
  }

  /**
   * An answered call the previous run left whose trunk leg is still there
   * and kept (park_after_bridge: the edge's originate sets it on an outbound
   * trunk leg, an inbound call sets it once bridged) is not ended: its
   * Verto leg (gone with the old process's socket, or detached: an inbound
   * one) is ended, the trunk leg parks, and the user is rung again to
   * continue it, as when the media is lost in a running edge (recovery.ts).
   * The number and the user come from the trunk leg's own variables
   * (mse_peer_number, or an outbound leg's mse_destination; mse_user).
   */
  async #ringAgainWhereFarEndWaits(): Promise<void> {
    if (this.#ports.recoveryRingS === 0) return;
    const kept: CallRecord[] = [];
    for (const c of this.#left) {
      const trunk = c.farLeg;
      // A call that had ended (told) is not rung again, whatever is left of it; one handed over to a recovery is, once per trunk leg.
      if (c.state === TOLD_STATE || !c.answered || trunk === undefined || !UUID_PATTERN.test(trunk)) continue;
      if (kept.some((k) => k.farLeg === trunk)) continue;
      try {
        if ((await this.#ports.esl(uuidExists(trunk))).trim() !== 'true') continue;
        const getvar = async (name: string) => parseGetvar(await this.#ports.esl(uuidGetvar(trunk, name)));
        if ((await getvar('park_after_bridge')) !== 'true') continue;
        const number = (await getvar('mse_peer_number')) ?? (await getvar('mse_destination'));
        const userId = await getvar('mse_user');
        if (number === undefined || !PEER_NUMBER.test(number)) continue;
        // Its end parks the trunk leg; a leg gone already (an outbound one went with the old socket) left it parked.
        const killed = await this.#ports.esl(uuidKill(c.vertoLeg, 'NORMAL_CLEARING'));
        // kept, handed over, until the recovery is continued or ended: a crash meanwhile rings again
        this.#ports.store.updateCall(c.matrixCallId, { state: HANDED_OVER_STATE });
        this.#settled.add(c.vertoLeg);
        this.#settled.add(trunk);
        kept.push(c);
        this.#log.warn({ call: c.matrixCallId, trunk }, 'a call the previous run left still has its far end: ringing the user again');
        this.#ports.ringer.start(
          { trunk, roomId: c.roomId, userId: userId ?? '', number, as: { speaker: c.sender, noticeFrom: c.sender }, mediaLeg: killed.startsWith('+OK') ? c.vertoLeg : undefined, storedCallId: c.matrixCallId },
          this.#log,
        );
      } catch (err) {
        this.#log.warn({ call: c.matrixCallId, err: (err as Error).message }, 'could not look at the trunk leg of a call left by the previous run');
      }
    }
    this.#left = this.#left.filter((c) => !kept.includes(c));
  }

  /** Keep a stored call's Matrix ending and notice and mark it told, as one transaction. */
  #tell(call: CallRecord, ending: MatrixEnding, notice: string): void {
    const { store, outbox } = this.#ports;
    store.atomically(() => {
      void outbox.enqueue(call.matrixCallId, call.roomId, ending.type, ending.content, call.sender);
      void outbox.enqueue(call.matrixCallId, call.roomId, 'm.room.message', { msgtype: 'm.notice', body: notice }, call.sender);
      store.updateCall(call.matrixCallId, { state: TOLD_STATE });
    });
  }
}
