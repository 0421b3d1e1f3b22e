import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { OutboundCall, type CallPorts } from '../../src/calls/outbound-call.ts';
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
const SIP_LEG = '8c4b1a2e-0d3f-4e5a-9b6c-7d8e9f0a1b2c';

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
  const notices: string[] = [];
  const ended: CallOutcome[] = [];
  let late = 0;
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
      return `+OK ${SIP_LEG} sent DTMF.\n`;
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
    },
    ports,
    createLogger('silent'),
    Date.now(),
  );
  return { call, sent, verto, esl, notices, ended, late: () => late, setVerto: (fn: CallPorts['verto']) => void (vertoImpl = fn) };
}

const SRFLX = 'candidate:842163049 1 udp 1677729535 203.0.113.7 54400 typ srflx raddr 10.0.0.1 rport 54400 generation 0';

describe('outbound call', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends verto.invite on end-of-candidates, not on the window timer, with every candidate', () => {
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
    expect(params.dialogParams.userVariables).toMatchObject({
      mse_destination: '+4930123456',
      mse_gateway: 'example_trunk',
      mse_caller_id_number: '+4930999',
      mse_caller_id_name: 'Alice',
      mse_call_timeout: '60',
      mse_matrix_call_id: 'c1',
      mse_room_id: '!room:example.org',
      mse_party_id: h.call.partyId,
    });
    expect(vi.getTimerCount()).toBe(1); // only the lifetime guard is left
  });

  it('without end-of-candidates it dials when the window closes', () => {
    const h = harness();
    h.call.start();
    vi.advanceTimersByTime(9_999);
    expect(h.verto).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(h.verto).toHaveLength(1);
  });

  it('an offer that is already complete is dialled at once', () => {
    const h = harness(invite(sdps[0]!));
    h.call.start();
    expect(h.verto).toHaveLength(1);
  });

  it('answers Matrix with the normalised FreeSWITCH SDP and v1 fields', async () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onAnswer(FS_ANSWER);
    await vi.runOnlyPendingTimersAsync();
    const answer = h.sent.find((s) => s.type === 'm.call.answer')!;
    expect(answer.content['version']).toBe('1');
    expect(answer.content['party_id']).toBe(h.call.partyId);
    const sdp = (answer.content['answer'] as { sdp: string }).sdp;
    expect(sdp).toContain('a=mid:0');
    const streamId = Object.keys(answer.content['sdp_stream_metadata'] as object)[0];
    expect(sdp).toContain(`a=msid:${streamId} `);
  });

  it('DTMF only once answered, and on the SIP leg', async () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    expect(await h.call.sendDtmf('*5', undefined)).toMatch(/answered/);
    h.call.onBridged(SIP_LEG);
    h.call.onAnswer(FS_ANSWER);
    expect(await h.call.sendDtmf('*5', undefined)).toBe('Sent *5.');
    expect(h.esl).toEqual([{ command: 'uuid_send_dtmf', args: `${SIP_LEG} *5` }]);
  });

  it('takes the cause from ESL over verto.bye (480 arrives as NORMAL_CLEARING)', () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onVertoBye('NORMAL_CLEARING');
    expect(h.ended).toHaveLength(0);
    h.call.onHangupComplete({ hangupCause: 'NORMAL_CLEARING', lastBridgeHangupCause: 'NO_USER_RESPONSE', lastBridgeProtoSpecificCause: 'sip:480', originateDisposition: 'NO_USER_RESPONSE' });
    expect(h.ended[0]).toMatchObject({ cause: 'NO_USER_RESPONSE', reason: 'invite_timeout', sipStatus: 480 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('tells a Verto leg FreeSWITCH hung up with its socket (ctl-08) from a far-end BYE (verto-05), whichever ESL reports first', async () => {
    const lost = harness();
    lost.call.start();
    lost.call.onCandidates([{ candidate: '' }]);
    lost.call.onAnswer(FS_ANSWER);
    lost.call.onHangupComplete({ hangupCause: 'NORMAL_CLEARING' });
    await vi.runOnlyPendingTimersAsync();
    expect(lost.ended[0]).toMatchObject({ cause: 'NETWORK_OUT_OF_ORDER', reason: 'ice_timeout' });
    expect(lost.sent.find((s) => s.type === 'm.call.hangup')?.content).toMatchObject({ reason: 'ice_timeout', party_id: lost.call.partyId });
    expect(lost.notices).toEqual([expect.stringMatching(/connection to the phone system was lost/)]);

    const bye = harness();
    bye.call.start();
    bye.call.onCandidates([{ candidate: '' }]);
    bye.call.onAnswer(FS_ANSWER);
    bye.call.onHangupComplete({ hangupCause: 'NORMAL_CLEARING', vertoHangupDisposition: 'send_bye', lastBridgeHangupCause: 'NORMAL_CLEARING', lastBridgeProtoSpecificCause: 'sip:200' });
    await vi.runOnlyPendingTimersAsync();
    expect(bye.ended[0]).toMatchObject({ cause: 'NORMAL_CLEARING', reason: 'user_hangup' });
    expect(bye.notices).toEqual([]);
  });

  it('a ringing call whose Verto leg FreeSWITCH dropped with the socket (DESTINATION_OUT_OF_ORDER, no disposition) fails with the connection notice; with send_bye it is the trunk\'s cause', async () => {
    const lost = harness();
    lost.call.start();
    lost.call.onCandidates([{ candidate: '' }]);
    lost.call.onHangupComplete({ hangupCause: 'DESTINATION_OUT_OF_ORDER', lastBridgeHangupCause: 'ORIGINATOR_CANCEL' });
    await vi.runOnlyPendingTimersAsync();
    expect(lost.ended[0]).toMatchObject({ cause: 'DESTINATION_OUT_OF_ORDER', reason: 'unknown_error' });
    expect(lost.notices).toEqual([expect.stringMatching(/connection to the phone system was lost/)]);

    const trunk = harness();
    trunk.call.start();
    trunk.call.onCandidates([{ candidate: '' }]);
    trunk.call.onHangupComplete({ hangupCause: 'DESTINATION_OUT_OF_ORDER', vertoHangupDisposition: 'send_bye', lastBridgeHangupCause: 'DESTINATION_OUT_OF_ORDER', lastBridgeProtoSpecificCause: 'sip:502' });
    await vi.runOnlyPendingTimersAsync();
    expect(trunk.ended[0]).toMatchObject({ cause: 'DESTINATION_OUT_OF_ORDER' });
    expect(trunk.notices.some((n) => /connection to the phone system/.test(n))).toBe(false);
  });

  it('falls back to the verto.bye cause when ESL says nothing in time', () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onVertoBye('USER_BUSY');
    vi.advanceTimersByTime(1_500);
    expect(h.ended[0]).toMatchObject({ cause: 'USER_BUSY', reason: 'user_busy' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a Matrix hangup sends verto.bye and nothing back to Matrix', () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onMatrixHangup('user');
    expect(h.verto.map((v) => v.method)).toEqual(['verto.invite', 'verto.bye']);
    expect(h.sent).toHaveLength(0);
    expect(h.call.state).toBe('ended');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an edge hangup tells Matrix before it waits on the Verto bye (a stop must not wait out the Verto timeout), with the outcome and bye cause it was given', async () => {
    const h = harness();
    const bye = deferred<Record<string, unknown>>();
    const dial = h.call;
    dial.start();
    dial.onCandidates([{ candidate: '' }]);
    dial.onAnswer(FS_ANSWER);
    await vi.advanceTimersByTimeAsync(0);
    h.verto.length = 0;
    h.setVerto(async (method, params) => {
      h.verto.push({ method, params });
      return bye.promise;
    });
    const outcome: CallOutcome = { cause: 'SYSTEM_SHUTDOWN', sipStatus: undefined, reason: 'unknown_error', notice: 'The call was ended because the bridge is shutting down.' };
    let done = false;
    const hungUp = dial.hangup('SYSTEM_SHUTDOWN', outcome).then(() => {
      done = true;
    });
    await Promise.resolve();
    // told and forgotten while verto.bye is still unanswered
    expect(h.sent.filter((s) => s.type === 'm.call.hangup').map((s) => s.content)).toEqual([{ call_id: 'c1', party_id: dial.partyId, version: '1', reason: 'unknown_error' }]);
    expect(h.notices).toEqual(['The call was ended because the bridge is shutting down.']);
    expect(h.ended).toEqual([outcome]);
    expect(h.verto).toEqual([{ method: 'verto.bye', params: { cause: 'SYSTEM_SHUTDOWN', dialogParams: { callID: dial.uuid } } }]);
    expect(done).toBe(false);
    // ESL's hangup of the leg arrives meanwhile: the outcome stays the one given
    dial.onHangupComplete({ hangupCause: 'NORMAL_CLEARING' });
    expect(h.ended).toHaveLength(1);
    bye.resolve({});
    await hungUp;
    expect(h.esl).toEqual([]);
  });

  it('an edge hangup while still gathering tells Matrix and sends nothing to Verto', async () => {
    const h = harness();
    h.call.start();
    await h.call.hangup('NO_ANSWER', { cause: 'NO_ANSWER', sipStatus: undefined, reason: 'invite_timeout', notice: 'Nobody answered.' });
    expect(h.verto).toEqual([]);
    expect(h.sent.map((s) => [s.type, s.content['reason']])).toEqual([['m.call.hangup', 'invite_timeout']]);
    expect(h.ended).toMatchObject([{ cause: 'NO_ANSWER', reason: 'invite_timeout' }]);
  });

  it('ignores events that do not fit the state', () => {
    const h = harness();
    h.call.start();
    h.call.onAnswer(FS_ANSWER); // still gathering
    expect(h.call.state).toBe('gathering');
    expect(h.sent).toHaveLength(0);
  });

  it('counts candidates that arrive after the invite went out, and does not resend', () => {
    const h = harness();
    h.call.start();
    h.call.onCandidates([{ candidate: '' }]);
    h.call.onCandidates([{ candidate: SRFLX, sdpMid: '0' }, { candidate: '' }]);
    expect(h.verto).toHaveLength(1);
    expect(h.late()).toBe(1);
  });
});
