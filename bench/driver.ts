// Places the benchmark's calls as Matrix users (m.call.invite stored in the
// homeserver simulator, which the edge reads over /sync or is pushed in a
// transaction), hangs each one up
// after the hold time, and timestamps every hop from the simulators' hooks.
import type { HomeserverSimulator } from '../test/support/homeserver/index.ts';
import type { JsonObject } from '../test/support/homeserver/types.ts';
import { benchOffer, callNumberOf } from './offer.ts';
import { Timeline } from './timeline.ts';

/** The edge's per-user cap (policy.max_concurrent_calls_per_user can be at most 100). */
export const PER_USER_CALLS = 100;
const CALL_ID_PREFIX = 'bench-';

export interface BenchCaller {
  readonly userId: string;
  readonly roomId: string;
  inFlight: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class CallDriver {
  readonly timeline = new Timeline();
  placed = 0;
  skipped = 0;
  live = 0;
  peakLive = 0;
  inFlight = 0;
  finished = 0;
  readonly #hs: HomeserverSimulator;
  readonly #isEdgeUser: (userId: string) => boolean;
  readonly #callers: BenchCaller[];
  readonly #holdMs: number;
  readonly #concurrency: number;
  readonly #callerOf = new Map<number, BenchCaller>();
  readonly #byVertoId = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #candidates: 'complete' | 'jssdk';
  #next = 0;

  /** `isEdgeUser`: the senders that are the edge (its bot account, or in appservice mode its ghosts). */
  constructor(hs: HomeserverSimulator, isEdgeUser: (userId: string) => boolean, callers: BenchCaller[], holdMs: number, concurrency: number, candidates: 'complete' | 'jssdk' = 'complete') {
    this.#hs = hs;
    this.#isEdgeUser = isEdgeUser;
    this.#callers = callers;
    this.#holdMs = holdMs;
    this.#concurrency = concurrency;
    this.#candidates = candidates;
  }

  /** Start one call set-up now; false (and counted) when at the concurrency cap. */
  place(): boolean {
    const caller = this.#pickCaller();
    if (caller === undefined || this.inFlight >= this.#concurrency) {
      this.skipped++;
      return false;
    }
    const n = this.placed++;
    caller.inFlight++;
    this.inFlight++;
    this.#callerOf.set(n, caller);
    this.#hs.sendEvent(caller.userId, caller.roomId, 'm.call.invite', {
      call_id: `${CALL_ID_PREFIX}${n}`,
      party_id: 'BENCH',
      version: '1',
      lifetime: 60_000,
      offer: { type: 'offer', sdp: this.#candidates === 'jssdk' ? benchOffer(n).replace('a=end-of-candidates\r\n', '') : benchOffer(n) },
    });
    if (this.#candidates === 'jssdk') {
      // matrix-js-sdk's timing: end-of-candidates in one m.call.candidates about 2 s after the invite
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#hs.sendEvent(caller.userId, caller.roomId, 'm.call.candidates', { call_id: `${CALL_ID_PREFIX}${n}`, party_id: 'BENCH', version: '1', candidates: [{ candidate: '' }] });
      }, 2_000);
      this.#timers.add(timer);
    }
    return true;
  }

  /** Homeserver hook: runs synchronously as each event is stored. */
  onEventStored(event: JsonObject): void {
    const at = performance.now();
    const type = str(event['type']);
    if (type === undefined || !type.startsWith('m.call.')) return;
    const callId = str(obj(event['content'])['call_id']);
    if (callId === undefined || !callId.startsWith(CALL_ID_PREFIX)) return;
    const n = Number(callId.slice(CALL_ID_PREFIX.length));
    const sender = str(event['sender']);
    const fromEdge = sender !== undefined && this.#isEdgeUser(sender);
    if (!fromEdge) {
      if (type === 'm.call.invite') this.timeline.get(n).inviteStored = at;
      return;
    }
    const times = this.timeline.get(n);
    if (type === 'm.call.answer' && times.answerStored === undefined && times.failed === undefined) {
      times.answerStored = at;
      this.live++;
      this.peakLive = Math.max(this.peakLive, this.live);
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#hangup(n);
      }, this.#holdMs);
      this.#timers.add(timer);
    } else if ((type === 'm.call.reject' || type === 'm.call.hangup') && times.hungUp === undefined && times.failed === undefined) {
      if (times.answerStored !== undefined) this.live--;
      times.failed = `${type} ${str(obj(event['content'])['reason']) ?? ''}`.trim();
      this.#release(n);
    }
  }

  /** FreeSWITCH simulator hook: the trunk leg of a call was created. */
  onTrunkLeg(matrixCallId: string): void {
    if (!matrixCallId.startsWith(CALL_ID_PREFIX)) return;
    const times = this.timeline.get(Number(matrixCallId.slice(CALL_ID_PREFIX.length)));
    times.trunkCreated ??= performance.now();
  }

  /** Verto server hook: every frame it receives from / writes to the edge. */
  onVertoFrame(direction: 'received' | 'sent', text: string): void {
    const at = performance.now();
    if (direction === 'received' && text.includes('"verto.invite"')) {
      const params = obj(obj(JSON.parse(text) as unknown)['params']);
      const n = callNumberOf(str(params['sdp']) ?? '');
      const vertoId = str(obj(params['dialogParams'])['callID']);
      if (n === undefined || vertoId === undefined) return;
      this.#byVertoId.set(vertoId, n);
      this.timeline.get(n).vertoInviteReceived = at;
    } else if (direction === 'sent' && (text.includes('"verto.media"') || text.includes('"verto.answer"'))) {
      // The media leg's SDP reaches the edge first in verto.media (its pre-answer), which the edge answers Matrix with.
      const vertoId = str(obj(obj(JSON.parse(text) as unknown)['params'])['callID']);
      const n = vertoId === undefined ? undefined : this.#byVertoId.get(vertoId);
      if (n === undefined || vertoId === undefined) return;
      this.#byVertoId.delete(vertoId);
      this.timeline.get(n).vertoAnswerSent ??= at;
    }
  }

  /** Clear every timer (nothing is sent after this). */
  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #hangup(n: number): void {
    const caller = this.#callerOf.get(n);
    const times = this.timeline.get(n);
    if (caller === undefined || times.hungUp !== undefined || times.failed !== undefined) return;
    times.hungUp = performance.now();
    this.live--;
    this.#hs.sendEvent(caller.userId, caller.roomId, 'm.call.hangup', { call_id: `${CALL_ID_PREFIX}${n}`, party_id: 'BENCH', version: '1', reason: 'user_hangup' });
    this.#release(n);
  }

  #release(n: number): void {
    const caller = this.#callerOf.get(n);
    if (caller === undefined) return;
    this.#callerOf.delete(n);
    caller.inFlight--;
    this.inFlight--;
    this.finished++;
  }

  #pickCaller(): BenchCaller | undefined {
    for (let i = 0; i < this.#callers.length; i++) {
      const c = this.#callers[(this.#next + i) % this.#callers.length]!;
      if (c.inFlight < PER_USER_CALLS) {
        this.#next = (this.#next + i + 1) % this.#callers.length;
        return c;
      }
    }
    return undefined;
  }
}
