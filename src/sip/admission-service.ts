// SIP admission through drachtio-server: every INVITE and OPTIONS a trunk
// sends reaches the edge first. OPTIONS from a trunk get 200. INVITEs are
// judged in the order they arrive (AdmissionPolicy), answered at once
// (403 / 400 / 404 / 503 + Retry-After / 486 or 503) or dropped, and
// counted; an accepted call is proxied (record-routed) to FreeSWITCH's
// public context with the decision in X-MSE-Route, which no admitted INVITE
// carries already (refused 400: drachtio-server would add the edge's copy
// after the trunk's, not replace it). A proxied call holds a slot of
// its trunk until FreeSWITCH says it ended (callEnded, from ESL), the
// proxy fails, or the longest call duration passes.
import type { EdgeConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import type { ConnectionState } from '../net/connection-state.ts';
import { AdmissionPolicy, DECISION_HEADER } from './admission-policy.ts';
import type { AdmissionCounter } from './admission-metrics.ts';
import { DrachtioLink, SECRET_KEY } from './drachtio-link.ts';
import { wrapRequest, type IncomingRequest } from './incoming-request.ts';
import type { SrfInstance } from './srf.ts';

export class AdmissionService {
  readonly #config: EdgeConfig;
  readonly #log: Logger;
  readonly #counter: AdmissionCounter | undefined;
  readonly #policy: AdmissionPolicy;
  readonly #link: DrachtioLink;
  readonly #setupTimers = new Set<NodeJS.Timeout>();
  readonly #setupTimeoutMs: number;

  constructor(config: EdgeConfig, log: Logger, counter?: AdmissionCounter) {
    const secret = config.sip.drachtio.secret;
    if (secret === undefined) throw new Error(`${SECRET_KEY} is required for SIP admission`);
    this.#config = config;
    this.#log = log.child({ component: 'sip-admission' });
    this.#counter = counter;
    this.#policy = new AdmissionPolicy(config);
    // FreeSWITCH answers a proxied INVITE when Matrix answers (ring timeout) or fails it; past that, the slot is freed
    this.#setupTimeoutMs = (config.inbound.ring_timeout_s + 60) * 1000;
    const d = config.sip.drachtio;
    this.#link = new DrachtioLink({
      host: d.host,
      port: d.port,
      secret,
      connectTimeoutMs: d.connect_timeout_ms,
      backoff: { initialDelayMs: d.reconnect.initial_delay_ms, maxDelayMs: d.reconnect.max_delay_ms },
      log,
      onRequest: (method, srf, req, res) => this.#onRequest(method, srf, req, res),
    });
  }

  get state(): ConnectionState {
    return this.#link.state;
  }

  onState(fn: (state: ConnectionState, reason: string | undefined) => void): () => void {
    return this.#link.onState(fn);
  }

  onFatal(fn: (message: string) => void): () => void {
    return this.#link.onFatal(fn);
  }

  /** Calls in progress per trunk are counted by Call-ID; FreeSWITCH reported this one ended. */
  callEnded(callId: string): void {
    if (this.#policy.calls.release(callId)) this.#log.debug({ callId }, 'proxied call ended; trunk slot freed');
  }

  /** Calls counted against their trunks now. */
  get liveCalls(): number {
    return this.#policy.calls.size;
  }

  start(): void {
    this.#link.start();
  }

  async stop(): Promise<void> {
    for (const t of this.#setupTimers) clearTimeout(t);
    this.#setupTimers.clear();
    await this.#link.stop();
  }

  #onRequest(method: 'INVITE' | 'OPTIONS', srf: SrfInstance, req: unknown, res: unknown): void {
    const wrapped = wrapRequest(srf, req, res);
    if (!wrapped.ok) {
      this.#log.warn({ method, reason: wrapped.reason }, 'unusable request from drachtio-server; not answered');
      this.#counter?.inc({ method, outcome: 'malformed' });
      return;
    }
    const r = wrapped.request;
    try {
      if (method === 'OPTIONS') this.#onOptions(r);
      else this.#onInvite(r);
    } catch (err) {
      this.#log.error({ method, callId: r.callId, err: (err as Error).message }, 'error while answering a SIP request');
    }
  }

  #onOptions(r: IncomingRequest): void {
    const trunk = this.#policy.trunkOf(r.sourceAddress);
    const status = trunk === undefined ? 403 : 200;
    r.respond(status);
    this.#counter?.inc({ method: 'OPTIONS', outcome: trunk === undefined ? 'forbidden_source' : 'accepted' });
    this.#log.debug({ source: r.sourceAddress, trunk: trunk?.name, status }, 'OPTIONS answered');
  }

  #onInvite(r: IncomingRequest): void {
    const decision = this.#policy.decide(r, Date.now());
    this.#counter?.inc({ method: 'INVITE', outcome: decision.outcome });
    const facts = { callId: r.callId, source: `${r.sourceAddress}:${r.sourcePort}`, userAgent: r.userAgent, dialled: r.requestUser, outcome: decision.outcome };
    switch (decision.kind) {
      case 'reject':
        this.#log.info({ ...facts, status: decision.status, reason: decision.reason }, `INVITE refused (${decision.status})`);
        r.respond(decision.status, decision.headers);
        return;
      case 'drop':
        this.#log.info({ ...facts, reason: decision.reason }, 'INVITE dropped (scanner)');
        r.forget();
        return;
      case 'proxy':
        this.#log.info({ ...facts, trunk: decision.trunk.name, did: decision.did, route: decision.routeId }, 'INVITE accepted; proxied to FreeSWITCH');
        this.#proxy(r, decision.routeId);
    }
  }

  #proxy(r: IncomingRequest, routeId: string): void {
    const fs = this.#config.sip.freeswitch;
    const user = r.requestUser ?? '';
    const destination = `sip:${user}@${fs.host}:${fs.port}${fs.transport === 'tcp' ? ';transport=tcp' : ''}`;
    const timer = setTimeout(() => {
      this.#setupTimers.delete(timer);
      if (this.#policy.calls.release(r.callId)) this.#log.warn({ callId: r.callId }, 'no final answer to a proxied INVITE in time; trunk slot freed');
    }, this.#setupTimeoutMs);
    this.#setupTimers.add(timer);
    const done = () => {
      clearTimeout(timer);
      this.#setupTimers.delete(timer);
    };
    r.proxy(destination, { [DECISION_HEADER]: routeId }).then(
      (outcome) => {
        done();
        if (!outcome.connected) this.#policy.calls.release(r.callId);
        this.#log.info({ callId: r.callId, finalStatus: outcome.finalStatus, connected: outcome.connected }, 'proxied INVITE answered');
      },
      (err: unknown) => {
        done();
        this.#policy.calls.release(r.callId);
        this.#log.warn({ callId: r.callId, err: (err as Error).message }, 'drachtio-server could not proxy the INVITE');
      },
    );
  }
}
