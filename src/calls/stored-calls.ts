// After a restart: the calls the previous process left in the state store
// cannot go on (their media belonged to call objects that died with it, and
// FreeSWITCH cannot hand a Verto leg's media to a new session, see README
// "What survives what"). Each is ended on both sides, as the same party it
// was: its legs still up are hung up over ESL, its room gets the ending the
// Matrix side expects (reject while an outbound call was unanswered in
// Matrix, hangup otherwise) and a notice.
import type { Logger } from '../log/logger.ts';
import { uuidKill, type ApiCommand } from '../esl/commands.ts';
import type { CallRecord } from '../store/state-store.ts';

/** The cause FreeSWITCH gives the trunk for a leg the edge ends after a restart (SIP 503). */
export const RESTART_CAUSE = 'NORMAL_TEMPORARY_FAILURE';
export const RESTART_NOTICE = 'The call was cut off: the phone bridge restarted.';

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

export interface StoredCallPorts {
  esl(command: ApiCommand): Promise<string>;
  /** The calls the previous process left (read before this one admitted any). */
  readonly left: readonly CallRecord[];
  /** True when the outbox already holds this call's ending (the previous process crashed right after keeping it). */
  endingKept(matrixCallId: string): boolean;
  /** Keep the Matrix ending and the notice, and forget the call, in one transaction. */
  endInMatrix(call: CallRecord, ending: MatrixEnding | undefined, notice: string): void;
}

export interface StoredCallsResult {
  readonly ended: readonly string[];
  /** Every FreeSWITCH leg of those calls (not orphans of anyone: the channel walk leaves them alone). */
  readonly legs: ReadonlySet<string>;
}

/**
 * Ends every call the previous process left. Matrix first (kept in the
 * store, so it survives even a crash right now), then the legs over ESL:
 * `-ERR` from uuid_kill means FreeSWITCH had ended the leg already.
 */
export async function endStoredCalls(ports: StoredCallPorts, log: Logger): Promise<StoredCallsResult> {
  const legs = new Set<string>();
  const ended: string[] = [];
  for (const call of ports.left) {
    const callLog = log.child({ call: call.matrixCallId, room: call.roomId, uuid: call.vertoLeg, direction: call.direction });
    const ending = ports.endingKept(call.matrixCallId) ? undefined : matrixEnding(call);
    ports.endInMatrix(call, ending, RESTART_NOTICE);
    ended.push(call.matrixCallId);
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
      callLog.info({ leg, killed: reply.startsWith('+OK') }, reply.startsWith('+OK') ? 'hung up a leg of a call left by the previous run' : 'a leg of a call left by the previous run had ended already');
    }
    callLog.warn({ state: call.state, answered: call.answered, told: ending?.type ?? 'already kept' }, 'ended a call the previous run left');
  }
  return { ended, legs };
}
