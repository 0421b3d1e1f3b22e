import { serverNameOf, type EdgeConfig } from './config/load.ts';
import type { Logger } from './log/logger.ts';
import { EslClient, eslOptionsFrom } from './esl/client.ts';
import { VertoClient, vertoOptionsFrom } from './verto/client.ts';
import { MatrixBot } from './matrix/client.ts';
import type { MatrixLink } from './matrix/link.ts';
import { AppserviceLink } from './appservice/appservice-link.ts';
import { PhoneDirectory } from './appservice/phone-directory.ts';
import { readRegistration, RegistrationError } from './appservice/registration.ts';
import { compileRules } from './calls/refusals.ts';
import type { ConnectionState } from './net/connection-state.ts';
import { CallManager } from './calls/call-manager.ts';
import { HttpServer } from './http/server.ts';
import { Metrics } from './http/metrics.ts';
import { AdmissionService } from './sip/admission-service.ts';
import { admissionCounter } from './sip/admission-metrics.ts';
import { SqliteStateStore } from './store/sqlite-store.ts';
import type { StateStore } from './store/state-store.ts';
import { MatrixOutbox } from './matrix/outbox.ts';

export type Peer = 'esl' | 'verto' | 'matrix' | 'drachtio';

/** Appservice mode: the registration's tokens, ghosts named in the edge's server, the policy deciding which numbers have one. Throws RegistrationError. */
function appserviceLink(config: EdgeConfig, store: StateStore, log: Logger): AppserviceLink {
  const registration = readRegistration(config.matrix.appservice.registration_file);
  const localpart = config.matrix.user_id.slice(1, config.matrix.user_id.indexOf(':'));
  if (registration.senderLocalpart !== localpart) {
    throw new RegistrationError(`${config.matrix.appservice.registration_file}: sender_localpart ${registration.senderLocalpart} is not the localpart of matrix.user_id ${config.matrix.user_id}`);
  }
  return new AppserviceLink({
    homeserverUrl: config.matrix.homeserver_url,
    botUserId: config.matrix.user_id,
    registration,
    listen: { host: config.matrix.appservice.host, port: config.matrix.appservice.port },
    requestTimeoutMs: config.matrix.request_timeout_ms,
    directory: new PhoneDirectory(compileRules(config), { prefix: config.matrix.appservice.ghost_prefix, serverName: serverNameOf(config.matrix.user_id) }),
    store,
    logger: log,
  });
}

export interface EdgeHooks {
  /** A condition no retry can fix (drachtio-server refused sip.drachtio.secret). Default: log, stop, exit 1. */
  readonly fatal?: (message: string) => void;
}

/**
 * The running edge: its three connections, the calls between them, and
 * the health/metrics endpoint. Owns every socket and timer it starts;
 * stop() releases them all.
 */
export class Edge {
  readonly esl: EslClient;
  readonly verto: VertoClient;
  readonly matrix: MatrixLink;
  readonly calls: CallManager;
  readonly store: StateStore;
  readonly outbox: MatrixOutbox;
  readonly metrics: Metrics;
  /** SIP admission through drachtio-server, when sip.admission is drachtio. */
  readonly admission: AdmissionService | undefined;
  readonly #http: HttpServer | undefined;
  readonly #config: EdgeConfig;
  readonly #log: Logger;

