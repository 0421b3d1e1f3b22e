import type { EdgeConfig } from '../config/load.ts';
import type { CallEvent } from '../matrix/call-events.ts';
import type { RoomFacts } from '../matrix/link.ts';
import { checkCaller, checkDestination, type PolicyRules, type Refusal } from '../routing/policy.ts';
import { parseDestination, type Destination, type NumberRules } from '../routing/numbers.ts';
import { checkClientSdp } from '../sdp/offer.ts';
import type { CountryCode } from 'libphonenumber-js/max';

type Invite = Extract<CallEvent, { type: 'm.call.invite' }>;

export const INVITE_GRACE_MS = 3_000;

export interface Admission {
  readonly destination: Destination;
  readonly gateway: string;
}

/** The routing and policy rules, compiled once from the config. */
export interface CompiledRules {
  readonly numbers: NumberRules;
  readonly policy: PolicyRules;
  readonly routes: ReadonlyArray<{ readonly match: RegExp; readonly gateway: string }>;
  readonly defaultGateway: string | undefined;
}

export function compileRules(config: EdgeConfig): CompiledRules {
  const country = config.routing.default_country as CountryCode;
  return {
    numbers: {
      defaultCountry: country,
      extensionPattern: config.routing.extension_pattern === undefined ? undefined : new RegExp(config.routing.extension_pattern),
    },
    policy: {
      allowedUsers: config.policy.allowed_users,
      allowedServers: config.policy.allowed_servers,
      minPowerLevel: config.policy.min_power_level,
      allowDestinations: config.policy.allow_destinations.map((p) => new RegExp(p)),
      allowInternational: config.policy.allow_international,
      allowPremium: config.policy.allow_premium,
      homeCountry: country,
    },
    routes: config.routing.routes.map((r) => ({ match: new RegExp(r.match), gateway: r.gateway })),
    defaultGateway: config.routing.default_gateway,
  };
}

/**
 * Everything checked before a call is dialled, in order: the invite itself,
 * who calls, where to, which trunk. Returns the admission or the refusal
 * the user will read. Limits are checked last, by the caller of this.
 */
export function admitInvite(
  rules: CompiledRules,
  invite: Invite,
  facts: RoomFacts,
  dialled: string | undefined,
): { ok: true; admission: Admission } | { ok: false; refusal: Refusal } {
  const sdp = checkClientSdp(invite.content.offer.sdp);
  if (!sdp.ok) return { ok: false, refusal: { code: 'invalid_invite', message: `Your call could not be placed: its ${sdp.reason}.` } };
  // As matrix-js-sdk does (RING_GRACE_PERIOD): an invite with less than 3 s
  // of its lifetime left is treated as expired; no call can be set up in it.
  const age = invite.ageMs ?? 0;
  if (age > invite.content.lifetime - INVITE_GRACE_MS) {
    return { ok: false, refusal: { code: 'invalid_invite', message: 'Your call invitation had already expired when it arrived.' } };
  }
  const caller = checkCaller(rules.policy, invite.sender, facts.powerLevel);
  if (caller) return { ok: false, refusal: caller };
  const wanted = dialled ?? facts.destination;
  if (wanted === undefined) {
    return { ok: false, refusal: { code: 'no_destination', message: 'This room has no phone number yet: type !dial <number> first.' } };
  }
  const parsed = parseDestination(wanted, rules.numbers);
  if (!parsed.ok) return { ok: false, refusal: { code: 'invalid_destination', message: `Cannot call: ${parsed.reason}.` } };
  const denied = checkDestination(rules.policy, parsed.destination);
  if (denied) return { ok: false, refusal: denied };
  const gateway = rules.routes.find((r) => r.match.test(parsed.destination.number))?.gateway ?? rules.defaultGateway;
  if (gateway === undefined) return { ok: false, refusal: { code: 'unavailable', message: 'No phone line is configured for this number.' } };
  return { ok: true, admission: { destination: parsed.destination, gateway } };
}
