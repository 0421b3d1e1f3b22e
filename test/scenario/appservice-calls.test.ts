import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AppserviceFixture, content, ghostOf, type Json } from '../support/appservice-fixture.ts';
import { WeriftCallee, WeriftCaller } from '../support/matrix-caller.ts';
import { LOG_DIR } from '../support/edge-process.ts';
import { pollUntil } from '../support/wait.ts';

// Appservice mode end to end, the built edge between the simulators: the
// homeserver simulator loads the registration `register` wrote and pushes
// transactions the way Synapse 1.67 does (the legacy paths, access_token
// in the query: traces/real/synapse-02). Asserted on the wire: what the
// homeserver stored, what FreeSWITCH received.

const NUMBER = '+49301234567';
const CALLER = '+4917012345678';
const DID = '+49301234563';
const ROOM_DID = '+49301234564';

let f: AppserviceFixture;
const peers: Array<WeriftCaller | WeriftCallee> = [];
let seq = 0;

function caller(roomId: string, opts: { lifetime?: number } = {}): WeriftCaller {
  const c = new WeriftCaller({ hs: f.hs, userId: f.aliceId, roomId, callId: `as${++seq}x${Date.now()}`, endOfCandidates: true, ...opts });
  peers.push(c);
  return c;
}

/** Element's dial pad: the lookup by phone number, a DM with the ghost it names, once the ghost has joined. */
async function dialPad(typed: string): Promise<{ ghost: string; roomId: string }> {
  const found = await f.asAlice(`/_matrix/client/v3/thirdparty/user/m.protocol.pstn?m.id.phone=${encodeURIComponent(typed)}`);
  expect(found.status).toBe(200);
  const ghost = ((found.body as Json[])[0] ?? {})['userid'] as string;
  const roomId = f.hs.createRoom(f.aliceId, { is_direct: true, invite: [ghost], preset: 'trusted_private_chat' } as never);
  await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.room.member' && e['state_key'] === ghost && content(e)['membership'] === 'join', 10_000);
  return { ghost, roomId };
}

const vertoInvitesTo = (destination: string) => f.fs.vertoRecord.filter((r) => r.method === 'invite' && r.invite?.dialogVariables['mse_destination'] === destination);

