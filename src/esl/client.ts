import { randomUUID } from 'node:crypto';
import esl, { type Connection, type Event as ModeslEvent } from 'modesl';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../config/secret.ts';
import type { EdgeConfig } from '../config/load.ts';
import { Listeners, type ConnectionState } from '../net/connection-state.ts';
import { Reconnector } from '../net/reconnector.ts';
import { TimeoutError } from '../net/deadline.ts';
import { assertSingleLine, eslApiCommand } from './grammar.ts';
import type { ApiCommand } from './commands.ts';
import { parseFrameEvent, SUBSCRIBED_EVENTS, UNSUBSCRIBED_EVENTS, type EslEvent } from './events.ts';

export interface EslClientOptions {
  readonly host: string;
  readonly port: number;
  readonly password: Secret;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number } | false;
  readonly logger: Logger;
}

/** Client options from the `esl` config section; `reconnect: false` for a one-shot probe. */
export function eslOptionsFrom(config: EdgeConfig['esl'], logger: Logger, reconnect: boolean): EslClientOptions {
  return {
    host: config.host,
    port: config.port,
    password: config.password,
    requestTimeoutMs: config.request_timeout_ms,
    connectTimeoutMs: config.connect_timeout_ms,
    reconnect: reconnect ? { initialDelayMs: config.reconnect.initial_delay_ms, maxDelayMs: config.reconnect.max_delay_ms } : false,
    logger,
  };
}

/** Why an attempt failed when FreeSWITCH refused the password (`-ERR invalid` to `auth`). */
export const ESL_AUTH_FAILED = 'authentication failed (check esl.password)';

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

/** A `bgapi` job: waiting for its command/reply, then for its BACKGROUND_JOB event. */
interface Job {
  /** Its Job-UUID: ours, or the one the reply named should it differ. */
  id: string;
  readonly command: string;
  readonly resolve: (body: string) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
  /** Set once the command/reply (`+OK Job-UUID: <id>`) arrived. */
  accepted: boolean;
}

export interface BgapiOptions {
  /** Deadline for the whole job (reply and BACKGROUND_JOB); default esl.request_timeout_ms. */
  readonly timeoutMs?: number;
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
  readonly #link: Reconnector;
  readonly #events = new Listeners<[EslEvent]>();
  readonly #pending = new Set<Pending>();
  /** bgapi jobs by Job-UUID. */
  readonly #jobs = new Map<string, Job>();
  #conn: Connection | undefined;
  #connectTimer: NodeJS.Timeout | undefined;

  constructor(options: EslClientOptions) {
    this.#options = options;
    this.#log = options.logger.child({ peer: 'esl', host: options.host, port: options.port });
    this.#link = new Reconnector({ name: 'ESL', backoff: options.reconnect, log: this.#log, connect: () => this.#connect() });
  }

  get state(): ConnectionState {
    return this.#link.state;
  }

  /** Why the last attempt or connection failed. */
  get lastFailure(): string | undefined {
    return this.#link.lastFailure;
  }

  onEvent(fn: (event: EslEvent) => void): () => void {
    return this.#events.add(fn);
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#link.onState(fn);
  }

  start(): void {
    this.#link.start();
  }

  /** Requests and bgapi jobs still waiting (for tests and shutdown checks). */
  get pendingCount(): number {
    return this.#pending.size + this.#jobs.size;
  }

