// What the benchmark prints: the figures, the targets, and the machine.
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Family } from './prom-text.ts';
import type { BenchMode } from './options.ts';
import type { Spread } from './timeline.ts';
import type { InboundResult } from './inbound.ts';

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
  /** Offered calls neither set up nor refused: the edge never answered them. */
  readonly lost: number;
  readonly inviteHop: Spread;
  readonly answerHop: Spread;
  readonly edgeInvite: EdgeHop;
  readonly edgeAnswer: EdgeHop;
  readonly peakLive: number;
  readonly rss: { readonly start: number; readonly peak: number; readonly end: number };
  readonly heap: { readonly usedPeak: number; readonly totalPeak: number };
  readonly eventLoop: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly simulatorLoop: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  /** The edge's CPU time over the run: /proc/<pid>/stat (10 ms ticks) and prom-client's counter; the busy loop's share of the wall time with --starve. */
  readonly cpu: { readonly ms: number; readonly systemMs: number; readonly promMs: number; readonly wallMs: number; readonly loopShare: number | undefined };
  readonly traffic: Traffic;
  /** Share of the machine's CPU time the hypervisor gave to other guests during the run (/proc/stat steal). */
  readonly steal: number;
  /** Share of the machine's CPU time other processes on it used during the run (neither the edge, the simulators nor the busy loop). */
  readonly otherLoad: number;
  readonly rate: number;
  readonly warmupCalls: number;
}

