// How calls of both directions end in the ways the edge itself decides:
// the Verto socket dropped, the maximum duration passed, a leg to kill.
import type { Logger } from '../log/logger.ts';
import { uuidKill, type ApiCommand } from '../esl/commands.ts';
import type { CallOutcome } from './hangup-causes.ts';

/**
 * How an answered call ends when the Verto socket drops: FreeSWITCH stops
 * the leg's media (the edge cannot restore it: it is the Matrix client's),
 * so the edge hangs the leg up over ESL with this cause and ends the call
 * in Matrix, rather than leave both parties in silence.
 */
export const VERTO_LOST_OUTCOME: CallOutcome = {
  cause: 'NETWORK_OUT_OF_ORDER',
  sipStatus: undefined,
  reason: 'ice_timeout',
  notice: 'The call was cut off: the connection to the phone system was lost.',
};

/** How a call not answered yet ends when the Verto socket drops (FreeSWITCH hangs such legs up with it). */
export const VERTO_LOST_RINGING_OUTCOME: CallOutcome = {
  cause: 'DESTINATION_OUT_OF_ORDER',
  sipStatus: undefined,
  reason: 'unknown_error',
  notice: 'The call failed: the connection to the phone system was lost.',
};

/** The cause recorded for a call whose Matrix media was lost while its far end waits (the user is rung again). */
export const HANDED_OVER_CAUSE = 'MEDIA_LOST_RINGING_AGAIN';

/** The notice the room reads when a call's media was lost, and again as it rings anew. */
export const recoveryNotice = (number: string): string => `Your call with ${number === 'anonymous' ? 'an anonymous caller' : number} was interrupted: answer to continue.`;

/** How a call ends in Matrix when its media was lost and the far end waits: the user is rung again (recovery.ts). */
export function handedOverOutcome(number: string): CallOutcome {
  return { cause: HANDED_OVER_CAUSE, sipStatus: undefined, reason: 'ice_failed', notice: recoveryNotice(number) };
}

/** uuid_kill a Verto leg; a leg FreeSWITCH has ended already answers -ERR, which is fine. */
export async function killLeg(ports: { esl(command: ApiCommand): Promise<string> }, uuid: string, cause: string, log: Logger): Promise<void> {
  try {
    const reply = await ports.esl(uuidKill(uuid, cause));
    if (!reply.startsWith('+OK')) log.info({ reply: reply.trim().slice(0, 80) }, 'uuid_kill: the leg had ended already');
  } catch (err) {
    log.error({ err: (err as Error).message }, 'uuid_kill failed; the next reconciliation ends the channel');
  }
}

/** The room notice when the edge ends a call at calls.max_duration_s. */
export function maxDurationNotice(seconds: number): string {
  const span = seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
  return `The call was ended: it reached this bridge's limit of ${span} per call.`;
}
