import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content, type Json } from '../support/outbound-fixture.ts';
import { WeriftCallee } from '../support/matrix-caller.ts';
import { vertoInvitesSent } from '../support/freeswitch/verto-backend.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

// Nothing stranded: the edge is killed with SIGKILL (nothing is cleaned up)
// during a call, in each direction, ringing and answered, and started again.
// The restarted edge knows the call from its state store and ends it on
// both sides within 2 s of reaching both peers: the room gets the ending the
// Matrix side expects (reject or hangup, the stored call_id and party_id)
// and a notice, once; every leg still up is hung up over ESL (on the wire).

const DID = '+49301234561';
const CALLS = { gathering_window_ms: 10_000, hangup_cause_wait_ms: 1000, ring_timeout_s: 60, drain_s: 1, recovery_ring_s: 3 };
const RINGS = '+4930700002';
let f: OutboundFixture;
const callees: WeriftCallee[] = [];

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'crash-restart',
    stack: {
      farEnd: { byDestination: { [RINGS]: { kind: 'no-answer' } }, default: { kind: 'answer', ringMs: 10 } },
      originateTimeoutMs: 60_000,
      dialplanOverrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' },
    },
    config: { calls: { ...CALLS } },
  });
  await f.restartEdge({ inbound: { routes: [{ did: DID, room: f.roomId }], ring_timeout_s: 30 } });
});
afterEach(async () => {
  for (const c of callees.splice(0)) await c.close();
  await f.expectNothingLeft();
});
afterAll(async () => f?.stop());

const isEnding = (e: Json) => e['type'] === 'm.call.hangup' || e['type'] === 'm.call.reject';

/** Kill -9 and restart; resolves once the new edge reached both peers (/readyz 200), with that moment. */
async function crashAndRestart(opts: { waitReady?: boolean } = {}): Promise<{ eslMark: number; readyAt: number }> {
  const eslMark = f.tap.sent.length;
  await f.crashAndRestartEdge(opts);
  return { eslMark, readyAt: Date.now() };
}

/**
 * Within 2 s of the restarted edge being ready: one ending for the call from
 * the edge, the notice, every leg gone, each stored leg hung up over ESL.
 */
async function expectEndedOnBothSides(callId: string, legs: readonly string[], restart: { eslMark: number; readyAt: number }, noticesBefore: number): Promise<Json> {
  const left = () => Math.max(1, restart.readyAt + 2_000 - Date.now());
  const ending = await f.waitEvent((e) => isEnding(e) && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId, left());
  await f.mx.hs.waitForEvent(() => f.notices().slice(noticesBefore).some((n) => /bridge restarted/.test(n)), left());
  await pollUntil(() => legs.every((l) => f.fs.model.channel(l) === undefined || f.fs.model.channel(l)?.hungUp === true), 'every leg of the call gone', left(), 10);
  for (const leg of legs) {
    await waitUntil(f.tap, () => f.tap.sent.slice(restart.eslMark).join('').includes(`api uuid_kill ${leg} NORMAL_TEMPORARY_FAILURE\n\n`), `uuid_kill ${leg}`, left());
  }
  expect(Date.now() - restart.readyAt).toBeLessThan(2_000);
  return ending;
}

/** After the edge caught up with the room: exactly one ending from the edge for the call, and no other event of it after that. */
async function expectNoDuplicate(callId: string): Promise<void> {
  for (const n of [1, 2]) {
    const id = f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'org.example.test.marker', { n });
    await f.mx.hs.waitForRequest((r) => r.userId === f.mx.edgeUserId && r.path.endsWith('/sync') && JSON.stringify(r.response).includes(id), 8_000);
  }
  const mine = f.events((e) => e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId);
  expect(mine.filter(isEnding)).toHaveLength(1);
  expect(isEnding(mine[mine.length - 1]!)).toBe(true);
}

