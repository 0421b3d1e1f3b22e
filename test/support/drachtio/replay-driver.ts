// Replays the client side of a real drachtio capture against the
// simulator: the app's bytes exactly as drachtio-srf wrote them (same TCP
// chunks, so several frames per write where the capture had them), and
// what the network peers (the trunk, FreeSWITCH) sent, taken from
// drachtio-server's own log. What the simulator answers on the admin
// wire and sends on the SIP side is compared with the capture, in order.
//
// Two queues, each in its own clock's order: the relay (app frames and
// server frames) and the server log (SIP in and out). The two clocks
// differ by up to a millisecond, so between the queues only events more
// than SKEW_MS apart are ordered: an action at the head of a queue (a
// write of the app, a datagram of a peer) runs once everything before it
// in its queue has happened and everything more than SKEW_MS before it in
// the other queue too; an expectation waits for the simulator.
import { connect, type Socket } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { FrameDecoder } from './framing.ts';
import type { DrachtioSimulator } from './server.ts';
import type { SipPeer } from './network.ts';
import { Aliases, compareText } from './replay-compare.ts';
import { framePayload, logPeer, logRaw, type DrachtioCapture } from './replay-capture.ts';

const SKEW_MS = 2;

type RelayStep = { readonly atMs: number } & (
  | { readonly kind: 'open'; readonly conn: number }
  | { readonly kind: 'send'; readonly conn: number; readonly bytes: Buffer }
  | { readonly kind: 'fin'; readonly conn: number }
  | { readonly kind: 'expect-frame'; readonly conn: number; readonly n: number; readonly payload: string }
  | { readonly kind: 'expect-close'; readonly conn: number }
);

type LogStep = { readonly atMs: number } & (
  | { readonly kind: 'inject'; readonly raw: string; readonly peer: SipPeer }
  | { readonly kind: 'expect-out'; readonly raw: string; readonly peer: SipPeer; readonly t: string }
);

/** ISO time with up to microseconds -> ms (fractional). */
function isoMs(t: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(t);
  if (m === null) throw new Error(`bad time ${t}`);
  const frac = (m[2] ?? '0').padEnd(6, '0').slice(0, 6);
  return Date.parse(`${m[1] ?? ''}Z`) + Number(frac) / 1000;
}

interface Client {
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  readonly received: string[];
  ended: boolean;
}

export interface ReplayResult {
  readonly framesCompared: number;
  readonly sipCompared: number;
  readonly injected: number;
  readonly connections: number;
}

function relaySteps(capture: DrachtioCapture): RelayStep[] {
  const frames = new Map(capture.frames.map((f) => [f.n, f]));
  const events = [...capture.relay_events_and_chunks].sort((a, b) => a.seq - b.seq);
  const base = isoMs(events.find((e) => e.event === 'listening')?.t ?? '');
  const steps: RelayStep[] = [];
  for (const e of events) {
    const conn = e.conn ?? 0;
    const atMs = base + e.tRelS * 1000;
    if (e.event === 'accept') steps.push({ atMs, kind: 'open', conn });
    else if (e.event === 'fin' && e.detail === 'srf') steps.push({ atMs, kind: 'fin', conn });
    else if (e.event === 'fin' && e.detail === 'server') steps.push({ atMs, kind: 'expect-close', conn });
    else if (e.dir === 'srf->server') steps.push({ atMs, kind: 'send', conn, bytes: Buffer.from(e.b64 ?? '', 'base64') });
    else if (e.dir === 'server->srf') {
      for (const n of e.framesCompleted ?? []) {
        const f = frames.get(n);
        if (f === undefined) throw new Error(`frame ${n} is missing from the capture`);
        steps.push({ atMs, kind: 'expect-frame', conn, n, payload: framePayload(f) });
      }
    }
  }
  return steps;
}

function logSteps(capture: DrachtioCapture): LogStep[] {
  return capture.sip_side_from_drachtio_server_debug_log.map((e) =>
    e.dir === 'network->drachtio'
      ? { atMs: isoMs(e.t), kind: 'inject', raw: logRaw(e), peer: logPeer(e.peer) }
      : { atMs: isoMs(e.t), kind: 'expect-out', raw: logRaw(e), peer: logPeer(e.peer), t: e.t },
  );
}

