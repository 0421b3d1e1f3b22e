// The contract between the parts of the FreeSWITCH simulator.
//
// One channel model (channel-model.ts) is shared by the ESL server
// (esl-server.ts) and the mod_verto server (verto-server.ts). The Verto
// server turns WebSocket requests into calls on the model; the model runs
// the dialplan (dialplan.ts), creates channels, plays the far end
// (far-end.ts) and fires FreeSWITCH events; the ESL server serialises those
// events to its subscribers and runs api/bgapi commands against the model.
//
// Nothing here talks to the network. Times are milliseconds.

/** One FreeSWITCH event: ordered headers (as in `event json`), optional body. */
export interface FsEvent {
  /** Header name -> value, in FreeSWITCH's order. Always has Event-Name. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body?: string;
}

/** How the simulated SIP far end (the trunk) behaves for one call. */
export type FarEndBehaviour =
  | { readonly kind: 'answer'; readonly ringMs?: number; readonly earlyMedia?: boolean; readonly hangupAfterMs?: number; readonly sendDtmf?: { readonly digits: string; readonly afterMs: number } }
  | { readonly kind: 'reject'; readonly sipStatus: number; readonly ringMs?: number }
  | { readonly kind: 'no-answer' };

/** What the Verto server hands to the model for a client `verto.invite`. */
export interface VertoInviteRequest {
  readonly callId: string;
  readonly sessid: string;
  /** Authenticated Verto user, `id@domain`. */
  readonly user: string;
  readonly sdp: string;
  readonly destinationNumber: string;
  readonly callerIdName?: string;
  readonly callerIdNumber?: string;
  /** dialogParams.userVariables, become `verto_dvar_<k>` channel variables. */
  readonly dialogVariables: Readonly<Record<string, string>>;
  /** login userVariables + directory variables, copied without prefix. */
  readonly socketVariables: Readonly<Record<string, string>>;
}

/** Call-level notifications from the model back to the Verto side. */
export interface VertoCallSink {
  media(callId: string, sdp: string): void;
  answer(callId: string, sdp: string | undefined): void;
  display(callId: string, params: Readonly<Record<string, string>>): void;
  /** FreeSWITCH hung the verto leg up (server `verto.bye`). */
  bye(callId: string, cause: string, causeCode: number): void;
  /** A call from FreeSWITCH toward this Verto session (inbound: SIP -> Matrix). */
  invite(callId: string, params: Readonly<Record<string, unknown>>): void;
}
