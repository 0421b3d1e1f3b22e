// What the simulated drachtio-server keeps between messages: server
// transactions (requests from the network handed to an app), client
// transactions (requests it sent), and dialogs (an app's UAS or UAC
// dialogs, and record-routed proxy dialogs it only relays).
import type { SipPeer } from './network.ts';
import type { SipMessage } from './sip-message.ts';

/** The core's view of one admin connection. */
export interface AppLink {
  readonly id: number;
  readonly routes: ReadonlySet<string>;
  /** Send one frame payload (the `<uuid>|...` part). */
  send(payload: string): void;
  readonly open: boolean;
}

export interface ServerTxn {
  readonly txnId: string;
  readonly method: string;
  readonly branch: string;
  /** The request as delivered (rport filled in). */
  readonly request: SipMessage;
  readonly from: SipPeer;
  app: AppLink | undefined;
  /** To-tag of every response with a tag (one dialog per INVITE here). */
  toTag: string | undefined;
  lastResponse: string | undefined;
  final: SipMessage | undefined;
  canceled: boolean;
  proxied: boolean;
}

export interface ClientTxn {
  readonly branch: string;
  readonly method: string;
  onResponse(response: SipMessage, raw: string, from: SipPeer): void;
}

interface DialogBase {
  readonly id: string;
  readonly callId: string;
}

/** The app answered an INVITE from the network (createUAS / B2BUA A leg). */
export interface UasDialog extends DialogBase {
  readonly kind: 'uas';
  readonly app: AppLink;
  readonly inviteTxnId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** The INVITE's To (our side, without tag) and From (theirs, with tag). */
  readonly local: string;
  readonly remote: string;
  readonly remoteTarget: string;
  readonly peer: SipPeer;
  localCseq: number;
}

/** The app's own INVITE was answered 2xx (createUAC / B2BUA B leg). */
export interface UacDialog extends DialogBase {
  readonly kind: 'uac';
  readonly app: AppLink;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly local: string;
  readonly remote: string;
  readonly remoteTarget: string;
  readonly peer: SipPeer;
  readonly inviteCseq: number;
  localCseq: number;
}

/** A proxied call the server record-routed: it relays in-dialog requests both ways. */
export interface ProxyDialog extends DialogBase {
  readonly kind: 'proxy';
  readonly callerTag: string;
  readonly calleeTag: string;
  readonly callerPeer: SipPeer;
  readonly calleePeer: SipPeer;
}

export type Dialog = UasDialog | UacDialog | ProxyDialog;

export interface SipIdentity {
  readonly host: string;
  readonly port: number;
}
