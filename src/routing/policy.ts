import type { CountryCode } from 'libphonenumber-js/max';
import type { Destination } from './numbers.ts';

/** Why a call was refused: a stable code (for metrics) and words for the room. */
export interface Refusal {
  readonly code:
    | 'caller_not_allowed'
    | 'power_level_too_low'
    | 'destination_not_allowed'
    | 'premium_denied'
    | 'international_denied'
    | 'concurrency_limit'
    | 'rate_limit'
    | 'no_destination'
    | 'invalid_destination'
    | 'invalid_invite'
    | 'unavailable'
    | 'shutting_down';
  readonly message: string;
}

export interface PolicyRules {
  /** Users allowed to call (exact Matrix IDs). */
  readonly allowedUsers: readonly string[];
  /** Homeservers whose users may call. */
  readonly allowedServers: readonly string[];
  /** Minimum power level in the room (undefined = no requirement). */
  readonly minPowerLevel: number | undefined;
  /** Destinations (E.164 or extension) must match one of these. */
  readonly allowDestinations: readonly RegExp[];
  readonly allowInternational: boolean;
  readonly allowPremium: boolean;
  readonly homeCountry: CountryCode;
}

const PREMIUM_TYPES = new Set(['PREMIUM_RATE', 'SHARED_COST', 'PERSONAL_NUMBER', 'UAN', 'VOICEMAIL']);

function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(':') + 1);
}

/** May this user place a call in this room? */
export function checkCaller(rules: PolicyRules, userId: string, powerLevel: number): Refusal | undefined {
  const listed = rules.allowedUsers.includes(userId) || rules.allowedServers.includes(serverOf(userId));
  if (!listed) return { code: 'caller_not_allowed', message: `${userId} is not allowed to place phone calls through this bridge.` };
  if (rules.minPowerLevel !== undefined && powerLevel < rules.minPowerLevel) {
    return { code: 'power_level_too_low', message: `Placing phone calls in this room needs power level ${rules.minPowerLevel}; you have ${powerLevel}.` };
  }
  return undefined;
}

/** May this destination be dialled? Toll-fraud safe: deny unless configured. */
export function checkDestination(rules: PolicyRules, destination: Destination): Refusal | undefined {
  if (destination.kind === 'e164') {
    if (destination.type !== undefined && PREMIUM_TYPES.has(destination.type) && !rules.allowPremium) {
      return { code: 'premium_denied', message: `${destination.number} is a premium-rate or special number; this bridge does not call those.` };
    }
    if (destination.country !== rules.homeCountry && !rules.allowInternational) {
      return { code: 'international_denied', message: `${destination.number} is an international number; this bridge does not call abroad.` };
    }
  }
  if (!rules.allowDestinations.some((re) => re.test(destination.number))) {
    return { code: 'destination_not_allowed', message: `${destination.number} is not on this bridge's list of allowed destinations.` };
  }
  return undefined;
}