beforeAll(async () => {
  f = await AppserviceFixture.start({
    name: 'appservice',
    stack: { dialplanOverrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' } },
    config: { inbound: { routes: [{ did: DID, user: '@alice:localhost' }], ring_timeout_s: 10 } },
  });
});

afterEach(async () => {
  for (const p of peers.splice(0)) await p.close();
  await f.expectNothingLeft();
});

afterAll(async () => {
  const code = await f?.stop();
  expect(code).toBe(0);
  // Neither token may reach a log.
  for (const name of readdirSync(LOG_DIR).filter((n) => n.startsWith('appservice'))) {
    const text = readFileSync(join(LOG_DIR, name), 'utf8');
    expect(text).not.toContain(f.registration['as_token']);
    expect(text).not.toContain(f.registration['hs_token']);
  }
});

describe('register', () => {
  it('writes the registration with mode 0600: random tokens, the ghosts namespace, both PSTN protocols', () => {
    const path = join(dirname(f.configPath), 'registration.yaml');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(f.registration).toMatchObject({
      id: 'matrix-sip-edge',
      url: `http://127.0.0.1:${f.asPort}`,
      sender_localpart: '_sip_bot',
      rate_limited: false,
      namespaces: { users: [{ exclusive: true, regex: '@_sip_.*:localhost' }] },
      protocols: ['m.protocol.pstn', 'im.vector.protocol.pstn'],
    });
    expect(f.registration['as_token']).toMatch(/^[0-9a-f]{64}$/);
    expect(f.registration['hs_token']).toMatch(/^[0-9a-f]{64}$/);
    expect(f.registration['as_token']).not.toBe(f.registration['hs_token']);
  });
});

describe('Element dial pad -> phone call', () => {
  it('protocol lookup, user lookup by number, DM with the ghost, a voice call answered with media', async () => {
    const protocols = await f.asAlice('/_matrix/client/v3/thirdparty/protocols');
    expect(protocols.status).toBe(200);
    expect(Object.keys(protocols.body as Json)).toEqual(expect.arrayContaining(['m.protocol.pstn', 'im.vector.protocol.pstn']));
    expect((protocols.body as Record<string, Json>)['m.protocol.pstn']).toMatchObject({ user_fields: ['m.id.phone'] });

    // Typed as a national number: the ghost is named by its E.164 form, and shown in international format.
    const { ghost, roomId } = await dialPad('030 1234567');
    expect(ghost).toBe(ghostOf(NUMBER));
    const profile = await f.asAlice(`/_matrix/client/v3/profile/${encodeURIComponent(ghost)}/displayname`);
    expect(profile.body).toEqual({ displayname: '+49 30 1234567' });

    const c = caller(roomId);
    await c.invite();
    await pollUntil(() => vertoInvitesTo(NUMBER).length === 1, 'verto.invite to the ghost\'s number');
    const answer = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.answer' && content(e)['call_id'] === c.options.callId);
    // The call is the ghost's: it answers, as the ghost, masqueraded with the as_token.
    expect(answer['sender']).toBe(ghost);
    await c.applyAnswer(content(answer));
    c.hangup();
    await pollUntil(() => f.fs.vertoRecord.some((r) => r.method === 'bye' && r.callId === vertoInvitesTo(NUMBER)[0]!.callId), 'verto.bye');
    // Nothing went out as the bridge bot in the DM (it is not there).
    expect(f.events((e) => e['sender'] === f.botId, roomId)).toEqual([]);
  });

  it('a number the policy does not allow has no ghost: the lookup finds nobody, the user query says 404', async () => {
    const found = await f.asAlice(`/_matrix/client/v3/thirdparty/user/m.protocol.pstn?m.id.phone=${encodeURIComponent('+1 900 555 0100')}`);
    expect(found).toEqual({ status: 200, body: [] });
    const query = await f.toAppservice('GET', `/users/${encodeURIComponent(ghostOf('+19005550100'))}`);
    expect(query.status).toBe(404);
  });

  it('a ghost invited by a user who may not call declines, saying why', async () => {
    const bob = f.hs.registerUser('bob', { password: 'bob-pw' });
    const ghost = ghostOf('+49301234568');
    const roomId = f.hs.createRoom(bob.userId, { is_direct: true, invite: [ghost], preset: 'trusted_private_chat' } as never);
    const left = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.room.member' && e['state_key'] === ghost && content(e)['membership'] === 'leave', 10_000);
    expect(content(left)['reason']).toMatch(/may not make calls/);
  });
});

describe('SIP -> Matrix', () => {
  it('a DID rings the routed user from the caller\'s ghost, named as the trunk sent it, in their DM', async () => {
    const handle = f.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber: CALLER, callerName: 'Erika Mustermann', context: 'matrix-sip-edge-public' });
    const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === ghostOf(CALLER), 10_000);
    const roomId = invite['room_id'] as string;
    // The ghost opened a DM with Alice.
    const aliceInvite = f.events((e) => e['type'] === 'm.room.member' && e['state_key'] === f.aliceId, roomId)[0]!;
    expect(aliceInvite['sender']).toBe(ghostOf(CALLER));
    expect(content(aliceInvite)).toMatchObject({ membership: 'invite', is_direct: true });
    const profile = await f.asAlice(`/_matrix/client/v3/profile/${encodeURIComponent(ghostOf(CALLER))}/displayname`);
    expect(profile.body).toEqual({ displayname: 'Erika Mustermann' });

    f.hs.join(f.aliceId, roomId);
    const device = new WeriftCallee(f.hs, f.aliceId, roomId, 'ALICEPHONE');
    peers.push(device);
    await device.answer(invite);
    await pollUntil(() => f.fs.vertoRecord.some((r) => r.method === 'answer'), 'verto.answer');
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.answered === true, 'trunk leg answered');
    handle.hangup();
    const hangup = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.hangup' && e['sender'] === ghostOf(CALLER));
    expect(content(hangup)['call_id']).toBe(content(invite)['call_id']);
  });
});

