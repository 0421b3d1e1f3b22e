// The simulated SIP far end (the trunk) of an outbound SIP leg: which
// behaviour applies to a call, and the timed script that plays it.
import type { FarEndBehaviour } from './contract.ts';

/** Behaviour per destination number (checked first), per gateway, else the default. */
export interface FarEndConfig {
  readonly byDestination?: Readonly<Record<string, FarEndBehaviour>>;
  readonly byGateway?: Readonly<Record<string, FarEndBehaviour>>;
  readonly default?: FarEndBehaviour;
}

/** sipp -sn uas: 180 then 200 at once, never hangs up. */
export const DEFAULT_FAR_END: FarEndBehaviour = { kind: 'answer', ringMs: 0 };

export function resolveFarEnd(config: FarEndConfig | undefined, gateway: string, destination: string): FarEndBehaviour {
  return config?.byDestination?.[destination] ?? config?.byGateway?.[gateway] ?? config?.default ?? DEFAULT_FAR_END;
}

/** What the far end can do to its SIP leg; implemented by the channel model. */
export interface FarEndLeg {
  /** 180 Ringing without SDP. */
  ringing(): void;
  /** 183 Session Progress with SDP. */
  earlyMedia(): void;
  /** 200 OK. */
  answer(): void;
  /** Final error response. */
  reject(sipStatus: number): void;
  /** BYE after answer. */
  hangup(): void;
  /** RFC 2833 digits received from the far end. */
  dtmf(digit: string): void;
  /** re-INVITE with a=sendonly (hold: true) or a=sendrecv (hold: false). */
  hold(hold: boolean): void;
}

/** Schedules a callback; returns a handle so the owner can clear every timer. */
export type Schedule = (ms: number, fn: () => void) => void;

/**
 * Plays a behaviour against a leg. Every step runs from a timer (never
 * synchronously), so the caller's request returns before the far end acts.
 * `no-answer` rings and then does nothing: the originate timeout ends it.
 */
export function playFarEnd(behaviour: FarEndBehaviour, leg: FarEndLeg, schedule: Schedule): void {
  switch (behaviour.kind) {
    case 'answer': {
      schedule(0, () => {
        if (behaviour.earlyMedia === true) leg.earlyMedia();
        else leg.ringing();
        schedule(behaviour.ringMs ?? 0, () => {
          leg.answer();
          const dtmf = behaviour.sendDtmf;
          if (dtmf !== undefined) {
            schedule(dtmf.afterMs, () => {
              for (const digit of dtmf.digits) leg.dtmf(digit);
            });
          }
          const hold = behaviour.hold;
          if (hold !== undefined) {
            schedule(hold.afterMs, () => {
              leg.hold(true);
              if (hold.durationMs !== undefined) schedule(hold.durationMs, () => leg.hold(false));
            });
          }
          if (behaviour.hangupAfterMs !== undefined) schedule(behaviour.hangupAfterMs, () => leg.hangup());
        });
      });
      return;
    }
    case 'reject': {
      const ringMs = behaviour.ringMs;
      if (ringMs === undefined) {
        schedule(0, () => leg.reject(behaviour.sipStatus));
      } else {
        schedule(0, () => {
          leg.ringing();
          schedule(ringMs, () => leg.reject(behaviour.sipStatus));
        });
      }
      return;
    }
    case 'no-answer':
      schedule(0, () => leg.ringing());
      return;
  }
}