/** A trunk call to the DID, answered in the room by Alice's device, bridged, and its trunk leg kept for a recovery (on the wire and in FreeSWITCH). */
async function answeredKeptInboundCall(callerNumber: string): Promise<{ handle: ReturnType<typeof f.fs.model.placeInboundCall>; invite: Json; callId: string; vertoLeg: string }> {
  const handle = f.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber, callerName: 'Erika Mustermann', context: 'matrix-sip-edge-public' });
  const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] !== undefined && !seen.has(content(e)['call_id'] as string));
  const callId = content(invite)['call_id'] as string;
  seen.add(callId);
  const vertoLeg = vertoInvitesSent(f.fs.model).find((i) => i.originator === handle.uuid)!.callId;
  const callee = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEPHONE');
  callees.push(callee);
  await callee.answer(invite);
  await pollUntil(() => f.fs.model.channel(handle.uuid)?.answered === true && f.fs.model.channel(handle.uuid)?.bridgedTo === vertoLeg, 'the trunk leg answered and bridged to the edge');
  // kept for a recovery once bridged (what a restarted edge finds on the leg)
  await waitUntil(f.tap, () => f.tap.text().includes(`api uuid_setvar_multi ${handle.uuid} `) && f.tap.text().includes('park_after_bridge=true'), 'the trunk leg kept');
  await pollUntil(() => f.fs.model.channel(handle.uuid)?.getVar('park_after_bridge') === 'true', 'FreeSWITCH set park_after_bridge');
  return { handle, invite, callId, vertoLeg };
}

