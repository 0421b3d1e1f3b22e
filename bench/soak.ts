// npm run bench -- --soak 60 [--seed <n>] [--rate <calls/s>]
//
// Calls in both directions through the built edge for the given seconds
// while the Verto socket, ESL and the homeserver are dropped at random and
// the edge is killed (SIGKILL) twice and started again on the same state
// directory. Then every fault is healed, and the run is judged: a call that
// one side holds and the other has ended is stranded; every call must end
// on both sides; nothing may stay held in the edge. Prints the figures and
// exits 1 when a call was stranded, duplicated or something leaked. Not a
// test: it is not part of `npm test`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeProcess, writeConfig } from '../test/support/edge-process.ts';
import { edgeConfig, startFreeSwitch, startMatrix, type FreeSwitchStack, type MatrixStack } from '../test/support/sim-stack.ts';
import type { InboundCallHandle } from '../test/support/freeswitch/channel-model.ts';
import { freePort, httpGet } from '../test/support/net.ts';
import { pollUntil } from '../test/support/wait.ts';
import { benchOffer } from './offer.ts';
import { parsePrometheusText, sampleSum } from './prom-text.ts';
import { FaultSchedule, seededRandom } from './soak-faults.ts';

type Json = Record<string, unknown>;
const content = (e: Json): Json => (e['content'] ?? {}) as Json;
const DID = '+49301234561';
const DESTINATION = '+4930123456';
const CALLERS = 5;

interface OutboundCall {
  readonly callId: string;
  readonly roomId: string;
  readonly userId: string;
  answered: boolean;
  /** The edge ended it (reject or hangup). */
  endedByEdge: boolean;
  /** The caller hung up. */
  hungUp: boolean;
  holdTimer: NodeJS.Timeout | undefined;
}

interface InboundCall {
  readonly handle: InboundCallHandle;
  trunkEnded: boolean;
  hangupTimer: NodeJS.Timeout | undefined;
}

class Soak {
  readonly out = new Map<string, OutboundCall>();
  readonly inbound: InboundCall[] = [];
  readonly rooms: Array<{ userId: string; roomId: string }> = [];
  edge!: EdgeProcess;
  kills = 0;
  placing = true;
  edgeDown = false;
  #seq = 0;
  #cursor = 0;
  readonly #config: Record<string, unknown>;
  readonly #random: () => number;
  readonly fs: FreeSwitchStack;
  readonly mx: MatrixStack;
  readonly httpPort: number;

  constructor(fs: FreeSwitchStack, mx: MatrixStack, httpPort: number, config: Record<string, unknown>, random: () => number) {
    this.fs = fs;
    this.mx = mx;
    this.httpPort = httpPort;
    this.#config = config;
    this.#random = random;
  }

