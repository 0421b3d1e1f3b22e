// Calls each trunk has in progress, by Call-ID. A call is counted from the
// moment it is proxied until FreeSWITCH reports its end (ESL
// CHANNEL_HANGUP_COMPLETE with the same sip_call_id), the proxy fails, or
// sip.max_call_duration_s passes (a missed hangup never leaks a slot for
// longer). Expired entries are pruned when counted: no timer.
export class TrunkCalls {
  readonly #maxDurationMs: number;
  readonly #calls = new Map<string, { readonly trunk: string; readonly expiresAtMs: number }>();

  constructor(maxDurationS: number) {
    this.#maxDurationMs = maxDurationS * 1000;
  }

  count(trunk: string, nowMs: number): number {
    let n = 0;
    for (const [callId, c] of this.#calls) {
      if (c.expiresAtMs <= nowMs) this.#calls.delete(callId);
      else if (c.trunk === trunk) n += 1;
    }
    return n;
  }

  /** Take a slot when the trunk is below its limit; false when it is full. */
  take(trunk: string, limit: number, callId: string, nowMs: number): boolean {
    if (this.#calls.has(callId)) return true;
    if (this.count(trunk, nowMs) >= limit) return false;
    this.#calls.set(callId, { trunk, expiresAtMs: nowMs + this.#maxDurationMs });
    return true;
  }

  release(callId: string): boolean {
    return this.#calls.delete(callId);
  }

  get size(): number {
    return this.#calls.size;
  }
}
