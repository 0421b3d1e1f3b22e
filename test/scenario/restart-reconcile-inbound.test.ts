import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content } from '../support/outbound-fixture.ts';
import { WeriftCallee } from '../support/matrix-caller.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

// The second source: an edge that crashes during an answered inbound call
// AND loses its state store (a new volume) still ends the call. FreeSWITCH
// keeps the Verto leg it offered detached (such legs are always
// recoverable), the next edge finds it over ESL, hangs it up (on the wire),
// and ends the call in the room it rang, as the same party: the Matrix
// facts were written on the channel with uuid_setvar when the room rang.
// (With the store, crash-restart.test.ts.)

const DID = '+49301234561';
let f: OutboundFixture;
let callee: WeriftCallee | undefined;

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'reconcile-inbound',
    stack: { dialplanOverrides: { mse_inbound_enabled: 'true', mse_inbound_did_regex: '^\\+?(4930123456[0-9])\\z' } },
  });
  await f.restartEdge({ inbound: { routes: [{ did: DID, room: f.roomId }], ring_timeout_s: 30 } });
});
afterAll(async () => {
  await callee?.close();
  await f?.stop();
});

describe('restart after a crash during an answered inbound call, the state store lost', () => {
  it('hangs up the orphaned Verto leg and ends the call in the room it rang', async () => {
    const handle = f.fs.model.placeInboundCall({ did: DID.replace('+', ''), callerNumber: '+4917012345678', callerName: 'Erika Mustermann', context: 'matrix-sip-edge-public' });
    const invite = await f.waitEvent((e) => e['type'] === 'm.call.invite' && e['sender'] === f.mx.edgeUserId);
    const callId = content(invite)['call_id'] as string;
    // the leg FreeSWITCH offered the edge over Verto (its callID is the edge's call uuid)
    const vertoLeg = f.fs.model.channels().find((c) => c.name.startsWith('verto.rtc/'))?.uuid;
    expect(vertoLeg).toBeDefined();
    // the Matrix side of the call is on its channel
    await waitUntil(f.tap, () => f.tap.text().includes(`uuid_setvar ${vertoLeg} mse_inbound_party_id`), 'the call recorded on its channel');
    expect(f.tap.text()).toContain(`api uuid_setvar ${vertoLeg} mse_inbound_call_id ${callId}\n\n`);
    expect(f.tap.text()).toContain(`api uuid_setvar ${vertoLeg} mse_inbound_room ${f.roomId.slice(1)}\n\n`);

    callee = new WeriftCallee(f.mx.hs, f.mx.aliceId, f.roomId, 'ALICEPHONE');
    await callee.answer(invite);
    await pollUntil(() => f.fs.model.channel(handle.uuid)?.answered === true && f.fs.model.channel(handle.uuid)?.bridgedTo === vertoLeg, 'the trunk leg answered and bridged to the edge');

    const eslMark = f.tap.sent.length;
    await f.crashAndRestartEdge({ loseState: true });

    // Either leg may come first in the channel walk: the trunk leg carries the Matrix call too once it was kept
    // for a recovery (mse_leg=trunk); killing either ends both, and the room is told once.
    await waitUntil(f.tap, () => [vertoLeg, handle.uuid].some((leg) => f.tap.sent.slice(eslMark).join('').includes(`uuid_kill ${leg} NORMAL_TEMPORARY_FAILURE`)), 'uuid_kill of an orphaned leg', 10_000);
    await pollUntil(() => f.fs.model.channels().length === 0, 'no channel left', 5_000);
    const hangup = await f.waitEvent((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId);
    // the party that sent the invite, or clients would ignore it
    expect(content(hangup)).toMatchObject({ call_id: callId, party_id: content(invite)['party_id'], version: '1' });
    await f.waitNotice(/bridge restarted/, 0);
    await f.expectNothingLeft();
    expect(f.events((e) => e['type'] === 'm.call.hangup' && e['sender'] === f.mx.edgeUserId && content(e)['call_id'] === callId)).toHaveLength(1);
  });
});
