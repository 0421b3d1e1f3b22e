import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content, type Json } from '../support/outbound-fixture.ts';
import { WeriftCallee } from '../support/matrix-caller.ts';
import { causeToSipStatus } from '../support/freeswitch/causes.ts';
import { vertoInvitesSent } from '../support/freeswitch/verto-backend.ts';
import type { RequestRecord } from '../support/homeserver/index.ts';
import { DOMAIN } from '../support/sim-stack.ts';
import { pollUntil } from '../support/wait.ts';

// SIP -> Matrix: a trunk call reaches the FreeSWITCH simulator's public
// context (the shipped template), is bridged to the edge's Verto user, and
// the mapped room rings. Matrix devices are werift peers. Outcomes are
// asserted on the wire: the Verto requests FreeSWITCH received, the cause
// (and so the SIP answer) of the trunk leg, the Matrix events in the room.

const DID = { reception: '+49301234561', doors: '+49301234562', alice: '+49301234563', unrouted: '+49301234569', foreign: '+4940555000' } as const;

let f: OutboundFixture;
let doorsRoom: string;
const callees: WeriftCallee[] = [];

function callee(partyId: string, roomId = f.roomId): WeriftCallee {
  const c = new WeriftCallee(f.mx.hs, f.mx.aliceId, roomId, partyId);
  callees.push(c);
  return c;
}

/** A call from the trunk; resolves with its handle once the room rings. */
async function dial(did: string, roomId: string) {
  const handle = f.fs.model.placeInboundCall({ did: did.replace('+', ''), callerNumber: '+4917012345678', callerName: 'Erika Mustermann', context: 'matrix-sip-edge-public' });
  const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seenInvites.has(e['event_id'] as string), 8_000, roomId);
  seenInvites.add(invite['event_id'] as string);
  return { handle, invite, callId: content(invite)['call_id'] as string };
}
const seenInvites = new Set<string>();

const isEdgeSync = (r: RequestRecord): boolean => r.userId === f.mx.edgeUserId && r.method === 'GET' && r.path.endsWith('/sync');

/** Resolves once an answer to the edge's /sync carried the event (the homeserver simulator's request record). */
function edgeSynced(eventId: string): Promise<RequestRecord> {
  return f.mx.hs.waitForRequest((r) => isEdgeSync(r) && JSON.stringify(r.response).includes(eventId), 8_000);
}

/**
 * Resolves once the edge has handled every event stored so far: two marker
 * events in turn, each until a /sync answer carried it. matrix-js-sdk asks
 * for the next batch only after handling the last one (and the edge reacts
 * to call events synchronously), so the batch with the second marker was
 * asked for after everything up to the first had been handled.
 */
async function edgeCaughtUp(roomId: string): Promise<void> {
  for (const n of [1, 2]) await edgeSynced(f.mx.hs.sendEvent(f.mx.aliceId, roomId, 'org.example.test.marker', { n }));
}

/** The types of the events the edge sent for a Matrix call, in order. */
function edgeCallEvents(callId: string, roomId = f.roomId): string[] {
  return f.events((e) => e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId, roomId).map((e) => e['type'] as string);
}

/** Every event the edge sent to the room after the given one. */
function edgeEventsAfter(eventId: string, roomId = f.roomId): Json[] {
  const all = f.mx.hs.events({ roomId });
  return all.slice(all.findIndex((e) => e['event_id'] === eventId) + 1).filter((e) => e['sender'] === f.mx.edgeUserId);
}

