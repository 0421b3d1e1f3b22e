import type { Refusal } from './policy.ts';

export interface LimitRules {
  readonly maxConcurrentPerUser: number;
  /** At most `calls` call attempts per user in any `windowMs`. */
  readonly rate: { readonly calls: number; readonly windowMs: number };
}

/**
 * Per-user concurrency and rate limits. Owned by the call manager (one per
 * edge), not global. `admit` records an attempt; `release` ends a live call.
 */
export class UserLimits {
  readonly #rules: LimitRules;
  readonly #now: () => number;
  readonly #live = new Map<string, number>();
  readonly #attempts = new Map<string, number[]>();

  constructor(rules: LimitRules, now: () => number = Date.now) {
    this.#rules = rules;
    this.#now = now;
  }

  admit(userId: string): Refusal | undefined {
    const live = this.#live.get(userId) ?? 0;
    if (live >= this.#rules.maxConcurrentPerUser) {
      return { code: 'concurrency_limit', message: `You already have ${live} call(s) in progress; the limit is ${this.#rules.maxConcurrentPerUser}.` };
    }
    const now = this.#now();
    const recent = (this.#attempts.get(userId) ?? []).filter((t) => now - t < this.#rules.rate.windowMs);
    if (recent.length >= this.#rules.rate.calls) {
      this.#attempts.set(userId, recent);
      const seconds = Math.ceil(this.#rules.rate.windowMs / 1000);
      return { code: 'rate_limit', message: `Too many calls: at most ${this.#rules.rate.calls} in ${seconds} s. Please wait a little.` };
    }
    recent.push(now);
    this.#attempts.set(userId, recent);
    this.#live.set(userId, live + 1);
    return undefined;
  }

  release(userId: string): void {
    const live = this.#live.get(userId) ?? 0;
    if (live <= 1) this.#live.delete(userId);
    else this.#live.set(userId, live - 1);
  }

  liveCalls(userId: string): number {
    return this.#live.get(userId) ?? 0;
  }

  /** Live calls counted across all users (0 when no call is in progress). */
  totalLive(): number {
    let n = 0;
    for (const v of this.#live.values()) n += v;
    return n;
  }
}
