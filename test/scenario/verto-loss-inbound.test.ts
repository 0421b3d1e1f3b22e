import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { WeriftCallee } from '../support/matrix-caller.ts';
import type { FsEvent } from '../support/freeswitch/contract.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

// The Verto socket drops during an answered inbound call. FreeSWITCH
// detaches the leg it offered the edge (an inbound call cannot be marked
// recoverCall false): its media stops, the trunk caller hears silence until
// detach-timeout-sec, and a re-attach could not restore the Matrix
// client's media. The edge ends the call at once: uuid_kill of the Verto
// leg over ESL (the trunk leg follows), m.call.hangup in the room as the
// party that rang it, a notice, the outcome counted.

const DID = '+49301234561';
let f: OutboundFixture;
let callee: WeriftCallee | undefined;
/** Hangup-Cause of each leg's CHANNEL_HANGUP_COMPLETE, and whether the leg was detached from Verto when it hung up. */
const hangups = new Map<string, { cause: string; detached: boolean | undefined }>();
const disconnects: string[] = [];

const header = (e: FsEvent, name: string) => e.headers.find(([k]) => k === name)?.[1];

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'verto-loss-inbound',
    stack: { dialplanOverrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' } },
  });
  await f.restartEdge({ inbound: { routes: [{ did: DID, room: f.roomId }], ring_timeout_s: 30 } });
  f.fs.model.onEvent((e) => {
    const name = header(e, 'Event-Name');
    const uuid = header(e, 'Unique-ID') ?? '';
    if (name === 'CHANNEL_HANGUP_COMPLETE') hangups.set(uuid, { cause: header(e, 'Hangup-Cause') ?? '', detached: f.fs.model.channel(uuid)?.detached });
    if (name === 'CUSTOM' && header(e, 'Event-Subclass') === 'verto::client_disconnect') disconnects.push(header(e, 'verto_login') ?? '');
  });
});
afterAll(async () => {
  await callee?.close();
  await f?.stop();
});

