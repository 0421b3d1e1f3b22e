// npm run bench [-- --mode bot|appservice|both --starve --rate 100 --duration 20 --hold 22 --concurrency 2500]
//
// Many concurrent simulated calls through the built edge (dist/src/main.js,
// its own process) over real sockets: the homeserver simulator (in bot mode
// the edge long-polls /sync and PUTs its events; in appservice mode the
// homeserver pushes transactions to the edge, which sends as its ghosts) and
// the FreeSWITCH simulator (ESL and mod_verto), both in this process. Each
// mode runs with a fresh edge and fresh simulators, one after the other
// (default: both). Prints per mode calls set up per second, the latency the
// edge adds on each hop measured from the simulators' own receive/send
// timestamps, peak live calls, the edge's CPU time per call, RSS and
// event-loop delay; then one table with a row per mode. --starve pins the
// edge to one CPU with a busy loop beside it. Not a test: it asserts nothing
// and is not part of `npm test`.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pollUntil } from '../test/support/wait.ts';
import { CallDriver, PER_USER_CALLS } from './driver.ts';
import { InboundDriver, type InboundResult } from './inbound.ts';
import { BenchEdge } from './edge-process.ts';
import { parseBenchOptions, USAGE, type BenchMode, type BenchOptions } from './options.ts';
import { sampleSum, sampleValue } from './prom-text.ts';
import { edgeHop, formatComparison, formatReport, type ModeResult } from './report.ts';
import { Sampler } from './sampler.ts';
import { startBenchStack, type BenchStack } from './setup.ts';
import type { BenchStackHooks } from './stack.ts';
import { allowedCpus, machineCpu, Starver } from './starve.ts';

const REPO = resolve(import.meta.dirname, '..');

/** After the last set-up and the hold, how long without any call finishing before the rest are counted as lost. */
const STALL_MS = 10_000;

/** Start the calls due at the fixed rate, at every 2 ms tick, until `total` were started. */
function placeAtRate(driver: CallDriver, total: number, rate: number): Promise<void> {
  const t0 = performance.now();
  let due = 0;
  return new Promise<void>((done, fail) => {
    const tick = setInterval(() => {
      try {
        const target = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
        for (; due < target; due++) driver.place();
        if (due >= total) {
          clearInterval(tick);
          done();
        }
      } catch (err) {
        clearInterval(tick);
        fail(err as Error);
      }
    }, 2);
  });
}

/** Every call finished (answered, held, hung up; or refused) or, once nothing moves any more after the hold, the rest left as lost. */
async function settle(driver: CallDriver, holdMs: number): Promise<void> {
  const holdEnds = Date.now() + holdMs + 5_000;
  let last = '';
  let movedAt = Date.now();
  await pollUntil(
    () => {
      const progress = `${driver.finished} ${driver.live}`;
      if (progress !== last) {
        last = progress;
        movedAt = Date.now();
      }
      return driver.finished >= driver.placed || (Date.now() > holdEnds && Date.now() - movedAt > STALL_MS);
    },
    'every call answered, held and hung up (or refused), or nothing moving',
    holdMs + 180_000,
    50,
  );
}

/** The inbound phase: its calls at their rate, then until every one ended (bounded), and its figures printed. */
async function runInbound(phase: InboundDriver, opts: BenchOptions, mode: BenchMode): Promise<InboundResult> {
  process.stdout.write(`[${mode}] inbound: ${opts.inbound} trunk calls at ${opts.inboundRate}/s, answered in a room (${opts.candidates === 'jssdk' ? "matrix-js-sdk's answer batch 500 ms after the answer" : 'complete answers'}), held 1 s\n`);
  const t0 = performance.now();
  await new Promise<void>((done) => {
    const tick = setInterval(() => {
      const due = Math.min(opts.inbound, Math.floor(((performance.now() - t0) / 1000) * opts.inboundRate) + 1);
      while (phase.placed < due) phase.place();
      if (phase.placed >= opts.inbound) {
        clearInterval(tick);
        done();
      }
    }, 2);
  });
  await pollUntil(() => phase.ended >= phase.placed, 'every inbound call ended', 60_000, 50).catch(() => undefined);
  const r = phase.result();
  process.stdout.write(
    `[${mode}] inbound: ${r.answered} of ${r.placed} answered; ring (verto.invite sent -> m.call.invite stored) p50 ${r.ring.p50.toFixed(2)} / p99 ${r.ring.p99.toFixed(2)} ms; answer (answer complete at the homeserver -> verto.answer received) p50 ${r.answer.p50.toFixed(2)} / p99 ${r.answer.p99.toFixed(2)} ms\n`,
  );
  return r;
}

