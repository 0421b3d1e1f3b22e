import type { Logger } from '../log/logger.ts';
import { Backoff } from './backoff.ts';
import { Listeners, type ConnectionState } from './connection-state.ts';

export interface ReconnectorOptions {
  /** Peer name for log lines ("ESL", "Verto"). */
  readonly name: string;
  /** Backoff between attempts; false = one attempt only (probes). */
  readonly backoff: { readonly initialDelayMs: number; readonly maxDelayMs: number } | false;
  readonly log: Logger;
  /** Open a new connection; the owner then reports connected() or lost(). */
  readonly connect: () => void;
}

/**
 * The connection state of one peer and its reconnection policy, shared by
 * the ESL and Verto clients: states, backoff, the retry timer, and the log
 * lines for each change. The client owns the socket; this owns the "when".
 */
export class Reconnector {
  readonly #options: ReconnectorOptions;
  readonly #backoff: Backoff | undefined;
  readonly #states = new Listeners<[ConnectionState, string | undefined]>();
  #state: ConnectionState = 'idle';
  #retryTimer: NodeJS.Timeout | undefined;
  #lastFailure: string | undefined;

  constructor(options: ReconnectorOptions) {
    this.#options = options;
    this.#backoff = options.backoff === false ? undefined : new Backoff(options.backoff);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get lastFailure(): string | undefined {
    return this.#lastFailure;
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#states.add(fn);
  }

  start(): void {
    if (this.#state === 'idle') this.#attempt();
  }

  connected(): void {
    if (this.#state === 'stopped') return;
    this.#backoff?.reset();
    this.#lastFailure = undefined;
    this.#options.log.info({ state: 'connected' }, `${this.#options.name} connected`);
    this.#set('connected', undefined);
  }

  /** The connection (or the attempt) failed; schedule the next attempt. */
  lost(reason: string): void {
    if (this.#state === 'stopped') return;
    const wasConnected = this.#state === 'connected';
    this.#lastFailure = reason;
    this.#options.log.warn({ reason }, `${this.#options.name} ${wasConnected ? 'connection lost' : 'connection attempt failed'}`);
    if (this.#backoff === undefined) {
      this.#set('stopped', reason);
      return;
    }
    const delay = this.#backoff.next();
    this.#set('reconnecting', reason);
    this.#options.log.info({ delayMs: delay, attempt: this.#backoff.attempt }, `${this.#options.name} reconnecting`);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#attempt();
    }, delay);
  }

  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#set('stopped', undefined);
  }

  /** Listeners are dropped after the final state change has been told. */
  clearListeners(): void {
    this.#states.clear();
  }

  #attempt(): void {
    this.#set(this.#backoff && this.#backoff.attempt > 0 ? 'reconnecting' : 'connecting', undefined);
    this.#options.connect();
  }

  #set(state: ConnectionState, reason: string | undefined): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#states.emit(state, reason);
  }
}
