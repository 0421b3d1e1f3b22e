// What the edge knows of the rooms it is in, in appservice mode: without a
// /sync there is no client-side room state, so the state events the
// homeserver pushes are folded in here, and a room seen for the first time
// is read once with GET /rooms/{roomId}/state.
import { z } from 'zod';
import { DESTINATION_STATE_TYPE } from '../routing/room-destination.ts';

/** Rooms remembered at most (least recently used forgotten first; they are read again when needed). */
const MAX_ROOMS = 10_000;

export interface Member {
  readonly membership: string;
  readonly displayName: string | undefined;
}

export interface RoomState {
  powerLevels: unknown;
  destination: unknown;
  readonly members: Map<string, Member>;
  /** Read from the homeserver in full (else only what transactions brought). */
  complete: boolean;
}

const stateEventSchema = z.object({
  type: z.string(),
  state_key: z.string(),
  content: z.record(z.string(), z.unknown()),
});

export interface StateChange {
  readonly type: string;
  readonly stateKey: string;
  readonly content: Readonly<Record<string, unknown>>;
}

export class RoomStates {
  readonly #rooms = new Map<string, RoomState>();

  get size(): number {
    return this.#rooms.size;
  }

  get(roomId: string): RoomState | undefined {
    const room = this.#rooms.get(roomId);
    if (room !== undefined) {
      // most recently used last
      this.#rooms.delete(roomId);
      this.#rooms.set(roomId, room);
    }
    return room;
  }

  #room(roomId: string): RoomState {
    let room = this.get(roomId);
    if (room === undefined) {
      room = { powerLevels: undefined, destination: undefined, members: new Map(), complete: false };
      this.#rooms.set(roomId, room);
      if (this.#rooms.size > MAX_ROOMS) {
        const oldest = this.#rooms.keys().next().value;
        if (oldest !== undefined) this.#rooms.delete(oldest);
      }
    }
    return room;
  }

  /** State changes applied while a room's state is being read (replayed over the snapshot). */
  readonly #duringLoad = new Map<string, StateChange[]>();

  /** A room's state is about to be read: the changes that arrive meanwhile are kept for it. */
  beginLoad(roomId: string): void {
    this.#duringLoad.set(roomId, []);
  }

  /** A state event the homeserver pushed (or read with the room's state). */
  apply(roomId: string, change: StateChange): void {
    this.#duringLoad.get(roomId)?.push(change);
    this.#applyOne(roomId, change);
  }

  #applyOne(roomId: string, change: StateChange): void {
    const room = this.#room(roomId);
    if (change.type === 'm.room.power_levels' && change.stateKey === '') room.powerLevels = change.content;
    else if (change.type === DESTINATION_STATE_TYPE && change.stateKey === '') room.destination = change.content;
    else if (change.type === 'm.room.member') {
      const membership = typeof change.content['membership'] === 'string' ? change.content['membership'] : 'leave';
      const displayName = typeof change.content['displayname'] === 'string' ? change.content['displayname'] : undefined;
      if (membership === 'leave' || membership === 'ban') room.members.delete(change.stateKey);
      else room.members.set(change.stateKey, { membership, displayName });
    }
  }

  /** The answer of GET /rooms/{roomId}/state: the room's whole state, replacing what was known. */
  load(roomId: string, state: unknown): void {
    const meanwhile = this.#duringLoad.get(roomId) ?? [];
    this.#duringLoad.delete(roomId);
    this.#rooms.delete(roomId);
    const room = this.#room(roomId);
    room.complete = true;
    if (Array.isArray(state)) {
      for (const raw of state) {
        const e = stateEventSchema.safeParse(raw);
        if (e.success) this.#applyOne(roomId, { type: e.data.type, stateKey: e.data.state_key, content: e.data.content });
      }
    }
    // What arrived while the snapshot was read is newer than it, or the same.
    for (const change of meanwhile) this.#applyOne(roomId, change);
  }

  /** The read failed: stop keeping changes for it. */
  abortLoad(roomId: string): void {
    this.#duringLoad.delete(roomId);
  }

  forget(roomId: string): void {
    this.#rooms.delete(roomId);
  }

  /** Joined members matching `pick`. */
  joined(roomId: string, pick: (userId: string) => boolean): string[] {
    const room = this.#rooms.get(roomId);
    if (room === undefined) return [];
    return [...room.members].filter(([id, m]) => m.membership === 'join' && pick(id)).map(([id]) => id);
  }

  isJoined(roomId: string, userId: string): boolean {
    return this.#rooms.get(roomId)?.members.get(userId)?.membership === 'join';
  }
}
