// One mod_verto client socket (a "jsock"): the auth gate, session id
// binding, method dispatch, the queue of server requests flushed after
// replies, and the idle keep-alive ping. It is also the VertoCallSink the
// channel model uses to reach this client.
import { randomUUID } from 'node:crypto';
import type { VertoBackend, VertoCallSink } from './contract.ts';
import {
  batchText, CODE_AUTH_FAILED, CODE_METHOD_NOT_FOUND, CODE_SESSION_ERROR, codeErrorText, entriesOf, errorText,
  invalidMessageText, invalidRequestText, MSG_INVALID_METHOD, requestText, resultText, type Entries, type Json,
} from './verto-rpc.ts';
import { asObject, field, isTrueString, objectField, parseFrame, stringField, toJson, variablesOf } from './verto-input.ts';
import { methodAllowed, type AuthenticatedUser, type VertoDirectory } from './verto-directory.ts';
import * as calls from './verto-calls.ts';
import type { CallContext, HandlerResult } from './verto-calls.ts';

/** What a session needs from its server. */
export interface SessionHost {
  readonly backend: VertoBackend;
  readonly directory: VertoDirectory;
  /** Live sockets by session id. */
  readonly sessions: Map<string, VertoSession>;
  nextRequestId(): number;
  /** CHANNEL_DATA headers for `params.variables` when the model gives none. */
  channelData(): Record<string, string>;
  readonly pingIntervalMs: number;
  readonly eventFlushMs: number;
  /** The last verto.display of each call (re-sent after a client verto.attach, whichever socket sent it). */
  readonly lastDisplay: Map<string, Entries>;
}

/** The transport under a session (a ws WebSocket in production, anything in unit tests). */
export interface SessionSocket {
  send(text: string): void;
  close(code: number): void;
  /** The client's `ip:port` (mod_verto's jsock->name), when known. */
  readonly remoteAddress?: string;
}

type Handler = (params: Json | undefined) => HandlerResult;

export class VertoSession implements VertoCallSink {
  readonly #host: SessionHost;
  readonly #socket: SessionSocket;
  #user: AuthenticatedUser | undefined;
  #sessid: string | undefined;
  #loginVariables: Record<string, string> = {};
  readonly #queue: string[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #handlers: Readonly<Record<string, Handler>>;

  constructor(host: SessionHost, socket: SessionSocket) {
    this.#host = host;
    this.#socket = socket;
    const call = (f: (ctx: CallContext, p: Json | undefined) => HandlerResult): Handler => (p) => f(this.#context(), p);
    this.#handlers = {
      login: () => ({ ok: true, fields: [['message', 'logged in']] }),
      echo: (p) => {
        const o = asObject(p);
        return o === undefined
          ? { ok: false, fields: [['message', 'Params data missing'], ['code', CODE_SESSION_ERROR]] }
          : { ok: true, fields: entriesOf(o) };
      },
      'verto.ping': () => ({ ok: true, fields: [['message', 'PONG']] }),
      'verto.invite': call(calls.invite),
      'verto.answer': call(calls.answer),
      'verto.bye': (p) => {
        const r = call(calls.bye)(p);
        if (r.ok) this.#host.lastDisplay.delete(stringField(objectField(p, 'dialogParams'), 'callID') ?? '');
        return r;
      },
      'verto.info': call(calls.info),
      'verto.modify': call(calls.modify),
      'verto.attach': call(calls.attach),
    };
    this.#armPing();
  }

  get sessid(): string | undefined {
    return this.#sessid;
  }

  get uid(): string | undefined {
    return this.#user?.uid;
  }

