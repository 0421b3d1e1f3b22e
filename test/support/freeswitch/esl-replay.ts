// Drives the client side of an ESL trace against the simulator over real
// sockets and collects the differences between what the simulator answered
// and what the trace shows. Used by test/replay/esl-*.test.ts.
import type { FreeSimulatorHandle } from './esl-replay-types.ts';
import { RawEslClient } from './esl-test-client.ts';
import { compareMessage, eventName, UNMODELLED_EVENTS, UuidMap } from './esl-trace-compare.ts';
import { ServerStreamParser, type ParsedMessage } from './esl-wire.ts';
import type { CaptureFrame } from '../traces.ts';

export type { FreeSimulatorHandle } from './esl-replay-types.ts';

/** One step of an exchange on one socket. */
export type ReplayStep =
  | { readonly kind: 'connect'; readonly socket: string }
  | { readonly kind: 'client'; readonly socket: string; readonly text: string }
  | { readonly kind: 'server'; readonly socket: string; readonly text: string }
  | { readonly kind: 'client-close'; readonly socket: string }
  | { readonly kind: 'server-closes'; readonly socket: string }
  | { readonly kind: 'hook'; readonly run: () => Promise<void> };

export interface ReplayOptions {
  /** Wait deadline per step. */
  readonly deadlineMs?: number;
  /** Sockets that authenticate (and run `prelude` commands) before the trace starts. */
  readonly preAuth?: boolean;
  /** Commands sent (replies not compared) after pre-auth, e.g. event subscriptions the trace assumes. */
  readonly prelude?: readonly string[];
}

interface SocketState {
  client: RawEslClient;
  base: number;
  expected: ParsedMessage[];
  parser: ServerStreamParser;
}

function isModelled(m: ParsedMessage): boolean {
  const n = eventName(m);
  return n === undefined || !UNMODELLED_EVENTS.has(n);
}

/** Runs the steps; returns the list of differences (empty = the simulator matches the trace). */
export async function replay(sim: FreeSimulatorHandle, steps: readonly ReplayStep[], opts: ReplayOptions = {}): Promise<string[]> {
  const deadline = opts.deadlineMs ?? 3000;
  const sockets = new Map<string, SocketState>();
  const uuids = new UuidMap();
  const diffs: string[] = [];

  const actualOf = (s: SocketState): ParsedMessage[] => s.client.messages.slice(s.base).filter(isModelled);
  const open = async (name: string): Promise<SocketState> => {
    const existing = sockets.get(name);
    if (existing !== undefined) return existing;
    const client = await RawEslClient.connect(sim.eslPort);
    const state: SocketState = { client, base: 0, expected: [], parser: new ServerStreamParser() };
    sockets.set(name, state);
    if (opts.preAuth === true) {
      await client.waitForCount(1, deadline);
      client.write('auth ClueCon\n\n');
      await client.waitForCount(2, deadline);
      let n = 2;
      for (const cmd of opts.prelude ?? []) {
        client.write(`${cmd}\n\n`);
        n++;
        await client.waitForCount(n, deadline);
      }
      state.base = n;
    }
    return state;
  };
  const settle = async (): Promise<void> => {
    for (const [name, s] of sockets) {
      const want = s.expected.length;
      await s.client.waitFor(() => actualOf(s).length >= want, deadline, `${want} messages on socket [${name}]`)
        .catch((e: unknown) => diffs.push(String(e)));
    }
  };

  try {
    for (const step of steps) {
      if (step.kind === 'hook') {
        await settle();
        await step.run();
        continue;
      }
      const s = await open(step.socket);
      if (step.kind === 'connect') continue;
      if (step.kind === 'server') {
        s.expected.push(...s.parser.push(step.text).filter(isModelled));
      } else if (step.kind === 'client') {
        await settle();
        s.client.write(uuids.apply(step.text));
      } else if (step.kind === 'client-close') {
        await settle();
        s.client.end();
      } else {
        await settle();
        await s.client.waitClosed(deadline).catch((e: unknown) => diffs.push(`[${step.socket}] ${String(e)}`));
      }
      // learn uuids from what has arrived so far, message by message
      for (const st of sockets.values()) {
        const got = actualOf(st);
        st.expected.forEach((e, i) => {
          const a = got[i];
          if (a !== undefined) uuids.learn(e.raw, a.raw);
        });
      }
    }
    await settle();
    for (const [name, s] of sockets) {
      const got = actualOf(s);
      s.expected.forEach((e, i) => {
        const a = got[i];
        if (a === undefined) diffs.push(`[${name}] #${i}: missing, trace has ${JSON.stringify(e.raw.slice(0, 120))}`);
        else diffs.push(...compareMessage(a, e, `[${name}] #${i}`));
      });
      for (const extra of got.slice(s.expected.length)) diffs.push(`[${name}] extra message: ${JSON.stringify(extra.raw.slice(0, 160))}`);
      if (s.client.pendingBytes !== 0) diffs.push(`[${name}] ${s.client.pendingBytes} bytes do not form a complete message`);
    }
  } finally {
    for (const s of sockets.values()) s.client.destroy();
  }
  return diffs;
}

/** Steps from a real JSON frame capture (one TCP read/write per frame). */
export function stepsFromFrames(frames: readonly CaptureFrame[]): ReplayStep[] {
  const steps: ReplayStep[] = [];
  for (const f of frames) {
    if (f.dir === 'client->server') steps.push({ kind: 'client', socket: f.socket, text: f.raw });
    else if (f.dir === 'server->client') steps.push({ kind: 'server', socket: f.socket, text: f.raw });
    else if (/TCP connected/.test(f.raw)) steps.push({ kind: 'connect', socket: f.socket });
    else if (/client closes TCP/.test(f.raw)) steps.push({ kind: 'client-close', socket: f.socket });
    else if (/TCP closed by peer or locally/.test(f.raw)) steps.push({ kind: 'server-closes', socket: f.socket });
  }
  return steps;
}
