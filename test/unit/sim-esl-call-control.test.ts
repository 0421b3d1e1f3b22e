// The simulator's ESL-driven call control beyond what the ctl-* replays
// show: the DTLS delay before a Verto leg's CHANNEL_ANSWER, an ICE offer
// without candidates, a parked trunk leg bridged to a second Verto leg, and
// hold from either side of a uuid_bridge.
import { afterEach, describe, expect, it } from 'vitest';
import { FreeSwitchModel, type FreeSwitchModelOptions } from '../support/freeswitch/channel-model.ts';
import type { FsEvent, VertoCallSink } from '../support/freeswitch/contract.ts';
import { executeApi } from '../support/freeswitch/esl-api.ts';
import { CAPTURE_GATEWAYS, loadCaptureDialplan } from '../support/freeswitch/capture-config/index.ts';
import { inviteOfferSdp as webrtcOffer } from '../support/freeswitch/verto-sdp.ts';

let model: FreeSwitchModel | undefined;
afterEach(() => {
  model?.stop();
  model = undefined;
});

type Sent = { readonly method: string; readonly callId: string; readonly at: number; readonly params: Readonly<Record<string, unknown>> };

function sink(sent: Sent[]): VertoCallSink {
  const push = (method: string, callId: string, params: Readonly<Record<string, unknown>> = {}): void => {
    sent.push({ method, callId, at: Date.now(), params });
  };
  return {
    media: (callId, sdp) => push('verto.media', callId, { sdp }),
    answer: (callId, sdp) => push('verto.answer', callId, sdp === undefined ? {} : { sdp }),
    display: (callId, params) => push('verto.display', callId, params),
    bye: (callId, cause, causeCode) => push('verto.bye', callId, { cause, causeCode }),
    invite: (callId, params) => push('verto.invite', callId, params),
    attach: (callId, params) => push('verto.attach', callId, params),
  };
}

function start(options: FreeSwitchModelOptions = {}): { m: FreeSwitchModel; events: { name: string; uuid: string; at: number; e: FsEvent }[] } {
  const m = new FreeSwitchModel({
    dialplan: loadCaptureDialplan(),
    gateways: Object.fromEntries(CAPTURE_GATEWAYS.map((g) => [g, { profile: 'external' }])),
    farEnd: { byGateway: { sipp: { kind: 'answer', ringMs: 0 } } },
    ...options,
  });
  model = m;
  const events: { name: string; uuid: string; at: number; e: FsEvent }[] = [];
  m.onEvent((e) => {
    const h = new Map(e.headers);
    events.push({ name: h.get('Event-Name') ?? '', uuid: h.get('Unique-ID') ?? '', at: Date.now(), e });
  });
  return { m, events };
}