describe('kill -9 of the edge, then a restart', () => {
  it('during an answered outbound call: the far end is never hung up; the lost Matrix call ends, the user is rung again within 2 s of the edge reaching both peers, answering bridges the same trunk leg', async () => {
    const before = f.fs.vertoRecord.length;
    const caller = await f.call('+4930700001');
    const invite = await f.vertoInviteFor('+4930700001', before);
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await caller.applyAnswer(content(answer));
    await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId)); // bridged
    const trunkLeg = f.fs.model.channels().find((c) => c.uuid !== invite.callId)!.uuid;
    const notices = f.notices().length;

    const restart = await crashAndRestart();
    // The Matrix call the crash cut is ended, as the party that answered, the media leg gone with the old process.
    const ending = await f.waitEvent((e) => isEnding(e) && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === caller.options.callId, 2_000);
    expect(ending['type']).toBe('m.call.hangup');
    expect(content(ending)).toMatchObject({ call_id: caller.options.callId, party_id: content(answer)['party_id'], version: '1' });
    await pollUntil(() => f.fs.model.channel(invite.callId) === undefined || f.fs.model.channel(invite.callId)?.hungUp === true, 'the old media leg gone', 2_000, 10);
    // The far end waits: rung again within 2 s of the restarted edge being ready.
    const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] !== caller.options.callId && !seen.has(content(e)['call_id'] as string), 3_000);
    seen.add(content(again)['call_id'] as string);
    expect(Date.now() - restart.readyAt).toBeLessThan(2_000);
    await f.waitNotice(/was interrupted: answer to continue/, notices);
    expect(f.fs.model.channel(trunkLeg)?.hungUp).toBe(false);
    expect(f.tap.sent.slice(restart.eslMark).join('')).not.toContain(`uuid_kill ${trunkLeg}`);
    // parked since the old process's socket went: the hold music starts at once
    await pollUntil(() => f.fs.model.channel(trunkLeg)?.hearsHoldMusic === 'local_stream://moh', 'hold music for the waiting far end', 2_000);

    const device = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEAGAIN');
    callees.push(device);
    await device.answer(again);
    await pollUntil(() => {
      const trunk = f.fs.model.channel(trunkLeg);
      return trunk !== undefined && !trunk.hungUp && trunk.bridgedTo !== undefined && trunk.bridgedTo !== invite.callId;
    }, 'the same trunk leg bridged to a new media leg', 8_000);
    f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.call.hangup', { call_id: content(again)['call_id'], party_id: 'ALICEAGAIN', version: '1', reason: 'user_hangup' } as never);
    await pollUntil(() => f.fs.model.channel(trunkLeg) === undefined || f.fs.model.channel(trunkLeg)?.hungUp === true, 'the trunk leg ended with the continued call', 8_000);
    await caller.close();
    // every login, before and after the crash, with the one Verto session id the store keeps
    const sessids = f.fs.vertoReceived.map((t) => JSON.parse(t) as { method?: string; params?: { sessid?: string } }).filter((m) => m.method === 'login').map((m) => m.params?.sessid);
    expect(sessids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(sessids).size).toBe(1);
  });

  it('during an answered outbound call, not answered again within calls.recovery_ring_s: the waiting trunk leg is ended with the recovery\'s cause (NO_ANSWER)', async () => {
    const causes = new Map<string, string>();
    const off = f.fs.model.onEvent((e) => {
      const h = new Map(e.headers);
      if (h.get('Event-Name') === 'CHANNEL_HANGUP_COMPLETE') causes.set(h.get('Unique-ID') ?? '', h.get('Hangup-Cause') ?? '');
    });
    try {
      const before = f.fs.vertoRecord.length;
      const caller = await f.call('+4930700003');
      const invite = await f.vertoInviteFor('+4930700003', before);
      await caller.applyAnswer(content(await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId))));
      await f.waitEvent(f.byEdge('m.call.asserted_identity', caller.options.callId)); // bridged
      const trunkLeg = f.fs.model.channels().find((c) => c.uuid !== invite.callId)!.uuid;
      await crashAndRestart();
      const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] !== caller.options.callId && !seen.has(content(e)['call_id'] as string), 3_000);
      seen.add(content(again)['call_id'] as string);
      // nobody answers (recovery_ring_s is 3 here)
      await f.waitEvent(f.byEdge('m.call.hangup', content(again)['call_id'] as string), 8_000);
      await pollUntil(() => causes.has(trunkLeg), 'the trunk leg ended', 8_000);
      expect(causes.get(trunkLeg)).toBe('NO_ANSWER');
      await caller.close();
    } finally {
      off();
    }
  });

  it('during a ringing outbound call, before the caller\'s candidates were complete: m.call.reject as the callee it would have been, the trunk leg (rung at once) ended', async () => {
    // The media leg waits for end-of-candidates (the window is 10 s here; the caller never sends it),
    // the trunk leg rings from the admission on: the call is not answered in Matrix yet.
    const caller = f.newCaller({ endOfCandidates: false });
    await f.say(`!dial ${RINGS}`);
    const sipLegs = () => f.fs.model.channels().filter((c) => c.name.startsWith('sofia/'));
    const invited = caller.invite();
    await pollUntil(() => sipLegs().length === 1, 'the trunk rings');
    const trunkLeg = sipLegs()[0]!.uuid;
    expect(f.fs.model.channels()).toHaveLength(1);
    expect(f.events(f.byEdge('m.call.answer', caller.options.callId))).toEqual([]);
    const notices = f.notices().length;

    const restart = await crashAndRestart();
    await invited;
    const ending = await expectEndedOnBothSides(caller.options.callId, [trunkLeg], restart, notices);
    expect(ending['type']).toBe('m.call.reject');
    // the party id the edge would have answered with: the one it stored, handed to FreeSWITCH with the trunk leg
    expect(content(ending)).toMatchObject({ call_id: caller.options.callId, version: '1' });
    await expectNoDuplicate(caller.options.callId);
  });

  it('during an answered inbound call: the caller is never hung up; the lost Matrix call ends, the user who answered is rung again within 2 s of the edge reaching both peers, answering bridges the same trunk leg; not answering ends it', async () => {
    for (const answerAgain of [true, false]) {
      const { handle, invite, callId, vertoLeg } = await answeredKeptInboundCall(answerAgain ? '+4917012345678' : '+4917012345677');
      let trunkEnded: string | undefined;
      void handle.ended.then((cause) => {
        trunkEnded = cause;
      });
      const notices = f.notices().length;

      const restart = await crashAndRestart();
      // The Matrix call the crash cut is ended, as the party that rang; the detached Verto leg is ended and the trunk leg parks.
      const ending = await f.waitEvent((e) => isEnding(e) && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId, 2_000);
      expect(ending['type']).toBe('m.call.hangup');
      expect(content(ending)).toMatchObject({ call_id: callId, party_id: content(invite)['party_id'], version: '1' });
      await pollUntil(() => f.fs.model.channel(vertoLeg) === undefined || f.fs.model.channel(vertoLeg)?.hungUp === true, 'the old Verto leg gone', 2_000, 10);
      const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seen.has(content(e)['call_id'] as string), 3_000);
      seen.add(content(again)['call_id'] as string);
      expect(Date.now() - restart.readyAt).toBeLessThan(2_000);
      expect(content(again)).toMatchObject({ version: '1', invitee: f.mx.aliceId });
      await f.waitNotice(answerAgain ? /^Your call with \+4917012345678 was interrupted: answer to continue\.$/ : /was interrupted: answer to continue/, notices);
      expect(f.fs.model.channel(handle.uuid)?.hungUp).toBe(false);
      expect(trunkEnded).toBeUndefined();
      expect(f.tap.sent.slice(restart.eslMark).join('')).not.toContain(`uuid_kill ${handle.uuid}`);
      // parked once the restarted edge ended the detached Verto leg: then the hold music
      await pollUntil(() => f.fs.model.channel(handle.uuid)?.hearsHoldMusic === 'local_stream://moh', 'hold music for the waiting caller', 2_000);

      if (!answerAgain) {
        // nobody answers within recovery_ring_s: the trunk leg is ended with the recovery's cause
        await f.waitEvent(f.byEdge('m.call.hangup', content(again)['call_id'] as string), 8_000);
        expect(await handle.ended).toBe('NO_ANSWER');
        continue;
      }
      const device = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEAGAIN');
      callees.push(device);
      await device.answer(again);
      await pollUntil(() => {
        const trunk = f.fs.model.channel(handle.uuid);
        return trunk !== undefined && !trunk.hungUp && trunk.bridgedTo !== undefined && trunk.bridgedTo !== vertoLeg;
      }, 'the same trunk leg bridged to a new media leg', 8_000);
      expect(trunkEnded).toBeUndefined();
      f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.call.hangup', { call_id: content(again)['call_id'], party_id: 'ALICEAGAIN', version: '1', reason: 'user_hangup' } as never);
      expect(await handle.ended).toBe('NORMAL_CLEARING');
      await f.expectNothingLeft();
    }
  });

  it('while a recovery waits (Verto lost, the edge then killed before the user was rung again): the restarted edge rings again for the same trunk leg, and tells the lost call\'s end only once', async () => {
    const { handle, callId, vertoLeg } = await answeredKeptInboundCall('+4917012345676');
    let trunkEnded: string | undefined;
    void handle.ended.then((cause) => {
      trunkEnded = cause;
    });
    await f.fs.killVerto();
    await f.waitEvent(f.byEdge('m.call.hangup', callId), 2_000);
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.application === 'park', 'the trunk leg parked', 2_000);

    // The edge dies while it waits for Verto to ring the user again; it comes back, then Verto does.
    const restart = await crashAndRestart({ waitReady: false });
    await f.fs.restartVerto();
    const again = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seen.has(content(e)['call_id'] as string), 5_000);
    seen.add(content(again)['call_id'] as string);
    expect(content(again)).toMatchObject({ invitee: f.mx.aliceId });
    expect(trunkEnded).toBeUndefined();
    expect(f.tap.sent.slice(restart.eslMark).join('')).not.toContain(`uuid_kill ${handle.uuid}`);
    const device = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEAGAIN');
    callees.push(device);
    await device.answer(again);
    await pollUntil(() => {
      const trunk = f.fs.model.channel(handle.uuid);
      return trunk !== undefined && !trunk.hungUp && trunk.bridgedTo !== undefined && trunk.bridgedTo !== vertoLeg;
    }, 'the same trunk leg bridged to a new media leg', 8_000);
    f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.call.hangup', { call_id: content(again)['call_id'], party_id: 'ALICEAGAIN', version: '1', reason: 'user_hangup' } as never);
    expect(await handle.ended).toBe('NORMAL_CLEARING');
    await f.expectNothingLeft();
    // the lost call was ended in Matrix once, by the run that lost it
    await expectNoDuplicate(callId);
  });

  it('during a ringing inbound call: m.call.hangup as the inviting party, the trunk caller released', async () => {
    const handle = f.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber: '+4917012345679', callerName: 'Max', context: 'matrix-sip-edge-public' });
    const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seen.has(content(e)['call_id'] as string));
    const callId = content(invite)['call_id'] as string;
    seen.add(callId);
    const vertoLeg = vertoInvitesSent(f.fs.model).find((i) => i.originator === handle.uuid)!.callId;
    const notices = f.notices().length;

    const restart = await crashAndRestart();
    const ending = await expectEndedOnBothSides(callId, [vertoLeg], restart, notices);
    await pollUntil(() => f.fs.model.channel(handle.uuid) === undefined || f.fs.model.channel(handle.uuid)?.hungUp === true, 'the trunk leg gone', 2_000, 10);
    expect(ending['type']).toBe('m.call.hangup');
    expect(content(ending)).toMatchObject({ call_id: callId, party_id: content(invite)['party_id'], version: '1' });
    await expectNoDuplicate(callId);
  });

  it('a stored leg whose uuid_kill got no reply (ESL dropped mid-way) is kept and hung up at the next ESL connection, not forgotten', async () => {
    // without recoveries (an answered inbound call is then ended at the restart, not continued)
    await f.restartEdge({ calls: { ...CALLS, recovery_ring_s: 0 } });
    const handle = f.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber: '+4917012345670', callerName: 'Lotte', context: 'matrix-sip-edge-public' });
    const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId && !seen.has(content(e)['call_id'] as string));
    const callId = content(invite)['call_id'] as string;
    seen.add(callId);
    const vertoLeg = vertoInvitesSent(f.fs.model).find((i) => i.originator === handle.uuid)!.callId;
    const callee = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEPHONE');
    callees.push(callee);
    await callee.answer(invite);
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.bridgedTo === vertoLeg, 'the trunk leg bridged to the edge');
    await waitUntil(f.tap, () => f.tap.text().includes(`uuid_setvar ${vertoLeg} mse_inbound_party_id`), 'the call recorded on its channel');

    // the restarted edge's first kill of the stored leg: ESL is cut before FreeSWITCH gets it
    const kill = `api uuid_kill ${vertoLeg} NORMAL_TEMPORARY_FAILURE\n\n`;
    f.tap.dropWhen((sent) => sent.includes(`uuid_kill ${vertoLeg}`));
    const restart = await crashAndRestart();
    await waitUntil(f.tap, () => f.tap.sent.slice(restart.eslMark).some((c) => c.includes(`uuid_kill ${vertoLeg}`)), 'the first uuid_kill (cut)', 5_000);
    const cutOn = restart.eslMark + f.tap.sent.slice(restart.eslMark).findIndex((c) => c.includes(`uuid_kill ${vertoLeg}`));
    // tried again on a later connection, and FreeSWITCH answered it
    await waitUntil(f.tap, () => f.tap.sent.slice(cutOn + 1).some((c) => c.includes(kill)), 'uuid_kill of the stored leg again at the next ESL connection', 5_000);
    await pollUntil(() => f.fs.model.channel(vertoLeg) === undefined && f.fs.model.channel(handle.uuid) === undefined, 'both legs gone', 5_000, 10);
    const ending = await f.waitEvent((e) => isEnding(e) && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId);
    expect(content(ending)).toMatchObject({ call_id: callId, party_id: content(invite)['party_id'], version: '1' });
    await expectNoDuplicate(callId);
  });
});

const seen = new Set<string>();
