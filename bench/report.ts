// What the benchmark prints: the figures, the targets, and the machine.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Family } from './prom-text.ts';
import type { Spread } from './timeline.ts';

const MB = 1024 * 1024;

export function machine(): string {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU';
  return `${availableParallelism()} cores (nproc), ${cpu}, node ${process.version}, ${process.platform} ${process.arch}`;
}

/** The edge's own view of a hop: count, mean, and the bucket bound under which 50% / 99% fall. */
export interface EdgeHop {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function edgeHop(metrics: ReadonlyMap<string, Family>, hop: string): EdgeHop {
  const samples = metrics.get('mse_setup_latency_seconds')?.samples.filter((s) => s.labels['hop'] === hop && s.labels['direction'] === 'outbound') ?? [];
  const count = samples.find((s) => s.name.endsWith('_count'))?.value ?? 0;
  const sum = samples.find((s) => s.name.endsWith('_sum'))?.value ?? 0;
  const buckets = samples.filter((s) => s.name.endsWith('_bucket')).map((s) => ({ le: Number(s.labels['le'] === '+Inf' ? Infinity : s.labels['le']), n: s.value }));
  const bound = (q: number) => (buckets.find((b) => b.n >= q * count)?.le ?? NaN) * 1000;
  return { count, meanMs: count > 0 ? (sum / count) * 1000 : NaN, p50Ms: bound(0.5), p99Ms: bound(0.99) };
}

export interface BenchFigures {
  readonly title: string;
  readonly setupsPerSecond: number;
  readonly answered: number;
  readonly failures: ReadonlyMap<string, number>;
  readonly skipped: number;
  readonly inviteHop: Spread;
  readonly answerHop: Spread;
  readonly edgeInvite: EdgeHop;
  readonly edgeAnswer: EdgeHop;
  readonly peakLive: number;
  readonly rss: { readonly start: number; readonly peak: number; readonly end: number };
  readonly heap: { readonly usedPeak: number; readonly totalPeak: number };
  readonly eventLoop: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly simulatorLoop: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly rate: number;
  readonly warmupCalls: number;
}

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(3)} ms` : '   n/a  ').padStart(10);
const row = (name: string, s: Spread) => `  ${name.padEnd(34)}${ms(s.p50)}${ms(s.p99)}${ms(s.max)}${String(s.n).padStart(7)}`;
const edgeRow = (name: string, e: EdgeHop) => `  ${name.padEnd(34)}${ms(e.meanMs)}  <=${ms(e.p50Ms)}  <=${ms(e.p99Ms)}${String(e.count).padStart(7)}`;

export function formatReport(f: BenchFigures): string {
  const perCall = f.peakLive > 0 ? (f.rss.peak - f.rss.start) / f.peakLive / 1024 : NaN;
  const failures = [...f.failures].map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
  const p99 = Math.max(f.inviteHop.p99, f.answerHop.p99);
  return [
    '',
    `matrix-sip-edge benchmark: ${f.title}`,
    `machine: ${machine()}`,
    '',
    `calls set up per second         ${f.setupsPerSecond.toFixed(1)}  (${f.answered} answered; failed: ${failures}; skipped at the concurrency cap: ${f.skipped})`,
    '',
    `latency the edge adds per hop, from the simulators' receive/send timestamps (after the first ${f.warmupCalls} calls)`,
    `  ${''.padEnd(34)}${'p50'.padStart(10)}${'p99'.padStart(10)}${'max'.padStart(10)}${'calls'.padStart(7)}`,
    row('Matrix invite -> Verto invite', f.inviteHop),
    row('Verto answer -> Matrix answer', f.answerHop),
    'the edge\'s own share (its mse_setup_latency_seconds histogram; bucket bounds)',
    `  ${''.padEnd(34)}${'mean'.padStart(10)}${'p50'.padStart(12)}${'p99'.padStart(12)}${'calls'.padStart(7)}`,
    edgeRow('Matrix invite -> Verto invite', f.edgeInvite),
    edgeRow('Verto answer -> Matrix answer', f.edgeAnswer),
    '',
    `peak live calls                 ${f.peakLive}`,
    `edge RSS                        start ${(f.rss.start / MB).toFixed(1)} MB, peak ${(f.rss.peak / MB).toFixed(1)} MB, end ${(f.rss.end / MB).toFixed(1)} MB; ${perCall.toFixed(1)} kB per live call`,
    `edge V8 heap                    peak used ${(f.heap.usedPeak / MB).toFixed(1)} MB, peak total ${(f.heap.totalPeak / MB).toFixed(1)} MB`,
    `edge event-loop delay           p50 ${f.eventLoop.p50Ms.toFixed(2)} ms, p99 ${f.eventLoop.p99Ms.toFixed(2)} ms, max ${f.eventLoop.maxMs.toFixed(2)} ms (p99: worst 1 s window)`,
    `simulators' event-loop delay    p50 ${f.simulatorLoop.p50Ms.toFixed(2)} ms, p99 ${f.simulatorLoop.p99Ms.toFixed(2)} ms, max ${f.simulatorLoop.maxMs.toFixed(2)} ms (the benchmark's process: homeserver + FreeSWITCH simulators)`,
    '',
    `target: p99 < 1 ms per hop at 100 set-ups/s      ${f.rate >= 100 && p99 < 1 ? 'met' : `not met (p99 ${p99.toFixed(3)} ms at ${f.rate}/s)`}`,
    `target: 2,000 live calls under 200 MB RSS          ${f.peakLive >= 2000 ? (f.rss.peak < 200 * MB ? 'met' : `not met (${(f.rss.peak / MB).toFixed(1)} MB)`) : `not reached (peak ${f.peakLive} live calls)`}`,
    '',
  ].join('\n');
}
