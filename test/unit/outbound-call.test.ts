import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { DTMF_WAIT_MS, OutboundCall, type CallPorts } from '../../src/calls/outbound-call.ts';
import type { CallEvent } from '../../src/matrix/call-events.ts';
import type { CallOutcome } from '../../src/calls/hangup-causes.ts';
import type { ApiCommand } from '../../src/esl/commands.ts';
import { deferred } from '../../src/net/deferred.ts';

type Invite = Extract<CallEvent, { type: 'm.call.invite' }>;

const trace = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../shared/traces/real/verto-04-call-sip-trunk-dtmf-client-bye.json'), 'utf8')) as {
  frames: Array<{ dir: string; msg?: { method?: string; params?: { sdp?: string } } }>;
};
const sdps = trace.frames.filter((f) => typeof f.msg?.params?.sdp === 'string').map((f) => f.msg!.params!.sdp!);
const OFFER_WITHOUT_EOC = sdps[0]!.replace('a=end-of-candidates\r\n', '');
const FS_ANSWER = sdps[1]!;

function invite(sdp = OFFER_WITHOUT_EOC, extra: Partial<Invite['content']> = {}): Invite {
  return {
    type: 'm.call.invite',
    roomId: '!room:example.org',
    sender: '@alice:example.org',
    eventId: '$e',
    ageMs: 0,
    content: { call_id: 'c1', version: '1', party_id: 'ALICEDEV', offer: { type: 'offer', sdp }, lifetime: 60_000, ...extra },
  } as Invite;
}

function harness(callInvite = invite()) {
  const sent: Array<{ type: string; content: Record<string, unknown> }> = [];
  const verto: Array<{ method: string; params: Record<string, unknown> }> = [];
  const esl: ApiCommand[] = [];
  const jobs: Array<{ command: ApiCommand; done: ReturnType<typeof deferred<string>> }> = [];
  const notices: string[] = [];
  const ended: CallOutcome[] = [];
  let late = 0;
  let eslFails = false;
  let vertoImpl: CallPorts['verto'] = async (method, params) => {
    verto.push({ method, params });
    return { message: 'CALL CREATED' };
  };
  const ports: CallPorts = {
    sendMatrix: async (_r, type, content) => void sent.push({ type, content }),
    notice: async (_r, text) => void notices.push(text),
    verto: (method, params) => vertoImpl(method, params),
    esl: async (command) => {
      esl.push(command);
      if (eslFails) throw new Error('ESL connection lost');
      return '+OK\n';
    },
    bgapi: (command) => {
      const done = deferred<string>();
      jobs.push({ command, done });
      return done.promise;
    },
    ended: (_c, outcome) => void ended.push(outcome),
    journal: () => undefined,
    milestone: () => undefined,
    lateCandidates: (n) => {
      late += n;
    },
  };
  const call = new OutboundCall(
    callInvite,
    {
      destination: { kind: 'e164', number: '+4930123456', country: 'DE', type: 'FIXED_LINE' },
      gateway: 'example_trunk',
      callerId: { number: '+4930999', name: 'Alice' },
      gatheringWindowMs: 10_000,
      hangupCauseWaitMs: 1_500,
      ringTimeoutS: 60,
      maxDurationS: 3_600,
      mediaTimeoutMs: 60_000,
    },
    ports,
    createLogger('silent'),
    Date.now(),
  );
  return { call, sent, verto, esl, jobs, notices, ended, late: () => late, setVerto: (fn: CallPorts['verto']) => void (vertoImpl = fn), failEsl: (v: boolean) => void (eslFails = v) };
}

const SRFLX = 'candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 10.0.0.1 rport 54400 generation 0';
const kinds = (h: ReturnType<typeof harness>) => h.esl.map((c) => `${c.command} ${c.args}`);

/** A call whose trunk answered and whose media leg is pre-answered, bridged. */
async function bridgedCall() {
  const h = harness();
  h.call.start();
  h.call.onCandidates([{ candidate: '' }]);
  h.call.onMedia(FS_ANSWER);
  h.jobs[0]!.done.resolve(`+OK ${h.call.trunkUuid}\n`);
  await vi.advanceTimersByTimeAsync(0);
  h.call.onBridged(h.call.trunkUuid);
  return h;
}

