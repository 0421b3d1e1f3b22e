// A call whose Matrix media was lost, its far end still there: the trunk
// leg waits parked (park_after_bridge, traces/real/ctl-08) while the user is
// rung again in the same room. The edge originates a new Verto leg toward
// its own session (FreeSWITCH's verto.invite brings the offer), rings Matrix
// with it, and bridges it to the waiting trunk leg once answered; not
// answered within calls.recovery_ring_s, the trunk leg is ended.

/** One trunk leg waiting for its user. */
export interface Recovery {
  /** The new Verto leg's UUID (origination_uuid): its verto.invite is recognised by it. */
  readonly leg: string;
  readonly trunk: string;
  readonly roomId: string;
  /** The user to ring again (the caller of the lost call). */
  readonly userId: string;
  /** The number the call is connected to. */
  readonly number: string;
  /** Who the edge is in the room (its events, its notices). */
  readonly as: { readonly speaker: string | undefined; readonly noticeFrom: string | undefined };
  /** ms since the epoch: the user must answer by then. */
  readonly deadline: number;
}

/** The notice the room reads as it rings again. */
export const recoveryNotice = (number: string): string => `Your call with ${number} was interrupted: answer to continue.`;

/** How the trunk leg is ended when nobody answered the ring again. */
export const RECOVERY_UNANSWERED_CAUSE = 'NO_ANSWER';
