// Pushed transactions, each handled once: the homeserver retries one until
// it is acknowledged (same id, same events; traces/real/synapse-03), also
// across an edge restart, so handled ids are kept in the state store. A
// transaction is acknowledged once its events were taken (a call admitted
// and stored, or its refusal queued); a crash before that leaves it to the
// homeserver's retry.
import type { Logger } from '../log/logger.ts';
import type { StateStore } from '../store/state-store.ts';
import type { PushedEvent } from './pushed-events.ts';

/** How long a handled transaction id is remembered (the homeserver retries for minutes, not days). */
export const HANDLED_TXN_KEEP_MS = 7 * 24 * 3600_000;

export interface InboxStats {
  readonly handled: number;
  readonly duplicates: number;
  readonly events: number;
}

export class TransactionInbox {
  readonly #store: Pick<StateStore, 'transactionHandled' | 'markTransactionHandled'>;
  readonly #take: (events: readonly PushedEvent[]) => Promise<void>;
  readonly #log: Logger;
  /** Transactions being handled: a retry that arrives meanwhile waits for the first. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #handled = 0;
  #duplicates = 0;
  #events = 0;

  constructor(store: Pick<StateStore, 'transactionHandled' | 'markTransactionHandled'>, take: (events: readonly PushedEvent[]) => Promise<void>, log: Logger) {
    this.#store = store;
    this.#take = take;
    this.#log = log;
  }

  get stats(): InboxStats {
    return { handled: this.#handled, duplicates: this.#duplicates, events: this.#events };
  }

  async handle(txnId: string, events: readonly PushedEvent[]): Promise<void> {
    const running = this.#inFlight.get(txnId);
    if (running !== undefined) {
      this.#duplicates += 1;
      return running;
    }
    if (this.#store.transactionHandled(txnId)) {
      this.#duplicates += 1;
      this.#log.debug({ txnId }, 'a transaction handled before, acknowledged again');
      return;
    }
    const work = (async () => {
      await this.#take(events);
      this.#store.markTransactionHandled(txnId, HANDLED_TXN_KEEP_MS);
      this.#handled += 1;
      this.#events += events.length;
    })();
    this.#inFlight.set(txnId, work);
    try {
      await work;
    } finally {
      this.#inFlight.delete(txnId);
    }
  }
}