/** One mode: fresh simulators, a fresh edge (pinned beside a busy loop with --starve), the calls at the fixed rate, the figures. */
async function runMode(mode: BenchMode, opts: BenchOptions): Promise<ModeResult> {
  const total = Math.round(opts.rate * opts.durationS);
  const users = Math.max(1, Math.ceil(Math.min(opts.concurrency, total) / (PER_USER_CALLS * 0.8)));
  // The edge's config, state, log and CPU profile: a fresh directory outside the repository.
  const dir = mkdtempSync(join(tmpdir(), `mse-bench-${mode}-`));
  let driver: CallDriver | undefined;
  let inbound: InboundDriver | undefined;
  const hooks: BenchStackHooks = {
    onVertoFrame: (d, t) => {
      driver?.onVertoFrame(d, t);
      inbound?.onVertoFrame(d, t);
    },
    onEventStored: (e) => {
      driver?.onEventStored(e);
      inbound?.onEventStored(e);
    },
    onTrunkLeg: (id) => driver?.onTrunkLeg(id),
  };
  const stack: BenchStack = await startBenchStack(mode, dir, hooks, opts, users, REPO);
  let starver: Starver | undefined;
  let edge: BenchEdge | undefined;
  let sampler: Sampler | undefined;
  try {
    starver = opts.starve ? Starver.start() : undefined;
    const profile = opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
    const running = new BenchEdge(REPO, stack.configPath, join(dir, 'edge.log'), stack.httpPort, [...opts.nodeArgs, ...profile], starver?.pin ?? []);
    edge = running;
    await pollUntil(async () => (await running.get('/readyz')).status === 200, 'the edge ready', 30_000, 50);
    const callers = await stack.openRooms();
    const pinned = starver === undefined ? '' : `; pinned to CPU ${allowedCpus(running.child.pid!).join(',')} beside a busy loop (pid ${starver.pid})`;
    process.stdout.write(`\n[${mode}] edge ready (pid ${running.child.pid}${pinned}), ${users} callers; ${total} calls at ${opts.rate}/s for ${opts.durationS} s, hold ${opts.holdS} s\n`);
    const calls = new CallDriver(stack.hs, stack.isEdgeUser, callers, opts.holdS * 1000, opts.concurrency, opts.candidates);
    driver = calls;
    const rssStart = running.rss();
    const first = await running.metrics(); // resets prom-client's event-loop histogram: the figures cover the run only
    const cpuStart = running.cpuTimes();
    const promCpuStart = sampleValue(first, 'mse_process_process_cpu_seconds_total') ?? NaN;
    const loopCpuStart = starver?.cpuMs() ?? NaN;
    const wallStart = performance.now();
    const machineStart = machineCpu();
    const ownCpuStart = process.cpuUsage();
    const requestsStart = stack.hs.requests().length;
    const pushedStart = mode === 'appservice' ? stack.hs.transactions().length : 0;
    sampler = new Sampler(running);
    sampler.start();
    const t0 = performance.now();
    await placeAtRate(calls, total, opts.rate);
    process.stdout.write(`[${mode}] all ${total} set-ups started in ${((performance.now() - t0) / 1000).toFixed(1)} s; holding\n`);
    await settle(calls, opts.holdS * 1000);
    let leftLive = 0;
    try {
      await pollUntil(async () => sampleSum(await running.metrics(), 'mse_calls_live') === 0 && stack.model.channels().length === 0, 'no live call left in the edge or FreeSWITCH', 30_000, 100);
    } catch {
      leftLive = sampleSum(await running.metrics(), 'mse_calls_live');
    }
    sampler.stop();
    const final = await running.metrics();
    const cpuEnd = running.cpuTimes();
    const wallMs = performance.now() - wallStart;
    const machineEnd = machineCpu();
    const ownCpu = process.cpuUsage(ownCpuStart);
    const loopCpuMs = starver === undefined ? 0 : starver.cpuMs() - loopCpuStart;
    sampler.record(final);
    const rssEnd = running.rss();
    const requests = stack.hs.requests().slice(requestsStart);
    const syncs = requests.filter((r) => r.path.endsWith('/sync')).length;
    const sent = requests.filter((r) => r.method === 'PUT' && r.path.includes('/send/'));
    const sends = sent.length;
    const sendTypes = new Map<string, number>();
    for (const r of sent) {
      const type = decodeURIComponent(/\/send\/([^/]+)\//.exec(r.path)?.[1] ?? '?');
      sendTypes.set(type, (sendTypes.get(type) ?? 0) + 1);
    }
    const pushed = mode === 'appservice' ? stack.hs.transactions().slice(pushedStart) : [];
    const t = calls.timeline;
    const warmup = Math.min(opts.warmupCalls, Math.floor(calls.placed / 2));
    const answered = [...t.calls.values()].filter((c) => c.answerStored !== undefined).length;
    const refused = [...t.calls.values()].filter((c) => c.failed !== undefined && c.answerStored === undefined).length;
    const peakLive = Math.max(sampler.livePeak, calls.peakLive);
    const inviteHop = t.inviteHop(warmup);
    const answerHop = t.answerHop(warmup);
    const postDialHop = t.postDialHop(warmup);
    const result: ModeResult = {
      mode,
      starve: starver === undefined ? undefined : { cpu: starver.cpu, loopShare: (starver.cpuMs() - loopCpuStart) / wallMs },
      rate: opts.rate,
      offered: calls.placed,
      setUp: answered,
      refused,
      lost: calls.placed - answered - refused,
      skipped: calls.skipped,
      leftLive,
      inviteHop,
      answerHop,
      postDialHop,
      candidates: opts.candidates,
      edgeCpuMs: cpuEnd.user + cpuEnd.system - cpuStart.user - cpuStart.system,
      edgeSystemCpuMs: cpuEnd.system - cpuStart.system,
      edgeCpuMsProm: ((sampleValue(final, 'mse_process_process_cpu_seconds_total') ?? NaN) - promCpuStart) * 1000,
      wallMs,
      rss: { start: rssStart, peak: sampler.rssPeak, end: rssEnd },
      peakLive,
      steal: (machineEnd.stealMs - machineStart.stealMs) / (machineEnd.totalMs - machineStart.totalMs),
      // busy CPU time of the machine that was neither the edge, this process (the simulators) nor the busy loop: other work on the machine
      // (per-process and per-CPU accounting differ by about 1% of the machine: never below 0)
      otherLoad: Math.max(
        0,
        (machineEnd.totalMs - machineEnd.idleMs - machineEnd.stealMs - (machineStart.totalMs - machineStart.idleMs - machineStart.stealMs) - (cpuEnd.user + cpuEnd.system - cpuStart.user - cpuStart.system) - (ownCpu.user + ownCpu.system) / 1000 - loopCpuMs) /
          (machineEnd.totalMs - machineStart.totalMs),
      ),
      traffic: { syncs, sends, sendTypes, otherRequests: requests.length - syncs - sends, transactions: pushed.length, unacknowledged: pushed.filter((a) => a.status !== 200).length, pushedEvents: pushed.reduce((n, a) => n + a.eventIds.length, 0) },
    };
    process.stdout.write(
      formatReport({
        title: `[${mode}${starver === undefined ? '' : ', --starve'}] ${total} calls at ${opts.rate}/s for ${opts.durationS} s, each held ${opts.holdS} s; far end answers after ${opts.ringMs} ms`,
        setupsPerSecond: t.setupsPerSecond(),
        answered,
        failures: t.failures(),
        skipped: calls.skipped,
        lost: result.lost,
        inviteHop,
        answerHop,
        warmupCalls: warmup,
        edgeInvite: edgeHop(final, 'matrix_invite_to_verto_invite'),
        edgeAnswer: edgeHop(final, 'verto_answer_to_matrix_answer'),
        peakLive,
        rss: result.rss,
        heap: { usedPeak: sampler.heapUsedPeak, totalPeak: sampler.heapTotalPeak },
        eventLoop: sampler.edgeLoop(),
        simulatorLoop: sampler.ownLoop(),
        cpu: { ms: result.edgeCpuMs, systemMs: result.edgeSystemCpuMs, promMs: result.edgeCpuMsProm, wallMs, loopShare: result.starve?.loopShare },
        traffic: result.traffic,
        steal: result.steal,
        otherLoad: result.otherLoad,
        rate: opts.rate,
      }),
    );
    if (opts.inbound > 0) {
      const phase = new InboundDriver(stack.model, stack.hs, stack.isEdgeUser, stack.inbound.callee, 1_000, opts.candidates);
      inbound = phase;
      result.inbound = await runInbound(phase, opts, mode);
    }
    return result;
  } finally {
    sampler?.stop();
    driver?.stop();
    inbound?.stop();
    const code = await edge?.stop();
    await starver?.stop();
    await stack.stop();
    if (edge !== undefined) process.stdout.write(`[${mode}] the edge exited with ${String(code)}; its config, log${opts.cpuProf ? ' and CPU profile' : ''}: ${dir}\n`);
  }
}

async function main(): Promise<number> {
  if (process.argv.includes('--soak')) {
    // the soak has its own run (bench/soak.ts): faults, kills, and a verdict
    await import('./soak.ts');
    return new Promise<number>(() => undefined);
  }
  let opts: BenchOptions | undefined;
  try {
    opts = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(join(REPO, 'dist/src/main.js'))) {
    process.stderr.write('dist/src/main.js is missing: run `npm run build` (npm run bench does)\n');
    return 2;
  }
  const results: ModeResult[] = [];
  for (const mode of opts.modes) results.push(await runMode(mode, opts));
  process.stdout.write(formatComparison(results));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
