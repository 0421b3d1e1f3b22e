// Ghosts are registered with the homeserver on demand (once; the store
// remembers), with the display name the room shows: the number in
// international format, or the caller's name when the trunk sent one.
import type { Logger } from '../log/logger.ts';
import type { StateStore } from '../store/state-store.ts';
import type { HomeserverApi } from './homeserver-api.ts';
import { localpartOf } from './ghosts.ts';

export class GhostRegistry {
  readonly #api: HomeserverApi;
  readonly #store: Pick<StateStore, 'ghost' | 'putGhost'>;
  readonly #log: Logger;
  /** One registration at a time per ghost. */
  readonly #pending = new Map<string, Promise<void>>();

  constructor(api: HomeserverApi, store: Pick<StateStore, 'ghost' | 'putGhost'>, log: Logger) {
    this.#api = api;
    this.#store = store;
    this.#log = log.child({ component: 'ghosts' });
  }

  /** The ghost exists on the homeserver, with this display name. */
  async ensure(userId: string, displayName: string): Promise<void> {
    const known = this.#store.ghost(userId);
    if (known !== undefined && known.displayName === displayName) return;
    const running = this.#pending.get(userId);
    if (running !== undefined) {
      await running;
      return this.ensure(userId, displayName);
    }
    const work = (async () => {
      if (known === undefined) {
        await this.#api.register(localpartOf(userId));
        this.#log.info({ ghost: userId }, 'ghost registered');
      }
      await this.#api.setDisplayName(userId, displayName);
      this.#store.putGhost(userId, displayName);
    })();
    this.#pending.set(userId, work);
    try {
      await work;
    } finally {
      this.#pending.delete(userId);
    }
  }
}
