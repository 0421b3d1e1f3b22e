import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// One running edge between the simulators, a DM room between Alice and the
// edge, and the helpers the call scenarios share.
import { expect } from 'vitest';
import { EdgeProcess, writeConfig } from './edge-process.ts';
import { edgeConfig, startFreeSwitch, startMatrix, type FreeSwitchStack, type MatrixStack, type StackOptions, type VertoRecord } from './sim-stack.ts';
import { WeriftCaller } from './matrix-caller.ts';
import { freePort, httpGet } from './net.ts';
import { pollUntil, waitUntil } from './wait.ts';
import { WireTap } from './wire-tap.ts';

export type Json = Record<string, unknown>;
export const content = (e: Json): Json => e['content'] as Json;

export interface FixtureOptions {
  readonly name: string;
  readonly stack?: StackOptions;
  /** Sections of the edge config to replace. */
  readonly config?: Record<string, unknown>;
}

export interface FreeSwitchMark {
  readonly verto: number;
  readonly frames: number;
  readonly esl: number;
}

export class OutboundFixture {
  fs!: FreeSwitchStack;
  mx!: MatrixStack;
  tap!: WireTap;
  edge!: EdgeProcess;
  httpPort = 0;
  roomId = '';
  readonly callers: WeriftCaller[] = [];
  #seq = 0;
  #config: Record<string, unknown> = {};
  #name = '';
  #restarts = 0;

  static async start(options: FixtureOptions): Promise<OutboundFixture> {
    const f = new OutboundFixture();
    f.fs = await startFreeSwitch(options.stack);
    f.mx = await startMatrix();
    f.tap = await WireTap.start({ host: '127.0.0.1', port: f.fs.eslPort });
    f.httpPort = await freePort();
    const config = { ...edgeConfig(f.fs, f.mx, { httpPort: f.httpPort }), ...options.config } as Record<string, Json>;
    config['esl'] = { ...config['esl'], port: f.tap.port };
    f.#config = config;
    f.#name = options.name;
    await f.#startEdge(options.name);
    f.roomId = await f.dmWith(f.mx.aliceId);
    return f;
  }

  async #startEdge(name: string, waitReady = true): Promise<void> {
    this.edge = new EdgeProcess(writeConfig(this.#config), name);
    if (!waitReady) return;
    await pollUntil(async () => (await httpGet(`http://127.0.0.1:${this.httpPort}/readyz`)).status === 200, 'edge ready', 15_000);
  }

  /** Kill the edge with SIGKILL (a crash: nothing is cleaned up), then start a new one (and wait until it is ready, unless told not to). */
  async crashAndRestartEdge(opts: { waitReady?: boolean; loseState?: boolean } = {}): Promise<void> {
    this.edge.child.kill('SIGKILL');
    await waitUntil(this.edge, () => this.edge.exitCode !== undefined, 'edge killed', 5_000);
    await this.edge.stop();
    // The state directory lost with the crash (a new volume): the edge has only FreeSWITCH's channel variables to go by.
    if (opts.loseState === true) this.#config = { ...this.#config, state: { dir: mkdtempSync(join(tmpdir(), 'mse-state-')) } };
    await this.#startEdge(`${this.#name}-${++this.#restarts}`, opts.waitReady ?? true);
  }

  /** Stop the edge (SIGTERM, exit 0) and start it again with some config sections replaced. */
  async restartEdge(sections: Record<string, unknown>): Promise<void> {
    expect(await this.edge.stop()).toBe(0);
    this.#config = { ...this.#config, ...sections };
    await this.#startEdge(`${this.#name}-${++this.#restarts}`);
  }

  /** The edge exited by itself (a test stopped it): start it again, with some config sections replaced. */
  async restartEdgeAfterExit(sections: Record<string, unknown>): Promise<void> {
    await this.edge.stop();
    this.#config = { ...this.#config, ...sections };
    await this.#startEdge(`${this.#name}-${++this.#restarts}`);
  }

  /** A DM between the user and the edge; resolves when the edge has joined. */
  async dmWith(userId: string): Promise<string> {
    const roomId = this.mx.hs.createRoom(userId, { is_direct: true, invite: [this.mx.edgeUserId], preset: 'trusted_private_chat' } as never);
    await this.mx.hs.waitForEvent((e) => e['room_id'] === roomId && e['type'] === 'm.room.member' && e['state_key'] === this.mx.edgeUserId && content(e)['membership'] === 'join', 10_000);
    return roomId;
  }

  events(filter: (e: Json) => boolean, roomId = this.roomId): Json[] {
    return this.mx.hs.events({ roomId }).filter(filter);
  }

  byEdge(type: string, callId: string): (e: Json) => boolean {
    return (e) => e['sender'] === this.mx.edgeUserId && e['type'] === type && content(e)['call_id'] === callId;
  }

  waitEvent(pred: (e: Json) => boolean, timeoutMs = 8_000, roomId = this.roomId): Promise<Json> {
    return this.mx.hs.waitForEvent((e) => e['room_id'] === roomId && pred(e), timeoutMs);
  }

  notices(roomId = this.roomId): string[] {
    return this.mx.hs.events({ roomId, sender: this.mx.edgeUserId, type: 'm.room.message' }).map((e) => content(e)['body'] as string);
  }

  /** Wait for a new notice from the edge matching the pattern. */
  async waitNotice(pattern: RegExp, since: number, roomId = this.roomId): Promise<string> {
    await this.mx.hs.waitForEvent(() => this.notices(roomId).slice(since).some((b) => pattern.test(b)), 8_000);
    return this.notices(roomId).slice(since).find((b) => pattern.test(b)) ?? '';
  }

  /** A message from a user; resolves when the edge has replied with a notice. */
  async say(body: string, userId = this.mx.aliceId, roomId = this.roomId): Promise<string> {
    const before = this.notices(roomId).length;
    this.mx.hs.sendEvent(userId, roomId, 'm.room.message', { msgtype: 'm.text', body });
    await this.mx.hs.waitForEvent(() => this.notices(roomId).length > before, 8_000);
    return this.notices(roomId)[before] ?? '';
  }

  newCaller(opts: { userId?: string; roomId?: string; endOfCandidates?: boolean; version?: '1' | 0; invitee?: string } = {}): WeriftCaller {
    const caller = new WeriftCaller({
      hs: this.mx.hs,
      userId: opts.userId ?? this.mx.aliceId,
      roomId: opts.roomId ?? this.roomId,
      callId: `call${++this.#seq}x${Date.now()}`,
      endOfCandidates: opts.endOfCandidates ?? true,
      ...(opts.version === undefined ? {} : { version: opts.version }),
      ...(opts.invitee === undefined ? {} : { invitee: opts.invitee }),
    });
    this.callers.push(caller);
    return caller;
  }

  /** `!dial <number>`, then a werift call with trickled candidates. */
  async call(number: string, opts: { endOfCandidates?: boolean; userId?: string; roomId?: string } = {}): Promise<WeriftCaller> {
    await this.say(`!dial ${number}`, opts.userId, opts.roomId);
    const caller = this.newCaller(opts);
    await caller.invite();
    return caller;
  }

  async vertoInviteFor(destination: string, after: number, timeoutMs = 8_000): Promise<NonNullable<VertoRecord['invite']>> {
    const find = () => this.fs.vertoRecord.slice(after).find((r) => r.method === 'invite' && r.invite?.dialogVariables['mse_destination'] === destination);
    await pollUntil(() => find() !== undefined, `verto.invite to ${destination}`, timeoutMs);
    return find()!.invite!;
  }

  async liveCalls(): Promise<number> {
    // mse_calls_live, with or without a direction label: the sum of its samples.
    const text = (await httpGet(`http://127.0.0.1:${this.httpPort}/metrics`)).text;
    const samples = [...text.matchAll(/^mse_calls_live(?:\{[^}]*\})? (\d+)$/gm)].map((m) => Number(m[1]));
    return samples.length === 0 ? -1 : samples.reduce((a, b) => a + b, 0);
  }

