// Power-level checks for sending message and state events.
import { errors } from './errors.ts';
import type { Store } from './store.ts';

const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);

export function checkCanSend(store: Store, roomId: string, userId: string, type: string, isState: boolean): void {
  const pl = store.stateEvent(roomId, 'm.room.power_levels', '')?.content;
  if (pl === undefined) return;
  const users = pl['users'];
  const events = pl['events'];
  const userLevel = num(
    typeof users === 'object' && users !== null && !Array.isArray(users) ? users[userId] : undefined,
    num(pl['users_default'], 0),
  );
  const fallback = isState ? num(pl['state_default'], 50) : num(pl['events_default'], 0);
  const needed = num(
    typeof events === 'object' && events !== null && !Array.isArray(events) ? events[type] : undefined,
    fallback,
  );
  if (userLevel < needed) {
    throw errors.forbidden(`You don't have permission to post that to the room. user_level (${userLevel}) < send_level (${needed})`);
  }
}
