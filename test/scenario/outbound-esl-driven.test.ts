import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OutboundFixture, content, type Json } from '../support/outbound-fixture.ts';
import { WeriftCaller } from '../support/matrix-caller.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

// The outbound call driven over ESL, the built edge between the simulators:
// the trunk leg is originated the moment the m.call.invite is admitted, the
// media (Verto) leg follows once the caller's candidates are complete, the
// two are bridged with uuid_bridge. The FreeSWITCH simulator fires the
// media leg's answer and bridge only once its DTLS is up (as FreeSWITCH
// does, switch_core_media_check_dtls). Asserted on the wire: the
// simulators' own timestamps, the Verto and ESL requests, the Matrix events.

const N = {
  answers: '+4930700001',
  answersAt100: '+4930700002',
  answersAt300: '+4930700003',
  hold: '+4930700004',
  farHold: '+4930700005',
} as const;

let f: OutboundFixture;

beforeAll(async () => {
  f = await OutboundFixture.start({
    name: 'esl-driven',
    stack: {
      // The media leg's answer and bridge events wait for its DTLS, as on FreeSWITCH (0.15 s to 1.1 s observed).
      vertoDtlsDelayMs: 400,
      farEnd: {
        default: { kind: 'answer', ringMs: 20 },
        byDestination: { [N.answersAt100]: { kind: 'answer', ringMs: 100 }, [N.answersAt300]: { kind: 'answer', ringMs: 300 } },
      },
    },
    config: { calls: { gathering_window_ms: 3_000, hangup_cause_wait_ms: 1_000, ring_timeout_s: 30, drain_s: 1 } },
  });
});
afterEach(async () => f.expectNothingLeft());
afterAll(async () => f?.stop());

/** The trunk leg FreeSWITCH holds for a Matrix call (the edge tags it mse_leg=trunk). */
const trunkLegOf = (callId: string) => f.fs.model.channels().find((c) => c.name.startsWith('sofia/') && c.getVar('mse_matrix_call_id') === callId);
const vertoInvitesOf = (callId: string) => f.fs.vertoRecord.filter((r) => r.method === 'invite' && r.invite?.dialogVariables['mse_matrix_call_id'] === callId);
const bridged = (callId: string) => {
  const trunk = trunkLegOf(callId);
  return trunk !== undefined && trunk.bridgedTo !== undefined && f.fs.model.channel(trunk.bridgedTo)?.bridgedTo === trunk.uuid;
};

async function hangUp(caller: WeriftCaller): Promise<void> {
  caller.hangup();
  await pollUntil(() => trunkLegOf(caller.options.callId) === undefined, 'the trunk leg gone');
}

