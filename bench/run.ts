// npm run bench [-- --rate 100 --duration 20 --hold 22 --concurrency 2500]
//
// Many concurrent simulated calls through the built edge (dist/src/main.js,
// its own process) over real sockets: the homeserver simulator (the edge
// long-polls /sync and PUTs its events) and the FreeSWITCH simulator (ESL and
// mod_verto), both in this process. Prints calls set up per second, the
// latency the edge adds on each hop measured from the simulators' own
// receive/send timestamps, peak live calls, the edge's RSS and event-loop
// delay. Not a test: it asserts nothing and is not part of `npm test`.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay, type RecordableHistogram } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../test/support/net.ts';
import { pollUntil } from '../test/support/wait.ts';
import { TEST_SECRETS } from '../test/support/secrets.ts';
import { CallDriver, PER_USER_CALLS, type BenchCaller } from './driver.ts';
import { BenchEdge } from './edge-process.ts';
import { parseBenchOptions, USAGE, type BenchOptions } from './options.ts';
import { sampleSum, sampleValue, type Family } from './prom-text.ts';
import { edgeHop, formatReport } from './report.ts';
import { startBenchStack, type BenchStack } from './stack.ts';

const REPO = resolve(import.meta.dirname, '..');
const DESTINATION = '+4930123456';
/** prom-client samples the event loop every 10 ms; its figures are the sampling interval plus the delay. */
const EVENT_LOOP_RESOLUTION_MS = 10;