describe('Verto connection lost during an answered inbound call', () => {
  it('hangs the Verto leg up over ESL and ends the call in the room, both sides at once', async () => {
    const handle = f.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber: '+4917012345678', callerName: 'Erika Mustermann', context: 'matrix-sip-edge-public' });
    const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId);
    const callId = content(invite)['call_id'] as string;
    const vertoLeg = f.fs.model.channels().find((c) => c.name.startsWith('verto.rtc/'))?.uuid;
    expect(vertoLeg).toBeDefined();
    callee = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEPHONE');
    await callee.answer(invite);
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.answered === true && f.fs.model.channel(handle.uuid)?.bridgedTo === vertoLeg, 'the trunk leg answered and bridged to the edge');

    const eslMark = f.tap.text().length;
    const sinceEsl = () => f.tap.text().slice(eslMark);
    const noticesBefore = f.notices().length;
    const vertoFramesBefore = f.fs.vertoReceived.length;
    const droppedAt = Date.now();
    await f.fs.killVerto();
    // FreeSWITCH saw the socket go
    expect(disconnects).toHaveLength(1);

    // within 1 s of the drop: the leg hung up on the wire, the room told
    const left = () => Math.max(1, droppedAt + 1_000 - Date.now());
    await waitUntil(f.tap, () => sinceEsl().includes(`api uuid_kill ${vertoLeg} NETWORK_OUT_OF_ORDER\n\n`), 'uuid_kill of the Verto leg', left());
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId, left());
    // the party that sent the invite, or clients would ignore it
    expect(content(hangup)).toMatchObject({ call_id: callId, party_id: content(invite)['party_id'], version: '1', reason: 'ice_timeout' });
    await f.waitNotice(/connection to the phone system was lost/, noticesBefore);
    // the Verto leg, detached by FreeSWITCH, ended by the edge's kill (not the detach timer); the trunk leg with it
    await pollUntil(() => hangups.has(vertoLeg!) && hangups.has(handle.uuid), 'both legs hung up', 5_000);
    expect(hangups.get(vertoLeg!)).toEqual({ cause: 'NETWORK_OUT_OF_ORDER', detached: true });
    // hangup_after_bridge: the trunk leg is hung up with the Verto leg's cause (a BYE toward the caller)
    expect(hangups.get(handle.uuid)?.cause).toBe('NETWORK_OUT_OF_ORDER');
    await pollUntil(() => f.fs.model.channel(handle.uuid) === undefined, 'trunk leg gone', 5_000);
    expect(await handle.ended).toBe('NETWORK_OUT_OF_ORDER');
    // counted
    expect((await f.gauge('mse_calls_ended')).get('reason="ice_timeout",cause="NETWORK_OUT_OF_ORDER"')).toBe(1);

    // Verto comes back: the session logs in again and nothing is left to re-attach or end.
    await f.fs.restartVerto();
    await pollUntil(() => f.fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);
    const after = f.fs.vertoReceived.slice(vertoFramesBefore);
    expect(after.some((t) => t.includes('"login"'))).toBe(true);
    expect(after.filter((t) => t.includes(vertoLeg!))).toEqual([]);
    // one hangup for the call, nothing sent after it for this call
    expect(f.events((e) => e['sender'] === f.mx.edgeUserId && typeof e['type'] === 'string' && (e['type'] as string).startsWith('m.call.') && content(e)['call_id'] === callId).map((e) => e['type'])).toEqual(['m.call.invite', 'm.call.select_answer', 'm.call.hangup']);
    await f.expectNothingLeft();
  });

  it('ESL down too when Verto drops: the call ended in Matrix once; at ESL\'s return its leg is hung up, without a second ending', async () => {
    const handle = f.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber: '+4917012345679', callerName: 'Max', context: 'matrix-sip-edge-public' });
    const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] !== undefined && f.events(f.byEdge('m.call.hangup', content(e)['call_id'] as string)).length === 0);
    const callId = content(invite)['call_id'] as string;
    const vertoLeg = f.fs.model.channels().find((c) => c.name.startsWith('verto.rtc/'))!.uuid;
    await callee?.close();
    callee = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEPHONE');
    await callee.answer(invite);
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.bridgedTo === vertoLeg, 'the trunk leg bridged to the edge');
    // the Matrix side of the call is on its channel (what the channel walk would find it by)
    await waitUntil(f.tap, () => f.tap.text().includes(`uuid_setvar ${vertoLeg} mse_inbound_party_id`), 'the call recorded on its channel');
    await f.mx.hs.waitForEvent(() => f.notices().some((n) => n.startsWith('Incoming call from Max')), 5_000);
    const noticesBefore = f.notices().length;

    await f.fs.killEsl();
    await pollUntil(async () => (await f.gauge('mse_connection_up')).get('peer="esl"') === 0, 'the edge saw ESL go', 5_000);
    await f.fs.killVerto();
    // ended in Matrix at once; the kill of its leg cannot go out, FreeSWITCH keeps the leg detached
    await f.waitEvent(f.byEdge('m.call.hangup', callId), 2_000);
    expect(f.fs.model.channel(vertoLeg)?.detached).toBe(true);

    const eslMark = f.tap.sent.length;
    await f.fs.restartEsl();
    await waitUntil(f.tap, () => f.tap.sent.slice(eslMark).some((c) => c.includes(`api uuid_kill ${vertoLeg} `)), 'uuid_kill of the leg once ESL is back', 5_000);
    await pollUntil(() => f.fs.model.channel(vertoLeg) === undefined && f.fs.model.channel(handle.uuid) === undefined, 'both legs gone', 5_000, 10);
    await f.fs.restartVerto();
    await pollUntil(() => f.fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);

    // caught up with the room and nothing waiting to be sent: exactly one ending, no "restarted" notice
    for (const n of [1, 2]) {
      const id = f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'org.example.test.marker', { n });
      await f.mx.hs.waitForRequest((r) => r.userId === f.mx.edgeUserId && r.path.endsWith('/sync') && JSON.stringify(r.response).includes(id), 8_000);
    }
    await f.expectNothingLeft();
    expect(f.events(f.byEdge('m.call.hangup', callId))).toHaveLength(1);
    expect(f.notices().slice(noticesBefore)).toEqual(['The call was cut off: the connection to the phone system was lost.']);
  });
});