/** Every request the edge made to the homeserver other than reads, from index `since` of the record on. */
function edgeWrites(since: number): string[] {
  return f.mx.hs.requests().slice(since).filter((r) => r.userId === f.mx.edgeUserId && r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
}

/**
 * What the edge wrote about a caller since a request mark: every write but
 * room messages, and the room messages that name the caller's number (a
 * notice of an earlier call may still be on its way).
 */
function edgeWritesAbout(since: number, callerNumber: string): string[] {
  const writes = edgeWrites(since).filter((w) => !w.includes('/send/m.room.message/'));
  const notices = f.mx.hs.events({ sender: f.mx.edgeUserId, type: 'm.room.message' }).map((e) => String(content(e)['body'])).filter((b) => b.includes(callerNumber));
  return [...writes, ...notices];
}

const dtmfNotices = (roomId: string, since = 0): string[] => f.notices(roomId).slice(since).filter((n) => n.startsWith('The caller pressed'));

/** The trunk leg is answered and bridged to the Verto leg FreeSWITCH offered the edge (and back). */
function bridgedToEdge(trunkUuid: string, vertoLeg: string): boolean {
  const trunk = f.fs.model.channel(trunkUuid);
  return trunk?.answered === true && trunk.bridgedTo === vertoLeg && f.fs.model.channel(vertoLeg)?.bridgedTo === trunkUuid;
}

/** The verto.invite FreeSWITCH sent the edge for the trunk leg `uuid` (its callID is the edge's leg). */
function vertoLegFor(uuid: string): string {
  const sent = vertoInvitesSent(f.fs.model).filter((i) => i.originator === uuid);
  expect(sent).toHaveLength(1);
  expect(sent[0]!.user).toBe(`edge@${DOMAIN}`);
  return sent[0]!.callId;
}

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'inbound',
    stack: { dialplanOverrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' } },
    // the shipped gathering window (3 s): an answer's candidates come in matrix-js-sdk's batch 500 ms after it
    config: { calls: { gathering_window_ms: 3_000, hangup_cause_wait_ms: 1000, ring_timeout_s: 60, drain_s: 1 } },
  });
  doorsRoom = f.mx.hs.createRoom(f.mx.aliceId, { invite: [f.mx.edgeUserId] } as never);
  await f.waitEvent((e) => e['type'] === 'm.room.member' && e['state_key'] === f.mx.edgeUserId && content(e)['membership'] === 'join', 10_000, doorsRoom);
  // The edge's config is written at start; restart it with the inbound routes that name these rooms.
  await f.restartEdge({
    inbound: {
      routes: [
        { did: DID.reception, room: f.roomId },
        { did: DID.doors, room: doorsRoom, dtmf_notices: true },
        { did: DID.alice, user: f.mx.aliceId },
      ],
      ring_timeout_s: 5,
      dtmf_batch_ms: 300,
    },
  });
});

afterEach(async () => {
  for (const c of callees.splice(0)) await c.close();
  await f.expectNothingLeft();
});
afterAll(async () => f?.stop());

