import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../config/secret.ts';
import type { EdgeConfig } from '../config/load.ts';
import { Listeners, type ConnectionState } from '../net/connection-state.ts';
import { Reconnector } from '../net/reconnector.ts';
import { redactUrl } from '../net/redact-url.ts';

/** Kept for callers that import it from here. */
export { redactUrl };
import { TimeoutError } from '../net/deadline.ts';
import { needsReply, parseServerFrame, VertoRpcError, type RpcResponse, type ServerRequest } from './messages.ts';

export interface VertoClientOptions {
  readonly url: string;
  readonly login: string;
  readonly password: Secret;
  /** Kept across reconnects so FreeSWITCH re-attaches answered calls. */
  readonly sessid?: string;
  readonly tlsInsecure: boolean;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number } | false;
  readonly logger: Logger;
}

/** Client options from the `verto` config section; `reconnect: false` for a one-shot probe. */
export function vertoOptionsFrom(config: EdgeConfig['verto'], logger: Logger, reconnect: boolean): VertoClientOptions {
  return {
    url: config.url,
    login: config.login,
    password: config.password,
    tlsInsecure: config.tls_insecure,
    requestTimeoutMs: config.request_timeout_ms,
    connectTimeoutMs: config.connect_timeout_ms,
    keepaliveIntervalMs: config.keepalive_interval_ms,
    reconnect: reconnect ? { initialDelayMs: config.reconnect.initial_delay_ms, maxDelayMs: config.reconnect.max_delay_ms } : false,
    logger,
  };
}

export class VertoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VertoError';
  }
}

interface Pending {
  readonly method: string;
  readonly resolve: (result: Record<string, unknown>) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * JSON-RPC 2.0 client for mod_verto over ws:// or wss://: login, ids and a
 * deadline per request, replies to server requests, keepalive pings, and
 * reconnection with the same sessid (so answered calls are re-attached).
 */
export class VertoClient {
  readonly #options: VertoClientOptions;
  readonly #log: Logger;
  readonly #link: Reconnector;
  readonly #sessid: string;
  readonly #requests = new Listeners<[ServerRequest]>();
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #ws: WebSocket | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #keepaliveTimer: NodeJS.Timeout | undefined;

  constructor(options: VertoClientOptions) {
    this.#options = options;
    this.#sessid = options.sessid ?? randomUUID();
    this.#log = options.logger.child({ peer: 'verto', url: redactUrl(options.url) });
    this.#link = new Reconnector({ name: 'Verto', backoff: options.reconnect, log: this.#log, connect: () => this.#connect() });
  }

  get state(): ConnectionState {
    return this.#link.state;
  }

  get sessid(): string {
    return this.#sessid;
  }

  get lastFailure(): string | undefined {
    return this.#link.lastFailure;
  }

  onRequest(fn: (request: ServerRequest) => void): () => void {
    return this.#requests.add(fn);
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#link.onState(fn);
  }

  start(): void {
    this.#link.start();
  }

  /** Send a request once logged in; resolves with `result`, rejects with VertoRpcError / TimeoutError. */
  request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.#link.state !== 'connected') return Promise.reject(new VertoError(`Verto is not connected (${this.#link.state})`));
    return this.#send(method, params);
  }

  async stop(): Promise<void> {
    if (this.#link.state === 'stopped') return;
    const ws = this.#ws;
    this.#teardown('stopping');
    this.#link.stop();
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1_000);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'shutting down');
        else ws.terminate();
      });
    }
    this.#requests.clear();
    this.#link.clearListeners();
  }

  #connect(): void {
    const ws = new WebSocket(this.#options.url, {
      handshakeTimeout: this.#options.connectTimeoutMs,
      rejectUnauthorized: !this.#options.tlsInsecure,
      maxPayload: 4 * 1024 * 1024,
    });
    this.#ws = ws;
    this.#connectTimer = setTimeout(
      () => this.#lose(`not logged in within ${this.#options.connectTimeoutMs} ms`),
      this.#options.connectTimeoutMs,
    );
    ws.on('open', () => void this.#login(ws));
    ws.on('message', (data, isBinary) => {
      if (ws !== this.#ws) return;
      if (isBinary) {
        this.#log.warn('ignored a binary frame');
        return;
      }
      this.#onFrame(data.toString());
    });
    ws.on('error', (err) => this.#lose(err.message));
    ws.on('close', (code) => this.#lose(`socket closed (${code})`));
  }

  async #login(ws: WebSocket): Promise<void> {
    try {
      await this.#send('login', {
        login: this.#options.login,
        passwd: this.#options.password.reveal(),
        loginParams: {},
        userVariables: {},
        sessid: this.#sessid,
      });
    } catch (err) {
      if (ws !== this.#ws) return;
      if (err instanceof VertoRpcError && (err.code === -32001 || err.code === -32000)) {
        this.#lose(`login refused: ${String(err.data['message'])} (check verto.login and verto.password)`);
      } else {
        this.#lose(`login failed: ${(err as Error).message}`);
      }
      return;
    }
    if (ws !== this.#ws) return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#link.connected();
    this.#scheduleKeepalive();
  }

  #scheduleKeepalive(): void {
    clearTimeout(this.#keepaliveTimer);
    this.#keepaliveTimer = setTimeout(() => {
      this.#keepaliveTimer = undefined;
      this.#send('verto.ping', {}).then(
        () => this.#scheduleKeepalive(),
        (err: Error) => this.#lose(`keepalive failed: ${err.message}`),
      );
    }, this.#options.keepaliveIntervalMs);
  }

  #send(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return Promise.reject(new VertoError('Verto socket is not open'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TimeoutError(`verto ${method}`, this.#options.requestTimeoutMs));
      }, this.#options.requestTimeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer });
      ws.send(JSON.stringify({ jsonrpc: '2.0', method, params: { ...params, sessid: this.#sessid }, id }));
    });
  }

  #onFrame(text: string): void {
    let messages;
    try {
      messages = parseServerFrame(text);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'ignored a malformed Verto frame');
      return;
    }
    for (const m of messages) {
      if (m.kind === 'response') this.#onResponse(m.message);
      else this.#onServerRequest(m.message);
    }
  }

  #onResponse(message: RpcResponse): void {
    if (typeof message.id !== 'number') return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) {
      this.#log.debug({ id: message.id }, 'reply to no pending request');
      return;
    }
    this.#pending.delete(message.id);
    clearTimeout(pending.timer);
    if ('result' in message) pending.resolve(message.result as Record<string, unknown>);
    else pending.reject(new VertoRpcError(pending.method, message.error));
  }

  #onServerRequest(request: ServerRequest): void {
    if (needsReply(request) && this.#ws?.readyState === WebSocket.OPEN) {
      this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: { method: request.method } }));
    }
    if (request.method === 'verto.punt') {
      this.#log.warn('FreeSWITCH punted this Verto session (another socket logged in with the same sessid)');
    }
    this.#requests.emit(request);
  }

  #teardown(reason: string): void {
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#keepaliveTimer);
    this.#connectTimer = undefined;
    this.#keepaliveTimer = undefined;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new VertoError(`Verto connection lost: ${reason}`));
    }
    this.#pending.clear();
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      if (reason !== 'stopping') ws.terminate();
    }
  }

  #lose(reason: string): void {
    if (this.#ws === undefined || this.#link.state === 'stopped') return;
    this.#teardown(reason);
    this.#link.lost(reason);
  }
}
