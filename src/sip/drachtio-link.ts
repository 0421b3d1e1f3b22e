// The edge's admin connection to drachtio-server (drachtio-srf, inbound
// connection mode), with the edge's own reconnection policy: drachtio-srf's
// built-in retry is switched off (it would retry every ~255 ms forever,
// even with a wrong secret, as the real captures show) and each attempt is
// a fresh Srf instance, driven by the shared Reconnector (backoff, states,
// log lines). A refused secret is fatal: no further attempt, the state
// goes to `stopped` with a reason that names sip.drachtio.secret.
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../config/secret.ts';
import { Reconnector } from '../net/reconnector.ts';
import { Listeners, type ConnectionState } from '../net/connection-state.ts';
import { createSrf, onWireProtocolError, type SrfInstance } from './srf.ts';

export const SECRET_KEY = 'sip.drachtio.secret';

export interface DrachtioLinkOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: Secret;
  readonly connectTimeoutMs: number;
  /** false: one attempt only (the `check` probe). */
  readonly backoff: { readonly initialDelayMs: number; readonly maxDelayMs: number } | false;
  readonly log: Logger;
  /** A request drachtio-server handed to the edge (INVITE or OPTIONS), unchecked. */
  readonly onRequest?: (method: 'INVITE' | 'OPTIONS', srf: SrfInstance, req: unknown, res: unknown) => void;
}

export class DrachtioLink {
  readonly #options: DrachtioLinkOptions;
  readonly #log: Logger;
  readonly #link: Reconnector;
  readonly #states = new Listeners<[ConnectionState, string | undefined]>();
  readonly #fatal = new Listeners<[string]>();
  #srf: SrfInstance | undefined;
  #attempt = 0;
  #connectTimer: NodeJS.Timeout | undefined;
  #fatalReason: string | undefined;
  #serverVersion: string | undefined;
  #stopped = false;

  constructor(options: DrachtioLinkOptions) {
    this.#options = options;
    this.#log = options.log.child({ peer: 'drachtio', host: options.host, port: options.port });
    this.#link = new Reconnector({ name: 'drachtio', backoff: options.backoff, log: this.#log, connect: () => this.#connect() });
    this.#link.onState((state, reason) => this.#states.emit(state, state === 'stopped' ? (this.#fatalReason ?? reason) : reason));
  }

  get state(): ConnectionState {
    return this.#link.state;
  }

  /** Why the link stopped for good (wrong secret), if it did. */
  get fatalReason(): string | undefined {
    return this.#fatalReason;
  }

  get serverVersion(): string | undefined {
    return this.#serverVersion;
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#states.add(fn);
  }

  /** Told once when drachtio-server refuses the secret. */
  onFatal(fn: (message: string) => void): () => void {
    return this.#fatal.add(fn);
  }

  start(): void {
    onWireProtocolError((err) => this.#log.error({ err: err.message }, 'malformed data from drachtio-server; connection closed'));
    this.#link.start();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#attempt += 1;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#link.stop();
    await this.#close(this.#srf);
    this.#srf = undefined;
    this.#states.clear();
    this.#fatal.clear();
    this.#link.clearListeners();
  }

  #connect(): void {
    const attempt = ++this.#attempt;
    const srf = createSrf();
    this.#srf = srf;
    let lastError: string | undefined;
    let settled = false;
    const current = () => attempt === this.#attempt && !this.#stopped;
    this.#connectTimer = setTimeout(() => {
      if (!current() || settled) return;
      settled = true;
      this.#fail(srf, `no answer from drachtio-server within ${this.#options.connectTimeoutMs} ms`);
    }, this.#options.connectTimeoutMs);

    srf.on('error', (...args: unknown[]) => {
      const err = args[0];
      lastError = err instanceof Error ? err.message : 'socket error';
    });
    srf.on('connect', (err: unknown, hostport: unknown, version: unknown) => {
      if (!current()) {
        void this.#close(srf);
        return;
      }
      settled = true;
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      if (err !== null && err !== undefined) {
        this.#onFatal(srf, `drachtio-server refused the secret (check ${SECRET_KEY})`);
        return;
      }
      this.#serverVersion = typeof version === 'string' && /^v?[0-9][0-9A-Za-z.+-]{0,31}$/.test(version) ? version : undefined;
      this.#log.info({ serverVersion: this.#serverVersion, hostport: typeof hostport === 'string' ? hostport.slice(0, 200) : undefined }, 'authenticated to drachtio-server');
      this.#link.connected();
    });
    srf.on('close', () => {
      if (!current()) return;
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      const reason = lastError ?? (settled ? 'connection closed by drachtio-server' : 'connection closed before authentication');
      settled = true;
      this.#fail(srf, reason);
    });
    const onRequest = this.#options.onRequest;
    srf.invite((req, res) => onRequest?.('INVITE', srf, req, res));
    srf.options((req, res) => onRequest?.('OPTIONS', srf, req, res));
    this.#log.debug('connecting');
    srf.connect({ host: this.#options.host, port: this.#options.port, secret: this.#options.secret.reveal(), reconnect: { maxAttempts: 1 } });
  }

  #fail(srf: SrfInstance, reason: string): void {
    void this.#close(srf);
    if (this.#srf === srf) this.#srf = undefined;
    this.#link.lost(reason);
  }

  #onFatal(srf: SrfInstance, message: string): void {
    this.#attempt += 1; // the close that follows is expected
    this.#fatalReason = message;
    this.#log.fatal({ key: SECRET_KEY }, `${message}; not reconnecting`);
    void this.#close(srf);
    this.#srf = undefined;
    this.#link.stop();
    this.#fatal.emit(message);
  }

  /** Close one Srf instance's connection; its late events are ignored (an error listener stays). */
  async #close(srf: SrfInstance | undefined): Promise<void> {
    if (srf === undefined) return;
    srf.on('error', () => undefined);
    try {
      srf.disconnect();
    } catch {
      return; // no socket (never connected, or already closed): nothing to close
    }
    // drachtio-srf reports the close on a later turn
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      srf.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