describe('a DID rings the mapped room', () => {
  it('two devices: the first answer wins, one verto.answer, select_answer names it, the caller hears it; DTMF from the caller is one notice per burst', async () => {
    const vertoBefore = f.fs.vertoRecord.length;
    const { handle, invite, callId } = await dial(DID.doors, doorsRoom);
    const vertoLeg = vertoLegFor(handle.uuid);
    const c = content(invite);
    expect(c).toMatchObject({ version: '1', lifetime: 5_000 });
    const offerSdp = (c['offer'] as Json)['sdp'] as string;
    expect(offerSdp).toContain('a=mid:0');
    expect(offerSdp).toContain(`a=msid:${Object.keys(c['sdp_stream_metadata'] as Json)[0]} `);
    // The caller is shown by name and number.
    await pollUntil(() => f.notices(doorsRoom).some((n) => n.includes('Erika Mustermann (+4917012345678)')), 'caller notice');

    const first = callee('DEVICEA', doorsRoom);
    const second = callee('DEVICEB', doorsRoom);
    await first.answer(invite);
    await second.answer(invite);
    const select = await f.waitEvent((e) => e['type'] === 'm.call.select_answer' && content(e)['call_id'] === callId, 8_000, doorsRoom);
    expect(content(select)['selected_party_id']).toBe('DEVICEA');

    // Count only once the edge has provably handled DEVICEB's answer and candidates.
    await pollUntil(() => f.fs.vertoRecord.slice(vertoBefore).some((r) => r.method === 'answer'), 'verto.answer');
    await edgeCaughtUp(doorsRoom);
    const answers = f.fs.vertoRecord.slice(vertoBefore).filter((r) => r.method === 'answer');
    expect(answers).toHaveLength(1);
    expect(answers[0]!.callId).toBe(vertoLeg);
    // DEVICEB lost: select_answer (one, naming DEVICEA) is all it is told; no hangup or reject aimed at it.
    expect(edgeCallEvents(callId, doorsRoom)).toEqual(['m.call.invite', 'm.call.select_answer']);
    // The winning device's trickled candidates were coalesced into the Verto answer.
    expect(first.trickled.length).toBeGreaterThan(0);
    for (const cand of first.trickled) expect(answers[0]!.sdp).toContain(String(cand['candidate']).replace(/^a=/, ''));
    expect(answers[0]!.sdp).toContain('a=end-of-candidates');
    // The far end hears the answered leg: the trunk leg is answered and bridged to the leg the edge answered.
    await pollUntil(() => bridgedToEdge(handle.uuid, vertoLeg), 'trunk leg bridged to the edge\'s Verto leg');

    // A burst keyed one digit every 100 ms (inside the 300 ms batch window, 400 ms in all) is one notice.
    const noticesBefore = f.notices(doorsRoom).length;
    await handle.sendDtmf('1234#', { gapMs: 100 });
    await pollUntil(() => dtmfNotices(doorsRoom, noticesBefore).length > 0, 'first DTMF notice');
    expect(dtmfNotices(doorsRoom, noticesBefore)).toEqual(['The caller pressed 1234#']);
    // The next burst comes after a pause longer than the window (the notice above is posted only once the window closed): its own notice.
    await handle.sendDtmf('56', { gapMs: 100 });
    await pollUntil(() => dtmfNotices(doorsRoom, noticesBefore).length > 1, 'second DTMF notice');
    expect(dtmfNotices(doorsRoom, noticesBefore)).toEqual(['The caller pressed 1234#', 'The caller pressed 56']);

    handle.hangup();
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId, 8_000, doorsRoom);
    expect(content(hangup)['reason']).toBe('user_hangup');
    // Over the whole call: one verto.answer, one select_answer, no further DTMF notice.
    expect(f.fs.vertoRecord.slice(vertoBefore).filter((r) => r.method === 'answer')).toHaveLength(1);
    expect(edgeCallEvents(callId, doorsRoom)).toEqual(['m.call.invite', 'm.call.select_answer', 'm.call.hangup']);
    expect(dtmfNotices(doorsRoom, noticesBefore)).toHaveLength(2);
  });

  it('a route without dtmf_notices posts no DTMF notice (the same burst on a route with them does)', async () => {
    const off = await dial(DID.reception, f.roomId);
    const on = await dial(DID.doors, doorsRoom);
    const [offLeg, onLeg] = [vertoLegFor(off.handle.uuid), vertoLegFor(on.handle.uuid)];
    await callee('DEVICEE', f.roomId).answer(off.invite);
    await callee('DEVICEF', doorsRoom).answer(on.invite);
    await pollUntil(() => bridgedToEdge(off.handle.uuid, offLeg) && bridgedToEdge(on.handle.uuid, onLeg), 'both trunk legs bridged');
    const [offBefore, onBefore] = [f.notices(f.roomId).length, f.notices(doorsRoom).length];
    // Digit by digit, the call without notices first: the edge reads both from one ESL socket, in that order.
    await Promise.all([off.handle.sendDtmf('709#', { gapMs: 100 }), on.handle.sendDtmf('709#', { gapMs: 100 })]);
    await pollUntil(() => dtmfNotices(doorsRoom, onBefore).length > 0, 'DTMF notice on the route with notices');
    expect(dtmfNotices(doorsRoom, onBefore)).toEqual(['The caller pressed 709#']);
    // A pending batch would be posted before the call's m.call.hangup (one ordered send queue per call).
    off.handle.hangup();
    await f.waitEvent(f.byEdge('m.call.hangup', off.callId));
    expect(dtmfNotices(f.roomId, offBefore)).toEqual([]);
    on.handle.hangup();
    await f.waitEvent(f.byEdge('m.call.hangup', on.callId), 8_000, doorsRoom);
  });
});

describe('after the answer', () => {
  it('a late m.call.reject from another device is ignored: the call stays up, the edge sends nothing for it', async () => {
    const { handle, invite, callId } = await dial(DID.reception, f.roomId);
    const vertoLeg = vertoLegFor(handle.uuid);
    await callee('DEVICEG').answer(invite);
    await pollUntil(() => bridgedToEdge(handle.uuid, vertoLeg), 'trunk leg bridged to the edge');
    callee('DEVICEH').send(callId, 'm.call.reject', {});
    await edgeCaughtUp(f.roomId);
    expect(bridgedToEdge(handle.uuid, vertoLeg)).toBe(true);
    expect(f.fs.vertoRecord.filter((r) => r.method === 'bye' && r.callId === vertoLeg)).toEqual([]);
    expect(edgeCallEvents(callId, f.roomId)).toEqual(['m.call.invite', 'm.call.select_answer']);
    handle.hangup();
    await f.waitEvent(f.byEdge('m.call.hangup', callId));
  });
});

