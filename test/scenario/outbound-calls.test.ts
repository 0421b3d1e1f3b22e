import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content, type Json } from '../support/outbound-fixture.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';
import { parse as parseSdp } from 'sdp-transform';
import { candidatesPerMLine } from '../../src/sdp/candidates.ts';
import { WeriftCaller } from '../support/matrix-caller.ts';

// Matrix -> SIP calls: the built edge process between the homeserver
// simulator (Alice places calls with werift) and the FreeSWITCH simulator
// (routing by the shipped dialplan, far ends configured per number).
// Assertions are on the wire: the Verto requests the simulator received,
// the ESL bytes the edge wrote, the Matrix events in the room.

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
  forbidden: '+4930100403',
  requestTimeout: '+4930100499',
} as const;

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'outbound',
    stack: {
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
          [N.forbidden]: { kind: 'reject', sipStatus: 403 },
          [N.requestTimeout]: { kind: 'reject', sipStatus: 408, ringMs: 30 },
        },
      },
    },
    config: { calls: { gathering_window_ms: 10_000, hangup_cause_wait_ms: 1_000, ring_timeout_s: 5 } },
  });
});

afterEach(async () => f.expectNothingLeft());
afterAll(async () => f?.stop());

describe('outbound call, answered', () => {
  it('coalesces every trickled candidate, is triggered by end-of-candidates, answers, sends DTMF on the SIP leg, maps the far end BYE', async () => {
    const before = f.fs.vertoRecord.length;
    const t0 = Date.now();
    const caller = await f.call(N.answer);
    const invite = await f.vertoInviteFor(N.answer, before);
    // The gathering window is 10 s: the invite followed end-of-candidates, not the timer.
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(caller.trickled.length).toBeGreaterThan(0);
    const lines = candidatesPerMLine(invite.sdp);
    for (const c of caller.trickled) expect(lines[c.sdpMLineIndex ?? 0]).toContain(c.candidate.replace(/^a=/, ''));
    expect(invite.sdp).toContain('a=end-of-candidates');
    expect(invite.dialogVariables).toMatchObject({ mse_destination: N.answer, mse_gateway: 'example_trunk', mse_caller_id_number: '+4930555000', mse_caller_id_name: 'Alice Example' });

    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    expect(content(answer)).toMatchObject({ version: '1', call_id: caller.options.callId });
    await caller.applyAnswer(content(answer)); // werift accepts it: mids, BUNDLE, msid
    const sdp = (content(answer)['answer'] as Json)['sdp'] as string;
    const streamId = Object.keys(content(answer)['sdp_stream_metadata'] as Json)[0];
    expect(sdp).toContain(`a=msid:${streamId} `);

    // verto.display (FreeSWITCH bridged the far end) -> m.call.asserted_identity.
    const identity = await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId));
    expect((content(identity)['asserted_identity'] as Json)['display_name']).toContain(N.answer.replace('+', ''));

    const sipLeg = f.fs.model.channels().find((c) => c.name.startsWith('sofia/'));
    expect(sipLeg).toBeDefined();

    // !dtmf *5 -> uuid_send_dtmf on the SIP leg (sofia/...), on the wire.
    const eslBefore = f.tap.text().length;
    expect(await f.say('!dtmf *5')).toBe('Sent *5.');
    await waitUntil(f.tap, () => f.tap.text().slice(eslBefore).includes('uuid_send_dtmf'), 'uuid_send_dtmf on the wire');
    expect(f.tap.text().slice(eslBefore)).toBe(`api uuid_send_dtmf ${sipLeg!.uuid} *5\n\n`);

    // The far end hangs up: m.call.hangup user_hangup.
    f.fs.model.kill(sipLeg!.uuid, 'NORMAL_CLEARING');
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['reason']).toBe('user_hangup');
  });

  it('without end-of-candidates the offer goes when the gathering window (10 s) closes', async () => {
    const before = f.fs.vertoRecord.length;
    const t0 = Date.now();
    const caller = await f.call(N.answer2, { endOfCandidates: false });
    const invite = await f.vertoInviteFor(N.answer2, before, 15_000);
    expect(Date.now() - t0).toBeGreaterThan(9_000);
    for (const c of caller.trickled) expect(invite.sdp).toContain(c.candidate.replace(/^a=/, ''));
    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    caller.hangup();
    await pollUntil(() => f.fs.vertoRecord.slice(before).some((r) => r.method === 'bye'), 'verto.bye after the Matrix hangup');
  }, 25_000);

  it('a Matrix hangup becomes verto.bye; the edge sends nothing back', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call(N.answer3);
    const invite = await f.vertoInviteFor(N.answer3, before);
    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    caller.hangup();
    await pollUntil(() => f.fs.vertoRecord.some((r) => r.method === 'bye' && r.callId === invite.callId), 'verto.bye');
    await f.expectNothingLeft();
    expect(f.events(f.byEdge('m.call.hangup', caller.options.callId))).toHaveLength(0);
  });
});