describe('a routed room', () => {
  it('the bridge bot joins when invited; a DID routed to the room rings from the caller\'s ghost, which the bot let in', async () => {
    const roomId = f.hs.createRoom(f.aliceId, { invite: [f.botId], preset: 'private_chat' } as never);
    await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.room.member' && e['state_key'] === f.botId && content(e)['membership'] === 'join', 10_000);
    await f.restartWith({ inbound: { routes: [{ did: DID, user: '@alice:localhost' }, { did: ROOM_DID, room: roomId }], ring_timeout_s: 10 } });
    // The bot may not invite in this room yet (invite needs 50): the call rings all the same, from the bot.
    const first = f.fs.model.placeInboundCall({ did: ROOM_DID.replace('+', ''), callerNumber: '+4917099999998', callerName: undefined, context: 'matrix-sip-edge-public' });
    const fromBot = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.invite', 10_000);
    expect(fromBot['sender']).toBe(f.botId);
    first.hangup();
    await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.hangup' && content(e)['call_id'] === content(fromBot)['call_id'], 10_000);
    await f.expectNothingLeft();
    // Alice gives the bot the power to invite: the next caller's ghost is let in, and rings.
    const levels = f.events((e) => e['type'] === 'm.room.power_levels', roomId).at(-1)!;
    f.hs.sendStateEvent(f.aliceId, roomId, 'm.room.power_levels', '', { ...content(levels), users: { ...(content(levels)['users'] as Json), [f.botId]: 50 } } as never);
    const handle = f.fs.model.placeInboundCall({ did: ROOM_DID.replace('+', ''), callerNumber: '+4917099999999', callerName: undefined, context: 'matrix-sip-edge-public' });
    const invite = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.invite' && e['sender'] !== f.botId, 10_000);
    expect(invite['sender']).toBe(ghostOf('+4917099999999'));
    // A private room: the bot invited the ghost, which joined.
    const ghostInvite = f.events((e) => e['type'] === 'm.room.member' && e['state_key'] === ghostOf('+4917099999999') && content(e)['membership'] === 'invite', roomId)[0]!;
    expect(ghostInvite['sender']).toBe(f.botId);
    // No name from the trunk: the ghost is shown as the number.
    expect((await f.asAlice(`/_matrix/client/v3/profile/${encodeURIComponent(ghostOf('+4917099999999'))}/displayname`)).body).toEqual({ displayname: '+49 170 99999999' });
    handle.hangup();
    await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.hangup' && content(e)['call_id'] === content(invite)['call_id'], 10_000);
  });
});

describe('a call in a ghost\'s DM', () => {
  it('room commands are answered by the ghost; a crash mid-call ends it in Matrix as the ghost, which rings again for the waiting far end; declined, the trunk leg ends', async () => {
    const { ghost, roomId } = await dialPad('+49301234562');
    f.hs.sendEvent(f.aliceId, roomId, 'm.room.message', { msgtype: 'm.text', body: '!help' });
    await pollUntil(() => f.notices(roomId, ghost).some((n) => n.includes('!dtmf')), 'the help notice from the ghost');
    const c = caller(roomId);
    await c.invite();
    const answer = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.answer' && content(e)['call_id'] === c.options.callId);
    await c.applyAnswer(content(answer));
    await pollUntil(() => f.fs.model.channels().length === 2, 'both legs up');
    await f.crashAndRestartEdge();
    const hangup = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.hangup' && content(e)['call_id'] === c.options.callId, 10_000);
    expect(hangup['sender']).toBe(ghost);
    await pollUntil(() => f.notices(roomId, ghost).some((n) => /restart/i.test(n)), 'the restart notice from the ghost');
    // The far end is still there: the ghost rings again; declining it ends the trunk leg.
    const again = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.invite' && e['sender'] === ghost && content(e)['call_id'] !== c.options.callId, 10_000);
    f.hs.sendEvent(f.aliceId, roomId, 'm.call.reject', { call_id: content(again)['call_id'], party_id: 'ALICEPHONE', version: '1' } as never);
    await pollUntil(() => f.fs.model.channels().length === 0, 'the legs ended');
  });
});

