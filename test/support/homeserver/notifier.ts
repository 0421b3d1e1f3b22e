// Wakes long-polls (and other waiters) when something new happens. Every waiter has a
// timer that is cleared when it fires, when it is woken, or when the simulator stops.

interface Waiter {
  readonly wake: () => void;
  readonly timer: NodeJS.Timeout;
}

export class Notifier {
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<() => void>();
  private stopped = false;

  /** Resolves on the next notify(), after timeoutMs, or on stop(); never rejects. */
  wait(timeoutMs: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(waiter.timer);
          this.waiters.delete(waiter);
          resolve();
        },
        timer: setTimeout(() => waiter.wake(), Math.max(0, timeoutMs)),
      };
      this.waiters.add(waiter);
    });
  }

  /** Synchronous listener called on every notify() (appservice pusher, test waiters). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const w of [...this.waiters]) w.wake();
    for (const l of [...this.listeners]) l();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
    for (const w of [...this.waiters]) w.wake();
    this.listeners.clear();
  }
}