describe('outbound call, driven over ESL', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('originates the trunk leg at once, before any candidate, with the edge\'s own UUID for it and every value checked', () => {
    const h = harness();
    h.call.start();
    expect(h.verto).toHaveLength(0);
    expect(h.jobs).toHaveLength(1);
    const { command, args } = h.jobs[0]!.command;
    expect(command).toBe('originate');
    expect(args).toBe(
      `{origination_uuid=${h.call.trunkUuid},origination_caller_id_number=+4930999,origination_caller_id_name='Alice',originate_timeout=60,park_after_bridge=true,hangup_after_bridge=false,media_timeout=60000,media_hold_timeout=1800000,` +
        `mse_matrix_call_id=c1,mse_room_id=!room:example.org,mse_party_id=${h.call.partyId},mse_version=1,mse_leg=trunk,mse_destination=+4930123456,mse_user=@alice:example.org}sofia/gateway/example_trunk/+4930123456 &park()`,
    );
  });

  it('places the media leg on end-of-candidates (not on the window timer), parked by the dialplan, with every candidate', () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: SRFLX, sdpMid: '0', sdpMLineIndex: 0 }]);
    expect(h.verto).toHaveLength(0);
    h.call.onCandidates([{ candidate: '' }]);
    expect(h.verto).toHaveLength(1);
    const params = h.verto[0]!.params as { sdp: string; dialogParams: { userVariables: Record<string, string>; callID: string } };
    expect(params.sdp).toContain(`a=${SRFLX}`);
    expect(params.sdp).toContain('a=end-of-candidates');
    expect(params.dialogParams.callID).toBe(h.call.uuid);
    expect(params.dialogParams.userVariables).toMatchObject({ mse_mode: 'park', mse_trunk_uuid: h.call.trunkUuid, mse_destination: '+4930123456', mse_matrix_call_id: 'c1', mse_party_id: h.call.partyId });
    expect(vi.getTimerCount()).toBe(1); // only the lifetime guard is left
  });

  it('without end-of-candidates the media leg goes when the window closes; a complete offer goes at once', () => {
    const h = harness();
    h.call.start();
    vi.advanceTimersByTime(9_999);
    expect(h.verto).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(h.verto).toHaveLength(1);
    const c = harness(invite(sdps[0]!));
    c.call.start();
    expect(c.verto).toHaveLength(1);
  });

  it('media leg ready first: Matrix is answered with the normalised SDP (it hears ringback), the bridge follows the far end\'s answer', async () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onMedia(FS_ANSWER);
    await vi.advanceTimersByTimeAsync(0);
    const answer = h.sent.find((s) => s.type === 'm.call.answer')!;
    expect(answer.content).toMatchObject({ version: '1', party_id: h.call.partyId });
    expect((answer.content['answer'] as { sdp: string }).sdp).toContain('a=mid:0');
    expect(h.call.state).toBe('early_media');
    expect(kinds(h)).toEqual([]);
    h.jobs[0]!.done.resolve(`+OK ${h.call.trunkUuid}\n`);
    await vi.advanceTimersByTimeAsync(0);
    expect(kinds(h)).toEqual([`uuid_bridge ${h.call.uuid} ${h.call.trunkUuid}`]);
    h.call.onBridged(h.call.trunkUuid);
    expect(h.call.state).toBe('answered');
  });

  it('the far end answers before the media leg is ready: bridged the moment it is, the answer is not lost', async () => {
    const h = harness();
    h.call.start();
    h.call.onTrunkAnswered(); // CHANNEL_ANSWER of the trunk leg, 100 ms in
    await vi.advanceTimersByTimeAsync(100);
    expect(kinds(h)).toEqual([]);
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onMedia(FS_ANSWER);
    expect(kinds(h)).toEqual([`uuid_bridge ${h.call.uuid} ${h.call.trunkUuid}`]);
    // the originate job's own +OK changes nothing
    h.jobs[0]!.done.resolve(`+OK ${h.call.trunkUuid}\n`);
    await vi.advanceTimersByTimeAsync(0);
    expect(kinds(h)).toHaveLength(1);
  });

  it('DTMF: refused before the caller is answered; asked while the far end rings, it waits for the answer and goes in order on the trunk leg', async () => {
    const h = harness();
    h.call.start();
    expect(await h.call.sendDtmf('*5', undefined)).toMatch(/answered/);
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onMedia(FS_ANSWER); // the caller is answered (ringback); the far end still rings
    const first = h.call.sendDtmf('*5', undefined);
    const second = h.call.sendDtmf('12', 200);
    await vi.advanceTimersByTimeAsync(100);
    expect(kinds(h)).toEqual([]);
    h.call.onTrunkAnswered();
    expect(await first).toBe('Sent *5.');
    expect(await second).toBe('Sent 12.');
    expect(kinds(h).filter((k) => k.startsWith('uuid_send_dtmf'))).toEqual([`uuid_send_dtmf ${h.call.trunkUuid} *5`, `uuid_send_dtmf ${h.call.trunkUuid} 12@200`]);
  });

  it('DTMF waiting for an answer that never comes is refused at the deadline, or when the call ends first; ESL sees nothing', async () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onMedia(FS_ANSWER);
    const late = h.call.sendDtmf('1', undefined);
    await vi.advanceTimersByTimeAsync(DTMF_WAIT_MS);
    expect(await late).toMatch(/did not answer within 15 s/);
    const cut = h.call.sendDtmf('2', undefined);
    h.call.onMatrixHangup('user');
    expect(await cut).toMatch(/ended before the far end answered/);
    expect(kinds(h).filter((k) => k.startsWith('uuid_send_dtmf'))).toEqual([]);
  });

  it('a hold from the far end (CHANNEL_HOLD of the trunk leg) is offered to Matrix as sendonly, its end as sendrecv', async () => {
    const h = await bridgedCall();
    h.call.onTrunkHold(true);
    await vi.advanceTimersByTimeAsync(0);
    h.call.onTrunkHold(false);
    await vi.advanceTimersByTimeAsync(0);
    const offers = h.sent.filter((x) => x.type === 'm.call.negotiate').map((x) => x.content['description'] as { type: string; sdp: string });
    expect(offers.map((o) => o.type)).toEqual(['offer', 'offer']);
    expect(offers[0]!.sdp).toMatch(/a=sendonly/);
    expect(offers[0]!.sdp).toMatch(/a=setup:actpass/);
    expect(offers[1]!.sdp).toMatch(/a=sendrecv/);
    expect(h.ended).toEqual([]);
  });

  it('the originate fails: the trunk leg\'s cause and SIP status (486) end the call, the media leg goes too', async () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.jobs[0]!.done.resolve('-ERR USER_BUSY\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(h.ended).toHaveLength(0);
    h.call.onTrunkHangupComplete({ hangupCause: 'USER_BUSY', sipTermStatus: '486' });
    expect(h.ended[0]).toMatchObject({ cause: 'USER_BUSY', reason: 'user_busy', sipStatus: 486 });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sent.map((s) => [s.type, s.content['reason']])).toEqual([['m.call.hangup', 'user_busy']]);
    expect(h.notices).toEqual(['The number you called is busy.']);
    expect(h.verto.map((v) => v.method)).toEqual(['verto.invite', 'verto.bye']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('the originate fails and ESL says no more in time: the job\'s cause decides', async () => {
    const h = harness();
    h.call.start();
    h.jobs[0]!.done.resolve('-ERR NO_ANSWER\n');
    await vi.advanceTimersByTimeAsync(1_500);
    expect(h.ended[0]).toMatchObject({ cause: 'NO_ANSWER', reason: 'invite_timeout' });
    expect(h.verto).toEqual([]);
  });

  it('the caller hangs up while the trunk rings: the trunk leg is cancelled, the media leg ended, nothing sent back', () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onMatrixHangup('user');
    expect(kinds(h)).toEqual([`uuid_kill ${h.call.trunkUuid} ORIGINATOR_CANCEL`]);
    expect(h.verto.map((v) => v.method)).toEqual(['verto.invite', 'verto.bye']);
    expect(h.sent).toHaveLength(0);
    expect(h.call.state).toBe('ended');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('FreeSWITCH refuses the media leg (an offer without candidates): the trunk leg is cancelled, the room told why', async () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onVertoBye('INCOMPATIBLE_DESTINATION');
    await vi.advanceTimersByTimeAsync(0);
    expect(kinds(h)).toEqual([`uuid_kill ${h.call.trunkUuid} ORIGINATOR_CANCEL`]);
    expect(h.ended[0]).toMatchObject({ cause: 'INCOMPATIBLE_DESTINATION', reason: 'user_media_failed' });
  });

  it('answered: the far end\'s BYE ends it as a hangup; the media leg\'s own end after that is only its echo', async () => {
    const h = await bridgedCall();
    h.call.onTrunkHangupComplete({ hangupCause: 'NORMAL_CLEARING', sipTermStatus: '200' });
    expect(h.ended).toMatchObject([{ cause: 'NORMAL_CLEARING', reason: 'user_hangup' }]);
    h.call.onHangupComplete({ hangupCause: 'NORMAL_CLEARING' });
    expect(h.ended).toHaveLength(1);
    expect(h.notices).toEqual([]);
  });

  it('answered: the media leg lost (the Matrix client\'s media is gone): the trunk leg is ended, the room told', async () => {
    const h = await bridgedCall();
    h.call.onHangupComplete({ hangupCause: 'NORMAL_CLEARING' });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.ended[0]).toMatchObject({ cause: 'NETWORK_OUT_OF_ORDER', reason: 'ice_timeout' });
    expect(kinds(h).at(-1)).toBe(`uuid_kill ${h.call.trunkUuid} NORMAL_CLEARING`);
    expect(h.notices).toEqual([expect.stringMatching(/connection to the phone system was lost/)]);
  });

  it('an edge hangup tells Matrix before it waits on the legs (a stop must not wait out the Verto timeout)', async () => {
    const h = await bridgedCall();
    const bye = deferred<Record<string, unknown>>();
    h.verto.length = 0;
    h.setVerto(async (method, params) => {
      h.verto.push({ method, params });
      return bye.promise;
    });
    const outcome: CallOutcome = { cause: 'SYSTEM_SHUTDOWN', sipStatus: undefined, reason: 'unknown_error', notice: 'The call was ended because the bridge is shutting down.' };
    let done = false;
    const hungUp = h.call.hangup('SYSTEM_SHUTDOWN', outcome).then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(h.sent.filter((s) => s.type === 'm.call.hangup').map((s) => s.content)).toEqual([{ call_id: 'c1', party_id: h.call.partyId, version: '1', reason: 'unknown_error' }]);
    expect(h.ended).toEqual([outcome]);
    expect(kinds(h).at(-1)).toBe(`uuid_kill ${h.call.trunkUuid} SYSTEM_SHUTDOWN`);
    expect(done).toBe(false);
    h.call.onTrunkHangupComplete({ hangupCause: 'SYSTEM_SHUTDOWN' });
    expect(h.ended).toHaveLength(1);
    bye.resolve({});
    await hungUp;
  });

  it('the invite\'s lifetime runs out while the trunk rings: the trunk leg is cancelled, invite_timeout', async () => {
    const h = harness(invite(OFFER_WITHOUT_EOC, { lifetime: 20_000 }));
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(h.ended[0]).toMatchObject({ cause: 'NO_ANSWER', reason: 'invite_timeout' });
    expect(kinds(h)).toEqual([`uuid_kill ${h.call.trunkUuid} ORIGINATOR_CANCEL`]);
  });

  it('counts candidates that arrive after the media leg went out, and does not resend', () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onCandidates([{ candidate: SRFLX, sdpMid: '0' }, { candidate: '' }]);
    expect(h.verto).toHaveLength(1);
    expect(h.late()).toBe(1);
  });

  it('m.call.negotiate hold and resume: verto.modify hold/unhold, each offer answered with the directions mirrored, no hangup', async () => {
    const h = await bridgedCall();
    const offer = (sdps[0]!).replace(/a=sendrecv\r\n/g, 'a=sendonly\r\n');
    h.call.onNegotiate({ type: 'offer', sdp: offer });
    await vi.advanceTimersByTimeAsync(0);
    h.call.onNegotiate({ type: 'offer', sdp: sdps[0]! });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.verto.filter((v) => v.method === 'verto.modify').map((v) => v.params)).toEqual([
      { action: 'hold', dialogParams: { callID: h.call.uuid } },
      { action: 'unhold', dialogParams: { callID: h.call.uuid } },
    ]);
    const answers = h.sent.filter((x) => x.type === 'm.call.negotiate').map((x) => x.content['description'] as { type: string; sdp: string });
    expect(answers.map((a) => a.type)).toEqual(['answer', 'answer']);
    expect(answers[0]!.sdp).toContain('a=recvonly');
    expect(answers[1]!.sdp).toContain('a=sendrecv');
    expect(h.ended).toEqual([]);
    expect(h.call.held).toBe(false);
  });

  it('m.call.negotiate with an ICE restart: the call ends with a notice (the media leg cannot follow), never silently', async () => {
    const h = await bridgedCall();
    h.call.onNegotiate({ type: 'offer', sdp: sdps[0]!.replace(/a=ice-ufrag:\S+/, 'a=ice-ufrag:RSTR') });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.ended[0]).toMatchObject({ reason: 'ice_failed' });
    expect(h.notices[0]).toMatch(/ICE restart/);
    expect(kinds(h).at(-1)).toBe(`uuid_kill ${h.call.trunkUuid} NORMAL_TEMPORARY_FAILURE`);
  });

  it('a !dtmf whose ESL request fails rejects to its caller only: nothing is left unhandled, the next digits still go', async () => {
    const h = await bridgedCall();
    h.failEsl(true);
    await expect(h.call.sendDtmf('1', undefined)).rejects.toThrow(/ESL connection lost/);
    h.failEsl(false);
    expect(await h.call.sendDtmf('2', undefined)).toBe('Sent 2.');
  });
});
