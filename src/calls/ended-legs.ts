// The legs of calls that ended in this run which FreeSWITCH has not
// confirmed gone yet, and trunk legs a recovery let go of that could not be
// ended: the edge ends them itself, whatever ESL did meanwhile. An ended
// call stays stored (marked told, so neither the channel walk nor a restart
// tells Matrix of its end twice) until each of its legs is confirmed gone:
// its CHANNEL_HANGUP_COMPLETE, or an answered uuid_kill, sent when the
// event has not come within ENDED_LEG_WAIT_MS and at each ESL connection.
import type { Logger } from '../log/logger.ts';
import { uuidKill, type ApiCommand } from '../esl/commands.ts';
import type { CallUpdate } from '../store/state-store.ts';
import { TOLD_STATE } from './stored-calls.ts';

/** How long an ended call's leg may take to report CHANNEL_HANGUP_COMPLETE before the edge asks FreeSWITCH to end it. */
export const ENDED_LEG_WAIT_MS = 5_000;

export interface EndedLegsPorts {
  esl(command: ApiCommand): Promise<string>;
  eslConnected(): boolean;
  /** The stored call's row (marked told while its legs go; forgotten once they are). */
  updateCall(matrixCallId: string, update: CallUpdate): void;
  deleteCall(matrixCallId: string): void;
}

export class EndedLegs {
  readonly #ports: EndedLegsPorts;
  readonly #log: Logger;
  /** By leg UUID: the call it belongs to, and the timer that asks FreeSWITCH to end it. */
  readonly #legs = new Map<string, { readonly callId: string; timer: NodeJS.Timeout | undefined }>();
  readonly #idle = new Set<() => void>();
  /** Trunk legs a recovery let go of whose uuid_kill could not be sent (ESL away), with the cause. */
  readonly #trunks = new Map<string, string>();

  constructor(ports: EndedLegsPorts, log: Logger) {
    this.#ports = ports;
    this.#log = log;
  }

  /** A leg this bookkeeping is to end: the channel walk leaves it alone. */
  has(uuid: string): boolean {
    return this.#legs.has(uuid) || this.#trunks.has(uuid);
  }

  /** A call ended with these legs maybe still up: it stays stored, marked told, until each is gone. */
  await(callId: string, legs: readonly string[]): void {
    if (legs.length === 0) {
      this.#ports.deleteCall(callId);
      return;
    }
    this.#ports.updateCall(callId, { state: TOLD_STATE });
    for (const uuid of legs) {
      const timer = setTimeout(() => void this.#kill(uuid), ENDED_LEG_WAIT_MS);
      timer.unref();
      this.#legs.set(uuid, { callId, timer });
    }
  }

  /** FreeSWITCH confirmed the leg gone (its CHANNEL_HANGUP_COMPLETE): its stored call can go once its other legs are. */
  gone(uuid: string): void {
    const ended = this.#legs.get(uuid);
    if (ended === undefined) return;
    clearTimeout(ended.timer);
    this.#legs.delete(uuid);
    if (![...this.#legs.values()].some((e) => e.callId === ended.callId)) this.#ports.deleteCall(ended.callId);
    if (this.#legs.size === 0) for (const fn of [...this.#idle]) fn();
  }

  /** ESL (re)connected: ask FreeSWITCH to end every leg still waiting. */
  retry(): void {
    if (!this.#ports.eslConnected()) return;
    for (const uuid of [...this.#legs.keys()]) void this.#kill(uuid);
    for (const [uuid, cause] of [...this.#trunks]) void this.endTrunk(uuid, cause, this.#log);
  }

  /** End a trunk leg a recovery let go of; one whose kill could not be sent is ended at the next ESL connection. */
  async endTrunk(uuid: string, cause: string, log: Logger): Promise<void> {
    try {
      const reply = await this.#ports.esl(uuidKill(uuid, cause));
      this.#trunks.delete(uuid);
      if (!reply.startsWith('+OK')) log.info({ uuid, reply: reply.trim().slice(0, 80) }, 'uuid_kill: the trunk leg had ended already');
    } catch (err) {
      this.#trunks.set(uuid, cause);
      log.warn({ uuid, err: (err as Error).message }, 'could not end the trunk leg; tried again at the next ESL connection');
    }
  }

  /** Resolves when every ended call's leg is confirmed gone, or at the deadline. */
  allGone(deadlineAt: number): Promise<void> {
    if (this.#legs.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadlineAt - Date.now()));
      this.#idle.add(done);
    });
  }

  /** Stop: no more kills are asked for (the legs left stay stored, told, for the next start). */
  stop(): void {
    for (const ended of this.#legs.values()) clearTimeout(ended.timer);
  }

  /** No CHANNEL_HANGUP_COMPLETE came for an ended call's leg (ESL was away, or it never existed): ask FreeSWITCH to end it; its answer confirms it gone. */
  async #kill(uuid: string): Promise<void> {
    const ended = this.#legs.get(uuid);
    if (ended === undefined) return;
    clearTimeout(ended.timer);
    ended.timer = undefined;
    if (!this.#ports.eslConnected()) return; // the next connection tries again
    let reply: string;
    try {
      reply = await this.#ports.esl(uuidKill(uuid, 'NORMAL_CLEARING'));
    } catch (err) {
      this.#log.warn({ call: ended.callId, uuid, err: (err as Error).message }, 'could not confirm the leg of an ended call gone; tried again at the next ESL connection');
      return;
    }
    this.#log.info({ call: ended.callId, uuid, reply: reply.trim().slice(0, 80) }, reply.startsWith('+OK') ? 'hung up the leg of a call that had ended' : 'the leg of an ended call is gone');
    this.gone(uuid);
  }
}
