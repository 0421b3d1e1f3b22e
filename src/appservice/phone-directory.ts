// Phone numbers as Matrix users: which number a ghost stands for, whether
// the policy lets anyone call it (the homeserver's user query and Element's
// dial pad lookup get the same answer), and the third-party protocol
// description Element needs to show its dial pad.
import { parsePhoneNumberWithError } from 'libphonenumber-js/max';
import { checkDestination } from '../routing/policy.ts';
import { parseDestination, type Destination } from '../routing/numbers.ts';
import type { CompiledRules } from '../calls/refusals.ts';
import { PSTN_PROTOCOLS } from './registration.ts';
import { ghostUserId, numberOfGhost, type GhostNaming } from './ghosts.ts';

export const PHONE_FIELD = 'm.id.phone';

/** The protocol object of GET /thirdparty/protocol/{protocol} (all fields the spec requires). */
export function pstnProtocol(): Record<string, unknown> {
  return {
    user_fields: [PHONE_FIELD],
    location_fields: [],
    icon: '',
    field_types: { [PHONE_FIELD]: { regexp: '^\\+?[0-9 ().\\-/]{2,32}$', placeholder: '+49 30 123456' } },
    instances: [{ desc: 'Phone numbers', icon: '', fields: {}, network_id: 'pstn' }],
  };
}

export const isPstnProtocol = (p: string): boolean => (PSTN_PROTOCOLS as readonly string[]).includes(p);

/** "+49 30 123456" for an E.164 number; extensions as they are. */
export function displayNumber(number: string): string {
  if (!number.startsWith('+')) return number;
  try {
    return parsePhoneNumberWithError(number).formatInternational();
  } catch {
    return number;
  }
}

export class PhoneDirectory {
  readonly #rules: CompiledRules;
  readonly #naming: GhostNaming;

  constructor(rules: CompiledRules, naming: GhostNaming) {
    this.#rules = rules;
    this.#naming = naming;
  }

  get naming(): GhostNaming {
    return this.#naming;
  }

  /** A destination the policy lets someone call, on a configured trunk; else undefined. */
  callable(input: string): Destination | undefined {
    const parsed = parseDestination(input, this.#rules.numbers);
    if (!parsed.ok) return undefined;
    if (checkDestination(this.#rules.policy, parsed.destination) !== undefined) return undefined;
    const gateway = this.#rules.routes.find((r) => r.match.test(parsed.destination.number))?.gateway ?? this.#rules.defaultGateway;
    return gateway === undefined ? undefined : parsed.destination;
  }

  ghostFor(number: string): string {
    return ghostUserId(this.#naming, number);
  }

  numberOf(userId: string): string | undefined {
    return numberOfGhost(this.#naming, userId);
  }

  /** GET /thirdparty/user/{protocol}?m.id.phone=...: the ghost of a callable number, else none. */
  lookup(protocol: string, fields: Readonly<Record<string, string>>): Record<string, unknown>[] {
    const typed = fields[PHONE_FIELD];
    if (typed === undefined) return [];
    const destination = this.callable(typed);
    if (destination === undefined) return [];
    return [{ userid: this.ghostFor(destination.number), protocol, fields: { [PHONE_FIELD]: destination.number } }];
  }

  /** GET /thirdparty/user?userid=: a ghost's number. */
  reverse(userId: string): Record<string, unknown>[] {
    const number = this.numberOf(userId);
    return number === undefined ? [] : [{ userid: userId, protocol: PSTN_PROTOCOLS[0], fields: { [PHONE_FIELD]: number } }];
  }
}
