import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EdgeProcess, writeConfig } from '../support/edge-process.ts';
import { edgeConfig, startFreeSwitch, startMatrix, type FreeSwitchStack, type MatrixStack } from '../support/sim-stack.ts';
import { WeriftCaller } from '../support/matrix-caller.ts';
import { freePort, httpGet } from '../support/net.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';
import { WireTap } from '../support/wire-tap.ts';
import { candidatesPerMLine } from '../../src/sdp/candidates.ts';

// Matrix -> SIP calls: the built edge process between the homeserver
// simulator (Alice places calls with werift) and the FreeSWITCH simulator
// (routing by the shipped dialplan, far ends configured per number).
// Assertions are on the wire: the Verto requests the simulator received,
// the ESL bytes the edge wrote, the Matrix events in the room.

type Json = Record<string, unknown>;

const N = {
  answer: '+4930100001',
  answer2: '+4930100002',
  answer3: '+4930100003',
  busy: '+4930100486',
  unavailable: '+4930100480',
  notFound: '+4930100404',
  declined: '+4930100603',
  trunkDown: '+4930100503',
  ringsForever: '+4930100408',
  mediaTimeout: '+4930100804',
} as const;

let fs: FreeSwitchStack;
let mx: MatrixStack;
let tap: WireTap;
let edge: EdgeProcess;
let httpPort: number;
let roomId: string;
let callSeq = 0;
const callers: WeriftCaller[] = [];

const events = (filter: (e: Json) => boolean) => mx.hs.events({ roomId }).filter(filter);
const content = (e: Json) => e['content'] as Json;
const byEdge = (type: string, callId: string) => (e: Json) => e['sender'] === mx.edgeUserId && e['type'] === type && content(e)['call_id'] === callId;
const waitEvent = (pred: (e: Json) => boolean, timeoutMs = 8_000) => mx.hs.waitForEvent((e) => e['room_id'] === roomId && pred(e), timeoutMs);
const noticesAfter = (since: number) =>
  mx.hs.events({ roomId, sender: mx.edgeUserId, type: 'm.room.message' }).slice(since).map((e) => content(e)['body'] as string);

async function say(body: string): Promise<void> {
  const before = mx.hs.events({ roomId, sender: mx.edgeUserId, type: 'm.room.message' }).length;
  mx.hs.sendEvent(mx.aliceId, roomId, 'm.room.message', { msgtype: 'm.text', body });
  await mx.hs.waitForEvent(() => mx.hs.events({ roomId, sender: mx.edgeUserId, type: 'm.room.message' }).length > before, 8_000);
}

async function call(number: string, opts: { endOfCandidates?: boolean; sender?: string } = {}): Promise<WeriftCaller> {
  await say(`!dial ${number}`);
  const caller = new WeriftCaller({ hs: mx.hs, userId: opts.sender ?? mx.aliceId, roomId, callId: `call${++callSeq}x${Date.now()}`, endOfCandidates: opts.endOfCandidates ?? true });
  callers.push(caller);
  await caller.invite();
  return caller;
}

function inviteOf(callId: string) {
  return fs.vertoRecord.find((r) => r.method === 'invite' && r.invite?.dialogVariables['mse_destination'] !== undefined && r.callId === callId)?.invite;
}

/** The Verto callID the edge used for a Matrix call: the invite sent after the Matrix invite. */
async function vertoInviteFor(destination: string, after: number, timeoutMs = 8_000): Promise<NonNullable<ReturnType<typeof inviteOf>>> {
  await pollUntil(() => fs.vertoRecord.slice(after).some((r) => r.method === 'invite' && r.invite?.dialogVariables['mse_destination'] === destination), `verto.invite to ${destination}`, timeoutMs);
  const r = fs.vertoRecord.slice(after).find((x) => x.method === 'invite' && x.invite?.dialogVariables['mse_destination'] === destination);
  return r!.invite!;
}

async function liveCalls(): Promise<number> {
  const m = /^mse_calls_live (\d+)$/m.exec((await httpGet(`http://127.0.0.1:${httpPort}/metrics`)).text);
  return m ? Number(m[1]) : -1;
}