  constructor(config: EdgeConfig, log: Logger, hooks: EdgeHooks = {}) {
    this.#config = config;
    this.#log = log;
    this.store = SqliteStateStore.open(config.state.dir);
    this.esl = new EslClient(eslOptionsFrom(config.esl, log, true));
    // The same session id across restarts: FreeSWITCH knows the edge's calls by it.
    this.verto = new VertoClient({ ...vertoOptionsFrom(config.verto, log, true), sessid: this.store.vertoSessionId() });
    this.matrix = config.matrix.mode === 'appservice' ? appserviceLink(config, this.store, log) : new MatrixBot({
      homeserverUrl: config.matrix.homeserver_url,
      userId: config.matrix.user_id,
      accessToken: config.matrix.accessToken,
      password: config.matrix.password,
      deviceId: config.matrix.device_id,
      requestTimeoutMs: config.matrix.request_timeout_ms,
      syncTimeoutMs: config.matrix.sync_timeout_ms,
      logger: log,
    });
    this.outbox = new MatrixOutbox({ put: (send) => this.matrix.put(send), store: this.store, logger: log });
    this.calls = new CallManager(config, { matrix: this.matrix, verto: this.verto, esl: this.esl, store: this.store, outbox: this.outbox }, log);
    this.metrics = new Metrics(
      () => this.calls.stats(),
      () => this.states(),
      () => this.matrix.timelineStats(),
      () => {
        const o = this.outbox.stats;
        return { storedCalls: this.calls.storedCalls(), outboxPending: o.pending, outboxRefused: o.refused, outboxRetries: o.retries };
      },
    );
    this.calls.onMilestone((m) => this.metrics.milestone(m));
    this.#http = config.http.enabled ? new HttpServer({ ready: () => this.ready() }, this.metrics, log) : undefined;
    const report = (peer: Peer) => (state: ConnectionState, reason: string | undefined) => {
      if (state === 'reconnecting') this.metrics.reconnects.inc({ peer });
      this.#log.info({ peer, state, ...(reason === undefined ? {} : { reason }) }, `${peer} ${state}`);
    };
    this.esl.onState(report('esl'));
    this.verto.onState(report('verto'));
    this.matrix.onState(report('matrix'));
    this.admission = config.sip.admission === 'drachtio' ? new AdmissionService(config, log, admissionCounter(this.metrics.registry)) : undefined;
    if (this.admission !== undefined) {
      const admission = this.admission;
      admission.onState(report('drachtio'));
      admission.onFatal(hooks.fatal ?? ((message) => this.#exitOnFatal(message)));
      // a proxied trunk call holds its trunk's slot until FreeSWITCH reports its end
      this.esl.onEvent((e) => {
        if (e.name !== 'CHANNEL_HANGUP_COMPLETE') return;
        const callId = e.headers.get('variable_sip_call_id');
        if (callId !== undefined) admission.callEnded(callId);
      });
    }
  }

  states(): Partial<Record<Peer, ConnectionState>> {
    const base = { esl: this.esl.state, verto: this.verto.state, matrix: this.matrix.state };
    return this.admission === undefined ? base : { ...base, drachtio: this.admission.state };
  }

  #exitOnFatal(message: string): void {
    this.#log.fatal({ key: 'sip.drachtio.secret' }, `${message}; exiting`);
    process.exitCode = 1;
    this.stop().finally(() => this.#log.flush(() => process.exit(1)));
  }

  ready(): { ready: boolean; peers: Record<string, string> } {
    const peers: Record<string, string> = { ...this.states() };
    if (this.calls.draining) return { ready: false, peers: { ...peers, edge: 'draining' } };
    return { ready: Object.values(peers).every((s) => s === 'connected'), peers };
  }

  /**
   * Graceful stop (SIGTERM): admit nothing from now on (/readyz answers 503
   * at once), let live calls run up to `drainMs`, or until `cut` resolves
   * (a second SIGTERM), then end the rest on both sides and stop.
   */
  async drainAndStop(drainMs: number, cut: Promise<void>): Promise<void> {
    this.calls.drain();
    const live = this.calls.liveCalls;
    this.#log.info({ live, drainS: drainMs / 1000 }, live === 0 ? 'draining: no live call' : 'draining: no new calls; live calls go on');
    if (live > 0) {
      const ended = await Promise.race([this.calls.callsEnded(drainMs), cut.then(() => false)]);
      if (!ended) this.#log.warn({ live: this.calls.liveCalls }, 'ending the calls still live');
    }
    await this.stop();
  }

  async start(): Promise<void> {
    if (this.#http) await this.#http.listen(this.#config.http.host, this.#config.http.port);
    this.calls.start();
    this.outbox.start();
    this.esl.start();
    this.verto.start();
    this.admission?.start();
    await this.matrix.start();
  }

  async stop(): Promise<void> {
    await this.calls.stop();
    // Sends not acknowledged within this stay in the store for the next start.
    const drained = await this.outbox.drained(3_000);
    if (!drained) this.#log.warn({ pending: this.outbox.pending }, 'Matrix sends not yet acknowledged are kept for the next start');
    this.outbox.stop();
    await Promise.allSettled([this.matrix.stop(), this.verto.stop(), this.esl.stop(), this.admission?.stop(), this.#http?.close()]);
    this.store.close();
  }
}
