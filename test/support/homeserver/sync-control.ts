// Test control over /sync: HOLD a user's long-polls (answer nothing while events pile up,
// as a slow or stalled client would see it) and cap the timeline limit of every filter
// (some homeservers clamp what a client asks for). A held request is answered when the
// hold is released (with everything that arrived meanwhile) or when the simulator stops.

export class SyncControl {
  private readonly held = new Map<string, Set<() => void>>();
  private readonly parkedListeners = new Set<() => void>();
  private cap: number | undefined;
  private stopped = false;

  constructor(timelineLimitCap: number | undefined) {
    this.setTimelineLimitCap(timelineLimitCap);
  }

  /** Upper bound on room.timeline.limit (undefined: the filter's own limit). */
  get timelineLimitCap(): number | undefined {
    return this.cap;
  }

  setTimelineLimitCap(limit: number | undefined): void {
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new RangeError(`timeline limit cap must be a positive integer (got ${limit})`);
    this.cap = limit;
  }

  clampLimit(limit: number): number {
    return this.cap === undefined ? limit : Math.min(limit, this.cap);
  }

  hold(userId: string): void {
    if (!this.held.has(userId)) this.held.set(userId, new Set());
  }

  release(userId: string): void {
    const waiters = this.held.get(userId);
    this.held.delete(userId);
    for (const w of waiters ?? []) w();
  }

  isHeld(userId: string): boolean {
    return !this.stopped && this.held.has(userId);
  }

  /** /sync requests of this user parked by a hold right now. */
  parked(userId: string): number {
    return this.held.get(userId)?.size ?? 0;
  }

  /** Called whenever a request is parked or let go (for deadline-bound test waits). */
  subscribe(listener: () => void): () => void {
    this.parkedListeners.add(listener);
    return () => this.parkedListeners.delete(listener);
  }

  /** Resolves when the user's hold is released or the simulator stops; never rejects. */
  whileHeld(userId: string): Promise<void> {
    const waiters = this.held.get(userId);
    if (waiters === undefined || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        waiters.delete(wake);
        this.changed();
        resolve();
      };
      waiters.add(wake);
      this.changed();
    });
  }

  stop(): void {
    this.stopped = true;
    for (const userId of [...this.held.keys()]) this.release(userId);
    this.parkedListeners.clear();
  }

  private changed(): void {
    for (const l of [...this.parkedListeners]) l();
  }
}
