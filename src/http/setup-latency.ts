import { Histogram, type Registry } from 'prom-client';

/** A set-up milestone as the call manager reports it (performance.now() in ms). */
export interface MilestoneLike {
  readonly callId: string;
  readonly direction: string;
  readonly kind: string;
  readonly at: number;
}

/**
 * The hops whose latency is measured: from the milestone where a message
 * reaches the edge to the one where the edge has passed it on. Outbound:
 * Matrix invite -> Verto invite, Verto answer -> Matrix answer; inbound the
 * mirror image.
 */
const HOPS: ReadonlyArray<{ readonly hop: string; readonly from: string; readonly to: string }> = [
  { hop: 'matrix_invite_to_verto_invite', from: 'matrix_invite_received', to: 'verto_invite_sent' },
  { hop: 'verto_answer_to_matrix_answer', from: 'verto_answer_received', to: 'matrix_answer_sent' },
  { hop: 'verto_invite_to_matrix_invite', from: 'verto_invite_received', to: 'matrix_invite_sent' },
  { hop: 'matrix_answer_to_verto_answer', from: 'matrix_answer_received', to: 'verto_answer_sent' },
];
const HOP_BY_START = new Map(HOPS.map((h) => [h.from, h]));
const HOP_BY_END = new Map(HOPS.map((h) => [h.to, h]));

/** Fine buckets: the edge's own work on a hop is well under a millisecond. */
export const SETUP_LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Hops started and not finished are forgotten past this many (a call that ended half-way never finishes its hop). */
const MAX_OPEN_HOPS = 20_000;
/** ... or past this age (ms). */
const MAX_OPEN_AGE_MS = 10 * 60_000;

/** mse_setup_latency_seconds{hop, direction}, fed by the call manager's milestones. */
export class SetupLatency {
  readonly #histogram: Histogram<'hop' | 'direction'>;
  /** Open hops by `${callId}\0${hop}`, in insertion (= time) order. */
  readonly #open = new Map<string, number>();

  constructor(registry: Registry) {
    this.#histogram = new Histogram({
      name: 'mse_setup_latency_seconds',
      help: 'Time the edge takes to pass a call set-up message on, per hop (from the milestone where it arrived to the one where it was sent)',
      labelNames: ['hop', 'direction'],
      buckets: SETUP_LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  observe(m: MilestoneLike): void {
    const start = HOP_BY_START.get(m.kind);
    if (start !== undefined) {
      this.#prune(m.at);
      this.#open.set(`${m.callId}\0${start.hop}`, m.at);
      return;
    }
    const end = HOP_BY_END.get(m.kind);
    if (end === undefined) return;
    const key = `${m.callId}\0${end.hop}`;
    const from = this.#open.get(key);
    if (from === undefined) return;
    this.#open.delete(key);
    this.#histogram.observe({ hop: end.hop, direction: m.direction }, Math.max(0, m.at - from) / 1000);
  }

  /** Open hops (for tests and the bench). */
  get open(): number {
    return this.#open.size;
  }

  #prune(now: number): void {
    for (const [key, at] of this.#open) {
      if (this.#open.size < MAX_OPEN_HOPS && now - at < MAX_OPEN_AGE_MS) break;
      this.#open.delete(key);
    }
  }
}
