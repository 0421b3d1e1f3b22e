/** Connection state of one peer (ESL, Verto, homeserver), as logged and exported. */
export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export type StateListener = (state: ConnectionState, reason: string | undefined) => void;

/** A small typed listener set (no string-keyed emitter at the boundaries). */
export class Listeners<A extends unknown[]> {
  readonly #fns = new Set<(...args: A) => void>();

  add(fn: (...args: A) => void): () => void {
    this.#fns.add(fn);
    return () => this.#fns.delete(fn);
  }

  emit(...args: A): void {
    for (const fn of [...this.#fns]) fn(...args);
  }

  clear(): void {
    this.#fns.clear();
  }
}
