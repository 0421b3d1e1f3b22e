// Replays the ESL-driven call-control captures (shared/traces/real/ctl-01 ..
// ctl-08: an `esl-events` socket, an `esl-cmd` socket and a Verto `ws`
// socket on one FreeSWITCH) against the simulator: the client frames are
// sent in the capture's order, each once everything the capture had
// received before it has arrived; `note` frames that stand for something
// outside the sockets are played on the model (the client applied the SDP
// -> DTLS up; the WebSocket is cut). Compared with the capture:
//  - per channel (origination_uuid and callID are chosen by the client, so
//    they are the same uuids), the sequence of its events with
//    Channel-Call-State, Answer-State, Hangup-Cause, Bridge-A/B and
//    sip/verto_hangup_disposition; the BACKGROUND_JOB of an originate counts
//    as an event of its leg (so "the job returns at answer" is checked).
//    The interleaving of two channels' events is not compared: FreeSWITCH
//    runs each channel in its own thread and the captures themselves
//    interleave them differently from run to run (UNPARK of the two legs
//    comes in either order in ctl-03/06/07);
//  - every reply on the ESL sockets (Reply-Text, api/response body);
//  - every Verto frame from the server, in order: method and the params
//    that carry meaning (cause, causeCode, display_*, whether an sdp is
//    there), or the reply's message/cause/code.
// CALL_UPDATE is not modelled (UNMODELLED_EVENTS).
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import WebSocket from 'ws';
import { listTraces, loadFrameCapture, traceDir, type CaptureFrame } from '../support/traces.ts';
import { startModelSim, type ModelSim, type ModelSimOverrides } from './verto-model-sim.ts';
import { RawEslClient } from '../support/freeswitch/esl-test-client.ts';
import { headerValue, ServerStreamParser, type ParsedMessage } from '../support/freeswitch/esl-wire.ts';
import { UNMODELLED_EVENTS } from '../support/freeswitch/esl-trace-compare.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const DEADLINE_MS = 3000;

/** Far-end timing per capture (the captures' SIPp scripts, shortened). */
const CASES: Readonly<Record<string, ModelSimOverrides>> = {
  // 180, 200 after 1 s, BYE 6 s after the ACK
  'ctl-01-ring-answer-park.json': { farEndByGateway: { sipp_bye: { kind: 'answer', ringMs: 300, hangupAfterMs: 300 } } },
  'ctl-02-busy.json': {},
  'ctl-03-bridge-verto.json': {},
  // the uuid_bridge comes while the trunk rings; it answers later and hangs up before the client's bye
  'ctl-04-ring-then-verto-bridge.json': { farEndByGateway: { sipp_bye: { kind: 'answer', ringMs: 700, hangupAfterMs: 300 } } },
  'ctl-05-bridge-answered-verto.json': {},
  // the Verto leg is pre-answered and parked while the trunk rings; the client's bye comes before the far end's
  'ctl-06-ring-preanswer-bridge-after-answer.json': { farEndByGateway: { sipp_bye: { kind: 'answer', ringMs: 700, hangupAfterMs: 5000 } } },
  'ctl-07-return-ring-ready.json': { farEndByGateway: { sipp_bye: { kind: 'answer', ringMs: 1500, hangupAfterMs: 5000 } } },
  'ctl-08-park-after-verto-lost.json': {},
};

interface EslSocket {
  readonly client: RawEslClient;
  readonly parser: ServerStreamParser;
  readonly expected: ParsedMessage[];
}

function contentType(m: ParsedMessage): string {
  return headerValue(m.headers, 'Content-Type') ?? '';
}

function eventOf(m: ParsedMessage): Record<string, string> | undefined {
  if (contentType(m) !== 'text/event-json' || m.body === undefined) return undefined;
  return JSON.parse(m.body) as Record<string, string>;
}

function modelled(m: ParsedMessage): boolean {
  const e = eventOf(m);
  return e === undefined || !UNMODELLED_EVENTS.has(e['Event-Name'] ?? '');
}

const norm = (t: string): string => t.replace(UUID, (u) => u.toLowerCase());
const normJob = (t: string): string => t.replace(/Job-UUID: \S+/g, 'Job-UUID: <job>');

