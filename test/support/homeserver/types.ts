// Shared types of the homeserver simulator.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** An event as stored: the server's own record, formatted per audience on the way out. */
export interface StoredEvent {
  readonly eventId: string;
  readonly roomId: string;
  readonly type: string;
  readonly sender: string;
  readonly content: JsonObject;
  readonly stateKey: string | undefined;
  readonly originServerTs: number;
  /** Global stream position (1, 2, 3, ...). */
  readonly streamPos: number;
  /** Device (access token owner) that sent it, for unsigned.transaction_id. */
  readonly txn: { readonly tokenId: string; readonly txnId: string } | undefined;
  /** For state events: what this event replaced. */
  readonly replaces: { readonly eventId: string; readonly content: JsonObject; readonly sender: string } | undefined;
}

export interface UserRecord {
  readonly userId: string;
  readonly localpart: string;
  password: string | undefined;
  displayname: string | undefined;
  avatarUrl: string | undefined;
  /** Registered by an appservice (no password). */
  readonly appserviceId: string | undefined;
}

export interface TokenRecord {
  readonly token: string;
  /** Stable id used to scope transaction ids (per access token / device). */
  readonly tokenId: string;
  readonly userId: string;
  readonly deviceId: string | undefined;
  /** Set when this token is an appservice's as_token. */
  readonly appserviceId: string | undefined;
}

/** Who a request acts as, after token resolution and masquerading. */
export interface Requester {
  readonly userId: string;
  readonly deviceId: string | undefined;
  /** Scope of transaction ids: the token, or the appservice as a whole. */
  readonly txnScope: string;
  readonly tokenId: string;
  readonly appserviceId: string | undefined;
  /** True when acting as the appservice's sender_localpart user via as_token. */
  readonly isAppserviceSender: boolean;
}
