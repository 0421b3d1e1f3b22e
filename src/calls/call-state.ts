/**
 * The states of an outbound call (Matrix -> SIP) and the transitions
 * allowed between them. An event that does not fit the current state is
 * logged and ignored by the call, never a crash.
 *
 *   gathering    m.call.invite accepted; collecting trickled candidates
 *   dialling     verto.invite sent with the coalesced offer; trunk ringing
 *   early_media  FreeSWITCH sent its SDP (verto.media); m.call.answer sent
 *   answered     the far end answered (verto.answer)
 *   ending       FreeSWITCH hung up (verto.bye); waiting briefly for ESL's
 *                CHANNEL_HANGUP_COMPLETE, which carries the real cause
 *   ended        both sides told; timers cleared; the call is forgotten
 */
export type CallState = 'gathering' | 'dialling' | 'early_media' | 'answered' | 'ending' | 'ended';

export const TRANSITIONS: Readonly<Record<CallState, readonly CallState[]>> = {
  gathering: ['dialling', 'ended'],
  dialling: ['early_media', 'answered', 'ending', 'ended'],
  early_media: ['answered', 'ending', 'ended'],
  answered: ['ending', 'ended'],
  ending: ['ended'],
  ended: [],
};

export function canMove(from: CallState, to: CallState): boolean {
  return TRANSITIONS[from].includes(to);
}