describe('the phone rings at once', () => {
  it('the trunk leg is created within 20 ms of the edge receiving the m.call.invite (median of 5; the simulators\' clocks: /sync answered -> trunk leg created)', async () => {
    const fromStored: number[] = [];
    const edgeAdded: number[] = [];
    for (let i = 0; i < 5; i++) {
      await f.say(`!dial ${N.answers}`);
      const caller = f.newCaller();
      await caller.invite();
      await pollUntil(() => trunkLegOf(caller.options.callId) !== undefined, 'the trunk leg');
      const created = trunkLegOf(caller.options.callId)!.times.created / 1000;
      const stored = f.events((e) => e['type'] === 'm.call.invite' && content(e)['call_id'] === caller.options.callId)[0]!;
      const synced = f.mx.hs.requests().find((r) => r.userId === f.mx.edgeUserId && r.path.endsWith('/sync') && JSON.stringify(r.response).includes(stored['event_id'] as string))!;
      fromStored.push(created - (stored['origin_server_ts'] as number));
      edgeAdded.push(created - synced.answeredAt);
      await hangUp(caller);
      await caller.close();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
    process.stdout.write(`m.call.invite stored -> trunk leg created: ${fromStored.map((d) => d.toFixed(1)).join(', ')} ms; of it the edge's (/sync answered -> trunk leg): ${edgeAdded.map((d) => d.toFixed(1)).join(', ')} ms\n`);
    expect(median(edgeAdded)).toBeLessThan(20);
  });

  it('with matrix-js-sdk\'s timing (candidates in the offer, the rest and end-of-candidates 2 s later): the trunk rings before the batch, answers at 100 ms, and is bridged once the media leg has every candidate', async () => {
    await f.say(`!dial ${N.answersAt100}`);
    const caller = f.newCaller();
    const jsSdk = new WeriftCaller({ ...caller.options, jsSdkBatchMs: 2_000 });
    f.callers.push(jsSdk);
    const invited = jsSdk.invite();
    const callId = caller.options.callId;
    // The far end answers 100 ms in, long before the batch: the trunk leg waits, answered and parked.
    await pollUntil(() => trunkLegOf(callId)?.answered === true, 'the far end answered', 1_500);
    expect(vertoInvitesOf(callId)).toEqual([]);
    await invited;
    await pollUntil(() => vertoInvitesOf(callId).length === 1, 'the media leg placed after the batch');
    const sdp = vertoInvitesOf(callId)[0]!.invite!.sdp;
    for (const c of jsSdk.trickled) expect(sdp).toContain(String(c['candidate']).replace(/^a=/, ''));
    expect(sdp).toContain('a=end-of-candidates');
    const answer = await f.waitEvent(f.byEdge('m.call.answer', callId));
    await jsSdk.applyAnswer(content(answer));
    await pollUntil(() => bridged(callId), 'the two legs bridged');
    await hangUp(jsSdk);
    await caller.close();
  });
});

describe('an offer FreeSWITCH cannot use', () => {
  it('no ICE candidate at all: FreeSWITCH refuses the media leg (INCOMPATIBLE_DESTINATION), the ringing trunk leg is cancelled, the caller told why', async () => {
    await f.say(`!dial ${N.answers}`);
    const caller = f.newCaller();
    const offer = await caller.pc.createOffer();
    // complete (end-of-candidates) and empty: no a=candidate line
    const sdp = offer.sdp.replace(/a=candidate:[^\r\n]*\r\n/g, '').replace(/(a=mid:0\r\n)/, '$1a=end-of-candidates\r\n');
    expect(sdp).not.toContain('a=candidate');
    caller.send('m.call.invite', { offer: { type: 'offer', sdp }, lifetime: 60_000 });
    const hangup = await f.waitEvent(f.byEdge('m.call.hangup', caller.options.callId));
    expect(content(hangup)['reason']).toBe('user_media_failed');
    await f.waitNotice(/could not use the audio/, 0);
    await pollUntil(() => trunkLegOf(caller.options.callId) === undefined, 'the trunk leg cancelled');
  });
});

describe('DTMF from the first moment', () => {
  it('!dtmf at once after m.call.answer (the far end still ringing): sent, in order, on the SIP leg once it answers', async () => {
    await f.say(`!dial ${N.answersAt300}`);
    const caller = f.newCaller();
    await caller.invite();
    const answer = await f.waitEvent(f.byEdge('m.call.answer', caller.options.callId));
    await caller.applyAnswer(content(answer));
    const mark = f.tap.text().length;
    const before = f.notices().length;
    // Two commands typed one after the other, without waiting for the first reply.
    f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.room.message', { msgtype: 'm.text', body: '!dtmf 12' });
    f.mx.hs.sendEvent(f.mx.aliceId, f.roomId, 'm.room.message', { msgtype: 'm.text', body: '!dtmf 34#' });
    await pollUntil(() => f.notices().length >= before + 2, 'both replies');
    expect(f.notices().slice(before)).toEqual(['Sent 12.', 'Sent 34#.']);
    const trunk = trunkLegOf(caller.options.callId)!.uuid;
    await waitUntil(f.tap, () => f.tap.text().slice(mark).includes(`uuid_send_dtmf ${trunk} 34#`), 'both bursts on the wire');
    const sent = [...f.tap.text().slice(mark).matchAll(/api uuid_send_dtmf (\S+) (\S+)/g)].map((m) => [m[1], m[2]]);
    expect(sent).toEqual([[trunk, '12'], [trunk, '34#']]);
    await hangUp(caller);
  });
});

describe('hold and resume cross the bridge', () => {
  it('from Matrix: m.call.negotiate sendonly -> verto.modify hold (the trunk hears hold music), sendrecv -> unhold; each offer answered, no hangup', async () => {
    await f.say(`!dial ${N.hold}`);
    const caller = f.newCaller();
    await caller.invite();
    const callId = caller.options.callId;
    await caller.applyAnswer(content(await f.waitEvent(f.byEdge('m.call.answer', callId))));
    await pollUntil(() => bridged(callId), 'bridged');
    const frames = f.fs.vertoReceived.length;
    const negotiate = async (direction: 'sendonly' | 'sendrecv') => {
      caller.pc.getTransceivers()[0]!.setDirection(direction);
      const offer = await caller.pc.createOffer();
      await caller.pc.setLocalDescription(offer);
      const sent = caller.send('m.call.negotiate', { description: { type: 'offer', sdp: offer.sdp }, lifetime: 60_000 });
      const reply = await f.waitEvent((e) => f.byEdge('m.call.negotiate', callId)(e) && f.events((x) => x['event_id'] === sent).length === 1 && !seen.has(e['event_id'] as string));
      seen.add(reply['event_id'] as string);
      const description = content(reply)['description'] as { type: 'answer'; sdp: string };
      expect(description.type).toBe('answer');
      await caller.pc.setRemoteDescription(description); // werift accepts it
      return description.sdp;
    };
    const seen = new Set<string>();
    expect(await negotiate('sendonly')).toMatch(/a=recvonly/);
    const trunk = trunkLegOf(callId)!;
    await pollUntil(() => trunk.hearsHoldMusic !== undefined, 'hold music to the trunk');
    expect(await negotiate('sendrecv')).toMatch(/a=sendrecv/);
    await pollUntil(() => trunk.hearsHoldMusic === undefined, 'no more hold music');
    const actions = f.fs.vertoReceived.slice(frames).map((t) => JSON.parse(t) as { method?: string; params?: { action?: string } }).filter((m) => m.method === 'verto.modify').map((m) => m.params?.action);
    expect(actions).toEqual(['hold', 'unhold']);
    expect(f.events(f.byEdge('m.call.hangup', callId))).toEqual([]);
    expect(bridged(callId)).toBe(true);
    await hangUp(caller);
  });

  it('from the trunk: a re-INVITE hold becomes an m.call.negotiate offer sendonly, its end sendrecv, each answered by the client; no hangup', async () => {
    await f.say(`!dial ${N.farHold}`);
    const caller = f.newCaller();
    await caller.invite();
    const callId = caller.options.callId;
    await caller.applyAnswer(content(await f.waitEvent(f.byEdge('m.call.answer', callId))));
    await pollUntil(() => bridged(callId), 'bridged');
    const trunk = trunkLegOf(callId)!.uuid;
    const offers: string[] = [];
    const receive = async () => {
      const offer = await f.waitEvent((e) => f.byEdge('m.call.negotiate', callId)(e) && !offers.includes(e['event_id'] as string));
      offers.push(offer['event_id'] as string);
      const description = content(offer)['description'] as { type: 'offer'; sdp: string };
      expect(description.type).toBe('offer');
      await caller.pc.setRemoteDescription(description);
      const answer = await caller.pc.createAnswer();
      await caller.pc.setLocalDescription(answer);
      caller.send('m.call.negotiate', { description: { type: 'answer', sdp: answer.sdp }, lifetime: 60_000 });
      return description.sdp;
    };
    expect(f.fs.model.farEndReinviteHold(trunk, true)).toBe(true);
    expect(await receive()).toMatch(/a=sendonly/);
    expect(f.fs.model.farEndReinviteHold(trunk, false)).toBe(true);
    expect(await receive()).toMatch(/a=sendrecv/);
    expect(f.events(f.byEdge('m.call.hangup', callId))).toEqual([]);
    expect(bridged(callId)).toBe(true);
    await hangUp(caller);
  });
});

export type { Json };