/** The edge's Matrix traffic over the run, as the homeserver simulator saw it. */
export interface Traffic {
  /** Its /sync requests (bot mode). */
  readonly syncs: number;
  /** Its PUT /rooms/{room}/send requests. */
  readonly sends: number;
  readonly sendTypes: ReadonlyMap<string, number>;
  readonly otherRequests: number;
  /** Transactions pushed to it, retries included (appservice mode), and the events they carried. */
  readonly transactions: number;
  /** Attempts the edge did not answer 200 (the homeserver pushes them again). */
  readonly unacknowledged: number;
  readonly pushedEvents: number;
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
    `machine: ${machine()}; during the run ${(f.otherLoad * 100).toFixed(1)}% of its CPU time went to other processes on it, ${(f.steal * 100).toFixed(1)}% to other guests (hypervisor steal)`,
    '',
    `calls set up per second         ${f.setupsPerSecond.toFixed(1)}  (${f.answered} answered; failed: ${failures}; lost (never answered nor refused): ${f.lost}; skipped at the concurrency cap: ${f.skipped})`,
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
    `edge CPU time                   ${f.cpu.ms.toFixed(0)} ms (${f.cpu.systemMs.toFixed(0)} ms of it in the kernel) over ${(f.cpu.wallMs / 1000).toFixed(1)} s (${((f.cpu.ms / f.cpu.wallMs) * 100).toFixed(0)}% of one core; /proc/<pid>/stat; prom-client says ${f.cpu.promMs.toFixed(0)} ms); ${(f.cpu.ms / f.answered).toFixed(2)} ms per call set up${f.cpu.loopShare === undefined ? '' : `; the busy loop beside it: ${(f.cpu.loopShare * 100).toFixed(0)}% of its CPU`}`,
    `edge's Matrix traffic           ${f.traffic.syncs} /sync, ${f.traffic.sends} PUT /send (${[...f.traffic.sendTypes].map(([t, n]) => `${n} ${t}`).join(', ')}), ${f.traffic.otherRequests} other requests${f.traffic.transactions > 0 ? `; ${f.traffic.transactions} transactions pushed to it carrying ${f.traffic.pushedEvents} events (${(f.traffic.pushedEvents / f.traffic.transactions).toFixed(1)} per transaction), ${f.traffic.unacknowledged} not acknowledged (pushed again)` : ''}`,
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

/** One mode's figures for the side-by-side table. */
export interface ModeResult {
  readonly mode: BenchMode;
  /** The inbound phase, when it ran (bench/inbound.ts). */
  inbound?: InboundResult;
  /** With --starve: the edge's CPU, and the share of the wall time the busy loop beside it got. */
  readonly starve: { readonly cpu: number; readonly loopShare: number } | undefined;
  readonly rate: number;
  readonly offered: number;
  /** Answered: the edge's m.call.answer stored. */
  readonly setUp: number;
  /** Refused or ended by the edge before an answer. */
  readonly refused: number;
  /** Neither set up nor refused (the edge never answered the invite). */
  readonly lost: number;
  readonly skipped: number;
  /** Calls the edge still counted live 30 s after every call should have ended. */
  readonly leftLive: number;
  readonly inviteHop: Spread;
  readonly answerHop: Spread;
  /** m.call.invite stored -> the trunk leg created (its INVITE leaves). */
  readonly postDialHop: Spread;
  /** How the callers sent their candidates (complete offers, or matrix-js-sdk's 2 s batch). */
  readonly candidates: 'complete' | 'jssdk';
  /** The edge process's CPU time over the run, ms (/proc/<pid>/stat utime + stime). */
  readonly edgeCpuMs: number;
  /** The same from prom-client's process_cpu_seconds_total (process.cpuUsage). */
  readonly edgeCpuMsProm: number;
  /** The kernel-mode part of edgeCpuMs (stime: socket and log writes, loopback TCP). */
  readonly edgeSystemCpuMs: number;
  readonly wallMs: number;
  readonly rss: { readonly start: number; readonly peak: number; readonly end: number };
  readonly peakLive: number;
  readonly traffic: Traffic;
  /** Share of the machine's CPU time stolen by the hypervisor during the run. */
  readonly steal: number;
  /** Share of the machine's CPU time other processes on it used during the run. */
  readonly otherLoad: number;
}

const HOP_TARGET_MS = 10;
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const count = (n: number) => n.toLocaleString('en-US');
const cpuPerCall = (r: ModeResult) => r.edgeCpuMs / r.setUp;
const rssPerLive = (r: ModeResult) => (r.peakLive > 0 ? (r.rss.peak - r.rss.start) / r.peakLive / 1024 : NaN);

/** The side-by-side table (Markdown), a row per mode, and the targets of issue 11. */
export function formatComparison(results: readonly ModeResult[]): string {
  const lines = [
    '',
    `matrix-sip-edge benchmark, modes side by side: ${results.map((r) => r.mode).join(', ')}${results.some((r) => r.starve !== undefined) ? ' (--starve)' : ''}`,
    `machine: ${machine()}`,
    '',
    '| mode | --starve | candidates | calls set up / offered | post-dial (invite stored -> trunk INVITE) p50 / p99 | invite hop p50 / p99 | answer hop p50 / p99 | edge CPU per call | RSS per live call | peak live | other load on the machine |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map((r) =>
      [
        '',
        r.mode,
        r.starve === undefined ? 'no' : `yes (CPU ${r.starve.cpu}, busy loop got ${(r.starve.loopShare * 100).toFixed(0)}%)`,
        r.candidates === 'jssdk' ? "matrix-js-sdk's 2 s batch" : 'complete offer',
        `${count(r.setUp)} / ${count(r.offered)}${r.lost > 0 ? ` (${count(r.lost)} lost)` : ''}${r.refused > 0 ? ` (${count(r.refused)} refused)` : ''}${r.skipped > 0 ? ` (${count(r.skipped)} skipped)` : ''}`,
        `${f2(r.postDialHop.p50)} / ${f2(r.postDialHop.p99)} ms`,
        `${f2(r.inviteHop.p50)} / ${f2(r.inviteHop.p99)} ms`,
        `${f2(r.answerHop.p50)} / ${f2(r.answerHop.p99)} ms`,
        `${f2(cpuPerCall(r))} ms (${f2(r.edgeSystemCpuMs / r.setUp)} in the kernel)`,
        `${rssPerLive(r).toFixed(1)} kB`,
        count(r.peakLive),
        `${(r.otherLoad * 100).toFixed(0)}% other processes, ${(r.steal * 100).toFixed(1)}% steal`,
        '',
      ].join(' | ').trim(),
    ),
    '',
    ...(results.some((r) => r.inbound !== undefined)
      ? [
          '| mode | inbound answer timing | calls answered / placed | ring (verto.invite sent -> m.call.invite stored) p50 / p99 | answer (answer complete at the homeserver -> verto.answer received) p50 / p99 |',
          '|---|---|---|---|---|',
          ...results.flatMap((r) =>
            r.inbound === undefined
              ? []
              : [
                  `| ${r.mode} | ${r.inbound.candidates === 'jssdk' ? "matrix-js-sdk's batch 500 ms after the answer" : 'complete answer'} | ${count(r.inbound.answered)} / ${count(r.inbound.placed)} | ${f2(r.inbound.ring.p50)} / ${f2(r.inbound.ring.p99)} ms | ${f2(r.inbound.answer.p50)} / ${f2(r.inbound.answer.p99)} ms |`,
                ],
          ),
          '',
        ]
      : []),
    'post-dial: Matrix invite stored -> the trunk leg created (its SIP INVITE leaves); hops: Matrix invite stored -> verto.invite received; verto.media (or verto.answer) sent -> Matrix answer stored (after the warm-up calls).',
    'edge CPU per call: the edge process\'s utime + stime (/proc/<pid>/stat) from the first set-up until every call ended, / calls set up.',
    'RSS per live call: (peak RSS - RSS at the start) / peak live calls.',
    'other load: the share of the machine\'s CPU time used by processes other than the edge, the simulators and the busy loop, and stolen by the hypervisor, during the run.',
    '',
  ];
  for (const r of results) {
    // with matrix-js-sdk's timing the invite hop is the client's own 2 s wait for end-of-candidates: the post-dial hop is the edge's first one then
    const p99 = Math.max(r.candidates === 'jssdk' ? r.postDialHop.p99 : r.inviteHop.p99, r.answerHop.p99);
    const all = r.setUp === r.offered && r.skipped === 0;
    lines.push(`[${r.mode}] every call offered set up: ${all ? 'yes' : `NO (${count(r.setUp)} of ${count(r.offered)}; ${count(r.lost)} lost, ${count(r.refused)} refused, ${count(r.skipped)} skipped)`}${r.leftLive > 0 ? `; ${r.leftLive} calls still live in the edge at the end` : ''}`);
    lines.push(`[${r.mode}] target: p99 < ${HOP_TARGET_MS} ms per hop at 100 set-ups/s: ${r.rate < 100 ? `not measured (rate ${r.rate}/s)` : p99 < HOP_TARGET_MS ? `met (p99 ${f2(p99)} ms)` : `NOT met (p99 ${f2(p99)} ms)`}`);
  }
  const bot = results.find((r) => r.mode === 'bot');
  const as = results.find((r) => r.mode === 'appservice');
  if (bot !== undefined && as !== undefined) {
    const ratio = cpuPerCall(as) / cpuPerCall(bot);
    lines.push(`target: appservice CPU per call at most half of bot mode's: ${ratio <= 0.5 ? 'met' : 'NOT met'} (${f2(cpuPerCall(as))} vs ${f2(cpuPerCall(bot))} ms: ${(ratio * 100).toFixed(0)}%)`);
  }
  lines.push('');
  return lines.join('\n');
}