  /** One WebSocket text frame from the client. */
  onFrame(text: string): void {
    if (this.#closed) return;
    this.#armPing();
    const parsed = parseFrame(text);
    let reply: string | undefined;
    if (parsed === undefined) {
      reply = invalidRequestText();
    } else if (Array.isArray(parsed)) {
      const replies = parsed.map((m: Json) => this.#process(m)).filter((r): r is string => r !== undefined);
      reply = batchText(replies);
    } else {
      reply = this.#process(parsed);
    }
    if (reply !== undefined) this.#socket.send(reply);
  }

  /**
   * The socket is gone (client close frame, TCP loss, or our own close):
   * mod_verto.c client_thread() after client_run() ends: detach_jsock, then
   * detach_calls (the backend decides per call: hang up or detach), queued
   * events dropped (jsock_flush).
   */
  onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimers();
    this.#queue.length = 0;
    const sessid = this.#sessid;
    if (sessid !== undefined && this.#host.sessions.get(sessid) === this) {
      this.#host.sessions.delete(sessid);
      this.#host.backend.detachSession(sessid, this.#socket.remoteAddress);
    }
  }

  /**
   * Another socket of the same user logged in with our session id
   * (mod_verto.c attach_jsock): `verto.punt {}` to us, detach_calls on our
   * calls (the same per-call rule as a socket loss), and we are closed
   * (jp->drop: close frame 1000, real verto-09). The new socket then gets
   * the re-attach of the detached calls. Not modelled: when the punted
   * socket's thread ends FreeSWITCH runs detach_calls for the sessid once
   * more, which can mark a call the new socket just re-attached as
   * detached again.
   */
  punt(): void {
    const sessid = this.#sessid;
    this.#socket.send(requestText(this.#host.nextRequestId(), 'verto.punt', []));
    if (sessid !== undefined && this.#host.sessions.get(sessid) === this) {
      this.#host.sessions.delete(sessid);
      this.#host.backend.detachSession(sessid, this.#socket.remoteAddress);
    }
    this.#closed = true;
    this.#clearTimers();
    this.#socket.close(1000);
  }

  // ---- VertoCallSink: call messages from the model, queued like jsock_queue_event ----

  media(callId: string, sdp: string, variables?: Readonly<Record<string, string>>): void {
    this.#request('verto.media', [['callID', callId], ['sdp', sdp], ['variables', variables ?? this.#host.channelData()]]);
  }

  answer(callId: string, sdp: string | undefined, variables?: Readonly<Record<string, string>>): void {
    const withSdp: Entries = sdp === undefined ? [] : [['sdp', sdp]];
    this.#request('verto.answer', [['callID', callId], ...withSdp, ['variables', variables ?? this.#host.channelData()]]);
  }

  display(callId: string, params: Readonly<Record<string, string>>): void {
    const entries: Entries = [['callID', callId], ...Object.entries(params)];
    this.#host.lastDisplay.set(callId, entries);
    this.#request('verto.display', entries);
  }

  bye(callId: string, cause: string, causeCode: number): void {
    this.#host.lastDisplay.delete(callId);
    this.#request('verto.bye', [['callID', callId], ['causeCode', causeCode], ['cause', cause]]);
  }

  invite(callId: string, params: Readonly<Record<string, unknown>>): void {
    this.#request('verto.invite', [['callID', callId], ...this.#withVariables(params)]);
  }

  attach(callId: string, params: Readonly<Record<string, unknown>>): void {
    this.#request('verto.attach', [['callID', callId], ...this.#withVariables(params)]);
  }

  // ---- internals ----

  #withVariables(params: Readonly<Record<string, unknown>>): Entries {
    const out: Array<readonly [string, Json]> = [];
    for (const [k, v] of Object.entries(params)) {
      if (k === 'callID' || v === undefined) continue;
      out.push([k, k === 'variables' && v === null ? this.#host.channelData() : toJson(v)]);
    }
    if (!Object.hasOwn(params, 'variables')) out.unshift(['variables', this.#host.channelData()]);
    return out;
  }

  #context(): CallContext {
    const user = this.#user;
    const sessid = this.#sessid;
    if (user === undefined || sessid === undefined) throw new Error('call method on an unauthenticated Verto socket');
    return {
      backend: this.#host.backend,
      sessid,
      user,
      loginVariables: this.#loginVariables,
      onReattached: (callId) => {
        const last = this.#host.lastDisplay.get(callId);
        if (last !== undefined) this.#request('verto.display', last);
      },
    };
  }

  /** process_jrpc: one request object; undefined when no reply is written. */
  #process(msg: Json): string | undefined {
    const id: Json = field(msg, 'id') ?? null;
    if (stringField(msg, 'jsonrpc') !== '2.0') return invalidMessageText(id);
    if (field(msg, 'result') !== undefined) return undefined; // a response: ignored
    const params = field(msg, 'params');
    const method = stringField(msg, 'method');

    if (this.#user === undefined || method === 'login') {
      const auth = this.#host.directory.checkAuth(params);
      if (!auth.ok) return codeErrorText(id, auth.code, auth.message);
      if (this.#user === undefined) {
        const refused = this.#bind(auth.user, stringField(params, 'sessid'));
        if (refused !== undefined) return codeErrorText(id, CODE_AUTH_FAILED, refused);
      }
      this.#loginVariables = variablesOf(objectField(params, 'userVariables'));
    }
    const user = this.#user;
    const handler = method === undefined ? undefined : this.#handlers[method];
    if (user === undefined || method === undefined || handler === undefined || !methodAllowed(user, method)) {
      return codeErrorText(id, CODE_METHOD_NOT_FOUND, MSG_INVALID_METHOD);
    }
    const r = handler(params);
    if (!r.ok) return errorText(id, r.fields);
    const echo = field(params, 'echoParams');
    const echoed: Entries =
      echo === undefined ? [] : [['requestParams', echo === true || (typeof echo === 'string' && isTrueString(echo)) ? (params ?? null) : echo]];
    return resultText(id, [...r.fields, ...echoed], this.#sessid);
  }

  /** Bind the session id on the first authenticated request; a refusal message or undefined. */
  #bind(user: AuthenticatedUser, requested: string | undefined): string | undefined {
    const sessid = requested !== undefined && requested !== '' ? requested : randomUUID();
    const holder = this.#host.sessions.get(sessid);
    if (holder !== undefined && holder !== this) {
      if (holder.uid !== user.uid) {
        this.#closed = true;
        this.#clearTimers();
        setImmediate(() => this.#socket.close(1000));
        return 'Session in use';
      }
      holder.punt();
    }
    this.#user = user;
    this.#sessid = sessid;
    this.#host.sessions.set(sessid, this);
    // attach_calls + verto.clientReady: queued, so they follow the login reply.
    const reattached = this.#host.backend.attachSession(sessid, user.uid, this);
    this.#request('verto.clientReady', [['reattached_sessions', [...reattached]]]);
    return undefined;
  }

  #request(method: string, params: Entries): void {
    if (this.#closed) return;
    this.#queue.push(requestText(this.#host.nextRequestId(), method, params));
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => this.#flush(), this.#host.eventFlushMs);
    }
  }

  #flush(): void {
    this.#flushTimer = undefined;
    if (this.#closed) return;
    for (const text of this.#queue.splice(0)) this.#socket.send(text);
  }

  /** Keep-alive: a verto.ping after pingIntervalMs with nothing received. */
  #armPing(): void {
    if (this.#pingTimer !== undefined) clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(() => {
      this.#pingTimer = undefined;
      if (this.#closed) return;
      if (this.#user !== undefined) {
        this.#socket.send(requestText(this.#host.nextRequestId(), 'verto.ping', [['serno', Math.floor(Date.now() / 1000)]]));
      }
      this.#armPing();
    }, this.#host.pingIntervalMs);
  }

  #clearTimers(): void {
    if (this.#pingTimer !== undefined) clearTimeout(this.#pingTimer);
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#pingTimer = undefined;
    this.#flushTimer = undefined;
  }
}

