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
//      call is forgotten.
// A crash between the two leaves the call marked told: the next start skips
// step 1 for it (no second ending) and does step 2.
import type { Logger } from '../log/logger.ts';
import { uuidKill, type ApiCommand } from '../esl/commands.ts';
import type { CallRecord } from '../store/state-store.ts';

/** The cause FreeSWITCH gives the trunk for a leg the edge ends after a restart (SIP 503). */
export const RESTART_CAUSE = 'NORMAL_TEMPORARY_FAILURE';
export const RESTART_NOTICE = 'The call was cut off: the phone bridge restarted.';
/** The stored state of a call whose ending Matrix was given (step 1 done). */
export const TOLD_STATE = 'told_after_restart';

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
    if (call.state === TOLD_STATE || ports.endingKept(call.matrixCallId)) continue;
    const ending = matrixEnding(call);
    ports.tell(call, ending, RESTART_NOTICE);
    told.push(call.matrixCallId);
    log.warn({ call: call.matrixCallId, room: call.roomId, direction: call.direction, state: call.state, answered: call.answered, told: ending.type }, 'ended in Matrix a call the previous run left');
  }
  return told;
}

export interface LegPorts {
  esl(command: ApiCommand): Promise<string>;
  /** Forget the call (its legs were just ended). */
  forget(matrixCallId: string): void;
}

/**
 * Step 2: hang up every leg of those calls over ESL (`-ERR` means FreeSWITCH
 * had ended it already) and forget the calls. Returns the legs, which the
 * channel walk then leaves alone.
 */
export async function endStoredLegs(left: readonly CallRecord[], ports: LegPorts, log: Logger): Promise<ReadonlySet<string>> {
  const legs = new Set<string>();
  for (const call of left) {
    const callLog = log.child({ call: call.matrixCallId, room: call.roomId, uuid: call.vertoLeg, direction: call.direction });
    for (const leg of [call.vertoLeg, call.farLeg]) {
      if (leg === undefined) continue;
      legs.add(leg);
      let reply: string;
      try {
        reply = await ports.esl(uuidKill(leg, RESTART_CAUSE));
      } catch (err) {
        callLog.warn({ leg, err: (err as Error).message }, 'could not end a leg of a call left by the previous run; the channel walk retries');
        continue;
      }
      callLog.info({ leg }, reply.startsWith('+OK') ? 'hung up a leg of a call left by the previous run' : 'a leg of a call left by the previous run had ended already');
    }
    ports.forget(call.matrixCallId);
  }
  return legs;
}
