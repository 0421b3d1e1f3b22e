import esl, { type Connection, type Event as ModeslEvent } from 'modesl';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../config/secret.ts';
import { Backoff } from '../net/backoff.ts';
import { Listeners, type ConnectionState } from '../net/connection-state.ts';
import { TimeoutError } from '../net/deadline.ts';
import { assertSingleLine } from './grammar.ts';
import type { ApiCommand } from './commands.ts';
import { parseEslEvent, SUBSCRIBED_EVENTS, type EslEvent } from './events.ts';

export interface EslClientOptions {
  readonly host: string;
  readonly port: number;
  readonly password: Secret;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number } | false;
  readonly logger: Logger;
}

export class EslError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EslError';
  }
}

interface Pending {
  readonly resolve: (body: string) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The edge's event-socket client. modesl does the framing; this class owns
 * what modesl lacks: a deadline on every request and on connecting,
 * reconnection with backoff, typed events, and failing every pending
 * request when the socket goes (modesl would leave them hanging).
 *
 * Replies are matched by order (ESL guarantees it); a request that gets no
 * reply in time therefore means the connection cannot be trusted, and it
 * is dropped and re-established.
 */
export class EslClient {
  readonly #options: EslClientOptions;
  readonly #log: Logger;
  readonly #backoff: Backoff | undefined;
  readonly #events = new Listeners<[EslEvent]>();
  readonly #states = new Listeners<[ConnectionState, string | undefined]>();
  readonly #pending = new Set<Pending>();
  #state: ConnectionState = 'idle';
  #conn: Connection | undefined;
  #connectTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #lastFailure: string | undefined;

  constructor(options: EslClientOptions) {
    this.#options = options;
    this.#log = options.logger.child({ peer: 'esl', host: options.host, port: options.port });
    this.#backoff = options.reconnect === false ? undefined : new Backoff(options.reconnect);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Why the last attempt or connection failed. */
  get lastFailure(): string | undefined {
    return this.#lastFailure;
  }

  onEvent(fn: (event: EslEvent) => void): () => void {
    return this.#events.add(fn);
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#states.add(fn);
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#connect();
  }

  /** Send `api <command> <args>`; resolves with the response body. */
  api(command: ApiCommand): Promise<string> {
    const conn = this.#conn;
    if (this.#state !== 'connected' || conn === undefined) {
      return Promise.reject(new EslError(`ESL is not connected (${this.#state})`));
    }
    const line = command.args === '' ? command.command : `${command.command} ${command.args}`;
    assertSingleLine(line);
    return new Promise<string>((resolve, reject) => {
      const pending: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#pending.delete(pending);
          const err = new TimeoutError(`ESL api ${command.command}`, this.#options.requestTimeoutMs);
          reject(err);
          this.#lose(`no reply to api ${command.command} within ${this.#options.requestTimeoutMs} ms`);
        }, this.#options.requestTimeoutMs),
      };
      this.#pending.add(pending);
      conn.api(command.command, command.args, (event: ModeslEvent) => {
        if (!this.#pending.delete(pending)) return;
        clearTimeout(pending.timer);
        const body = typeof event.body === 'string' ? event.body : '';
        resolve(body);
      });
    });
  }

  /** Close the connection and stop reconnecting. Pending requests fail. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const conn = this.#conn;
    this.#teardown('stopping');
    this.#setState('stopped', undefined);
    if (conn?.socket) {
      const socket = conn.socket;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.destroy();
          resolve();
        }, 1_000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        if (socket.writable) socket.end('exit\n\n');
        else socket.destroy();
      });
    }
    this.#events.clear();
    this.#states.clear();
  }

  #setState(state: ConnectionState, reason: string | undefined): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#states.emit(state, reason);
  }

  #connect(): void {
    this.#setState(this.#backoff && this.#backoff.attempt > 0 ? 'reconnecting' : 'connecting', undefined);
    this.#log.debug('connecting');
    const conn = new esl.Connection(this.#options.host, this.#options.port, this.#options.password.reveal());
    this.#conn = conn;
    this.#connectTimer = setTimeout(
      () => this.#lose(`not ready within ${this.#options.connectTimeoutMs} ms`),
      this.#options.connectTimeoutMs,
    );
    conn.on('error', (err: unknown) => this.#lose(err instanceof Error ? err.message : 'socket error'));
    conn.on('esl::end', () => this.#lose('connection closed by FreeSWITCH'));
    conn.on('esl::event::auth::fail', () => this.#lose('authentication failed (check esl.password)'));
    conn.on('esl::event::raw::text/rude-rejection', () => this.#lose('refused by the event socket ACL (apply-inbound-acl)'));
    conn.on('esl::ready', () => this.#subscribe(conn));
    conn.on('esl::event::**', (raw: unknown, headers: unknown) => this.#onRawEvent(conn, raw, headers));
  }

  #subscribe(conn: Connection): void {
    if (conn !== this.#conn) return;
    conn.sendRecv(`event json ${SUBSCRIBED_EVENTS.join(' ')}`, (reply: ModeslEvent) => {
      if (conn !== this.#conn) return;
      const text = reply.getHeader('Reply-Text') ?? '';
      if (!text.startsWith('+OK')) {
        this.#lose(`event subscription refused: ${text}`);
        return;
      }
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      this.#backoff?.reset();
      this.#lastFailure = undefined;
      this.#log.info({ state: 'connected' }, 'ESL connected');
      this.#setState('connected', undefined);
    });
  }

  #onRawEvent(conn: Connection, raw: unknown, headers: unknown): void {
    if (conn !== this.#conn) return;
    const contentType =
      typeof headers === 'object' && headers !== null ? (headers as Record<string, unknown>)['Content-Type'] : undefined;
    if (typeof contentType !== 'string' || !contentType.startsWith('text/event-')) return;
    try {
      const event = parseEslEvent(raw as ModeslEvent);
      this.#events.emit(event);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'ignored a malformed ESL event');
    }
  }

  #teardown(reason: string): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    for (const p of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new EslError(`ESL connection lost: ${reason}`));
    }
    this.#pending.clear();
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn) {
      conn.removeAllListeners();
      conn.on('error', () => undefined);
      if (reason !== 'stopping') conn.socket?.destroy();
    }
  }

  #lose(reason: string): void {
    if (this.#conn === undefined || this.#state === 'stopped') return;
    const wasConnected = this.#state === 'connected';
    this.#lastFailure = reason;
    this.#teardown(reason);
    if (wasConnected) this.#log.warn({ reason }, 'ESL connection lost');
    else this.#log.warn({ reason }, 'ESL connection attempt failed');
    if (this.#backoff === undefined) {
      this.#setState('stopped', reason);
      return;
    }
    const delay = this.#backoff.next();
    this.#setState('reconnecting', reason);
    this.#log.info({ delayMs: delay, attempt: this.#backoff.attempt }, 'ESL reconnecting');
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }
}