describe('set-up timing, measured as the outbound call is', () => {
  it('the room rings within 20 ms of FreeSWITCH offering the call; answered with matrix-js-sdk\'s timing (its candidates in one batch 500 ms after the answer), FreeSWITCH gets verto.answer with every candidate within 20 ms of the edge receiving the batch (medians of 5; the simulators\' clocks)', async () => {
    const ring: number[] = [];
    const answer: number[] = [];
    const fromAnswer: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { handle, invite, callId } = await dial(DID.reception, f.roomId);
      const offered = vertoInvitesSent(f.fs.model).find((x) => x.originator === handle.uuid)!;
      const put = f.mx.hs.requests().find((r) => r.userId === f.mx.edgeUserId && r.method === 'PUT' && r.path.includes('/send/m.call.invite/') && JSON.stringify(r.body).includes(callId))!;
      ring.push(put.receivedAt - offered.at);
      const device = callee(`TIMING${i}`);
      await device.answer(invite, { jsSdkBatchMs: 500 });
      const answered = f.events((e) => e['type'] === 'm.call.answer' && e['sender'] === f.mx.aliceId && content(e)['call_id'] === callId)[0]!;
      const batches = f.events((e) => e['type'] === 'm.call.candidates' && e['sender'] === f.mx.aliceId && content(e)['call_id'] === callId);
      const last = batches[batches.length - 1]!;
      const synced = await edgeSynced(last['event_id'] as string);
      await pollUntil(() => f.fs.vertoRecord.some((r) => r.method === 'answer' && r.callId === offered.callId), 'verto.answer');
      const sent = f.fs.vertoRecord.find((r) => r.method === 'answer' && r.callId === offered.callId)!;
      answer.push(sent.at - synced.answeredAt);
      fromAnswer.push(sent.at - (answered['origin_server_ts'] as number));
      expect(device.trickled.length).toBeGreaterThan(0);
      for (const c of device.trickled) expect(sent.sdp).toContain(String(c['candidate']).replace(/^a=/, ''));
      expect(sent.sdp).toContain('a=end-of-candidates');
      await pollUntil(() => bridgedToEdge(handle.uuid, offered.callId), 'bridged');
      handle.hangup();
      expect(await handle.ended).toBe('NORMAL_CLEARING');
      await pollUntil(() => f.fs.model.channel(offered.callId) === undefined, 'the edge\'s leg gone');
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
    process.stdout.write(
      `inbound: verto.invite sent -> m.call.invite at the homeserver ${ring.join(', ')} ms; candidates batch at the edge -> verto.answer ${answer.join(', ')} ms; m.call.answer stored -> verto.answer ${fromAnswer.join(', ')} ms\n`,
    );
    expect(median(ring)).toBeLessThan(20);
    expect(median(answer)).toBeLessThan(20);
  });
});

describe('a DID routed to a user', () => {
  it('rings the user in the edge\'s DM with them, with invitee set', async () => {
    const { handle, invite } = await dial(DID.alice, f.roomId);
    expect(content(invite)['invitee']).toBe(f.mx.aliceId);
    handle.hangup();
    await f.waitEvent((e) => e['type'] === 'm.call.hangup' && content(e)['call_id'] === content(invite)['call_id']);
  });
});