async function expectNothingLeft(): Promise<void> {
  await pollUntil(async () => (await liveCalls()) === 0, 'no live call in the edge', 8_000);
  await pollUntil(() => fs.model.channels().length === 0, 'no FreeSWITCH channel', 8_000);
}

beforeAll(async () => {
  fs = await startFreeSwitch({
    originateTimeoutMs: 600,
    farEnd: {
      default: { kind: 'answer', ringMs: 20 },
      byDestination: {
        [N.busy]: { kind: 'reject', sipStatus: 486 },
        [N.unavailable]: { kind: 'reject', sipStatus: 480, ringMs: 30 },
        [N.notFound]: { kind: 'reject', sipStatus: 404 },
        [N.declined]: { kind: 'reject', sipStatus: 603, ringMs: 30 },
        [N.trunkDown]: { kind: 'reject', sipStatus: 503 },
        [N.ringsForever]: { kind: 'no-answer' },
      },
    },
  });
  mx = await startMatrix();
  tap = await WireTap.start({ host: '127.0.0.1', port: fs.eslPort });
  httpPort = await freePort();
  const config = edgeConfig(fs, mx, { httpPort }) as Record<string, Json>;
  config['esl']!['port'] = tap.port;
  config['calls'] = { gathering_window_ms: 10_000, hangup_cause_wait_ms: 1_000, ring_timeout_s: 60 };
  config['policy'] = {
    allowed_users: [mx.aliceId],
    allow_destinations: ['^\\+4930[0-9]{5,10}$', '^\\+49900[0-9]+$'],
    max_concurrent_calls_per_user: 2,
    rate_limit: { calls: 100, window_s: 60 },
  };
  edge = new EdgeProcess(writeConfig(config), 'outbound');
  await pollUntil(async () => (await httpGet(`http://127.0.0.1:${httpPort}/readyz`)).status === 200, 'edge ready', 15_000);
  roomId = mx.hs.createRoom(mx.aliceId, { is_direct: true, invite: [mx.edgeUserId], preset: 'trusted_private_chat' } as never);
  await mx.hs.waitForEvent((e) => e['room_id'] === roomId && e['type'] === 'm.room.member' && e['state_key'] === mx.edgeUserId && content(e)['membership'] === 'join', 10_000);
});

afterEach(async () => {
  for (const c of callers.splice(0)) await c.close();
  await expectNothingLeft();
});

afterAll(async () => {
  const code = await edge?.stop();
  await tap?.close();
  await fs?.stop();
  await mx?.hs.stop();
  expect(code).toBe(0);
});

