/**
 * Counts the call timers pending across the calls of one call manager, so
 * that a timer an ended call failed to clear shows up (mse_call_timers)
 * instead of firing into a forgotten call later.
 */
export class TimerLedger {
  #pending = 0;

  get pending(): number {
    return this.#pending;
  }

  /** @internal CallTimers only. */
  add(n: number): void {
    this.#pending += n;
  }
}

/** The named timers of one call: at most one per name; each one set is counted in the ledger until it fires or is cleared. */
export class CallTimers<Name extends string> {
  readonly #ledger: TimerLedger;
  readonly #timers = new Map<Name, NodeJS.Timeout>();

  constructor(ledger: TimerLedger = new TimerLedger()) {
    this.#ledger = ledger;
  }

  /** (Re)arm `name`: a timer of that name still pending is cleared first. */
  set(name: Name, ms: number, fire: () => void): void {
    this.clear(name);
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      this.#ledger.add(-1);
      fire();
    }, ms);
    this.#timers.set(name, timer);
    this.#ledger.add(1);
  }

  clear(name: Name): void {
    const timer = this.#timers.get(name);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(name);
    this.#ledger.add(-1);
  }

  clearAll(): void {
    for (const name of [...this.#timers.keys()]) this.clear(name);
  }

  has(name: Name): boolean {
    return this.#timers.has(name);
  }

  get size(): number {
    return this.#timers.size;
  }
}
