// What is sampled while calls run: the edge's RSS (/proc, every 100 ms), its
// /metrics (every second: live calls, V8 heap, event-loop delay), and this
// process's own event-loop delay (the simulators').
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BenchEdge } from './edge-process.ts';
import { sampleSum, sampleValue, type Family } from './prom-text.ts';

/** Both prom-client and monitorEventLoopDelay sample every 10 ms and report the interval: the delay is what exceeds it. */
const RESOLUTION_MS = 10;

export interface LoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

const median = (v: readonly number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? NaN;

export class Sampler {
  rssPeak = 0;
  livePeak = 0;
  heapUsedPeak = 0;
  heapTotalPeak = 0;
  readonly #loopP50: number[] = [];
  readonly #loopP99: number[] = [];
  #loopMax = 0;
  readonly #edge: BenchEdge;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #ownLoop = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  #scraping = false;

  constructor(edge: BenchEdge) {
    this.#edge = edge;
  }

  start(): void {
    this.rssPeak = this.#edge.rss();
    this.#ownLoop.enable();
    this.#timers.push(
      setInterval(() => {
        try {
          this.rssPeak = Math.max(this.rssPeak, this.#edge.rss());
        } catch {
          // the edge is gone; the run fails on its next step
        }
      }, 100),
      setInterval(() => {
        if (this.#scraping) return;
        this.#scraping = true;
        this.#edge.metrics().then(
          (m) => {
            this.record(m);
            this.#scraping = false;
          },
          () => (this.#scraping = false),
        );
      }, 1_000),
    );
  }

  stop(): void {
    for (const t of this.#timers.splice(0)) clearInterval(t);
    this.#ownLoop.disable();
  }

  /** One scrape of the edge's /metrics (prom-client resets its event-loop histogram at each). */
  record(m: ReadonlyMap<string, Family>): void {
    const lag = (q: string) => (sampleValue(m, `mse_process_nodejs_eventloop_lag_${q}_seconds`) ?? NaN) * 1000 - RESOLUTION_MS;
    const [p50, p99, max] = [lag('p50'), lag('p99'), lag('max')];
    if (Number.isFinite(p50)) this.#loopP50.push(p50);
    if (Number.isFinite(p99)) this.#loopP99.push(p99);
    if (Number.isFinite(max)) this.#loopMax = Math.max(this.#loopMax, max);
    this.livePeak = Math.max(this.livePeak, sampleSum(m, 'mse_calls_live'));
    this.heapUsedPeak = Math.max(this.heapUsedPeak, sampleValue(m, 'mse_process_nodejs_heap_size_used_bytes') ?? 0);
    this.heapTotalPeak = Math.max(this.heapTotalPeak, sampleValue(m, 'mse_process_nodejs_heap_size_total_bytes') ?? 0);
  }

  /** The edge's event-loop delay: median of the per-second p50s, worst per-second p99, overall max. */
  edgeLoop(): LoopDelay {
    return { p50Ms: median(this.#loopP50), p99Ms: Math.max(...this.#loopP99), maxMs: this.#loopMax };
  }

  /** This process's (the simulators') event-loop delay over the run. */
  ownLoop(): LoopDelay {
    const delay = (ns: number) => ns / 1e6 - RESOLUTION_MS;
    return { p50Ms: delay(this.#ownLoop.percentile(50)), p99Ms: delay(this.#ownLoop.percentile(99)), maxMs: delay(this.#ownLoop.max) };
  }
}