export async function replayCapture(sim: DrachtioSimulator, capture: DrachtioCapture, timeoutMs = 5_000): Promise<ReplayResult> {
  const relay = relaySteps(capture);
  const log = logSteps(capture);
  const clients = new Map<number, Client>();
  const aliases = new Aliases();
  let outCursor = sim.network.record.filter((e) => e.dir === 'out').length;
  const result = { framesCompared: 0, sipCompared: 0, injected: 0, connections: 0 };
  const wake = new EventEmitter();
  const onChange = () => wake.emit('change');
  sim.on('change', onChange);

  const client = (conn: number): Client => {
    const c = clients.get(conn);
    if (c === undefined) throw new Error(`connection ${conn} used before it was opened`);
    return c;
  };

  /** Runs the head step of a queue if it can run now; true when it did. */
  /** An action may run when nothing in the other queue happened clearly before it. */
  const otherQueueDone = (atMs: number, other: readonly { atMs: number }[]): boolean => (other[0]?.atMs ?? Infinity) >= atMs - SKEW_MS;

  const stepRelay = async (): Promise<boolean> => {
    const s = relay[0];
    if (s === undefined) return false;
    if ((s.kind === 'open' || s.kind === 'send' || s.kind === 'fin') && !otherQueueDone(s.atMs, log)) return false;
    switch (s.kind) {
      case 'open': {
        const socket = connect(sim.port, '127.0.0.1');
        await once(socket, 'connect');
        const c: Client = { socket, decoder: new FrameDecoder(), received: [], ended: false };
        socket.on('data', (d: Buffer) => {
          c.received.push(...c.decoder.push(d));
          onChange();
        });
        socket.on('end', () => {
          c.ended = true;
          onChange();
        });
        socket.on('error', () => undefined);
        clients.set(s.conn, c);
        result.connections += 1;
        break;
      }
      case 'send': {
        // the app names ids the server made up: the simulator's stand-ins, same length
        const text = aliases.substitute(s.bytes.toString('utf8'));
        const bytes = Buffer.from(text, 'utf8');
        if (bytes.length !== s.bytes.length) throw new Error('an id of the simulator has another length than the captured one');
        client(s.conn).socket.write(bytes);
        break;
      }
      case 'fin':
        client(s.conn).socket.end();
        break;
      case 'expect-frame': {
        const c = client(s.conn);
        const got = c.received.shift();
        if (got === undefined) return false;
        const problem = compareText(s.payload, got, aliases);
        if (problem !== undefined) throw new Error(`frame ${s.n} (server->app, connection ${s.conn}) ${problem}`);
        result.framesCompared += 1;
        break;
      }
      case 'expect-close':
        if (!client(s.conn).ended) return false;
        break;
    }
    relay.shift();
    return true;
  };

  const stepLog = (): boolean => {
    const s = log[0];
    if (s === undefined) return false;
    if (s.kind === 'inject') {
      if (!otherQueueDone(s.atMs, relay)) return false;
      sim.network.inject(aliases.substitute(s.raw), s.peer);
      result.injected += 1;
    } else {
      const outs = sim.network.record.filter((e) => e.dir === 'out');
      const got = outs[outCursor];
      if (got === undefined) return false;
      outCursor += 1;
      if (got.peer.address !== s.peer.address || got.peer.port !== s.peer.port) {
        throw new Error(`SIP sent at ${s.t} went to ${got.peer.address}:${got.peer.port}, captured to ${s.peer.address}:${s.peer.port}:\n${got.raw}`);
      }
      const problem = compareText(s.raw, got.raw, aliases);
      if (problem !== undefined) throw new Error(`SIP sent at ${s.t} ${problem}`);
      result.sipCompared += 1;
    }
    log.shift();
    return true;
  };

  const deadline = Date.now() + timeoutMs;
  try {
    while (relay.length > 0 || log.length > 0) {
      let progressed = false;
      while (await stepRelay()) progressed = true;
      while (stepLog()) progressed = true;
      if (progressed) continue;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`replay stalled; next relay step: ${JSON.stringify(relay[0]?.kind === 'expect-frame' ? relay[0].payload.slice(0, 120) : relay[0]?.kind)}, next SIP step: ${log[0]?.kind ?? 'none'} ${log[0]?.raw.split('\r\n')[0] ?? ''}`);
      }
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), left);
      try {
        await once(wake, 'change', { signal: ac.signal });
      } catch {
        // deadline: the loop reports what is stuck
      } finally {
        clearTimeout(t);
      }
    }
    for (const [conn, c] of clients) {
      if (c.received.length > 0) throw new Error(`connection ${conn}: the simulator sent frames the server did not: ${c.received[0]?.slice(0, 200)}`);
    }
    const extra = sim.network.record.filter((e) => e.dir === 'out').slice(outCursor);
    if (extra.length > 0) throw new Error(`the simulator sent SIP the server did not:\n${extra[0]?.raw}`);
  } finally {
    sim.off('change', onChange);
    for (const c of clients.values()) c.socket.destroy();
  }
  return result;
}
