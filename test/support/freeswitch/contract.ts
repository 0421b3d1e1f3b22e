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
  | {
    readonly kind: 'answer'; readonly ringMs?: number; readonly earlyMedia?: boolean; readonly hangupAfterMs?: number;
    readonly sendDtmf?: { readonly digits: string; readonly afterMs: number };
    /** A re-INVITE hold (a=sendonly) `afterMs` after the answer; resumed (a=sendrecv) `durationMs` later when given. */
    readonly hold?: { readonly afterMs: number; readonly durationMs?: number };
  }
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
  /**
   * CF_NO_RECOVER: dialogParams.recoverCall was JSON `false` (mod_verto.c
   * verto__invite_func; any other value, or none, leaves the call
   * recoverable). When its socket goes, such a call is hung up
   * NORMAL_CLEARING instead of being detached (detach_calls).
   */
  readonly noRecover?: boolean;
}

/** Call-level notifications from the model back to the Verto side. */
export interface VertoCallSink {
  /**
   * `variables` (optional, added by the Verto server engineer): the CHANNEL_DATA
   * event headers mod_verto puts in `params.variables` (Event-Name, Core-UUID,
   * FreeSWITCH-Hostname, …, Event-Sequence; see real/README.md obs. 6). When
   * absent the Verto server fills in its own.
   */
  media(callId: string, sdp: string, variables?: Readonly<Record<string, string>>): void;
  answer(callId: string, sdp: string | undefined, variables?: Readonly<Record<string, string>>): void;
  display(callId: string, params: Readonly<Record<string, string>>): void;
  /** FreeSWITCH hung the verto leg up (server `verto.bye`). */
  bye(callId: string, cause: string, causeCode: number): void;
  /** A call from FreeSWITCH toward this Verto session (inbound: SIP -> Matrix). */
  invite(callId: string, params: Readonly<Record<string, unknown>>): void;
  /**
   * Re-attach offer for a call detached from this sessid (server `verto.attach`).
   * The model calls it from attachSession, once per call it re-attaches, before
   * returning their uuids. params in mod_verto's order after callID: variables,
   * sdp (a fresh FreeSWITCH offer), caller_id_name, caller_id_number,
   * callee_id_name, callee_id_number, display_direction, verto_h_*.
   */
  attach(callId: string, params: Readonly<Record<string, unknown>>): void;
}

/** Result of a call-level Verto request, as mod_verto reports it. */
export type VertoCallResult =
  | { readonly ok: true; readonly fields?: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly message: string; readonly cause?: string; readonly causeCode?: number };

/**
 * What the Verto server needs from the channel model. The model
 * (channel-model.ts) implements it; the Verto server (verto-server.ts)
 * only calls it. Sessions are identified by sessid, as in mod_verto: calls
 * remember the sessid that created them, not the socket.
 */
export interface VertoBackend {
  /** A socket with this sessid logged in (or re-logged in); the sink receives its call messages. Returns the uuids of detached calls re-attached (for `verto.attach` + `verto.clientReady`). */
  attachSession(sessid: string, user: string, sink: VertoCallSink): readonly string[];
  /**
   * The socket of this sessid is gone (closed, dropped, or punted by a newer
   * socket with the same sessid): mod_verto.c detach_calls() for its calls,
   * then the CUSTOM verto::client_disconnect of client_thread(). Unanswered
   * calls are hung up DESTINATION_OUT_OF_ORDER, answered CF_NO_RECOVER ones
   * NORMAL_CLEARING, the other answered ones detach (media stopped) until a
   * login with the sessid re-attaches them or detach-timeout-sec ends them
   * (RECOVERY_ON_TIMER_EXPIRE, drop_detached). `clientAddress` is the
   * socket's `ip:port` (the event's verto_client_address).
   */
  detachSession(sessid: string, clientAddress?: string): void;
  invite(req: VertoInviteRequest): VertoCallResult;
  /** Client `verto.answer` for a call FreeSWITCH offered to it (inbound). */
  answer(sessid: string, callId: string, sdp: string): VertoCallResult;
  /** Client `verto.bye`; result fields carry cause/causeCode as mod_verto echoes them. */
  bye(sessid: string, callId: string, cause: string | undefined, causeCode: number | undefined): VertoCallResult;
  /**
   * Client `verto.info` with dtmf. Result fields are the reply's fields:
   * `{message: 'SENT'}` when the call exists and the digits were queued,
   * none (`{ok: true}`) when it does not (mod_verto: not an error).
   */
  dtmf(sessid: string, callId: string, digits: string): VertoCallResult;
  /**
   * Client `verto.modify` (hold, unhold, toggleHold, transfer...). The Verto
   * server writes callID and action first; result fields follow (message for
   * transfer, then holdState); a callID/action in them is ignored.
   */
  modify(sessid: string, callId: string, action: string, params: Readonly<Record<string, unknown>>): VertoCallResult;
  /** Client `verto.attach` answer after a re-attach offer. */
  reattach(sessid: string, callId: string, sdp: string): VertoCallResult;
}

/** One dialplan action after variable and capture expansion. */
export interface DialplanAction {
  readonly app: string;
  readonly data: string;
}

/**
 * The XML dialplan, as FreeSWITCH's mod_dialplan_xml runs it: extensions in
 * order, conditions on fields (destination_number, ${var}) with regexes,
 * `$1` captures and `${var}` expansion, actions / anti-actions, `continue`.
 * `route` returns the actions to execute, or undefined when no extension
 * matched (FreeSWITCH then hangs up with NO_ROUTE_DESTINATION).
 */
export interface DialplanEngine {
  route(context: string, channelVariables: Readonly<Record<string, string>>): readonly DialplanAction[] | undefined;
}