/** The channel an event belongs to, and how it reads in a per-channel sequence. */
function eventLine(e: Record<string, string>): { channel: string; line: string } {
  const name = e['Event-Name'] ?? '';
  if (name === 'BACKGROUND_JOB') {
    const arg = e['Job-Command-Arg'] ?? '';
    const uuid = /origination_uuid=([0-9a-f-]{36})/i.exec(arg)?.[1] ?? 'job';
    return { channel: uuid.toLowerCase(), line: `BACKGROUND_JOB ${e['Job-Command'] ?? ''} -> ${norm((e._body ?? '').trim())}` };
  }
  const parts = [name, e['Channel-Call-State'], e['Answer-State'], e['Hangup-Cause'] ?? '-'];
  if (name === 'CHANNEL_BRIDGE' || name === 'CHANNEL_UNBRIDGE') parts.push(`A=${e['Bridge-A-Unique-ID'] ?? ''}`, `B=${e['Bridge-B-Unique-ID'] ?? ''}`);
  if (name === 'CHANNEL_HANGUP_COMPLETE') {
    parts.push(`sip=${e.variable_sip_hangup_disposition ?? '-'}`, `verto=${e.variable_verto_hangup_disposition ?? '-'}`);
  }
  return { channel: (e['Unique-ID'] ?? '').toLowerCase(), line: norm(parts.join(' ')) };
}

function byChannel(messages: readonly ParsedMessage[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of messages) {
    const e = eventOf(m);
    if (e === undefined || UNMODELLED_EVENTS.has(e['Event-Name'] ?? '')) continue;
    const { channel, line } = eventLine(e);
    out.set(channel, [...(out.get(channel) ?? []), line]);
  }
  return out;
}

function replyLines(messages: readonly ParsedMessage[]): string[] {
  return messages.filter((m) => eventOf(m) === undefined).map((m) => {
    const ct = contentType(m);
    if (ct === 'api/response') return `api ${norm(m.body ?? '')}`;
    return `${ct} ${normJob(headerValue(m.headers, 'Reply-Text') ?? '')}`;
  });
}

/** What a server Verto frame means (ids, sdp texts and variables aside). */
function vertoLine(raw: string): string {
  const o = JSON.parse(raw) as { method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: Record<string, unknown> };
  if (o.method !== undefined) {
    const p = o.params ?? {};
    const keys = ['cause', 'causeCode', 'display_name', 'display_number', 'caller_id_name', 'caller_id_number', 'callee_id_name', 'callee_id_number', 'display_direction'];
    const shown = keys.filter((k) => p[k] !== undefined).map((k) => `${k}=${String(p[k])}`);
    if (o.method === 'verto.media' || o.method === 'verto.answer') shown.push(`sdp=${p.sdp === undefined ? 'no' : 'yes'}`);
    return norm(`${o.method} ${shown.join(' ')}`.trim());
  }
  const r = o.result ?? o.error ?? {};
  return norm(['reply', r.message, r.cause, r.causeCode, r.code].filter((v) => v !== undefined).map(String).join(' '));
}

