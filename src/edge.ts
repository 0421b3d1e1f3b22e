import type { EdgeConfig } from './config/load.ts';
import type { Logger } from './log/logger.ts';
import { EslClient, eslOptionsFrom } from './esl/client.ts';
import { VertoClient, vertoOptionsFrom } from './verto/client.ts';
import { MatrixBot } from './matrix/client.ts';
import type { ConnectionState } from './net/connection-state.ts';
import { CallManager } from './calls/call-manager.ts';
import { HttpServer } from './http/server.ts';
import { Metrics } from './http/metrics.ts';

export type Peer = 'esl' | 'verto' | 'matrix';

/**
 * The running edge: its three connections, the calls between them, and
 * the health/metrics endpoint. Owns every socket and timer it starts;
 * stop() releases them all.
 */
export class Edge {
  readonly esl: EslClient;
  readonly verto: VertoClient;
  readonly matrix: MatrixBot;
  readonly calls: CallManager;
  readonly metrics: Metrics;
  readonly #http: HttpServer | undefined;
  readonly #config: EdgeConfig;
  readonly #log: Logger;

  constructor(config: EdgeConfig, log: Logger) {
    this.#config = config;
    this.#log = log;
    this.esl = new EslClient(eslOptionsFrom(config.esl, log, true));
    this.verto = new VertoClient(vertoOptionsFrom(config.verto, log, true));
    this.matrix = new MatrixBot({
      homeserverUrl: config.matrix.homeserver_url,
      userId: config.matrix.user_id,
      accessToken: config.matrix.accessToken,
      password: config.matrix.password,
      deviceId: config.matrix.device_id,
      requestTimeoutMs: config.matrix.request_timeout_ms,
      syncTimeoutMs: config.matrix.sync_timeout_ms,
      logger: log,
    });
    this.calls = new CallManager(config, { matrix: this.matrix, verto: this.verto, esl: this.esl }, log);
    this.metrics = new Metrics(() => this.calls.stats(), () => this.states());
    this.calls.onMilestone((m) => this.metrics.milestone(m));
    this.#http = config.http.enabled ? new HttpServer({ ready: () => this.ready() }, this.metrics, log) : undefined;
    const report = (peer: Peer) => (state: ConnectionState, reason: string | undefined) => {
      if (state === 'reconnecting') this.metrics.reconnects.inc({ peer });
      this.#log.info({ peer, state, ...(reason === undefined ? {} : { reason }) }, `${peer} ${state}`);
    };
    this.esl.onState(report('esl'));
    this.verto.onState(report('verto'));
    this.matrix.onState(report('matrix'));
  }

  states(): Record<Peer, ConnectionState> {
    return { esl: this.esl.state, verto: this.verto.state, matrix: this.matrix.state };
  }

  ready(): { ready: boolean; peers: Record<string, string> } {
    const peers = this.states();
    return { ready: Object.values(peers).every((s) => s === 'connected'), peers };
  }

  async start(): Promise<void> {
    if (this.#http) await this.#http.listen(this.#config.http.host, this.#config.http.port);
    this.calls.start();
    this.esl.start();
    this.verto.start();
    await this.matrix.start();
  }

  async stop(): Promise<void> {
    await this.calls.stop();
    await Promise.allSettled([this.matrix.stop(), this.verto.stop(), this.esl.stop(), this.#http?.close()]);
  }
}
