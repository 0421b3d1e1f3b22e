// Leaky-bucket rate limiter in the style of Synapse's Ratelimiter: `burst` actions at once,
// refilled at `perSecond`. Exceeding it answers 429 M_LIMIT_EXCEEDED with retry_after_ms
// in the body and no Retry-After header (traces/real/synapse-06).
import { errors } from './errors.ts';

export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

export class RateLimiter {
  private readonly limit: RateLimit | undefined;
  private readonly buckets = new Map<string, { level: number; at: number }>();

  constructor(limit: RateLimit | undefined) {
    this.limit = limit;
  }

  /** Takes `cost` actions for `key` or throws the 429 error. */
  take(key: string, cost = 1, now = Date.now()): void {
    const limit = this.limit;
    if (limit === undefined) return;
    const b = this.buckets.get(key) ?? { level: 0, at: now };
    const level = Math.max(0, b.level - ((now - b.at) / 1000) * limit.perSecond);
    if (level + cost > limit.burst) {
      const retryAfterMs = Math.ceil(((level + cost - limit.burst) / limit.perSecond) * 1000);
      throw errors.limitExceeded(retryAfterMs);
    }
    this.buckets.set(key, { level: level + cost, at: now });
  }
}