  /** Send `api <command> <args>`; resolves with the response body. */
  api(command: ApiCommand): Promise<string> {
    const conn = this.#conn;
    if (this.#link.state !== 'connected' || conn === undefined) {
      return Promise.reject(new EslError(`ESL is not connected (${this.#link.state})`));
    }
    commandLine(command); // the grammar check throws before anything is written
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

  /**
   * Send `bgapi <command> <args>` with our own `Job-UUID` header (FreeSWITCH
   * uses it: mod_event_socket.c parse_command, bgapi branch) and resolve with
   * the body of the BACKGROUND_JOB event for that job: the API's output,
   * `-ERR ...` included, as `api()` does. One deadline covers the reply and
   * the event. No reply in time means the reply order can no longer be
   * trusted, so the connection is dropped; a reply without the event only
   * fails this job (the connection is fine, the job may still be running in
   * FreeSWITCH and its late event is ignored). On connection loss the job
   * fails: its event would never reach a new socket.
   */
  bgapi(command: ApiCommand, options: BgapiOptions = {}): Promise<string> {
    let line: string;
    try {
      line = commandLine(command);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const conn = this.#conn;
    if (this.#link.state !== 'connected' || conn === undefined) {
      return Promise.reject(new EslError(`ESL is not connected (${this.#link.state})`));
    }
    const jobId = randomUUID();
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs;
    return new Promise<string>((resolve, reject) => {
      const job: Job = {
        id: jobId,
        command: command.command,
        resolve,
        reject,
        accepted: false,
        timer: setTimeout(() => {
          if (this.#jobs.get(job.id) !== job) return;
          this.#jobs.delete(job.id);
          reject(new TimeoutError(`ESL bgapi ${command.command} (job ${job.id}${job.accepted ? ', accepted, no BACKGROUND_JOB' : ', no reply'})`, timeoutMs));
          if (!job.accepted) this.#lose(`no reply to bgapi ${command.command} within ${timeoutMs} ms`);
        }, timeoutMs),
      };
      this.#jobs.set(jobId, job);
      // Not modesl's bgapi(): it waits with once() on the job's event name, a listener that stays forever when the job never ends.
      conn.sendRecv(`bgapi ${line}`, { 'Job-UUID': jobId }, (reply: ModeslEvent) => this.#onBgapiReply(conn, job, reply));
    });
  }

  #onBgapiReply(conn: Connection, job: Job, reply: ModeslEvent): void {
    if (conn !== this.#conn || this.#jobs.get(job.id) !== job) return;
    const text = reply.getHeader('Reply-Text') ?? '';
    const echoed = reply.getHeader('Job-UUID');
    if (!text.startsWith('+OK') || echoed === undefined) {
      this.#finishJob(job);
      job.reject(new EslError(`ESL bgapi ${job.command} refused: ${text === '' ? 'no Reply-Text' : text}`));
      return;
    }
    job.accepted = true;
    if (echoed !== job.id) {
      // FreeSWITCH takes the client's Job-UUID; should one ever differ, the reply's is the id the event will carry.
      this.#log.warn({ sent: job.id, replied: echoed }, 'bgapi reply names another Job-UUID');
      this.#jobs.delete(job.id);
      job.id = echoed;
      this.#jobs.set(echoed, job);
    }
  }

  #finishJob(job: Job): void {
    clearTimeout(job.timer);
    if (this.#jobs.get(job.id) === job) this.#jobs.delete(job.id);
  }

  #onBackgroundJob(event: EslEvent): void {
    const jobId = event.headers.get('Job-UUID');
    if (jobId === undefined) return;
    const job = this.#jobs.get(jobId);
    if (job === undefined) return; // another socket's job, or one that timed out
    this.#finishJob(job);
    job.resolve(event.body ?? '');
  }

  /** Close the connection and stop reconnecting. Pending requests fail. */
  async stop(): Promise<void> {
    if (this.#link.state === 'stopped') return;
    const conn = this.#conn;
    this.#teardown('stopping');
    this.#link.stop();
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
    this.#link.clearListeners();
  }

  #connect(): void {
    this.#log.debug('connecting');
    const conn = new esl.Connection(this.#options.host, this.#options.port, this.#options.password.reveal());
    this.#conn = conn;
    // Commands are small writes: without TCP_NODELAY, Nagle holds one back until the previous is
    // acknowledged, and FreeSWITCH's delayed ACK makes that ~40 ms (seen as 50 ms to originate a call).
    conn.socket?.setNoDelay(true);
    this.#connectTimer = setTimeout(
      () => this.#lose(`not ready within ${this.#options.connectTimeoutMs} ms`),
      this.#options.connectTimeoutMs,
    );
    conn.on('error', (err: unknown) => this.#lose(err instanceof Error ? err.message : 'socket error'));
    conn.on('esl::end', () => this.#lose('connection closed by FreeSWITCH'));
    conn.on('esl::event::auth::fail', () => this.#lose(ESL_AUTH_FAILED));
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
      conn.sendRecv(`nixevent ${UNSUBSCRIBED_EVENTS.join(' ')}`, (nixed: ModeslEvent) => {
        if (conn !== this.#conn) return;
        const nixText = nixed.getHeader('Reply-Text') ?? '';
        // Not fatal: the events would only cost parsing.
        if (!nixText.startsWith('+OK')) this.#log.warn({ reply: nixText.slice(0, 120) }, 'nixevent refused; unneeded events stay subscribed');
        clearTimeout(this.#connectTimer);
        this.#connectTimer = undefined;
        this.#link.connected();
      });
    });
  }

  #onRawEvent(conn: Connection, raw: unknown, headers: unknown): void {
    if (conn !== this.#conn) return;
    try {
      const event = parseFrameEvent(raw, headers);
      if (event === undefined) return;
      if (event.name === 'BACKGROUND_JOB') this.#onBackgroundJob(event);
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
    for (const [jobId, job] of this.#jobs) {
      clearTimeout(job.timer);
      job.reject(new EslError(`ESL connection lost before bgapi ${job.command} (job ${jobId}) finished: ${reason}`));
    }
    this.#jobs.clear();
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn) {
      conn.removeAllListeners();
      conn.on('error', () => undefined);
      if (reason !== 'stopping') conn.socket?.destroy();
    }
  }

  #lose(reason: string): void {
    if (this.#conn === undefined || this.#link.state === 'stopped') return;
    this.#teardown(reason);
    this.#link.lost(reason);
  }
}

/** The command line after "api "/"bgapi ": a checked command name, one line. */
function commandLine(command: ApiCommand): string {
  eslApiCommand(command.command);
  const line = command.args === '' ? command.command : `${command.command} ${command.args}`;
  assertSingleLine(line);
  return line;
}
