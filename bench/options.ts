import { parseArgs } from 'node:util';

/** How the edge talks to the homeserver (config matrix.mode). */
export type BenchMode = 'bot' | 'appservice';
export const BENCH_MODES: readonly BenchMode[] = ['bot', 'appservice'];

export interface BenchOptions {
  /** The modes measured, one after the other, each with a fresh edge and fresh simulators. */
  readonly modes: readonly BenchMode[];
  /** Take one core away from the edge: pinned to one CPU, with a busy loop pinned beside it. */
  readonly starve: boolean;
  /** Call set-ups started per second. */
  readonly rate: number;
  /** The first calls (JIT warm-up) are left out of the latency figures. */
  readonly warmupCalls: number;
  /** Seconds during which new calls are started. */
  readonly durationS: number;
  /** Seconds an answered call stays up before the Matrix side hangs up. */
  readonly holdS: number;
  /** Most calls in flight (set up or live) at once; a call due while at the cap is skipped and counted. */
  readonly concurrency: number;
  /** Far-end ring time before 200 OK, ms. */
  readonly ringMs: number;
  /** The edge's log level (its JSON lines go to a file in a fresh temporary directory). */
  readonly logLevel: string;
  /** The edge's /sync long-poll timeout, ms (bot mode). */
  readonly syncTimeoutMs: number;
  /** Write a V8 CPU profile of the edge beside its log (node --cpu-prof). */
  readonly cpuProf: boolean;
  /** How callers send their ICE candidates: a complete offer (end-of-candidates in it), or matrix-js-sdk's way (the offer without it, end-of-candidates 2 s later). */
  readonly candidates: 'complete' | 'jssdk';
  /** Inbound calls placed after the outbound ones (0: none), at inboundRate per second. */
  readonly inbound: number;
  readonly inboundRate: number;
  /** Extra node options for the edge process (e.g. V8 heap flags), space-separated. */
  readonly nodeArgs: readonly string[];
}

export const USAGE = `npm run bench -- [options]

  --mode <m>          bot, appservice, or both (default both: bot, then appservice,
                      each with a fresh edge and fresh simulators; one table)
  --starve            take one core away from the edge: pin it to one CPU (taskset)
                      with a busy loop pinned to the same CPU beside it
  --candidates <c>    complete (default: each offer carries end-of-candidates) or
                      jssdk (matrix-js-sdk's timing: end-of-candidates 2 s after the invite)
  --rate <n>          call set-ups started per second (default 100)
  --duration <s>      seconds during which calls are started (default 20)
  --hold <s>          seconds each answered call stays up (default 22)
  --concurrency <n>   most calls in flight at once (default 2500)
  --warmup <n>        first calls left out of the latency figures (default 100)
  --ring-ms <ms>      far-end ring time before it answers (default 0)
  --log-level <lvl>   the edge's pino level (default info)
  --sync-timeout <ms> the edge's /sync long-poll timeout, bot mode (default 30000)
  --inbound <n>       inbound calls after the outbound ones, answered in a room with
                      the --candidates timing (matrix-js-sdk: the answer's candidates
                      in one batch 500 ms after it) and held 1 s (default 200; 0: none)
  --inbound-rate <n>  inbound calls started per second (default 20)
  --cpu-prof          write a CPU profile of the edge beside its log (node --cpu-prof)
  --node-args=<a b>   extra node options for the edge process, e.g. --node-args="--max-semi-space-size=2"
  -h, --help          this text
`;

function positive(name: string, text: string | undefined, fallback: number, min = 0): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got ${text})`);
  return n;
}

/** The options, or undefined when --help was asked for. Throws on a bad flag. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      mode: { type: 'string' },
      starve: { type: 'boolean' },
      candidates: { type: 'string' },
      inbound: { type: 'string' },
      'inbound-rate': { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      hold: { type: 'string' },
      concurrency: { type: 'string' },
      warmup: { type: 'string' },
      'ring-ms': { type: 'string' },
      'log-level': { type: 'string' },
      'sync-timeout': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'node-args': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  const mode = values.mode ?? 'both';
  if (mode !== 'both' && !(BENCH_MODES as readonly string[]).includes(mode)) throw new Error(`--mode must be bot, appservice or both (got ${mode})`);
  return {
    modes: mode === 'both' ? BENCH_MODES : [mode as BenchMode],
    starve: values.starve === true,
    candidates: candidatesOf(values.candidates),
    inbound: Math.floor(positive('inbound', values.inbound, 200)),
    inboundRate: positive('inbound-rate', values['inbound-rate'], 20, 1),
    rate: positive('rate', values.rate, 100, 0.1),
    durationS: positive('duration', values.duration, 20, 0.1),
    holdS: positive('hold', values.hold, 22),
    concurrency: Math.floor(positive('concurrency', values.concurrency, 2500, 1)),
    warmupCalls: Math.floor(positive('warmup', values.warmup, 100)),
    ringMs: positive('ring-ms', values['ring-ms'], 0),
    logLevel: values['log-level'] ?? 'info',
    syncTimeoutMs: Math.floor(positive('sync-timeout', values['sync-timeout'], 30_000, 1_000)),
    cpuProf: values['cpu-prof'] === true,
    nodeArgs: (values['node-args'] ?? '').split(/\s+/).filter((a) => a !== ''),
  };
}

function candidatesOf(v: string | undefined): 'complete' | 'jssdk' {
  if (v === undefined || v === 'complete') return 'complete';
  if (v === 'jssdk') return 'jssdk';
  throw new Error(`--candidates must be complete or jssdk (got ${v})`);
}
