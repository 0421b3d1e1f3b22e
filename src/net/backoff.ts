/** Exponential backoff with full jitter, capped; reset after a good connection. */
export interface BackoffOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** 0..1, share of the delay that is randomised (default 0.2). */
  readonly jitter?: number;
  readonly random?: () => number;
}

export class Backoff {
  readonly #options: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; each call doubles it up to the cap. */
  next(): number {
    const { initialDelayMs, maxDelayMs } = this.#options;
    const jitter = this.#options.jitter ?? 0.2;
    const random = this.#options.random ?? Math.random;
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    return Math.round(base * (1 - jitter + jitter * random()));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