describe('transactions', () => {
  it('a transaction delivered twice is handled once', async () => {
    const { roomId } = await dialPad('+49301234569');
    const c = caller(roomId);
    await c.invite();
    await pollUntil(() => vertoInvitesTo('+49301234569').length === 1, 'verto.invite');
    // The homeserver records an attempt once the edge answered it (which may come after the call left for FreeSWITCH).
    const attempt = await f.hs.waitForTransaction((t) => JSON.stringify(t.body).includes(c.options.callId) && t.status === 200);
    // The same transaction again (an acknowledgement the homeserver never got): answered 200, handled never again.
    const again = await f.toAppservice('PUT', `/transactions/${attempt.txnId}`, attempt.body);
    expect(again).toEqual({ status: 200, body: {} });
    const v1 = await f.toAppservice('PUT', `/_matrix/app/v1/transactions/${attempt.txnId}`, attempt.body, { bearer: f.registration['hs_token'] as string });
    expect(v1).toEqual({ status: 200, body: {} });
    const answer = await f.waitEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.answer' && content(e)['call_id'] === c.options.callId);
    await c.applyAnswer(content(answer));
    c.hangup();
    await pollUntil(() => f.fs.vertoRecord.some((r) => r.method === 'bye' && r.callId === vertoInvitesTo('+49301234569')[0]!.callId), 'verto.bye');
    expect(vertoInvitesTo('+49301234569')).toHaveLength(1);
    expect(await f.metrics()).toMatch(/^mse_appservice_transactions_duplicate_total [2-9]/m);
    expect(f.events((e) => e['type'] === 'm.call.answer' && content(e)['call_id'] === c.options.callId, roomId)).toHaveLength(1);
  });

  it('a wrong hs_token gets 403 M_FORBIDDEN, and nothing happens', async () => {
    const { roomId } = await dialPad('+49301234560');
    const verto = f.fs.vertoRecord.length;
    const esl = f.tap.text().length;
    const invite = {
      type: 'm.call.invite', room_id: roomId, sender: f.aliceId, event_id: '$forged', origin_server_ts: Date.now(), unsigned: { age: 1 },
      content: { call_id: 'forged', party_id: 'X', version: '1', lifetime: 60_000, offer: { type: 'offer', sdp: 'v=0\r\n' } },
    };
    for (const auth of [{ query: 'not-the-hs-token-000000' }, { bearer: 'not-the-hs-token-000000' }]) {
      const res = await f.toAppservice('PUT', '/_matrix/app/v1/transactions/forged1', { events: [invite] }, auth);
      expect(res).toEqual({ status: 403, body: { errcode: 'M_FORBIDDEN', error: 'bad token supplied' } });
    }
    expect((await f.toAppservice('GET', `/users/${encodeURIComponent(ghostOf('+49301234561'))}`, undefined, {})).status).toBe(401);
    expect((await f.toAppservice('GET', '/_matrix/app/v1/thirdparty/protocol/m.protocol.pstn', undefined, { query: 'wrong-token-0000000000' })).status).toBe(403);
    expect(f.fs.vertoRecord.slice(verto)).toEqual([]);
    expect(f.tap.text().slice(esl)).toBe('');
    expect(f.events((e) => content(e)['call_id'] === 'forged', roomId)).toEqual([]);
  });

  it('transactions that arrive while the edge is down are delivered later: a call in its lifetime dials, an expired one is refused with a notice', async () => {
    const live = await dialPad('+49301234565');
    const late = await dialPad('+49301234566');
    expect(await f.edge.stop()).toBe(0);
    const failedBefore = f.hs.transactions().filter((t) => t.status !== 200).length;
    const a = caller(live.roomId);
    await a.invite();
    // Its lifetime leaves less than the 3 s grace: expired on arrival, whenever that is.
    const b = caller(late.roomId, { lifetime: 3_000 });
    await b.invite();
    await pollUntil(() => f.hs.transactions().filter((t) => t.status !== 200).length > failedBefore, 'a transaction failed while the edge was down');
    await f.startEdge(false);
    await pollUntil(() => vertoInvitesTo('+49301234565').length === 1, 'the live call dialled', 15_000);
    const answer = await f.waitEvent((e) => e['room_id'] === live.roomId && e['type'] === 'm.call.answer' && content(e)['call_id'] === a.options.callId, 10_000);
    await a.applyAnswer(content(answer));
    const reject = await f.waitEvent((e) => e['room_id'] === late.roomId && e['type'] === 'm.call.reject' && content(e)['call_id'] === b.options.callId, 10_000);
    expect(reject['sender']).toBe(late.ghost);
    await pollUntil(() => f.notices(late.roomId, late.ghost).some((n) => /already expired/.test(n)), 'the expiry notice');
    expect(vertoInvitesTo('+49301234566')).toEqual([]);
    a.hangup();
    await pollUntil(() => f.fs.vertoRecord.some((r) => r.method === 'bye' && r.callId === vertoInvitesTo('+49301234565')[0]!.callId), 'verto.bye');
  });
});
