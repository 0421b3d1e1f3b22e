import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content, type Json } from '../support/outbound-fixture.ts';
import { WeriftCallee } from '../support/matrix-caller.ts';
import { causeToSipStatus } from '../support/freeswitch/causes.ts';
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

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'inbound',
    stack: { dialplanOverrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' } },
    config: {},
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
  it('two devices: the first answer wins, one verto.answer, select_answer names it, the caller hears it; DTMF from the caller is one notice', async () => {
    const vertoBefore = f.fs.vertoRecord.length;
    const { handle, invite, callId } = await dial(DID.doors, doorsRoom);
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
    expect(f.events((e) => e['type'] === 'm.call.select_answer' && content(e)['call_id'] === callId, doorsRoom)).toHaveLength(1);

    await pollUntil(() => f.fs.vertoRecord.slice(vertoBefore).some((r) => r.method === 'answer'), 'verto.answer');
    const answers = f.fs.vertoRecord.slice(vertoBefore).filter((r) => r.method === 'answer');
    expect(answers).toHaveLength(1);
    // The winning device's trickled candidates were coalesced into the Verto answer.
    expect(first.trickled.length).toBeGreaterThan(0);
    for (const cand of first.trickled) expect(answers[0]!.sdp).toContain(String(cand['candidate']).replace(/^a=/, ''));
    expect(answers[0]!.sdp).toContain('a=end-of-candidates');
    // The far end hears the answered leg: the trunk leg is answered and bridged.
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.answered === true, 'trunk leg answered');

    handle.sendDtmf('1234#');
    await pollUntil(() => f.notices(doorsRoom).some((n) => n === 'The caller pressed 1234#'), 'one DTMF notice');
    expect(f.notices(doorsRoom).filter((n) => n.startsWith('The caller pressed'))).toEqual(['The caller pressed 1234#']);

    handle.hangup();
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId, 8_000, doorsRoom);
    expect(content(hangup)['reason']).toBe('user_hangup');
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

  it('m.call.reject: 603 to the trunk', async () => {
    const { handle, callId } = await dial(DID.reception, f.roomId);
    callee('DEVICEC').send(callId, 'm.call.reject', {});
    expect(await endedWith(handle)).toEqual({ cause: 'CALL_REJECTED', sip: 603 });
  });

  it('busy (hangup user_busy while ringing): 486 to the trunk', async () => {
    const { handle, callId } = await dial(DID.reception, f.roomId);
    callee('DEVICED').send(callId, 'm.call.hangup', { reason: 'user_busy' });
    expect(await endedWith(handle)).toEqual({ cause: 'USER_BUSY', sip: 486 });
  });

  it('the caller hangs up while ringing: Matrix gets m.call.hangup at once', async () => {
    const { handle, callId } = await dial(DID.reception, f.roomId);
    const t0 = Date.now();
    handle.hangup();
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && content(e)['call_id'] === callId, 5_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(content(hangup)['reason']).toBe('user_hangup');
  });

  it('a DID the dialplan does not serve gets 404 and never reaches Matrix', async () => {
    const before = f.mx.hs.events().filter((e) => e['type'] === 'm.call.invite').length;
    const handle = f.fs.model.placeInboundCall({ did: DID.foreign.replace('+', ''), callerNumber: '+4917000000000', context: 'matrix-sip-edge-public' });
    const cause = await handle.ended;
    expect(f.fs.model.channel(handle.uuid)).toBeUndefined();
    expect(cause).toBeTruthy();
    expect(f.mx.hs.events().filter((e) => e['type'] === 'm.call.invite')).toHaveLength(before);
  });

  it('a DID the dialplan passes but the edge has no room for: 404, never reaches Matrix', async () => {
    const before = f.mx.hs.events().filter((e) => e['type'] === 'm.call.invite').length;
    const handle = f.fs.model.placeInboundCall({ did: DID.unrouted.replace('+', ''), callerNumber: '+4917000000000', context: 'matrix-sip-edge-public' });
    expect(await endedWith(handle)).toEqual({ cause: 'UNALLOCATED_NUMBER', sip: 404 });
    expect(f.mx.hs.events().filter((e) => e['type'] === 'm.call.invite')).toHaveLength(before);
  });
});
