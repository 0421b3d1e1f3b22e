// Replays of the reconstructed call-level traces (traces/verto/) against the
// Verto server over the fake backend. Most of these files are fragments: the
// setup they assume (a login, a call in progress) is done outside the trace,
// and the fake backend plays FreeSWITCH's side (media, answer, bye, display).
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Replayer } from './verto-replayer.ts';
import { loadReconstructed } from './verto-trace.ts';
import { startFakeSim, type FakeSim } from './verto-fake-sim.ts';
import { answerSdp, inviteOfferSdp } from '../support/freeswitch/verto-sdp.ts';
import type { VertoCallSink } from '../support/freeswitch/contract.ts';

const SESSID = '6f1c2a9e-3b4d-4c8e-9a7f-1e2d3c4b5a60';
const USER = '1008@fs.example.org';
const CALL = 'a3f9c1d2-7e44-4b1a-8c55-0d9e8f7a6b21';
const OTHER_CALL = '0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b';
const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=setup:actpass\r\n';
const DISPLAY = {
  display_name: 'ACME Support',
  display_number: '+15551234567',
  caller_id_name: '@alice:example.org',
  caller_id_number: '1008',
  callee_id_name: 'ACME Support',
  callee_id_number: '+15551234567',
  display_direction: 'inbound',
};

describe('reconstructed Verto traces, call level (fake backend)', () => {
  let sim: FakeSim;
  let r: Replayer;

  beforeEach(async () => {
    sim = await startFakeSim();
    r = new Replayer(sim.server.url);
  });

  afterEach(async () => {
    r.closeAll();
    await sim.server.close();
  });

  const sink = (): VertoCallSink => {
    const s = sim.backend.sinks.get(SESSID);
    if (s === undefined) throw new Error('no Verto session');
    return s;
  };

  /** Setup outside the trace: an outbound call `callId` (its CALL CREATED reply swallowed). */
  async function placeCall(callId: string, socket = 'main'): Promise<void> {
    (await r.client(socket)).send(JSON.stringify({
      jsonrpc: '2.0', method: 'verto.invite', id: 901,
      params: { sdp: OFFER, dialogParams: { callID: callId, destination_number: '+15551234567' }, sessid: SESSID },
    }));
    const reply = await r.skip(socket);
    expect(reply).toContain('CALL CREATED');
  }

  async function loggedIn(): Promise<void> {
    await r.login('main', SESSID, USER, '1234');
  }

  it('10-outbound-invite.json: CALL CREATED, dialog variables handed to the model', async () => {
    await loggedIn();
    await r.run(loadReconstructed('10-outbound-invite.json'));
    const inv = sim.backend.invites[0];
    expect(inv?.destinationNumber).toBe('+15551234567');
    expect(inv?.dialogVariables).toMatchObject({ matrix_room_id: expect.any(String) as unknown });
    expect(r.unexpected()).toEqual([]);
  });

  it('11-media-answer.json: verto.media with SDP, then verto.answer without', async () => {
    await loggedIn();
    sim.backend.onInvite = (req, s) => {
      s.media(req.callId, answerSdp(req.sdp));
      s.answer(req.callId, undefined);
    };
    await placeCall(CALL);
    await r.run(loadReconstructed('11-media-answer.json'));
    expect(r.unexpected()).toEqual([]);
  });

  it('12-answer-without-early-media.json: verto.answer carries the SDP', async () => {
    await loggedIn();
    sim.backend.onInvite = (req, s) => s.answer(req.callId, answerSdp(req.sdp));
    await placeCall(CALL);
    await r.run(loadReconstructed('12-answer-without-early-media.json'));
    expect(r.unexpected()).toEqual([]);
  });

  it.each([
    ['20-inbound-invite.json', { callee_id_name: 'Extension 1008', callee_id_number: '1008', display_direction: 'outbound', verto_h_matrix_room_id: '!abc:example.org' }],
    ['21-inbound-reject.json', { display_direction: 'outbound' }],
  ])('%s: server verto.invite with a uuid FreeSWITCH chose', async (name, extra) => {
    await loggedIn();
    const uuid = randomUUID();
    await r.run(loadReconstructed(name), {
      before: (i) => {
        if (i === 0) {
          sim.backend.offer(SESSID, uuid, { variables: null, sdp: inviteOfferSdp(), caller_id_name: 'Bob', caller_id_number: '+15557654321', ...extra });
        }
      },
    });
    expect(r.state.aliases.get('e5b7d0c4-2a19-4f3e-b6d8-91c0a4e3f752')).toBe(uuid);
    expect(sim.backend.calls.has(uuid)).toBe(name.startsWith('20'));
    expect(r.unexpected()).toEqual([]);
  });

  it('30-bye-from-server.json: server verto.bye with cause and causeCode', async () => {
    await loggedIn();
    await placeCall(CALL);
    await placeCall(OTHER_CALL);
    await r.run(loadReconstructed('30-bye-from-server.json'), {
      before: (i) => {
        if (i === 0) sim.backend.hangup(CALL, 'NORMAL_CLEARING', 16);
        if (i === 2) sim.backend.hangup(OTHER_CALL, 'NO_ROUTE_DESTINATION', 3);
      },
    });
    expect(r.unexpected()).toEqual([]);
  });

  it.each(['31-bye-from-client.json', '40-info-dtmf.json', '45-modify-hold.json'])('%s', async (name) => {
    await loggedIn();
    await placeCall(CALL);
    await r.run(loadReconstructed(name));
    expect(r.unexpected()).toEqual([]);
  });

  it('40-info-dtmf.json hands the digits to the model', async () => {
    await loggedIn();
    await placeCall(CALL);
    await r.run(loadReconstructed('40-info-dtmf.json'));
    expect(sim.backend.dtmfs).toEqual([{ callId: CALL, digits: '5' }]);
  });

  it('46-modify-transfer.json: transferred once, then not bridged', async () => {
    await loggedIn();
    sim.backend.onInvite = (_req, _s, call) => {
      call.bridged = true;
    };
    await placeCall(CALL);
    await r.run(loadReconstructed('46-modify-transfer.json'));
    expect(r.unexpected()).toEqual([]);
  });

  it('50-attach-after-reconnect.json: verto.attach, clientReady, client attach, display re-sent', async () => {
    await r.login('first', SESSID, USER, '1234');
    sim.backend.onInvite = (req, s, call) => {
      call.answered = true;
      s.answer(req.callId, answerSdp(req.sdp));
      s.display(req.callId, { ...DISPLAY, display_name: 'Outbound Call', callee_id_name: 'Outbound Call' });
    };
    sim.backend.attachParams = () => ({
      caller_id_name: '@alice:example.org',
      caller_id_number: '1008',
      callee_id_name: 'Outbound Call',
      callee_id_number: '+15551234567',
      display_direction: 'inbound',
    });
    await placeCall(CALL, 'first');
    await r.skip('first'); // verto.answer
    await r.skip('first'); // verto.display
    (await r.client('first')).close();
    await (await r.client('first')).closed(2000);
    await r.run(loadReconstructed('50-attach-after-reconnect.json'));
    expect(r.unexpected()).toEqual([]);
  });

  it('61-display.json', async () => {
    await loggedIn();
    await placeCall(CALL);
    await r.run(loadReconstructed('61-display.json'), {
      before: (i) => {
        if (i === 0) sink().display(CALL, DISPLAY);
      },
    });
    expect(r.unexpected()).toEqual([]);
  });
});