const until = async (cond: () => boolean, what: string, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

function call(m: FreeSwitchModel, sessid: string, callId: string, destination: string, sdp = webrtcOffer()): void {
  const r = m.invite({ callId, sessid, user: '1000@127.0.0.1', sdp, destinationNumber: destination, dialogVariables: {}, socketVariables: { user_context: 'default' }, noRecover: true });
  expect(r.ok).toBe(true);
}

const TRUNK = '11111111-2222-4333-8444-555555555555';

async function parkedTrunk(m: FreeSwitchModel, vars = ''): Promise<void> {
  const r = await executeApi(m, 'originate', `{origination_uuid=${TRUNK}${vars}}sofia/gateway/sipp/+49301234567 &park()`);
  expect(r).toBe(`+OK ${TRUNK}\n`);
}

describe('Verto leg answer waits for DTLS (vertoDtlsDelayMs)', () => {
  it('sends verto.answer at once and fires CHANNEL_ANSWER only once DTLS is up', async () => {
    const { m, events } = start({ vertoDtlsDelayMs: 120 });
    const sent: Sent[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(sent));
    call(m, 's1', 'c1', '1559');
    await until(() => events.some((e) => e.name === 'CHANNEL_ANSWER' && e.uuid === 'c1'), 'CHANNEL_ANSWER');
    const answerSent = sent.find((s) => s.method === 'verto.answer');
    const answered = events.find((e) => e.name === 'CHANNEL_ANSWER' && e.uuid === 'c1');
    expect(answerSent?.params.sdp).toBeDefined();
    expect((answered?.at ?? 0) - (answerSent?.at ?? 0)).toBeGreaterThanOrEqual(100);
    // the `answer` app returns only then: park runs after the answer
    await until(() => events.some((e) => e.name === 'CHANNEL_PARK' && e.uuid === 'c1'), 'CHANNEL_PARK');
    const names = events.filter((e) => e.uuid === 'c1' && ['CHANNEL_PROGRESS_MEDIA', 'CHANNEL_ANSWER', 'CHANNEL_PARK'].includes(e.name)).map((e) => e.name);
    expect(names).toEqual(['CHANNEL_PROGRESS_MEDIA', 'CHANNEL_ANSWER', 'CHANNEL_PARK']);
  });

  it('unset: CHANNEL_ANSWER comes before verto.answer, as before', async () => {
    const { m, events } = start();
    const sent: Sent[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(sent));
    call(m, 's1', 'c1', '1559');
    await until(() => events.some((e) => e.name === 'CHANNEL_PARK'), 'CHANNEL_PARK');
    expect(sent.map((s) => s.method)).toEqual(['verto.answer']);
  });
});

describe('an ICE offer without any candidate', () => {
  it('is refused when FreeSWITCH answers: INCOMPATIBLE_DESTINATION, no verto.answer', async () => {
    const { m, events } = start();
    const sent: Sent[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(sent));
    const bare = webrtcOffer().split('\r\n').filter((l) => !l.startsWith('a=candidate:') && !l.startsWith('a=end-of-candidates')).join('\r\n');
    call(m, 's1', 'c1', '1559', bare);
    await until(() => m.channels().length === 0, 'the leg to go');
    expect(sent.map((s) => [s.method, s.params.cause, s.params.causeCode])).toEqual([['verto.bye', 'INCOMPATIBLE_DESTINATION', 88]]);
    const hc = events.find((e) => e.name === 'CHANNEL_HANGUP_COMPLETE');
    expect(new Map(hc?.e.headers).get('variable_endpoint_disposition')).toBe('CODEC NEGOTIATION ERROR');
  });
});

describe('park_after_bridge and a second Verto leg', () => {
  it('parks the trunk leg when its Verto leg goes and bridges it to a new one', async () => {
    const { m, events } = start();
    await parkedTrunk(m, ',park_after_bridge=true');
    const sent: Sent[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(sent));
    call(m, 's1', 'v1', '1560');
    await until(() => events.some((e) => e.name === 'CHANNEL_PARK' && e.uuid === 'v1'), 'v1 parked');
    expect(await executeApi(m, 'uuid_bridge', `v1 ${TRUNK}`)).toBe(`+OK ${TRUNK}\n`);
    await until(() => events.some((e) => e.name === 'CHANNEL_BRIDGE' && e.uuid === 'v1'), 'first bridge');
    m.detachSession('s1');
    await until(() => m.channel('v1') === undefined, 'v1 gone');
    expect(await executeApi(m, 'uuid_exists', TRUNK)).toBe('true');
    expect(events.filter((e) => e.uuid === TRUNK && e.name === 'CHANNEL_PARK')).toHaveLength(2);
    const sent2: Sent[] = [];
    m.attachSession('s2', '1000@127.0.0.1', sink(sent2));
    call(m, 's2', 'v2', '1560');
    await until(() => events.some((e) => e.name === 'CHANNEL_PARK' && e.uuid === 'v2'), 'v2 parked');
    expect(await executeApi(m, 'uuid_bridge', `v2 ${TRUNK}`)).toBe(`+OK ${TRUNK}\n`);
    await until(() => events.some((e) => e.name === 'CHANNEL_BRIDGE' && e.uuid === 'v2'), 'second bridge');
    expect(sent2.map((s) => s.method)).toEqual(['verto.media', 'verto.answer', 'verto.display']);
    expect(await executeApi(m, 'uuid_kill', TRUNK)).toBe('+OK\n');
    await until(() => m.channels().length === 0, 'both gone');
    expect(sent2.at(-1)?.method).toBe('verto.bye');
  });

  it('a trunk leg whose originate job has not returned (still ringing) cannot be bridged, even to a pre-answered Verto leg (observed.md)', async () => {
    const { m, events } = start({ farEnd: { byGateway: { sipp: { kind: 'no-answer' } } } });
    const job = executeApi(m, 'originate', `{origination_uuid=${TRUNK}}sofia/gateway/sipp/+49301234567 &park()`);
    const sent: Sent[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(sent));
    call(m, 's1', 'v1', '1560');
    await until(() => events.some((e) => e.name === 'CHANNEL_PARK' && e.uuid === 'v1') && m.channel(TRUNK) !== undefined, 'v1 parked, the trunk ringing');
    expect(await executeApi(m, 'uuid_bridge', `v1 ${TRUNK}`)).toBe('-ERR Invalid uuid\n');
    expect(m.channel(TRUNK)?.hungUp).toBe(false);
    expect(await executeApi(m, 'uuid_kill', TRUNK)).toBe('+OK\n');
    expect(await job).toMatch(/^-ERR /);
  });

  it('without park_after_bridge the trunk leg ends with its Verto leg', async () => {
    const { m } = start();
    await parkedTrunk(m);
    m.attachSession('s1', '1000@127.0.0.1', sink([]));
    call(m, 's1', 'v1', '1560');
    await until(() => m.channel('v1')?.times.progressMedia !== 0, 'v1 pre-answered');
    await executeApi(m, 'uuid_bridge', `v1 ${TRUNK}`);
    await until(() => m.channel('v1')?.bridgedTo === TRUNK, 'bridged');
    m.detachSession('s1');
    await until(() => m.channels().length === 0, 'both gone');
  });
});

describe('hold across a uuid_bridge', () => {
  it('verto.modify hold plays hold music to the trunk leg; a far-end hold plays it to the Verto leg and tells its client nothing', async () => {
    const { m, events } = start();
    await parkedTrunk(m);
    const sent: Sent[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(sent));
    call(m, 's1', 'v1', '1560');
    await until(() => m.channel('v1')?.times.progressMedia !== 0, 'v1 pre-answered');
    await executeApi(m, 'uuid_bridge', `v1 ${TRUNK}`);
    await until(() => m.channel('v1')?.bridgedTo === TRUNK, 'bridged');

    expect(m.modify('s1', 'v1', 'hold', {})).toEqual({ ok: true, fields: { holdState: 'held' } });
    expect(m.channel(TRUNK)?.hearsHoldMusic).toBe('local_stream://moh');
    expect(m.modify('s1', 'v1', 'unhold', {})).toEqual({ ok: true, fields: { holdState: 'active' } });
    expect(m.channel(TRUNK)?.hearsHoldMusic).toBeUndefined();

    const before = sent.length;
    expect(m.farEndReinviteHold(TRUNK, true)).toBe(true);
    expect(m.channel('v1')?.hearsHoldMusic).toBe('local_stream://moh');
    const trunkHold = events.filter((e) => e.uuid === TRUNK && ['CHANNEL_CALLSTATE', 'CHANNEL_HOLD'].includes(e.name)).slice(-2).map((e) => [e.name, new Map(e.e.headers).get('Channel-Call-State')]);
    expect(trunkHold).toEqual([['CHANNEL_CALLSTATE', 'HELD'], ['CHANNEL_HOLD', 'HELD']]);
    await until(() => events.some((e) => e.uuid === 'v1' && e.name === 'CHANNEL_EXECUTE' && new Map(e.e.headers).get('Application') === 'playback'), 'moh on the Verto leg');
    expect(m.farEndReinviteHold(TRUNK, false)).toBe(true);
    expect(m.channel('v1')?.hearsHoldMusic).toBeUndefined();
    expect(m.channel(TRUNK)?.callState).toBe('ACTIVE');
    expect(sent.slice(before)).toEqual([]);
    m.kill(TRUNK, 'NORMAL_CLEARING');
    await until(() => m.channels().length === 0, 'both gone');
  });
});