describe('outcomes toward the trunk', () => {
  async function endedWith(handle: { ended: Promise<string> }): Promise<{ cause: string; sip: number }> {
    const cause = await handle.ended;
    return { cause, sip: causeToSipStatus(cause) };
  }

  it('no answer within the lifetime: 480 to the trunk, m.call.hangup invite_timeout to Matrix', async () => {
    const { handle, callId } = await dial(DID.reception, f.roomId);
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && content(e)['call_id'] === callId, 10_000);
    expect(content(hangup)['reason']).toBe('invite_timeout');
    expect(await endedWith(handle)).toEqual({ cause: 'NO_ANSWER', sip: 480 });
  }, 15_000);

  /** Rings the reception room, then a device sends `type`; the room's notice about the caller is already there. */
  async function refused(type: string, extra: Json): Promise<{ handle: { ended: Promise<string> }; callId: string; refusal: string; vertoBefore: number }> {
    const [vertoBefore, noticesBefore] = [f.fs.vertoRecord.length, f.notices().length];
    const { handle, callId } = await dial(DID.reception, f.roomId);
    await f.waitNotice(/^Incoming call from Erika Mustermann \(\+4917012345678\) to \+49301234561$/, noticesBefore);
    const refusal = callee('DEVICEC').send(callId, type, extra);
    return { handle, callId, refusal, vertoBefore };
  }

  it('m.call.reject: 603 to the trunk; the reject itself stops the other devices, the edge sends nothing more', async () => {
    const { handle, callId, refusal, vertoBefore } = await refused('m.call.reject', {});
    expect(await endedWith(handle)).toEqual({ cause: 'CALL_REJECTED', sip: 603 });
    // The edge ended its Verto leg with the rejection's cause (what the bridge passed to the trunk leg).
    expect(f.fs.vertoRecord.slice(vertoBefore).map((r) => [r.method, r.cause])).toEqual([['bye', 'CALL_REJECTED']]);
    await edgeCaughtUp(f.roomId);
    expect(edgeEventsAfter(refusal)).toEqual([]);
    expect(edgeCallEvents(callId)).toEqual(['m.call.invite']);
  });

  it('busy (hangup user_busy while ringing): 486 to the trunk; the hangup itself stops the other devices, the edge sends nothing more', async () => {
    const { handle, callId, refusal, vertoBefore } = await refused('m.call.hangup', { reason: 'user_busy' });
    expect(await endedWith(handle)).toEqual({ cause: 'USER_BUSY', sip: 486 });
    expect(f.fs.vertoRecord.slice(vertoBefore).map((r) => [r.method, r.cause])).toEqual([['bye', 'USER_BUSY']]);
    await edgeCaughtUp(f.roomId);
    expect(edgeEventsAfter(refusal)).toEqual([]);
    expect(edgeCallEvents(callId)).toEqual(['m.call.invite']);
  });

  it('the caller hangs up while ringing: Matrix gets m.call.hangup at once', async () => {
    const { handle, callId } = await dial(DID.reception, f.roomId);
    const t0 = Date.now();
    const noticesBefore = f.notices().length;
    handle.hangup();
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && content(e)['call_id'] === callId, 5_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(content(hangup)['reason']).toBe('user_hangup');
    // and the room is told (the notice follows the hangup in the call's send queue)
    await f.waitNotice(/The caller hung up/, noticesBefore);
  });

  it('a DID the dialplan does not serve gets 404 from the dialplan, never reaches the edge nor Matrix', async () => {
    const [invitesBefore, vertoBefore, requestsBefore] = [vertoInvitesSent(f.fs.model).length, f.fs.vertoRecord.length, f.mx.hs.requests().length];
    const handle = f.fs.model.placeInboundCall({ did: DID.foreign.replace('+', ''), callerNumber: '+4917000000000', context: 'matrix-sip-edge-public' });
    expect(await endedWith(handle)).toEqual({ cause: 'UNALLOCATED_NUMBER', sip: 404 });
    expect(vertoInvitesSent(f.fs.model).slice(invitesBefore)).toEqual([]);
    expect(f.fs.vertoRecord.slice(vertoBefore)).toEqual([]);
    await edgeCaughtUp(f.roomId);
    expect(edgeWritesAbout(requestsBefore, '+4917000000000')).toEqual([]);
  });

  it('a DID the dialplan passes but the edge has no room for: 404, never reaches Matrix', async () => {
    const [invitesBefore, vertoBefore, requestsBefore] = [vertoInvitesSent(f.fs.model).length, f.fs.vertoRecord.length, f.mx.hs.requests().length];
    const handle = f.fs.model.placeInboundCall({ did: DID.unrouted.replace('+', ''), callerNumber: '+4917000000000', context: 'matrix-sip-edge-public' });
    expect(await endedWith(handle)).toEqual({ cause: 'UNALLOCATED_NUMBER', sip: 404 });
    // FreeSWITCH offered it to the edge, which refused it over Verto with that cause.
    const offered = vertoInvitesSent(f.fs.model).slice(invitesBefore);
    expect(offered.map((i) => i.originator)).toEqual([handle.uuid]);
    expect(f.fs.vertoRecord.slice(vertoBefore).map((r) => [r.method, r.callId, r.cause])).toEqual([['bye', offered[0]!.callId, 'UNALLOCATED_NUMBER']]);
    await edgeCaughtUp(f.roomId);
    expect(edgeWritesAbout(requestsBefore, '+4917000000000')).toEqual([]);
  });
});