describe('real ESL call-control captures (ctl-*) replay against the simulator', () => {
  let sim: ModelSim | undefined;
  const closers: (() => void)[] = [];

  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await sim?.stop();
    sim = undefined;
  });

  const files = listTraces('real', /^ctl-\d+-.*\.json$/).map((f) => path.basename(f));
  it('finds the 8 captures', () => {
    expect(files).toHaveLength(8);
  });

  it.each(files)('%s', async (file) => {
    const s = await startModelSim({}, { vertoDtlsDelayMs: 'manual', ...CASES[file] });
    sim = s;
    const frames: readonly CaptureFrame[] = loadFrameCapture(path.join(traceDir('real'), file)).frames;
    const esl = new Map<string, EslSocket>();
    const wsExpected: string[] = [];
    const wsGot: string[] = [];
    let ws: WebSocket | undefined;
    let callId: string | undefined;
    const diffs: string[] = [];

    const eslSocket = async (name: string): Promise<EslSocket> => {
      const have = esl.get(name);
      if (have !== undefined) return have;
      const client = await RawEslClient.connect(s.eslPort);
      closers.push(() => client.destroy());
      const sock = { client, parser: new ServerStreamParser(), expected: [] };
      esl.set(name, sock);
      return sock;
    };
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      const end = Date.now() + DEADLINE_MS;
      while (!cond()) {
        if (Date.now() > end) {
          diffs.push(`timed out waiting for ${what}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const settle = async (): Promise<void> => {
      for (const [name, sock] of esl) {
        const want = sock.expected.filter(modelled).length;
        await until(() => sock.client.messages.filter(modelled).length >= want, `${want} messages on [${name}]`);
      }
      await until(() => wsGot.length >= wsExpected.length, `${wsExpected.length} Verto frames`);
    };

    for (const f of frames) {
      if (f.dir === 'note') {
        if (/client applied the verto\.\w+ SDP/.test(f.raw) && callId !== undefined) {
          await settle();
          s.model.vertoDtlsUp(callId);
        } else if (/the Verto WebSocket closes/.test(f.raw)) {
          await settle();
          ws?.terminate();
        }
        continue;
      }
      if (f.socket === 'ws') {
        if (f.dir === 'server->client') {
          wsExpected.push(f.raw);
          continue;
        }
        const msg = JSON.parse(f.raw) as { id?: number; method?: string; result?: { method?: string }; params?: { dialogParams?: { callID?: string } } };
        await settle();
        if (msg.result?.method !== undefined) {
          // a reply to a server request: the capture lists it before the request (same time stamp); answer the simulator's request id
          const method = msg.result.method;
          await until(() => wsGot.some((g) => g.includes(`"method":"${method}"`)), `the server's ${method}`);
          const req = [...wsGot].reverse().map((g) => JSON.parse(g) as { id?: number; method?: string }).find((g) => g.method === method);
          msg.id = req?.id ?? msg.id;
        }
        if (ws === undefined) {
          const socket = new WebSocket(s.server.url);
          socket.on('message', (data: Buffer) => wsGot.push(data.toString('utf8')));
          await new Promise((resolve, reject) => {
            socket.once('open', resolve);
            socket.once('error', reject);
          });
          closers.push(() => socket.terminate());
          ws = socket;
        }
        callId ??= msg.params?.dialogParams?.callID;
        ws.send(JSON.stringify(msg));
        continue;
      }
      const sock = await eslSocket(f.socket);
      if (f.dir === 'server->client') {
        sock.expected.push(...sock.parser.push(f.raw));
        continue;
      }
      await settle();
      sock.client.write(f.raw);
    }
    await settle();
    // everything ends in every capture: no channel is left
    await until(() => s.model.channels().length === 0, 'every channel to be gone');

    for (const [name, sock] of esl) {
      const got = sock.client.messages.filter(modelled);
      const want = sock.expected.filter(modelled);
      expect.soft(replyLines(got), `[${name}] replies`).toEqual(replyLines(want));
      const g = byChannel(got);
      const w = byChannel(want);
      for (const channel of new Set([...w.keys(), ...g.keys()])) {
        expect.soft(g.get(channel) ?? [], `[${name}] events of ${channel}`).toEqual(w.get(channel) ?? []);
      }
    }
    // verto.clientReady goes out on the socket's first loop after the login (about 90 ms later in the
    // captures, after the invite's reply); the simulator sends it at once: compared apart from the order
    const ready = (l: string): boolean => l.startsWith('verto.clientReady');
    const gotLines = wsGot.map(vertoLine);
    const wantLines = wsExpected.map(vertoLine);
    expect.soft(gotLines.filter(ready), '[ws] verto.clientReady').toEqual(wantLines.filter(ready));
    expect.soft(gotLines.filter((l) => !ready(l)), '[ws] server frames').toEqual(wantLines.filter((l) => !ready(l)));
    if (process.env.CTL_REPLAY_DUMP === '1') {
      for (const [name, sock] of esl) console.log(name, byChannel(sock.expected), replyLines(sock.expected));
      console.log(wantLines);
    }
    // the comparison had something to compare
    expect([...esl.values()].some((sock) => byChannel(sock.expected).size > 0)).toBe(true);
    expect(diffs).toEqual([]);
  });
});