  async metrics(): Promise<string> {
    return (await httpGet(`http://127.0.0.1:${this.httpPort}/metrics`)).text;
  }

  /** A gauge's samples from /metrics, by their label text ('' for none). */
  async gauge(name: string): Promise<Map<string, number>> {
    const text = await this.metrics();
    const out = new Map<string, number>();
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) out.set(m[1] ?? '', Number(m[2]));
    return out;
  }

  /** What FreeSWITCH received so far: Verto calls and frames, ESL bytes. */
  freeswitchMark(): FreeSwitchMark {
    return { verto: this.fs.vertoRecord.length, frames: this.fs.vertoReceived.length, esl: this.tap.text().length };
  }

  /** Since the mark: no request on the Verto socket but keepalive pings (asserted frame by frame), not a byte on ESL. */
  expectNothingReachedFreeSwitch(mark: FreeSwitchMark): void {
    expect(this.fs.vertoRecord.slice(mark.verto)).toEqual([]);
    // The edge's replies to FreeSWITCH's own requests (verto.answer, verto.display of other calls) start nothing: only requests count.
    const frames = this.fs.vertoReceived.slice(mark.frames).map((t) => JSON.parse(t) as { method?: unknown });
    expect(frames.filter((m) => m.method !== undefined && m.method !== 'verto.ping')).toEqual([]);
    expect(this.tap.text().slice(mark.esl)).toBe('');
  }

  /**
   * No call object, index entry, per-user count or call timer in the edge
   * (mse_calls_held, every kind 0), no channel in FreeSWITCH.
   */
  async expectNothingLeft(): Promise<void> {
    for (const c of this.callers.splice(0)) await c.close();
    await pollUntil(async () => (await this.liveCalls()) === 0, 'no live call in the edge', 8_000);
    let held = new Map<string, number>();
    await pollUntil(
      async () => {
        held = await this.gauge('mse_calls_held');
        return held.size > 0 && [...held.values()].every((n) => n === 0);
      },
      'nothing held by the call manager',
      8_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(Object.fromEntries(held))}`);
    });
    await pollUntil(() => this.fs.model.channels().length === 0, 'no FreeSWITCH channel', 8_000);
    // nothing kept for a call that is over: no stored call, no Matrix send waiting
    await pollUntil(async () => {
      const text = await this.metrics();
      return /^mse_state_calls 0$/m.test(text) && /^mse_matrix_outbox_pending 0$/m.test(text);
    }, 'no stored call and no pending Matrix send', 8_000);
  }

  async stop(): Promise<void> {
    for (const c of this.callers.splice(0)) await c.close();
    const code = await this.edge?.stop();
    await this.tap?.close();
    await this.fs?.stop();
    await this.mx?.hs.stop();
    expect(code).toBe(0);
  }
}
