// After a restart: the calls the previous process left in the state store
// cannot go on (their media belonged to call objects that died with it, and
// FreeSWITCH cannot hand a Verto leg's media to a new session, see README
// "What survives what"). Each is ended on both sides, as the same party it
// was, in two steps that need different peers:
//   1. at start, before any peer is reached: the room gets the ending the
//      Matrix side expects (reject while an outbound call was unanswered in
//      Matrix, hangup otherwise) and a notice, kept in the outbox (sent when
//      the homeserver is reachable), and the call is marked told;
//   2. at the first ESL connection: its legs still up are hung up, and the
//      call is forgotten once FreeSWITCH answered for each leg; a call with
//      a kill that got no reply (ESL dropped, timeout) is kept and tried
//      again at the next ESL connection.
// A crash between the two leaves the call marked told: the next start skips
// step 1 for it (no second ending) and does step 2. A call that ended in
// this run is kept marked told the same way until FreeSWITCH confirmed its
// leg gone (call-manager.ts), so a crash in between is handled alike.
import type { Logger } from '../log/logger.ts';
import { uuidKill, type ApiCommand } from '../esl/commands.ts';
import { EslArgumentError } from '../esl/grammar.ts';
import type { CallRecord } from '../store/state-store.ts';

/** The cause FreeSWITCH gives the trunk for a leg the edge ends after a restart (SIP 503). */
export const RESTART_CAUSE = 'NORMAL_TEMPORARY_FAILURE';
export const RESTART_NOTICE = 'The call was cut off: the phone bridge restarted.';
/** The stored state of a call whose ending Matrix was given (step 1 done, or the call ended in its run): its leg is all that is left to end. */
export const TOLD_STATE = 'told_after_restart';
/**
 * The stored state of a call whose Matrix media was lost while its far end
 * waits (told in Matrix already): kept, with its trunk leg, until the
 * recovery that rings the user again is continued or ended, so that a
 * restart meanwhile rings again instead of cutting the far end off.
 */
export const HANDED_OVER_STATE = 'handed_over';

export interface MatrixEnding {
  readonly type: 'm.call.hangup' | 'm.call.reject';
  readonly content: Record<string, unknown>;
}

/** What ends a stored call in Matrix, as its own party would have. */
export function matrixEnding(call: CallRecord): MatrixEnding {
  if (call.version === '0') return { type: 'm.call.hangup', content: { call_id: call.matrixCallId, version: 0, reason: 'unknown_error' } };
  const common = { call_id: call.matrixCallId, party_id: call.partyId, version: '1' };
  // The callee of an outbound call that never answered in Matrix rejects it; everything else is a hangup.
  if (call.direction === 'outbound' && !call.answered) return { type: 'm.call.reject', content: common };
  return { type: 'm.call.hangup', content: { ...common, reason: 'unknown_error' } };
}

export interface TellPorts {
  /** True when the outbox already holds this call's ending (the previous process crashed right after keeping it). */
  endingKept(matrixCallId: string): boolean;
  /** Keep the Matrix ending and the notice, and mark the call told, in one transaction. */
  tell(call: CallRecord, ending: MatrixEnding, notice: string): void;
}

/** Step 1: tell every room (once) that its call is over. Returns the calls told now. */
export function tellMatrixOfStoredCalls(left: readonly CallRecord[], ports: TellPorts, log: Logger): readonly string[] {
  const told: string[] = [];
  for (const call of left) {
    if (call.state === TOLD_STATE || call.state === HANDED_OVER_STATE || ports.endingKept(call.matrixCallId)) continue;
    const ending = matrixEnding(call);
    ports.tell(call, ending, RESTART_NOTICE);
    told.push(call.matrixCallId);
    log.warn({ call: call.matrixCallId, room: call.roomId, direction: call.direction, state: call.state, answered: call.answered, told: ending.type }, 'ended in Matrix a call the previous run left');
  }
  return told;
}

export interface LegPorts {
  esl(command: ApiCommand): Promise<string>;
  /** A leg the edge keeps (a trunk leg a recovery waits on): not ended, and counted as answered for. */
  keeps?(uuid: string): boolean;
  /** Forget the call (FreeSWITCH answered for each of its legs). */
  forget(matrixCallId: string): void;
}

export interface StoredLegsResult {
  /** Legs FreeSWITCH answered for (hung up now, or gone already), and stored legs that cannot be a channel: the channel walk leaves them alone. */
  readonly gone: ReadonlySet<string>;
  /** Calls with a leg whose uuid_kill got no reply (ESL dropped, timeout): kept in the store, to be tried again at the next ESL connection. */
  readonly unfinished: readonly CallRecord[];
}

/**
 * Step 2: hang up every leg of those calls over ESL and forget each call
 * whose every leg FreeSWITCH answered for: `+OK` (hung up now) or `-ERR`
 * (no such channel: ended already). A call with a leg that got no reply
 * is kept, and returned to be tried again.
 */
export async function endStoredLegs(left: readonly CallRecord[], ports: LegPorts, log: Logger): Promise<StoredLegsResult> {
  const gone = new Set<string>();
  const unfinished: CallRecord[] = [];
  for (const call of left) {
    const callLog = log.child({ call: call.matrixCallId, room: call.roomId, uuid: call.vertoLeg, direction: call.direction });
    let answered = true;
    for (const leg of [call.vertoLeg, call.farLeg]) {
      if (leg === undefined) continue;
      if (ports.keeps?.(leg) === true) continue;
      let command: ApiCommand;
      try {
        command = uuidKill(leg, RESTART_CAUSE);
      } catch (err) {
        if (!(err instanceof EslArgumentError)) throw err;
        // not a UUID: no channel can have it, and it must not reach ESL
        callLog.warn({ leg: leg.slice(0, 60) }, 'a stored leg of a call left by the previous run is not a UUID; skipped');
        gone.add(leg);
        continue;
      }
      let reply: string;
      try {
        reply = await ports.esl(command);
      } catch (err) {
        answered = false;
        callLog.warn({ leg, err: (err as Error).message }, 'could not end a leg of a call left by the previous run; kept, tried again at the next ESL connection');
        continue;
      }
      gone.add(leg);
      callLog.info({ leg, reply: reply.trim().slice(0, 80) }, reply.startsWith('+OK') ? 'hung up a leg of a call left by the previous run' : 'a leg of a call left by the previous run had ended already');
    }
    if (answered) ports.forget(call.matrixCallId);
    else unfinished.push(call);
  }
  return { gone, unfinished };
}
