import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content, type Json } from '../support/outbound-fixture.ts';
import { WeriftCallee } from '../support/matrix-caller.ts';
import type { FsEvent } from '../support/freeswitch/contract.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';
import { vertoInvitesSent } from '../support/freeswitch/verto-backend.ts';

// The Verto socket drops during an answered inbound call. FreeSWITCH
// detaches the leg it offered the edge (an inbound call cannot be marked
// recoverCall false): its media stops, and a re-attach could not restore the
// Matrix client's media. Once the call is bridged the edge keeps its trunk
// leg (uuid_setvar_multi park_after_bridge=true, read when the bridge ends,
// winning over the template's hangup_after_bridge): it ends the detached
// Verto leg over ESL, the trunk leg parks, the lost Matrix call ends with a
// notice saying so, and the user who answered is rung again in the same room
// as soon as Verto is back; answering bridges a new media leg to the same
// trunk leg, no answer within calls.recovery_ring_s ends it. With
// recovery_ring_s 0, or ESL away when Verto drops, the call ends at once on
// both sides, as before.

const DID = '+49301234561';
let f: OutboundFixture;
let callee: WeriftCallee | undefined;
/** Hangup-Cause of each leg's CHANNEL_HANGUP_COMPLETE, and whether the leg was detached from Verto when it hung up. */
const hangups = new Map<string, { cause: string; detached: boolean | undefined }>();
const disconnects: string[] = [];
const seen = new Set<string>();

const header = (e: FsEvent, name: string) => e.headers.find(([k]) => k === name)?.[1];
const CALLS = { gathering_window_ms: 500, hangup_cause_wait_ms: 1000, ring_timeout_s: 60, drain_s: 1 };

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'verto-loss-inbound',
    stack: { dialplanOverrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' } },
    config: { calls: { ...CALLS, recovery_ring_s: 3 } },
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

/** A trunk call to the DID, answered in the room by Alice's device and bridged; with the trunk leg kept when `kept`. */
async function answeredInboundCall(callerNumber: string, kept: boolean): Promise<{ handle: ReturnType<typeof f.fs.model.placeInboundCall>; invite: Json; callId: string; vertoLeg: string }> {
  const handle = f.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber, callerName: 'Erika Mustermann', context: 'matrix-sip-edge-public' });
  const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seen.has(content(e)['call_id'] as string));
  const callId = content(invite)['call_id'] as string;
  seen.add(callId);
  const vertoLeg = vertoInvitesSent(f.fs.model).find((i) => i.originator === handle.uuid)!.callId;
  await callee?.close();
  callee = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEPHONE');
  await callee.answer(invite);
  await pollUntil(() => f.fs.model.channel(handle.uuid)?.answered === true && f.fs.model.channel(handle.uuid)?.bridgedTo === vertoLeg, 'the trunk leg answered and bridged to the edge');
  if (kept) {
    // kept on the wire: one request, park_after_bridge last, with who to ring again and the number
    await waitUntil(f.tap, () => f.tap.text().includes(`api uuid_setvar_multi ${handle.uuid} mse_leg=trunk;`), 'the trunk leg kept');
    const line = f.tap.text().split('\n').find((l) => l.startsWith(`api uuid_setvar_multi ${handle.uuid} `))!;
    expect(line).toContain(`mse_matrix_call_id=${callId};`);
    expect(line).toContain(`mse_peer_number=${callerNumber};mse_user=${f.mx.aliceId};park_after_bridge=true`);
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.getVar('park_after_bridge') === 'true', 'FreeSWITCH set park_after_bridge', 2_000);
  }
  return { handle, invite, callId, vertoLeg };
}

