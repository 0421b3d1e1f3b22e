import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { SetupLatency, type MilestoneLike } from './setup-latency.ts';
import { TIMELINE_KEEP_EVENTS } from '../matrix/timeline-trim.ts';

export type Direction = 'outbound' | 'inbound';
const DIRECTIONS: readonly Direction[] = ['outbound', 'inbound'];

/** What the call manager counts (its `stats()`). */
export interface CallCounts {
  readonly live: number;
  /** Live calls per direction, when the call manager counts them; otherwise every live call is outbound. */
  readonly liveByDirection?: Readonly<Record<Direction, number>>;
  /** Ended calls by `${reason}:${cause}`. */
  readonly outcomes: ReadonlyMap<string, number>;
  readonly refusals: ReadonlyMap<string, number>;
  readonly lateCandidates: number;
  /** What the call manager holds, by kind (leak detection: all 0 when idle). */
  readonly held?: Readonly<Record<string, number>>;
}

/** What the Matrix client holds of room history (MatrixBot.timelineStats()). */
export interface TimelineCounts {
  readonly retained: number;
  readonly dropped: number;
  readonly encrypted: number;
  readonly gaps: number;
  /** Of those, gaps paged back over with /messages, and gaps that could not be (failed, deadline, page cap). */
  readonly gapsFilled?: number;
  readonly gapsUnfilled?: number;
  /** Room events delivered from back-filled gaps. */
  readonly backfilledEvents?: number;
  /** Appservice mode: transactions handled, transactions delivered again (acknowledged, not handled twice), events they carried. */
  readonly transactions?: number;
  readonly duplicateTransactions?: number;
  readonly pushedEvents?: number;
}

/** A gauge without labels whose value is read at each scrape. */
function readGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
}

/** A counter without labels whose running total is kept elsewhere and read at each scrape. */
function readTotal(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
}

/** What the state store and the Matrix outbox hold. */
export interface DurableCounts {
  readonly storedCalls: number;
  readonly outboxPending: number;
  readonly outboxRefused: number;
  readonly outboxRetries: number;
}

/**
 * Prometheus metrics, on a registry of this edge's own (no global state).
 * Every name starts with mse_; the process metrics (CPU, memory, event-loop
 * delay: mse_process_nodejs_eventloop_lag_*) come from prom-client.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly contentType = this.registry.contentType;
  readonly connectionUp: Gauge<'peer'>;
  readonly reconnects: Counter<'peer'>;
  readonly #setupLatency: SetupLatency;

  constructor(
    calls: () => CallCounts,
    peers: () => Record<string, string>,
    timelines: () => TimelineCounts = () => ({ retained: 0, dropped: 0, encrypted: 0, gaps: 0 }),
    durable: () => DurableCounts = () => ({ storedCalls: 0, outboxPending: 0, outboxRefused: 0, outboxRetries: 0 }),
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'mse_process_' });
    new Gauge({
      name: 'mse_calls_live',
      help: 'Calls in progress, by direction',
      labelNames: ['direction'],
      registers: [this.registry],
      collect() {
        const stats = calls();
        for (const direction of DIRECTIONS) {
          const n = stats.liveByDirection?.[direction] ?? (direction === 'outbound' ? stats.live : 0);
          this.set({ direction }, n);
        }
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
    readGauge(this.registry, 'mse_late_candidates', 'Trickled candidates that arrived after the offer went to FreeSWITCH', () => calls().lateCandidates);
    new Gauge({
      name: 'mse_calls_held',
      help: 'What the call manager holds, by kind: index entries, per-user live counts, pending call timers (all 0 when no call is in progress; a value that stays up is a leak)',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        for (const [kind, n] of Object.entries(calls().held ?? {})) this.set({ kind }, n);
      },
    });
    readGauge(this.registry, 'mse_process_active_timers', 'Timers pending in the process (process.getActiveResourcesInfo())', () =>
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
    );
    readGauge(this.registry, 'mse_process_active_sockets', 'Sockets open in the process (process.getActiveResourcesInfo(): TCP, pipes)', () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPWrap' || r === 'PipeWrap' || r === 'TLSWrap').length,
    );
    readGauge(this.registry, 'mse_state_calls', 'Live calls kept in the state store (0 when no call is in progress)', () => durable().storedCalls);
    readGauge(this.registry, 'mse_matrix_outbox_pending', 'Matrix sends kept until the homeserver acknowledges them', () => durable().outboxPending);
    readTotal(this.registry, 'mse_matrix_outbox_refused_total', 'Matrix sends the homeserver refused for good (dropped)', () => durable().outboxRefused);
    readTotal(this.registry, 'mse_matrix_outbox_retries_total', 'Matrix sends tried again with the same transaction id', () => durable().outboxRetries);
    readGauge(this.registry, 'mse_matrix_timeline_events', `Room events the Matrix client holds in memory (live timelines, trimmed once a room holds more than ${TIMELINE_KEEP_EVENTS})`, () => timelines().retained);
    readTotal(this.registry, 'mse_matrix_timeline_events_dropped_total', 'Room events dropped from memory after they were handled', () => timelines().dropped);
    readTotal(this.registry, 'mse_matrix_encrypted_events_total', 'Encrypted room events the edge could not read (it has no end-to-end encryption; each room is told once)', () => timelines().encrypted);
    readTotal(this.registry, 'mse_matrix_sync_gaps_total', 'Syncs that skipped events in a room (limited timeline); bot mode pages back over each (see the _filled and _unfilled totals)', () => timelines().gaps);
    readTotal(this.registry, 'mse_matrix_sync_gaps_filled_total', 'Gaps a sync left that the edge paged back over (GET /messages) and delivered', () => timelines().gapsFilled ?? 0);
    readTotal(this.registry, 'mse_matrix_sync_gaps_unfilled_total', 'Gaps a sync left that could not be filled (errors past the deadline, page cap): call events in them may not have been seen', () => timelines().gapsUnfilled ?? 0);
    readTotal(this.registry, 'mse_matrix_backfilled_events_total', 'Room events delivered from back-filled gaps', () => timelines().backfilledEvents ?? 0);
    readTotal(this.registry, 'mse_appservice_transactions_total', 'Appservice mode: transactions the homeserver pushed that the edge handled', () => timelines().transactions ?? 0);
    readTotal(this.registry, 'mse_appservice_transactions_duplicate_total', 'Appservice mode: transactions delivered again (retries of acknowledged ones): acknowledged, not handled twice', () => timelines().duplicateTransactions ?? 0);
    readTotal(this.registry, 'mse_appservice_events_total', 'Appservice mode: events in the transactions handled', () => timelines().pushedEvents ?? 0);
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
    this.#setupLatency = new SetupLatency(this.registry);
  }

  /** A call set-up milestone (CallManager.onMilestone): feeds mse_setup_latency_seconds. */
  milestone(m: MilestoneLike): void {
    this.#setupLatency.observe(m);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
