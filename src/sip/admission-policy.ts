// The admission decision for one INVITE, in order: the source must belong
// to a trunk (403), a known scanner User-Agent is dropped or refused (403),
// the INVITE must not carry the decision header itself (400: drachtio-server
// cannot remove it on proxy, see DECISION_HEADER), the dialled number must
// be routed to a room (404), the source must be
// under its rate limit (503 + Retry-After), the trunk under its concurrent
// call limit (486 or 503); otherwise the call is proxied to FreeSWITCH with
// the decision in a header. Pure apart from the counters it keeps.
import type { EdgeConfig } from '../config/load.ts';
import { compileInboundRoutes, type InboundRoute } from '../calls/inbound-routing.ts';
import { RateLimiter } from './rate-limiter.ts';
import { ScannerList } from './scanners.ts';
import { TrunkCalls } from './trunk-calls.ts';
import { TrunkTable, type Trunk } from './trunks.ts';

/**
 * The header FreeSWITCH's public context checks (sip_h_X-MSE-Route). Only
 * the edge may set it, and it cannot take a trunk's copy out: on `proxy`
 * drachtio-server adds the app's custom headers to the received INVITE
 * (sofia-sip appends an unknown header, it never replaces one), and
 * mod_sofia names the first X-MSE-Route sip_h_X-MSE-Route (a second one
 * becomes sip_h_X-MSE-Route-1). So an INVITE that already carries it is
 * refused (400, outcome forged_header) instead of proxied.
 */
export const DECISION_HEADER = 'X-MSE-Route';

export const OUTCOMES = ['accepted', 'forbidden_source', 'scanner', 'forged_header', 'unknown_did', 'rate_limited', 'trunk_busy'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface InviteFacts {
  readonly sourceAddress: string;
  readonly userAgent: string | undefined;
  readonly requestUser: string | undefined;
  readonly callId: string;
  /** Does the INVITE carry this header (any value)? */
  hasHeader(name: string): boolean;
}

export type Decision =
  | { readonly kind: 'proxy'; readonly outcome: 'accepted'; readonly trunk: Trunk; readonly did: string; readonly routeId: string }
  | { readonly kind: 'reject'; readonly outcome: Exclude<Outcome, 'accepted'>; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly reason: string }
  | { readonly kind: 'drop'; readonly outcome: 'scanner'; readonly reason: string };

const DIGITS = /^\+?[0-9]{2,15}$/;

/** The dialled user part as E.164 with "+" (what inbound.routes match), or undefined. */
export function didOf(user: string | undefined): string | undefined {
  if (user === undefined || !DIGITS.test(user)) return undefined;
  return user.startsWith('+') ? user : `+${user}`;
}

export class AdmissionPolicy {
  readonly #trunks: TrunkTable;
  readonly #scanners: ScannerList;
  readonly #scannerAction: 'drop' | 'reject';
  readonly #routes: readonly InboundRoute[];
  readonly #rate: RateLimiter;
  readonly calls: TrunkCalls;

  constructor(config: Pick<EdgeConfig, 'sip' | 'inbound'>) {
    this.#trunks = new TrunkTable(config.sip.trunks);
    this.#scanners = new ScannerList(config.sip.scanners.user_agents);
    this.#scannerAction = config.sip.scanners.action;
    this.#routes = compileInboundRoutes(config.inbound.routes);
    this.#rate = new RateLimiter({ calls: config.sip.rate_limit.calls, windowS: config.sip.rate_limit.window_s });
    this.calls = new TrunkCalls(config.sip.max_call_duration_s);
  }

  /** Is the source one of the trunks (OPTIONS are answered only for them)? */
  trunkOf(address: string): Trunk | undefined {
    return this.#trunks.match(address);
  }

  decide(facts: InviteFacts, nowMs: number): Decision {
    const trunk = this.#trunks.match(facts.sourceAddress);
    if (trunk === undefined) return reject('forbidden_source', 403, `source ${facts.sourceAddress} is not a configured trunk`);
    const scanner = this.#scanners.match(facts.userAgent);
    if (scanner !== undefined) {
      const reason = `User-Agent matches the scanner entry "${scanner}"`;
      return this.#scannerAction === 'drop' ? { kind: 'drop', outcome: 'scanner', reason } : reject('scanner', 403, reason);
    }
    if (facts.hasHeader(DECISION_HEADER)) return reject('forged_header', 400, `the INVITE carries ${DECISION_HEADER}, which only the edge sets`);
    const did = didOf(facts.requestUser);
    const index = did === undefined ? -1 : this.#routes.findIndex((r) => r.matches(did));
    if (did === undefined || index < 0) return reject('unknown_did', 404, did === undefined ? 'no dialled number in the Request-URI' : `no inbound route for ${did}`);
    const rate = this.#rate.attempt(facts.sourceAddress, nowMs);
    if (!rate.allowed) return reject('rate_limited', 503, `source ${facts.sourceAddress} is above sip.rate_limit`, { 'Retry-After': String(rate.retryAfterS) });
    if (!this.calls.take(trunk.name, trunk.maxConcurrentCalls, facts.callId, nowMs)) {
      return reject('trunk_busy', trunk.busyStatus, `trunk ${trunk.name} is at its limit of ${trunk.maxConcurrentCalls} calls`);
    }
    return { kind: 'proxy', outcome: 'accepted', trunk, did, routeId: `route-${index}` };
  }
}

function reject(outcome: Exclude<Outcome, 'accepted'>, status: number, reason: string, headers: Readonly<Record<string, string>> = {}): Decision {
  return { kind: 'reject', outcome, status, headers, reason };
}