describe('outbound call, answered', () => {
  it('coalesces every trickled candidate, is triggered by end-of-candidates, answers, sends DTMF on the SIP leg, maps the far end BYE', async () => {
    const before = fs.vertoRecord.length;
    const t0 = Date.now();
    const caller = await call(N.answer);
    const invite = await vertoInviteFor(N.answer, before);
    // The gathering window is 10 s: the invite followed end-of-candidates, not the timer.
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(caller.trickled.length).toBeGreaterThan(0);
    const lines = candidatesPerMLine(invite.sdp);
    for (const c of caller.trickled) {
      expect(lines[c.sdpMLineIndex ?? 0]).toContain(c.candidate.replace(/^a=/, ''));
    }
    expect(invite.sdp).toContain('a=end-of-candidates');
    expect(invite.dialogVariables).toMatchObject({ mse_destination: N.answer, mse_gateway: 'example_trunk', mse_caller_id_number: '+4930555000', mse_caller_id_name: 'Alice Example' });

    const answer = await waitEvent(byEdge('m.call.answer', caller.options.callId));
    expect(content(answer)).toMatchObject({ version: '1', call_id: caller.options.callId });
    await caller.applyAnswer(content(answer)); // werift accepts it: mids, BUNDLE, msid
    const sdp = (content(answer)['answer'] as Json)['sdp'] as string;
    const streamId = Object.keys(content(answer)['sdp_stream_metadata'] as Json)[0];
    expect(sdp).toContain(`a=msid:${streamId} `);

    // !dtmf *5 -> uuid_send_dtmf on the SIP leg (sofia/...), on the wire.
    const sipLeg = fs.model.channels().find((c) => c.name.startsWith('sofia/'));
    expect(sipLeg).toBeDefined();
    const eslBefore = tap.text().length;
    await say('!dtmf *5');
    await waitUntil(tap, () => tap.text().slice(eslBefore).includes('uuid_send_dtmf'), 'uuid_send_dtmf on the wire');
    expect(tap.text().slice(eslBefore)).toBe(`api uuid_send_dtmf ${sipLeg!.uuid} *5\n\n`);

    // The far end hangs up: m.call.hangup user_hangup.
    fs.model.kill(sipLeg!.uuid, 'NORMAL_CLEARING');
    const hangup = await waitEvent(byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['reason']).toBe('user_hangup');
  });

  it('without end-of-candidates the offer goes when the gathering window (10 s) closes', async () => {
    const before = fs.vertoRecord.length;
    const t0 = Date.now();
    const caller = await call(N.answer2, { endOfCandidates: false });
    const invite = await vertoInviteFor(N.answer2, before, 15_000);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThan(9_000);
    // Every trickled candidate made it in anyway, without end-of-candidates in the SDP.
    for (const c of caller.trickled) expect(invite.sdp).toContain(c.candidate.replace(/^a=/, ''));
    await waitEvent(byEdge('m.call.answer', caller.options.callId));
    caller.hangup();
    await pollUntil(() => fs.vertoRecord.slice(before).some((r) => r.method === 'bye'), 'verto.bye after the Matrix hangup');
  }, 25_000);

  it('a Matrix hangup becomes verto.bye; the edge sends nothing back', async () => {
    const before = fs.vertoRecord.length;
    const caller = await call(N.answer3);
    const invite = await vertoInviteFor(N.answer3, before);
    await waitEvent(byEdge('m.call.answer', caller.options.callId));
    caller.hangup();
    await pollUntil(() => fs.vertoRecord.some((r) => r.method === 'bye' && r.callId === invite.callId), 'verto.bye');
    await expectNothingLeft();
    expect(events(byEdge('m.call.hangup', caller.options.callId))).toHaveLength(0);
  });
});

describe('far-end outcomes map to Matrix reasons', () => {
  const rows: Array<[string, string, string, RegExp | undefined]> = [
    ['486 busy', N.busy, 'user_busy', /busy/],
    ['180 then 480', N.unavailable, 'invite_timeout', /temporarily unavailable/],
    ['404 not found', N.notFound, 'unknown_error', /does not exist/],
    ['180 then 603 decline', N.declined, 'user_hangup', /declined/],
    ['503 trunk failure', N.trunkDown, 'unknown_error', /unavailable right now/],
    ['rings until the originate timeout', N.ringsForever, 'invite_timeout', /Nobody answered/],
  ];
  it.each(rows)('%s', async (_name, number, reason, notice) => {
    const noticeCount = mx.hs.events({ roomId, sender: mx.edgeUserId, type: 'm.room.message' }).length;
    const caller = await call(number);
    const hangup = await waitEvent(byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['reason']).toBe(reason);
    expect(events(byEdge('m.call.answer', caller.options.callId))).toHaveLength(0);
    if (notice) {
      await mx.hs.waitForEvent(() => noticesAfter(noticeCount + 1).some((b) => notice.test(b)), 5_000);
    }
  });

  it('media timeout after answer -> ice_timeout', async () => {
    const before = fs.vertoRecord.length;
    const caller = await call(N.mediaTimeout);
    await vertoInviteFor(N.mediaTimeout, before);
    await waitEvent(byEdge('m.call.answer', caller.options.callId));
    await pollUntil(() => fs.model.channels().some((c) => c.name.startsWith('sofia/')), 'SIP leg');
    const sipLeg = fs.model.channels().find((c) => c.name.startsWith('sofia/'))!;
    fs.model.kill(sipLeg.uuid, 'MEDIA_TIMEOUT');
    const hangup = await waitEvent(byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['reason']).toBe('ice_timeout');
  });
});
