import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallStats } from '../calls/call-manager.ts';

/** Prometheus metrics, on a registry of this edge's own (no global state). */
export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly connectionUp: Gauge<'peer'>;
  readonly reconnects: Counter<'peer'>;

  constructor(calls: () => CallStats, peers: () => Record<string, string>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'mse_process_' });
    new Gauge({
      name: 'mse_calls_live',
      help: 'Calls in progress',
      registers: [this.registry],
      collect() {
        this.set(calls().live);
      },
    });
    new Gauge({
      name: 'mse_calls_ended',
      help: 'Calls ended since start, by Matrix reason and FreeSWITCH cause',
      labelNames: ['reason', 'cause'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [key, n] of calls().outcomes) {
          const [reason = '', cause = ''] = key.split(':');
          this.set({ reason, cause }, n);
        }
      },
    });
    new Gauge({
      name: 'mse_calls_refused',
      help: 'Calls refused since start, by reason',
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [reason, n] of calls().refusals) this.set({ reason }, n);
      },
    });
    new Gauge({
      name: 'mse_late_candidates',
      help: 'Trickled candidates that arrived after the offer went to FreeSWITCH',
      registers: [this.registry],
      collect() {
        this.set(calls().lateCandidates);
      },
    });
    this.connectionUp = new Gauge({
      name: 'mse_connection_up',
      help: '1 when the connection to the peer is up',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        for (const [peer, state] of Object.entries(peers())) this.set({ peer }, state === 'connected' ? 1 : 0);
      },
    });
    this.reconnects = new Counter({ name: 'mse_reconnects_total', help: 'Connections lost and re-attempted', labelNames: ['peer'], registers: [this.registry] });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