  async startEdge(): Promise<void> {
    this.edge = new EdgeProcess(writeConfig(this.#config), `soak-${this.kills}`);
    await pollUntil(async () => (await this.readyz()) === 200, 'the edge ready', 60_000, 100);
  }

  async readyz(): Promise<number> {
    return (await httpGet(`http://127.0.0.1:${this.httpPort}/readyz`).catch(() => ({ status: 0 }))).status;
  }

  async metrics(): Promise<string> {
    return (await httpGet(`http://127.0.0.1:${this.httpPort}/metrics`)).text;
  }

  async killEdge(): Promise<void> {
    this.edgeDown = true;
    this.edge.child.kill('SIGKILL');
    await this.edge.stop();
    this.kills += 1;
    await this.startEdge();
    this.edgeDown = false;
  }

  /** An outbound call: m.call.invite with a complete offer from one of the callers. */
  placeOutbound(): void {
    const room = this.rooms[this.#seq % this.rooms.length]!;
    const n = this.#seq++;
    const callId = `soak-${n}`;
    this.out.set(callId, { callId, roomId: room.roomId, userId: room.userId, answered: false, endedByEdge: false, hungUp: false, holdTimer: undefined });
    this.mx.hs.sendEvent(room.userId, room.roomId, 'm.call.invite', { call_id: callId, party_id: 'SOAK', version: '1', lifetime: 60_000, offer: { type: 'offer', sdp: benchOffer(n) } });
  }

  /** An inbound call that rings the first caller's DM; the trunk caller hangs up after 1-5 s. */
  placeInbound(): void {
    const handle = this.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber: `+49170${String(1_000_000 + this.inbound.length)}`, callerName: 'Soak', context: 'matrix-sip-edge-public' });
    const call: InboundCall = { handle, trunkEnded: false, hangupTimer: undefined };
    void handle.ended.then(() => (call.trunkEnded = true));
    call.hangupTimer = setTimeout(() => handle.hangup(), 1_000 + this.#random() * 4_000);
    this.inbound.push(call);
  }

  hangup(call: OutboundCall): void {
    clearTimeout(call.holdTimer);
    if (call.hungUp || call.endedByEdge) return;
    call.hungUp = true;
    this.mx.hs.sendEvent(call.userId, call.roomId, 'm.call.hangup', { call_id: call.callId, party_id: 'SOAK', version: '1', reason: 'user_hangup' });
  }

  /** Read the events stored since the last look: the edge's answers and endings. */
  scan(): void {
    const all = this.mx.hs.events({});
    for (; this.#cursor < all.length; this.#cursor++) {
      const e = all[this.#cursor]!;
      if (e['sender'] !== this.mx.edgeUserId) continue;
      const call = this.out.get(String(content(e)['call_id']));
      if (call === undefined) continue;
      if (e['type'] === 'm.call.answer' && !call.answered) {
        call.answered = true;
        call.holdTimer = setTimeout(() => this.hangup(call), 2_000 + this.#random() * 6_000);
      } else if (e['type'] === 'm.call.hangup' || e['type'] === 'm.call.reject') {
        call.endedByEdge = true;
        clearTimeout(call.holdTimer);
      }
    }
  }

  /** The Verto leg FreeSWITCH created for an outbound call (its last verto.invite), if it is still up. */
  legUp(callId: string): boolean {
    const invites = this.fs.vertoRecord.filter((r) => r.method === 'invite' && r.invite?.dialogVariables['mse_matrix_call_id'] === callId);
    const last = invites[invites.length - 1];
    const ch = last === undefined ? undefined : this.fs.model.channel(last.callId);
    return ch !== undefined && !ch.hungUp;
  }

  /** The edge never heard of the call: no Verto invite for it, no event of the edge about it. */
  unseen(callId: string): boolean {
    return !this.fs.vertoRecord.some((r) => r.method === 'invite' && r.invite?.dialogVariables['mse_matrix_call_id'] === callId)
      && !this.mx.hs.events({ sender: this.mx.edgeUserId }).some((e) => content(e)['call_id'] === callId);
  }

  /**
   * Invites the edge never received: sent while its /sync was down, and the
   * process was killed before it caught up (a restarted bot starts from a
   * fresh sync and does not back-fill the gap: the appservice issue's).
   */
  neverSeen(): string[] {
    return [...this.out.values()].filter((c) => !c.hungUp && !c.endedByEdge && this.unseen(c.callId)).map((c) => c.callId);
  }

  /** Calls held by one side only: the caller thinks the call is on (ringing or answered) but FreeSWITCH has no leg for it. */
  oneSided(): string[] {
    this.scan();
    const out = [...this.out.values()].filter((c) => !c.hungUp && !c.endedByEdge && !this.legUp(c.callId) && !this.unseen(c.callId)).map((c) => `outbound ${c.callId} (${c.answered ? 'answered' : 'ringing'} in Matrix, no leg in FreeSWITCH)`);
    const invitesToMatrix = this.mx.hs.events({ sender: this.mx.edgeUserId, type: 'm.call.invite' }).map((e) => String(content(e)['call_id']));
    const endedInMatrix = new Set(this.mx.hs.events({ sender: this.mx.edgeUserId }).filter((e) => e['type'] === 'm.call.hangup').map((e) => String(content(e)['call_id'])));
    const trunkUp = this.inbound.some((c) => !c.trunkEnded);
    const inbound = invitesToMatrix.filter((id) => !endedInMatrix.has(id) && !trunkUp).map((id) => `inbound ${id} (ringing in Matrix, the trunk caller gone)`);
    return [...out, ...inbound];
  }

  duplicates(): number {
    const endings = new Map<string, number>();
    for (const e of this.mx.hs.events({ sender: this.mx.edgeUserId })) {
      if (e['type'] !== 'm.call.hangup' && e['type'] !== 'm.call.reject') continue;
      const id = String(content(e)['call_id']);
      endings.set(id, (endings.get(id) ?? 0) + 1);
    }
    return [...endings.values()].filter((n) => n > 1).length;
  }
}

const gauge = (text: string, name: string): number => sampleSum(parsePrometheusText(text), name);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { soak: { type: 'string' }, seed: { type: 'string' }, rate: { type: 'string' } }, allowPositionals: false, strict: false });
  const durationS = Number(values.soak ?? 60);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const rate = Number(values.rate ?? 4);
  if (!(durationS > 0) || !Number.isInteger(seed) || !(rate > 0)) {
    process.stderr.write('usage: npm run bench -- --soak <seconds> [--seed <integer>] [--rate <calls/s>]\n');
    return 2;
  }
  const random = seededRandom(seed);
  process.stdout.write(`soak: ${durationS} s, seed ${seed}, ${rate} calls/s (one in four inbound)\n`);
  const fs = await startFreeSwitch({
    farEnd: { default: { kind: 'answer', ringMs: 300 } },
    dialplanOverrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' },
  });
  const mx = await startMatrix();
  const httpPort = await freePort();
  const users = Array.from({ length: CALLERS }, (_, i) => mx.hs.registerUser(`soak${i}`, { password: 'soak', displayname: `Soak ${i}` }));
  const base = edgeConfig(fs, mx, { httpPort }) as Record<string, Json>;
  const config: Record<string, unknown> = {
    ...base,
    calls: { ...base['calls'], drain_s: 1 },
    policy: { ...base['policy'], allowed_users: users.map((u) => u.userId), max_concurrent_calls_per_user: 100, rate_limit: { calls: 100_000, window_s: 1 } },
    log: { level: 'info' },
    state: { dir: mkdtempSync(join(tmpdir(), 'mse-soak-state-')) },
  };
  const soak = new Soak(fs, mx, httpPort, config, random);
  for (const u of users) {
    const roomId = mx.hs.createRoom(u.userId, { is_direct: true, invite: [mx.edgeUserId], preset: 'trusted_private_chat' } as never);
    mx.hs.sendStateEvent(u.userId, roomId, 'org.matrix-sip-edge.destination', '', { number: DESTINATION });
    soak.rooms.push({ userId: u.userId, roomId });
  }
  // Inbound calls ring the first caller's DM.
  config['inbound'] = { routes: [{ did: DID, room: soak.rooms[0]!.roomId }], ring_timeout_s: 10 };
  let code = 0;
  const faults = new FaultSchedule({ fs, mx, killEdge: () => soak.killEdge() }, random, [durationS / 3, (2 * durationS) / 3]);
  let tick: NodeJS.Timeout | undefined;
  let scanner: NodeJS.Timeout | undefined;
  try {
    await soak.startEdge();
    await pollUntil(() => soak.rooms.every((r) => mx.hs.events({ roomId: r.roomId, type: 'm.room.member' }).some((e) => e['state_key'] === mx.edgeUserId && content(e)['membership'] === 'join')), 'the edge joined every room', 30_000, 100);
    const first = await soak.metrics();
    const baseline = { timers: gauge(first, 'mse_process_active_timers'), sockets: gauge(first, 'mse_process_active_sockets'), rss: gauge(first, 'mse_process_process_resident_memory_bytes') };

    faults.start();
    scanner = setInterval(() => soak.scan(), 100);
    const t0 = performance.now();
    let placed = 0;
    await new Promise<void>((done) => {
      tick = setInterval(() => {
        const elapsed = (performance.now() - t0) / 1000;
        if (elapsed >= durationS) {
          clearInterval(tick);
          done();
          return;
        }
        // No call is placed while the edge is down: a Matrix invite sent then is a later issue's (a restarted bot does not back-fill /sync).
        if (soak.edgeDown) return;
        for (; placed < Math.floor(elapsed * rate); placed++) {
          if (placed % 4 === 3) soak.placeInbound();
          else soak.placeOutbound();
        }
      }, 20);
    });
    process.stdout.write(`placed ${soak.out.size} outbound and ${soak.inbound.length} inbound calls; healing\n`);
    await faults.stop();
    await pollUntil(async () => (await soak.readyz()) === 200, 'the edge ready after the faults', 60_000, 100);

    // Judgement: a call one side still holds while the other has ended it is stranded, unless the edge settles it within 15 s.
    let stranded: string[] = [];
    await pollUntil(() => (stranded = soak.oneSided()).length === 0, 'no one-sided call', 15_000, 200).catch(() => undefined);
    const neverSeen = soak.neverSeen();

    // Then every call is ended by its caller, and nothing may be left anywhere.
    for (const c of soak.out.values()) soak.hangup(c);
    for (const c of soak.inbound) {
      clearTimeout(c.hangupTimer);
      if (!c.trunkEnded) c.handle.hangup();
    }
    let left = '';
    const settled = await pollUntil(
      async () => {
        const m = await soak.metrics();
        const held = [...m.matchAll(/^mse_calls_held\{kind="([^"]+)"\} (\S+)$/gm)].filter((x) => Number(x[2]) !== 0).map((x) => `${x[1]}=${x[2]}`);
        left = [
          fs.model.channels().length > 0 ? `FreeSWITCH channels ${fs.model.channels().length}` : '',
          gauge(m, 'mse_calls_live') > 0 ? `live ${gauge(m, 'mse_calls_live')}` : '',
          held.length > 0 ? `held ${held.join(',')}` : '',
          gauge(m, 'mse_state_calls') > 0 ? `stored ${gauge(m, 'mse_state_calls')}` : '',
          gauge(m, 'mse_matrix_outbox_pending') > 0 ? `outbox ${gauge(m, 'mse_matrix_outbox_pending')}` : '',
        ].filter((s) => s !== '').join('; ');
        return left === '';
      },
      'everything ended',
      30_000,
      200,
    ).then(() => true, () => false);
    soak.scan();
    // matrix-js-sdk keeps one timer per HTTP request until its local timeout
    // (matrix.request_timeout_ms, 30 s) passes, and the /sync long-polls go on:
    // a leak is what is still there once those have run out (seen: about 85 s).
    const timersNow = gauge(await soak.metrics(), 'mse_process_active_timers');
    const trajectory: number[] = [];
    await pollUntil(async () => {
      const n = gauge(await soak.metrics(), 'mse_process_active_timers');
      trajectory.push(n);
      return n <= baseline.timers + 5;
    }, 'timers back to the baseline', Number(process.env['MSE_SOAK_TIMER_WAIT_MS'] ?? 100_000), 5_000).catch(() => undefined);
    process.stdout.write(`edge timers every 5 s after the end: ${trajectory.join(' ')}\n`);
    const end = await soak.metrics();
    const final = { timers: gauge(end, 'mse_process_active_timers'), sockets: gauge(end, 'mse_process_active_sockets'), rss: gauge(end, 'mse_process_process_resident_memory_bytes') };
    const duplicates = soak.duplicates();
    const answered = [...soak.out.values()].filter((c) => c.answered).length;
    const byEdge = [...soak.out.values()].filter((c) => c.endedByEdge).length;
    const counts = (k: string) => faults.record.filter((r) => r.kind === k).length;
    const mb = (b: number) => (b / 1_048_576).toFixed(1);
    // The long-poll, keep-alive and reconnect timers make a baseline; a leak grows with the calls (hundreds here).
    const leaked = final.timers > baseline.timers + 5 || final.sockets > baseline.sockets + 2;
    process.stdout.write(
      [
        `calls: ${soak.out.size} outbound (${answered} answered, ${byEdge} ended by the edge), ${soak.inbound.length} inbound`,
        `faults: verto ${counts('verto')}, esl ${counts('esl')}, homeserver ${counts('homeserver')}, edge killed ${counts('edge_kill')} (${faults.record.map((r) => `${r.kind}@${r.atS.toFixed(1)}s${r.forMs > 0 ? `/${r.forMs}ms` : ''}`).join(' ')})`,
        `stranded calls: ${stranded.length}${stranded.length > 0 ? ` (${stranded.slice(0, 10).join('; ')})` : ''}`,
        `invites the edge never saw (sent while its /sync was down, then the process was killed; no back-fill after a restart yet): ${neverSeen.length}${neverSeen.length > 0 ? ` (${neverSeen.slice(0, 10).join(' ')})` : ''}`,
        `duplicate endings from the edge: ${duplicates}`,
        `left at the end: ${settled ? 'nothing' : left}`,
        `edge timers (first process at start / last process when everything ended / 30 s later): ${baseline.timers} / ${timersNow} / ${final.timers}; sockets ${baseline.sockets} / ${final.sockets}${leaked ? '  LEAK' : ''}`,
        `edge RSS (first process at start / last process at end): ${mb(baseline.rss)} / ${mb(final.rss)} MB`,
        `edge logs: test-logs/soak-*.edge.log`,
        '',
      ].join('\n'),
    );
    if (stranded.length > 0 || neverSeen.length > 0 || duplicates > 0 || !settled || leaked) code = 1;
  } finally {
    clearInterval(tick);
    clearInterval(scanner);
    await faults.stop();
    for (const c of soak.out.values()) clearTimeout(c.holdTimer);
    for (const c of soak.inbound) clearTimeout(c.hangupTimer);
    await soak.edge?.stop();
    await fs.stop();
    await mx.hs.stop();
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