describe('an offer with two m-lines', () => {
  // The verto.invite's SDP is parsed here with sdp-transform, independently of the edge's own SDP code.
  it.each([['audio + video', 'video'], ['two audio', 'audio']] as const)('%s: each trickled candidate lands under its own m-line', async (_name, second) => {
    const number = second === 'video' ? '+4930100011' : '+4930100012';
    await f.say(`!dial ${number}`);
    const before = f.fs.vertoRecord.length;
    const caller = new WeriftCaller({ hs: f.mx.hs, userId: f.mx.aliceId, roomId: f.roomId, callId: `twolines${second}${Date.now()}`, endOfCandidates: true, extraMedia: [second] });
    f.callers.push(caller);
    await caller.invite();
    // The offer went out without candidates: every one in the verto.invite was trickled and merged by the edge.
    const offered = parseSdp(caller.offerSdp);
    expect(offered.media.map((m) => m.type)).toEqual(['audio', second]);
    expect(offered.media.flatMap((m) => m.candidates ?? [])).toEqual([]);
    const byIndex = (i: number) => caller.trickled.filter((c) => c.sdpMLineIndex === i);
    expect(byIndex(0).length).toBeGreaterThan(0);
    expect(byIndex(1).length).toBeGreaterThan(0);

    const invite = await f.vertoInviteFor(number, before);
    const sent = parseSdp(invite.sdp);
    expect(sent.media.map((m) => [m.type, String(m.mid)])).toEqual([['audio', '0'], [second, '1']]);
    // "candidate:<foundation> <component> <transport> <priority> <ip> <port> typ <type> ..." -> the same fields as sdp-transform gives.
    const key = (foundation: unknown, component: unknown, transport: unknown, ip: unknown, port: unknown) => `${String(foundation)} ${String(component)} ${String(transport).toLowerCase()} ${String(ip)} ${String(port)}`;
    const trickledKey = (line: string) => {
      const [foundation, component, transport, , ip, port] = line.replace(/^(a=)?candidate:/, '').split(' ');
      return key(foundation, component, transport, ip, port);
    };
    sent.media.forEach((m, i) => {
      const got = (m.candidates ?? []).map((c) => key(c.foundation, c.component, c.transport, c.ip, c.port)).sort();
      // Exactly the candidates trickled for this m-line: none missing, none from the other one.
      expect(got).toEqual(byIndex(i).map((c) => trickledKey(c.candidate)).sort());
      expect(m.endOfCandidates).toBe('end-of-candidates');
    });
    // werift gathers a separate port per m-line: the two sets are really different.
    expect(byIndex(0).map((c) => trickledKey(c.candidate))).not.toEqual(byIndex(1).map((c) => trickledKey(c.candidate)));

    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    caller.hangup();
    await pollUntil(() => f.fs.vertoRecord.slice(before).some((r) => r.method === 'bye'), 'verto.bye after the Matrix hangup');
  });
});

describe('VoIP versions and answer selection', () => {
  it('a version 0 invite is answered and hung up in version 0', async () => {
    const before = f.fs.vertoRecord.length;
    await f.say('!dial +4930100005');
    const caller = f.newCaller({ version: 0 });
    await caller.invite();
    await f.vertoInviteFor('+4930100005', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    expect(content(answer)['version']).toBe(0);
    expect(content(answer)['party_id']).toBeUndefined();
    await pollUntil(() => f.fs.model.channels().some((c) => c.name.startsWith('sofia/')), 'SIP leg');
    f.fs.model.kill(f.fs.model.channels().find((c) => c.name.startsWith('sofia/'))!.uuid, 'NORMAL_CLEARING');
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['version']).toBe(0);
  });

  it('m.call.select_answer naming another party ends the edge leg', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930100006');
    const invite = await f.vertoInviteFor('+4930100006', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    expect(typeof content(answer)['party_id']).toBe('string');
    caller.send('m.call.select_answer', { selected_party_id: 'SOMEONEELSE' });
    await pollUntil(() => f.fs.vertoRecord.some((r) => r.method === 'bye' && r.callId === invite.callId), 'verto.bye');
  });

  it('m.call.select_answer naming the edge keeps the call', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930100007');
    const invite = await f.vertoInviteFor('+4930100007', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    caller.send('m.call.select_answer', { selected_party_id: content(answer)['party_id'] });
    // A marker round trip through the edge, then the call is still up.
    await f.say('!help');
    expect(f.fs.vertoRecord.some((r) => r.method === 'bye' && r.callId === invite.callId)).toBe(false);
    expect(await f.liveCalls()).toBe(1);
    caller.hangup();
  });
});

describe('far-end outcomes map to Matrix reasons', () => {
  const rows: Array<[string, string, string, RegExp]> = [
    ['486 busy', N.busy, 'user_busy', /busy/],
    ['180 then 480', N.unavailable, 'invite_timeout', /temporarily unavailable/],
    ['404 not found', N.notFound, 'unknown_error', /does not exist/],
    ['180 then 603 decline', N.declined, 'user_hangup', /declined/],
    ['503 trunk failure', N.trunkDown, 'unknown_error', /unavailable right now/],
    ['rings until the originate timeout', N.ringsForever, 'invite_timeout', /Nobody answered/],
    ['403 forbidden', N.forbidden, 'user_hangup', /declined/],
    ['180 then 408 request timeout', N.requestTimeout, 'invite_timeout', /did not answer in time/],
  ];
  it.each(rows)('%s', async (_name, number, reason, notice) => {
    const since = f.notices().length + 1; // after the !dial reply
    const caller = await f.call(number);
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['reason']).toBe(reason);
    // The trunk rang at once; the caller may have been answered for ringback meanwhile (the media leg pre-answered), never after the end.
    const edgeEvents = f.events((e) => e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === caller.options.callId).map((e) => e['type']);
    expect(edgeEvents.slice(-1)).toEqual(['m.call.hangup']);
    expect(edgeEvents.filter((t) => t === 'm.call.hangup')).toHaveLength(1);
    await f.waitNotice(notice, since);
  });

  it('media timeout after answer -> ice_timeout', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call(N.mediaTimeout);
    await f.vertoInviteFor(N.mediaTimeout, before);
    await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await pollUntil(() => f.fs.model.channels().some((c) => c.name.startsWith('sofia/')), 'SIP leg');
    const sipLeg = f.fs.model.channels().find((c) => c.name.startsWith('sofia/'))!;
    f.fs.model.kill(sipLeg.uuid, 'MEDIA_TIMEOUT');
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['reason']).toBe('ice_timeout');
  });
});