describe('Verto connection lost during an answered inbound call', () => {
  it('the caller survives: the trunk leg waits parked, the user who answered is rung again within 2 s of Verto being back, answering bridges a new media leg to the same trunk leg', async () => {
    const { handle, invite, callId, vertoLeg } = await answeredInboundCall('+4917012345670', true);
    const eslMark = f.tap.text().length;
    const sinceEsl = () => f.tap.text().slice(eslMark);
    const noticesBefore = f.notices().length;
    let trunkEnded: string | undefined;
    void handle.ended.then((cause) => {
      trunkEnded = cause;
    });

    await f.fs.killVerto();
    // The lost call ends in Matrix as the party that rang, saying what happens next; its detached Verto leg is ended.
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', callId), 2_000);
    expect(content(hangup)).toMatchObject({ call_id: callId, party_id: content(invite)['party_id'], version: '1', reason: 'ice_failed' });
    await f.waitNotice(/^Your call with \+4917012345670 was interrupted: answer to continue\.$/, noticesBefore);
    await waitUntil(f.tap, () => sinceEsl().includes(`api uuid_kill ${vertoLeg} NETWORK_OUT_OF_ORDER\n\n`), 'uuid_kill of the Verto leg', 2_000);
    await pollUntil(() => hangups.has(vertoLeg), 'the Verto leg hung up', 2_000);
    // park_after_bridge: the trunk leg left its bridge for park, and stays up
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.application === 'park', 'the trunk leg parked', 2_000);
    expect(f.fs.model.channel(handle.uuid)?.hungUp).toBe(false);
    // the caller hears hold music while waiting (once the leg is parked: after the Verto leg's end)
    await waitUntil(f.tap, () => sinceEsl().includes(`api uuid_broadcast ${handle.uuid} local_stream://moh aleg\n\n`), 'hold music for the waiting caller', 2_000);
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.hearsHoldMusic === 'local_stream://moh', 'the caller hears it', 2_000);

    await f.fs.restartVerto();
    await pollUntil(() => f.fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);
    const backAt = Date.now();
    const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seen.has(content(e)['call_id'] as string), 4_000);
    expect(Date.now() - backAt).toBeLessThan(2_000);
    seen.add(content(again)['call_id'] as string);
    // rung again for the user whose device answered
    expect(content(again)).toMatchObject({ version: '1', invitee: f.mx.aliceId });

    const device = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEAGAIN');
    try {
      await device.answer(again);
      await pollUntil(() => {
        const trunk = f.fs.model.channel(handle.uuid);
        return trunk !== undefined && !trunk.hungUp && trunk.bridgedTo !== undefined && trunk.bridgedTo !== vertoLeg;
      }, 'the same trunk leg bridged to a new media leg', 8_000);
      // the bridge stopped the hold music
      expect(f.fs.model.channel(handle.uuid)?.hearsHoldMusic).toBeUndefined();
      // All this while the trunk leg was never hung up, nor asked to be.
      expect(trunkEnded).toBeUndefined();
      expect(hangups.has(handle.uuid)).toBe(false);
      expect(sinceEsl()).not.toContain(`uuid_kill ${handle.uuid}`);
      // The user hangs up the continued call: the trunk leg goes too (a BYE toward the caller).
      f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.call.hangup', { call_id: content(again)['call_id'], party_id: 'ALICEAGAIN', version: '1', reason: 'user_hangup' } as never);
      expect(await handle.ended).toBe('NORMAL_CLEARING');
    } finally {
      await device.close();
    }
    await f.expectNothingLeft();
  });

  it('not answered within calls.recovery_ring_s: the waiting trunk leg is ended (NO_ANSWER)', async () => {
    const { handle } = await answeredInboundCall('+4917012345671', true);
    await f.fs.killVerto();
    await f.fs.restartVerto();
    const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seen.has(content(e)['call_id'] as string), 8_000);
    seen.add(content(again)['call_id'] as string);
    // nobody answers (recovery_ring_s is 3 here): the ring again ends, and the trunk leg with the recovery's cause
    await f.waitEvent(f.byEdge('m.call.hangup', content(again)['call_id'] as string), 8_000);
    expect(await handle.ended).toBe('NO_ANSWER');
    await f.expectNothingLeft();
  });

  it('the waiting caller hangs up while the user is rung again: the ring ends at once, saying why; nothing is left', async () => {
    const { handle } = await answeredInboundCall('+4917012345672', true);
    await f.fs.killVerto();
    await f.fs.restartVerto();
    const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seen.has(content(e)['call_id'] as string), 8_000);
    seen.add(content(again)['call_id'] as string);
    const noticesBefore = f.notices().length;
    const hungUpAt = Date.now();
    handle.hangup();
    await f.waitEvent(f.byEdge('m.call.hangup', content(again)['call_id'] as string), 2_000);
    await f.waitNotice(/^The call with \+4917012345672 is over: the other side hung up\.$/, noticesBefore);
    expect(Date.now() - hungUpAt).toBeLessThan(1_000);
    await f.expectNothingLeft();
  });

  it('with calls.recovery_ring_s 0: the Verto leg hung up over ESL and the call ended in the room, both sides at once', async () => {
    await f.restartEdge({ calls: { ...CALLS, recovery_ring_s: 0 } });
    const { handle, invite, callId, vertoLeg } = await answeredInboundCall('+4917012345678', false);
    const eslMark = f.tap.text().length;
    const sinceEsl = () => f.tap.text().slice(eslMark);
    const noticesBefore = f.notices().length;
    const vertoFramesBefore = f.fs.vertoReceived.length;
    const disconnectsBefore = disconnects.length;
    const droppedAt = Date.now();
    await f.fs.killVerto();
    // FreeSWITCH saw the socket go
    expect(disconnects).toHaveLength(disconnectsBefore + 1);

    // within 1 s of the drop: the leg hung up on the wire, the room told
    const left = () => Math.max(1, droppedAt + 1_000 - Date.now());
    await waitUntil(f.tap, () => sinceEsl().includes(`api uuid_kill ${vertoLeg} NETWORK_OUT_OF_ORDER\n\n`), 'uuid_kill of the Verto leg', left());
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId, left());
    // the party that sent the invite, or clients would ignore it
    expect(content(hangup)).toMatchObject({ call_id: callId, party_id: content(invite)['party_id'], version: '1', reason: 'ice_timeout' });
    await f.waitNotice(/connection to the phone system was lost/, noticesBefore);
    // the Verto leg, detached by FreeSWITCH, ended by the edge's kill (not the detach timer); the trunk leg with it
    await pollUntil(() => hangups.has(vertoLeg) && hangups.has(handle.uuid), 'both legs hung up', 5_000);
    expect(hangups.get(vertoLeg)).toEqual({ cause: 'NETWORK_OUT_OF_ORDER', detached: true });
    // hangup_after_bridge: the trunk leg is hung up with the Verto leg's cause (a BYE toward the caller)
    expect(hangups.get(handle.uuid)?.cause).toBe('NETWORK_OUT_OF_ORDER');
    expect(sinceEsl()).not.toContain('uuid_setvar_multi');
    await pollUntil(() => f.fs.model.channel(handle.uuid) === undefined, 'trunk leg gone', 5_000);
    expect(await handle.ended).toBe('NETWORK_OUT_OF_ORDER');
    // counted
    expect((await f.gauge('mse_calls_ended')).get('reason="ice_timeout",cause="NETWORK_OUT_OF_ORDER"')).toBe(1);

    // Verto comes back: the session logs in again and nothing is left to re-attach or end.
    await f.fs.restartVerto();
    await pollUntil(() => f.fs.verto.liveSessions().length === 1, 'a Verto session again', 15_000);
    const after = f.fs.vertoReceived.slice(vertoFramesBefore);
    expect(after.some((t) => t.includes('"login"'))).toBe(true);
    expect(after.filter((t) => t.includes(vertoLeg))).toEqual([]);
    // one hangup for the call, nothing sent after it for this call
    expect(f.events((e) => e['sender'] === f.mx.edgeUserId && typeof e['type'] === 'string' && (e['type'] as string).startsWith('m.call.') && content(e)['call_id'] === callId).map((e) => e['type'])).toEqual(['m.call.invite', 'm.call.select_answer', 'm.call.hangup']);
    await f.expectNothingLeft();
    await f.restartEdge({ calls: { ...CALLS, recovery_ring_s: 3 } });
  });

  it('ESL down too when Verto drops: no recovery (it needs ESL); the call ended in Matrix once; at ESL\'s return both its legs are hung up, without a second ending', async () => {
    const { handle, callId, vertoLeg } = await answeredInboundCall('+4917012345679', true);
    // the Matrix side of the call is on its channel (what the channel walk would find it by)
    await waitUntil(f.tap, () => f.tap.text().includes(`uuid_setvar ${vertoLeg} mse_inbound_party_id`), 'the call recorded on its channel');
    await f.mx.hs.waitForEvent(() => f.notices().some((n) => n.startsWith('Incoming call from Erika Mustermann (+4917012345679)')), 5_000);
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
    // the trunk leg was kept (park_after_bridge): the edge ends it itself, or it would wait parked
    await waitUntil(f.tap, () => f.tap.sent.slice(eslMark).some((c) => c.includes(`api uuid_kill ${handle.uuid} `)), 'uuid_kill of the kept trunk leg once ESL is back', 5_000);
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
