import type { Room } from 'matrix-js-sdk';

/** Events a room's live timeline may hold before the edge drops them. */
export const TIMELINE_KEEP_EVENTS = 50;

/**
 * Keeps matrix-js-sdk's room timelines bounded.
 *
 * The sdk holds every event of a room's live timeline in memory for as long
 * as the client runs; it forgets them only when a sync comes back "limited".
 * A bot that serves the same rooms for months would keep every call's
 * invite, candidates and answer (several kB of SDP each) forever. The edge
 * acts on events as they arrive and reads only room state (members, power
 * levels, the destination state event), never history, so once a room's
 * timeline holds more than `keep` events it is reset the way the sdk resets
 * it after a gappy sync: the state carries over, the events go.
 *
 * Rooms are trimmed after a sync response has been processed (never while
 * the sdk is adding events), and only rooms that received events since the
 * last trim are looked at.
 */
export class TimelineTrimmer {
  readonly #keep: number;
  readonly #touched = new Set<Room>();
  #dropped = 0;
  #trimming = false;

  constructor(keep: number = TIMELINE_KEEP_EVENTS) {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`timeline keep must be a positive integer (got ${keep})`);
    this.#keep = keep;
  }

  /** True while trim() resets timelines (so a listener can tell its resets from a gappy sync's). */
  get trimming(): boolean {
    return this.#trimming;
  }

  /** Events dropped since start. */
  get dropped(): number {
    return this.#dropped;
  }

  /** A room received a live event. */
  touch(room: Room): void {
    this.#touched.add(room);
  }

  /** Resets the live timeline of every touched room that holds more than `keep` events; returns how many events went. */
  trim(): number {
    let dropped = 0;
    for (const room of this.#touched) {
      const held = room.getLiveTimeline().getEvents().length;
      if (held <= this.#keep) continue;
      this.#trimming = true;
      try {
        room.resetLiveTimeline(null, null);
      } finally {
        this.#trimming = false;
      }
      dropped += held;
    }
    this.#touched.clear();
    this.#dropped += dropped;
    return dropped;
  }

  forget(): void {
    this.#touched.clear();
  }
}

/** Events held in memory across these rooms' live timelines. */
export function retainedEvents(rooms: readonly Room[]): number {
  let n = 0;
  for (const room of rooms) n += room.getLiveTimeline().getEvents().length;
  return n;
}