function edgeConfig(stack: BenchStack, httpPort: number, callers: readonly BenchCaller[], o: BenchOptions): string {
  const config = {
    esl: { host: '127.0.0.1', port: stack.eslPort, password: TEST_SECRETS.eslPassword },
    verto: { url: `ws://127.0.0.1:${stack.vertoPort}`, login: 'edge@127.0.0.1', password: TEST_SECRETS.vertoPassword },
    matrix: { homeserver_url: stack.hs.url, user_id: stack.edgeUserId, access_token: stack.edgeToken, sync_timeout_ms: o.syncTimeoutMs },
    http: { host: '127.0.0.1', port: httpPort },
    calls: { gathering_window_ms: 500, hangup_cause_wait_ms: 1500, ring_timeout_s: 60 },
    routing: { default_country: 'DE', default_gateway: 'example_trunk' },
    policy: {
      allowed_users: callers.map((c) => c.userId),
      allow_destinations: ['^\\+49[1-9][0-9]{5,13}$'],
      max_concurrent_calls_per_user: PER_USER_CALLS,
      rate_limit: { calls: 1_000_000, window_s: 1 },
    },
    caller_id: { default_number: '+4930555000' },
    log: { level: o.logLevel },
  };
  const path = join(mkdtempSync(join(tmpdir(), 'mse-bench-')), 'config.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** One DM per bench user with the edge, linked to the destination by room state; resolves when the edge has joined them all. */
async function makeCallers(stack: BenchStack, count: number): Promise<BenchCaller[]> {
  const callers: BenchCaller[] = [];
  for (let i = 0; i < count; i++) {
    const user = stack.hs.registerUser(`caller${i}`, { password: 'bench', displayname: `Caller ${i}` });
    const roomId = stack.hs.createRoom(user.userId, { is_direct: true, invite: [stack.edgeUserId], preset: 'trusted_private_chat' } as never);
    stack.hs.sendStateEvent(user.userId, roomId, 'org.matrix-sip-edge.destination', '', { number: DESTINATION });
    callers.push({ userId: user.userId, roomId, inFlight: 0 });
  }
  return callers;
}

async function edgeJoined(stack: BenchStack, callers: readonly BenchCaller[]): Promise<void> {
  const joined = () => callers.every((c) => stack.hs.events({ roomId: c.roomId, type: 'm.room.member' }).some((e) => e['state_key'] === stack.edgeUserId && (e['content'] as Record<string, unknown>)['membership'] === 'join'));
  await pollUntil(joined, 'the edge joined every bench room', 30_000, 100);
}

interface Samples {
  rssPeak: number;
  livePeak: number;
  heapUsedPeak: number;
  heapTotalPeak: number;
  readonly loopP50: number[];
  readonly loopP99: number[];
  loopMax: number;
}

function recordLoop(s: Samples, m: ReadonlyMap<string, Family>): void {
  const get = (q: string) => ((sampleValue(m, `mse_process_nodejs_eventloop_lag_${q}_seconds`) ?? NaN) * 1000) - EVENT_LOOP_RESOLUTION_MS;
  const [p50, p99, max] = [get('p50'), get('p99'), get('max')];
  if (Number.isFinite(p50)) s.loopP50.push(p50);
  if (Number.isFinite(p99)) s.loopP99.push(p99);
  if (Number.isFinite(max)) s.loopMax = Math.max(s.loopMax, max);
  s.livePeak = Math.max(s.livePeak, sampleSum(m, 'mse_calls_live'));
  s.heapUsedPeak = Math.max(s.heapUsedPeak, sampleValue(m, 'mse_process_nodejs_heap_size_used_bytes') ?? 0);
  s.heapTotalPeak = Math.max(s.heapTotalPeak, sampleValue(m, 'mse_process_nodejs_heap_size_total_bytes') ?? 0);
}

/** This process's (the simulators') event-loop delay, ms. */
function loopFigures(h: Pick<RecordableHistogram, 'percentile' | 'max'>): { p50Ms: number; p99Ms: number; maxMs: number } {
  // Like prom-client's figures, these are sampling intervals: the delay is what exceeds the resolution.
  const delay = (ns: number) => ns / 1e6 - EVENT_LOOP_RESOLUTION_MS;
  return { p50Ms: delay(h.percentile(50)), p99Ms: delay(h.percentile(99)), maxMs: delay(h.max) };
}

const median = (v: readonly number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? NaN;

async function main(): Promise<number> {
  let o: BenchOptions | undefined;
  try {
    o = parseBenchOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (o === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  const opts = o;
  if (!existsSync(join(REPO, 'dist/src/main.js'))) {
    process.stderr.write('dist/src/main.js is missing: run `npm run build` (npm run bench does)\n');
    return 2;
  }
  const total = Math.round(opts.rate * opts.durationS);
  const users = Math.max(1, Math.ceil(Math.min(opts.concurrency, total) / (PER_USER_CALLS * 0.8)));
  let driver: CallDriver | undefined;
  const stack = await startBenchStack({ onVertoFrame: (d, t) => driver?.onVertoFrame(d, t), onEventStored: (e) => driver?.onEventStored(e) }, opts.ringMs);
  const callers = await makeCallers(stack, users);
  const httpPort = await freePort();
  const profile = opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(REPO, 'test-logs')] : [];
  const edge = new BenchEdge(REPO, edgeConfig(stack, httpPort, callers, opts), httpPort, [...opts.nodeArgs, ...profile]);
  const timers: NodeJS.Timeout[] = [];
  try {
    await pollUntil(async () => (await edge.get('/readyz')).status === 200, 'the edge ready', 20_000, 50);
    await edgeJoined(stack, callers);
    process.stdout.write(`edge ready (pid ${edge.child.pid}), ${users} callers; ${total} calls at ${opts.rate}/s for ${opts.durationS} s, hold ${opts.holdS} s\n`);
    const d = new CallDriver(stack.hs, stack.edgeUserId, callers, opts.holdS * 1000, opts.concurrency);
    driver = d;
    const samples: Samples = { rssPeak: 0, livePeak: 0, heapUsedPeak: 0, heapTotalPeak: 0, loopP50: [], loopP99: [], loopMax: 0 };
    const rssStart = edge.rss();
    await edge.metrics(); // resets prom-client's event-loop histogram: the figures cover the run only
    samples.rssPeak = rssStart;
    timers.push(setInterval(() => (samples.rssPeak = Math.max(samples.rssPeak, edge.rss())), 100));
    let scraping = false;
    timers.push(
      setInterval(() => {
        if (scraping) return;
        scraping = true;
        edge.metrics().then(
          (m) => {
            recordLoop(samples, m);
            scraping = false;
          },
          () => (scraping = false),
        );
      }, 1_000),
    );
    // Fixed rate: at every tick, start the calls that are due by now.
    const simLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    simLoop.enable();
    const t0 = performance.now();
    let due = 0;
    await new Promise<void>((done) => {
      const tick = setInterval(() => {
        const target = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * opts.rate) + 1);
        for (; due < target; due++) d.place();
        if (due >= total) {
          clearInterval(tick);
          done();
        }
      }, 2);
    });
    process.stdout.write(`all ${total} set-ups started in ${((performance.now() - t0) / 1000).toFixed(1)} s; holding\n`);
    await pollUntil(() => d.finished >= d.placed, 'every call answered, held and hung up (or failed)', (opts.holdS + 60) * 1000, 50);
    await pollUntil(async () => sampleSum(await edge.metrics(), 'mse_calls_live') === 0 && stack.model.channels().length === 0, 'no live call left in the edge or FreeSWITCH', 30_000, 100);
    simLoop.disable();
    const final = await edge.metrics();
    recordLoop(samples, final);
    const rssEnd = edge.rss();
    const t = d.timeline;
    const warmup = Math.min(opts.warmupCalls, Math.floor(d.placed / 2));
    process.stdout.write(
      formatReport({
        title: `${total} calls at ${opts.rate}/s for ${opts.durationS} s, each held ${opts.holdS} s; far end answers after ${opts.ringMs} ms`,
        setupsPerSecond: t.setupsPerSecond(),
        answered: [...t.calls.values()].filter((c) => c.answerStored !== undefined).length,
        failures: t.failures(),
        skipped: d.skipped,
        inviteHop: t.inviteHop(warmup),
        answerHop: t.answerHop(warmup),
        warmupCalls: warmup,
        edgeInvite: edgeHop(final, 'matrix_invite_to_verto_invite'),
        edgeAnswer: edgeHop(final, 'verto_answer_to_matrix_answer'),
        peakLive: Math.max(samples.livePeak, d.peakLive),
        rss: { start: rssStart, peak: samples.rssPeak, end: rssEnd },
        heap: { usedPeak: samples.heapUsedPeak, totalPeak: samples.heapTotalPeak },
        simulatorLoop: loopFigures(simLoop),
        eventLoop: { p50Ms: median(samples.loopP50), p99Ms: Math.max(...samples.loopP99), maxMs: samples.loopMax },
        rate: opts.rate,
      }),
    );
    return 0;
  } finally {
    for (const timer of timers) clearInterval(timer);
    driver?.stop();
    const code = await edge.stop();
    if (code !== 0) process.stderr.write(`the edge exited with ${String(code)} (log: test-logs/bench.edge.log)\n`);
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
