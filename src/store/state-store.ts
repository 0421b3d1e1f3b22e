// What must outlive the edge process: its Verto session id, every live
// call (so that a restarted edge can end it on both sides), and the Matrix
// sends not yet acknowledged by the homeserver (so that none is lost or
// sent twice). One small interface, so that a store shared by several
// edges can replace the embedded one.

export type CallDirection = 'outbound' | 'inbound';

/** A live call as the store keeps it: enough to end it on both sides after a crash. */
export interface CallRecord {
  /** The Matrix call_id. */
  readonly matrixCallId: string;
  readonly direction: CallDirection;
  readonly roomId: string;
  /** The edge's party_id in the call ("" for VoIP version 0, which has none). */
  readonly partyId: string;
  /** The other party's party_id, once known (the caller's for outbound, the answering device's for inbound). */
  readonly peerPartyId: string | undefined;
  readonly version: '0' | '1';
  /** The FreeSWITCH UUID of the Verto leg (= the Verto callID). */
  readonly vertoLeg: string;
  /** The FreeSWITCH UUID of the trunk leg, once bridged. */
  readonly farLeg: string | undefined;
  /** The call's state as its state machine names it. */
  readonly state: string;
  /** Whether the call was answered in Matrix (decides between reject and hangup after a crash). */
  readonly answered: boolean;
  /** ms since the epoch. */
  readonly createdAt: number;
  /** Who the edge is in the call's room (appservice mode: a ghost or the bridge bot); undefined = the edge's own user. */
  readonly sender?: string | undefined;
}

export type CallUpdate = Partial<Pick<CallRecord, 'peerPartyId' | 'farLeg' | 'state' | 'answered'>>;

/** A Matrix room event the edge must send, kept until the homeserver acknowledged it. */
export interface PendingSend {
  /** Order of enqueueing (sends of one key go out in this order). */
  readonly seq: number;
  /** The transaction id of the PUT: the same on every retry, across restarts, so the homeserver deduplicates. */
  readonly txnId: string;
  /** Sends with the same key go out one after the other (a call's Matrix call id). */
  readonly key: string;
  readonly roomId: string;
  readonly type: string;
  readonly content: Readonly<Record<string, unknown>>;
  readonly createdAt: number;
  /** Who sends it (appservice mode: a ghost, as the as_token with user_id); undefined = the edge's own user. */
  readonly sender?: string | undefined;
}

export type NewSend = Omit<PendingSend, 'seq' | 'createdAt'>;

export interface StateStore {
  /** The Verto session id of this edge: created once, stable across restarts. */
  vertoSessionId(): string;

  putCall(call: CallRecord): void;
  updateCall(matrixCallId: string, update: CallUpdate): void;
  deleteCall(matrixCallId: string): void;
  calls(): readonly CallRecord[];
  /** How many calls are kept (cheap: read at every metrics scrape). */
  callCount(): number;
  /** One kept call. */
  call(matrixCallId: string): CallRecord | undefined;

  /** Keep a send; returns it with its sequence number. */
  enqueueSend(send: NewSend): PendingSend;
  /** The homeserver acknowledged it (or refused it for good): forget it. */
  deleteSend(txnId: string): void;
  pendingSends(): readonly PendingSend[];

  /** Appservice: whether a pushed transaction was handled already (the homeserver retries until acknowledged). */
  transactionHandled(txnId: string): boolean;
  /** Record it handled; entries older than `keepMs` are forgotten (the SQLite store prunes at most once a minute). */
  markTransactionHandled(txnId: string, keepMs: number): void;
  /** Appservice: ghosts registered with the homeserver, and the display name last set. */
  ghost(userId: string): { readonly displayName: string | undefined } | undefined;
  putGhost(userId: string, displayName: string | undefined): void;
  /** Appservice: a ghost's DM with a user. */
  directRoom(ghost: string, userId: string): string | undefined;
  putDirectRoom(ghost: string, userId: string, roomId: string): void;
  /** A room is no DM of the edge's any more (a member left it): forget it for every ghost and user. */
  forgetDirectRoomsIn(roomId: string, userId: string): void;
  /** The ghost whose DM a room is, if the edge knows it as one. */
  ghostOfRoom(roomId: string): string | undefined;

  /** Run `fn` as one transaction: all of its writes land, or none (a crash in between). */
  atomically<T>(fn: () => T): T;

  close(): void;
}
