// What the call layer needs from Matrix, whichever way the edge is deployed:
// a bot account that syncs (client.ts) or an application service that the
// homeserver pushes events to (appservice/appservice-link.ts).
import type { ConnectionState } from '../net/connection-state.ts';
import type { PendingSend } from '../store/state-store.ts';
import type { CallEvent } from './call-events.ts';
import type { SendResult } from './outbox.ts';

export interface RoomMessage {
  readonly roomId: string;
  readonly sender: string;
  readonly body: string;
  readonly eventId: string;
}

export interface RoomFacts {
  readonly powerLevel: number;
  readonly displayName: string | undefined;
  /** The number the room calls: its ghost's (appservice mode), else the one its destination state event links. */
  readonly destination: string | undefined;
  /** Who the edge is in this room, for a call's events (a ghost); undefined = the edge's own user. */
  readonly speaker: string | undefined;
  /** Who posts the edge's notices there (the bridge bot when it is in the room); undefined = the edge's own user. */
  readonly noticeFrom: string | undefined;
}

export interface RoomInvite {
  readonly roomId: string;
  readonly inviter: string | undefined;
  /** Which of the edge's users was invited (the bot, or a ghost in appservice mode). */
  readonly invitee: string;
}

export interface RejectedCallEvent {
  readonly roomId: string;
  readonly sender: string;
  readonly type: string;
  readonly reason: string;
  readonly content: unknown;
}

/** Who rings a room for an inbound call. */
export interface RingingRoom {
  readonly roomId: string;
  readonly speaker: string | undefined;
  readonly noticeFrom: string | undefined;
}

export interface TimelineStats {
  readonly retained: number;
  readonly dropped: number;
  readonly encrypted: number;
  readonly gaps: number;
  /** Bot mode: gaps back-filled with /messages, gaps that could not be (wholly), events delivered from gaps. */
  readonly gapsFilled?: number;
  readonly gapsUnfilled?: number;
  readonly backfilledEvents?: number;
  /** Appservice mode: transactions handled, delivered again, events pushed. */
  readonly transactions?: number;
  readonly duplicateTransactions?: number;
  readonly pushedEvents?: number;
}

export interface MatrixLink {
  readonly state: ConnectionState;
  /** The edge's own user (bot mode: its account; appservice mode: the bridge bot). */
  readonly userId: string;
  /** The edge's own user or one of its ghosts: events from it are echoes. */
  isEdgeUser(userId: string): boolean;

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void;
  /** A validated call event; the handler may return a promise that settles once the event is taken (appservice mode acknowledges its transaction then). */
  onCallEvent(fn: (event: CallEvent) => unknown): () => void;
  onRejectedCallEvent(fn: (info: RejectedCallEvent) => void): () => void;
  onRoomMessage(fn: (message: RoomMessage) => void): () => void;
  onInvite(fn: (invite: RoomInvite) => void): () => void;
  onDisplayNameChange(fn: (change: { roomId: string; userId: string; displayName: string | undefined }) => void): () => void;

  /** Join as the invited user. */
  joinRoom(roomId: string, as?: string): Promise<void>;
  /** Refuse an invitation (leave), saying why. */
  declineInvite(roomId: string, as: string, reason: string): Promise<void>;
  roomFacts(roomId: string, userId: string): Promise<RoomFacts>;
  /** The room an inbound call rings in, and who rings it. */
  ringingRoom(target: { readonly room: string } | { readonly user: string }, caller: { readonly number: string; readonly name: string | undefined }): Promise<RingingRoom>;

  sendEvent(roomId: string, type: string, content: Record<string, unknown>, sender?: string): Promise<string>;
  sendNotice(roomId: string, body: string, sender?: string): Promise<string>;
  /** One PUT of a kept send, judged for the outbox. */
  put(send: PendingSend): Promise<SendResult>;
  whoami(): Promise<string>;

  timelineStats(): TimelineStats;
  start(): Promise<void>;
  stop(): Promise<void>;
}
