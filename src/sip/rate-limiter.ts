// INVITEs per source address in a sliding window (sip.rate_limit). Above
// the limit the caller is told when to retry: the seconds until the oldest
// attempt in the window leaves it. Memory is bounded: stale sources are
// pruned, and at most maxSources are tracked (the least recent goes).
export interface RateDecision {
  readonly allowed: boolean;
  /** Whole seconds to wait, when not allowed. */
  readonly retryAfterS: number;
}

export class RateLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxSources: number;
  readonly #attempts = new Map<string, number[]>();

  constructor(options: { readonly calls: number; readonly windowS: number; readonly maxSources?: number }) {
    this.#limit = options.calls;
    this.#windowMs = options.windowS * 1000;
    this.#maxSources = options.maxSources ?? 10_000;
  }

  /** Count one attempt from the source (refused attempts count too: a flood stays refused). */
  attempt(source: string, nowMs: number): RateDecision {
    const since = nowMs - this.#windowMs;
    const times = (this.#attempts.get(source) ?? []).filter((t) => t > since);
    this.#attempts.delete(source);
    const allowed = times.length < this.#limit;
    times.push(nowMs);
    if (times.length > this.#limit + 1) times.splice(0, times.length - this.#limit - 1);
    this.#attempts.set(source, times);
    this.#prune(since);
    if (allowed) return { allowed, retryAfterS: 0 };
    // allowed again once fewer than `limit` attempts remain in the window
    const oldestInWindow = times[times.length - this.#limit] ?? nowMs;
    return { allowed, retryAfterS: Math.max(1, Math.ceil((oldestInWindow + this.#windowMs - nowMs) / 1000)) };
  }

  get trackedSources(): number {
    return this.#attempts.size;
  }

  #prune(since: number): void {
    for (const [source, times] of this.#attempts) {
      if (this.#attempts.size <= this.#maxSources && (times[times.length - 1] ?? 0) > since) break;
      if (this.#attempts.size > this.#maxSources || (times[times.length - 1] ?? 0) <= since) this.#attempts.delete(source);
    }
  }
}
