// npm run bench [-- --rate 100 --duration 20 --hold 22 --concurrency 2500]
//
// Many concurrent simulated calls through the built edge (dist/src/main.js,
// its own process) over real sockets: the homeserver simulator (the edge
// long-polls /sync and PUTs its events) and the FreeSWITCH simulator (ESL and
// mod_verto), both in this process. Prints calls set up per second, the
// latency the edge adds on each hop measured from the simulators' own
// receive/send timestamps, peak live calls, the edge's RSS and event-loop
// delay. Not a test: it asserts nothing and is not part of `npm test`.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../test/support/net.ts';
import { pollUntil } from '../test/support/wait.ts';
import { CallDriver, PER_USER_CALLS } from './driver.ts';
import { BenchEdge } from './edge-process.ts';
import { parseBenchOptions, USAGE, type BenchOptions } from './options.ts';
import { sampleSum } from './prom-text.ts';
import { edgeHop, formatReport } from './report.ts';
import { Sampler } from './sampler.ts';
import { edgeJoined, makeCallers, writeEdgeConfig } from './setup.ts';
import { startBenchStack, type BenchStack } from './stack.ts';

const REPO = resolve(import.meta.dirname, '..');

/** Start the edge, place the calls at the fixed rate, wait for every one to end, print the figures. */
async function measure(stack: BenchStack, opts: BenchOptions, attach: (d: CallDriver) => void): Promise<void> {
  const total = Math.round(opts.rate * opts.durationS);
  const users = Math.max(1, Math.ceil(Math.min(opts.concurrency, total) / (PER_USER_CALLS * 0.8)));
  const callers = makeCallers(stack, users);
  const httpPort = await freePort();
  // The edge's config, log and CPU profile: a fresh directory outside the repository.
  const dir = mkdtempSync(join(tmpdir(), 'mse-bench-'));
  const profile = opts.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
  const edge = new BenchEdge(REPO, writeEdgeConfig(dir, stack, httpPort, callers, opts), join(dir, 'edge.log'), httpPort, [...opts.nodeArgs, ...profile]);
  const sampler = new Sampler(edge);
  const driver = new CallDriver(stack.hs, stack.edgeUserId, callers, opts.holdS * 1000, opts.concurrency);
  try {
    await pollUntil(async () => (await edge.get('/readyz')).status === 200, 'the edge ready', 20_000, 50);
    await edgeJoined(stack, callers);
    process.stdout.write(`edge ready (pid ${edge.child.pid}), ${users} callers; ${total} calls at ${opts.rate}/s for ${opts.durationS} s, hold ${opts.holdS} s\n`);
    attach(driver);
    const rssStart = edge.rss();
    await edge.metrics(); // resets prom-client's event-loop histogram: the figures cover the run only
    sampler.start();
    // Fixed rate: at every tick, start the calls that are due by now.
    const t0 = performance.now();
    let due = 0;
    await new Promise<void>((done) => {
      const tick = setInterval(() => {
        const target = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * opts.rate) + 1);
        for (; due < target; due++) driver.place();
        if (due >= total) {
          clearInterval(tick);
          done();
        }
      }, 2);
    });
    process.stdout.write(`all ${total} set-ups started in ${((performance.now() - t0) / 1000).toFixed(1)} s; holding\n`);
    await pollUntil(() => driver.finished >= driver.placed, 'every call answered, held and hung up (or failed)', (opts.holdS + 60) * 1000, 50);
    await pollUntil(async () => sampleSum(await edge.metrics(), 'mse_calls_live') === 0 && stack.model.channels().length === 0, 'no live call left in the edge or FreeSWITCH', 30_000, 100);
    sampler.stop();
    const final = await edge.metrics();
    sampler.record(final);
    const rssEnd = edge.rss();
    const t = driver.timeline;
    const warmup = Math.min(opts.warmupCalls, Math.floor(driver.placed / 2));
    process.stdout.write(
      formatReport({
        title: `${total} calls at ${opts.rate}/s for ${opts.durationS} s, each held ${opts.holdS} s; far end answers after ${opts.ringMs} ms`,
        setupsPerSecond: t.setupsPerSecond(),
        answered: [...t.calls.values()].filter((c) => c.answerStored !== undefined).length,
        failures: t.failures(),
        skipped: driver.skipped,
        inviteHop: t.inviteHop(warmup),
        answerHop: t.answerHop(warmup),
        warmupCalls: warmup,
        edgeInvite: edgeHop(final, 'matrix_invite_to_verto_invite'),
        edgeAnswer: edgeHop(final, 'verto_answer_to_matrix_answer'),
        peakLive: Math.max(sampler.livePeak, driver.peakLive),
        rss: { start: rssStart, peak: sampler.rssPeak, end: rssEnd },
        heap: { usedPeak: sampler.heapUsedPeak, totalPeak: sampler.heapTotalPeak },
        eventLoop: sampler.edgeLoop(),
        simulatorLoop: sampler.ownLoop(),
        rate: opts.rate,
      }),
    );
  } finally {
    sampler.stop();
    driver.stop();
    const code = await edge.stop();
    process.stdout.write(`the edge exited with ${String(code)}; its config, log${opts.cpuProf ? ' and CPU profile' : ''}: ${dir}\n`);
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
  let driver: CallDriver | undefined;
  const stack = await startBenchStack({ onVertoFrame: (d, t) => driver?.onVertoFrame(d, t), onEventStored: (e) => driver?.onEventStored(e) }, opts.ringMs);
  try {
    await measure(stack, opts, (d) => (driver = d));
    return 0;
  } finally {
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
