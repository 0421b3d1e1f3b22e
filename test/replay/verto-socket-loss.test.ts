// What the simulated mod_verto does with a client's calls when its socket
// goes, per mod_verto.c (FreeSWITCH v1.11.1, the captures' build):
//  - verto__invite_func sets CF_NO_RECOVER when dialogParams.recoverCall is
//    JSON false (cJSON_GetObjectItem: the key matched case-insensitively);
//  - client_thread() -> detach_jsock() then detach_calls(): an unanswered leg
//    is hung up DESTINATION_OUT_OF_ORDER, an answered CF_NO_RECOVER one
//    NORMAL_CLEARING, any other answered one is detached (stays up) until a
//    login with the same sessid re-attaches it or drop_detached() ends it;
//    then the CUSTOM verto::client_disconnect;
//  - verto_on_hangup finds no socket for the sessid: no verto.bye, and no
//    variable_verto_hangup_disposition on the leg (real ctl-08, verto-08);
//  - a leg FreeSWITCH offered the client (verto_outgoing_channel) never has
//    CF_NO_RECOVER: answered, it is detached;
//  - attach_jsock() (a second socket with the same sessid) punts the first
//    and runs the same detach_calls on it: the new socket gets verto.attach
//    for the detached calls and verto.bye for the ones hung up.
// The real captures are replayed up to the moment the capture closed or
// dropped its socket, with the verto.invite's dialogParams varied; ESL is
// read on the wire (`event json ALL` on the simulator's event socket).
import { afterEach, describe, expect, it } from 'vitest';
import { Replayer } from './verto-replayer.ts';
import { loadReal, type Step } from './verto-trace.ts';
import { startModelSim, type ModelSim } from './verto-model-sim.ts';
import { RawEslClient } from '../support/freeswitch/esl-test-client.ts';
import { headerValue } from '../support/freeswitch/esl-wire.ts';
import type { OriginateResult } from '../support/freeswitch/channel-model.ts';

type Row = Readonly<Record<string, string>>;

/** An ESL client subscribed to every event, as the capture's monitoring socket was. */
async function eventSocket(port: number): Promise<{ client: RawEslClient; events: () => Row[]; waitFor: (pred: (e: Row) => boolean, what: string) => Promise<Row> }> {
  const client = await RawEslClient.connect(port);
  await client.waitForCount(1);
  client.write('auth ClueCon\n\n');
  await client.waitForCount(2);
  client.write('event json ALL\n\n');
  await client.waitForCount(3);
  const events = (): Row[] => client.messages
    .filter((m) => headerValue(m.headers, 'Content-Type') === 'text/event-json' && m.body !== undefined)
    .map((m) => JSON.parse(m.body ?? '{}') as Row);
  const waitFor = async (pred: (e: Row) => boolean, what: string): Promise<Row> => {
    await client.waitFor(() => events().some(pred), 3000, what);
    const hit = events().find(pred);
    if (hit === undefined) throw new Error(what);
    return hit;
  };
  return { client, events, waitFor };
}

const isEvent = (name: string, uuid?: string) => (e: Row): boolean => e['Event-Name'] === name && (uuid === undefined || e['Unique-ID'] === uuid);
const isDisconnect = (e: Row): boolean => e['Event-Name'] === 'CUSTOM' && e['Event-Subclass'] === 'verto::client_disconnect';

/** The capture's steps with the client's verto.invite dialogParams changed by `edit`. */
function editInvite(steps: readonly Step[], edit: (dialog: Record<string, unknown>) => void): Step[] {
  return steps.map((s) => {
    if (s.kind !== 'send' || !s.text.includes('"method":"verto.invite"')) return s;
    const msg = JSON.parse(s.text) as { params: { dialogParams: Record<string, unknown> } };
    edit(msg.params.dialogParams);
    return { ...s, text: JSON.stringify(msg) };
  });
}

/** The steps up to and including the first client close or drop of `socket`. */
function untilLoss(steps: readonly Step[], socket = 'ws'): Step[] {
  const at = steps.findIndex((s) => (s.kind === 'close' || s.kind === 'drop') && s.socket === socket);
  if (at < 0) throw new Error('no socket loss in the capture');
  return steps.slice(0, at + 1);
}

/** Variants of dialogParams.recoverCall and whether mod_verto then sets CF_NO_RECOVER. */
const RECOVER_VARIANTS: ReadonlyArray<readonly [string, (d: Record<string, unknown>) => void, boolean]> = [
  ['recoverCall false', (d) => { d['recoverCall'] = false; }, true],
  ['RecoverCall false (cJSON keys are case-insensitive)', (d) => { d['RecoverCall'] = false; }, true],
  ['no recoverCall', (d) => { delete d['recoverCall']; }, false],
  ['recoverCall true', (d) => { d['recoverCall'] = true; }, false],
  ['recoverCall "false" (a string, not cJSON_False)', (d) => { d['recoverCall'] = 'false'; }, false],
  ['recoverCall 0', (d) => { d['recoverCall'] = 0; }, false],
];

/** Answered client calls of two captures: verto-07 (echo 9196, close frame 1000), verto-08 (bridged to the trunk, TCP dropped). */
const ANSWERED = [
  { capture: 'verto-07-ws-drop-reconnect-attach.json', callId: '5a0cc53b-3cbd-4862-8145-a7e8195a4970', bridged: false },
  { capture: 'verto-08-ws-drop-detach-timeout.json', callId: '4779c991-5dda-4bcd-8feb-ee7f3901005a', bridged: true },
] as const;

let sim: ModelSim | undefined;
let replayer: Replayer | undefined;
let esl: RawEslClient | undefined;

afterEach(async () => {
  esl?.destroy();
  replayer?.closeAll();
  await sim?.stop();
  sim = undefined;
  replayer = undefined;
  esl = undefined;
});

async function start(): Promise<{ s: ModelSim; r: Replayer; ev: Awaited<ReturnType<typeof eventSocket>> }> {
  const s = (sim = await startModelSim());
  const ev = await eventSocket(s.eslPort);
  esl = ev.client;
  const r = (replayer = new Replayer(s.server.url, 4000));
  return { s, r, ev };
}

describe('socket loss during an answered call the client placed', () => {
  for (const { capture, callId, bridged } of ANSWERED) {
    describe(capture, () => {
      it.each(RECOVER_VARIANTS.filter(([, , noRecover]) => noRecover))('%s: hung up NORMAL_CLEARING at once, no verto_hangup_disposition', async (_name, edit) => {
        const { s, r, ev } = await start();
        let flagged: boolean | undefined;
        await r.run(untilLoss(editInvite(loadReal(capture), edit)), {
          received: (_i, _socket, text) => {
            if (text.includes('"CALL CREATED"')) flagged = s.model.channel(callId)?.noRecover;
          },
        });
        expect(flagged).toBe(true);

        const hangup = await ev.waitFor(isEvent('CHANNEL_HANGUP', callId), 'CHANNEL_HANGUP of the Verto leg');
        const complete = await ev.waitFor(isEvent('CHANNEL_HANGUP_COMPLETE', callId), 'CHANNEL_HANGUP_COMPLETE of the Verto leg');
        await ev.waitFor(isEvent('CHANNEL_DESTROY', callId), 'CHANNEL_DESTROY of the Verto leg');
        expect([hangup['Hangup-Cause'], complete['Hangup-Cause'], complete['variable_hangup_cause'], complete['variable_hangup_cause_q850']])
          .toEqual(['NORMAL_CLEARING', 'NORMAL_CLEARING', 'NORMAL_CLEARING', '16']);
        // the leg's socket was gone before verto_on_hangup: no verto.bye could be sent, none recorded
        expect(complete['variable_verto_hangup_disposition']).toBeUndefined();
        expect(hangup['variable_verto_hangup_disposition']).toBeUndefined();
        // detach_calls hangs up, then client_thread fires client_disconnect
        const all = ev.events();
        const disconnectAt = all.findIndex(isDisconnect);
        expect(disconnectAt).toBeGreaterThan(all.findIndex(isEvent('CHANNEL_HANGUP', callId)));
        expect(all[disconnectAt]).toMatchObject({ verto_profile_name: 'default-v4', verto_login: '1000@127.0.0.1' });
        expect(all[disconnectAt]?.['verto_client_address']).toMatch(/^127\.0\.0\.1:\d+$/);

        if (bridged) {
          // unlike a far-end BYE (real verto-05: the SIP leg first, then the Verto leg with
          // last_bridge_hangup_cause NORMAL_CLEARING, last_bridge_proto_specific_hangup_cause sip:200,
          // verto_hangup_disposition send_bye), the Verto leg carries none of these (real ctl-08)
          expect([complete['variable_last_bridge_hangup_cause'], complete['variable_last_bridge_proto_specific_hangup_cause']]).toEqual([undefined, undefined]);
          // the trunk leg follows: NORMAL_CLEARING (BYE), told why (switch_ivr_bridge.c audio_bridge_on_exchange_media)
          const sipLeg = complete['variable_bridge_uuid'] ?? '';
          const sip = await ev.waitFor(isEvent('CHANNEL_HANGUP_COMPLETE', sipLeg), 'CHANNEL_HANGUP_COMPLETE of the SIP leg');
          expect([sip['Channel-Name']?.startsWith('sofia/'), sip['Hangup-Cause'], sip['variable_last_bridge_hangup_cause'], sip['variable_sip_hangup_disposition']])
            .toEqual([true, 'NORMAL_CLEARING', 'NORMAL_CLEARING', 'send_bye']);
          // the Verto leg is hung up first (the far end ending the call shows the SIP leg first, real verto-05)
          expect(all.findIndex(isEvent('CHANNEL_HANGUP', callId))).toBeLessThan(all.findIndex(isEvent('CHANNEL_HANGUP', sipLeg)));
        }
        await ev.client.waitFor(() => s.model.channels().length === 0, 3000, 'no channel left');
      });

      it.each(RECOVER_VARIANTS.filter(([, , noRecover]) => !noRecover))('%s: detached, kept up, only verto::client_disconnect', async (_name, edit) => {
        const { s, r, ev } = await start();
        await r.run(untilLoss(editInvite(loadReal(capture), edit)));
        expect(s.model.channel(callId)?.noRecover).toBe(false);
        await ev.waitFor(isDisconnect, 'verto::client_disconnect');
        const ch = s.model.channel(callId);
        expect({ up: ch !== undefined && !ch.hungUp, detached: ch?.detached }).toEqual({ up: true, detached: true });
        expect(s.model.channels().filter((c) => !c.hungUp)).toHaveLength(bridged ? 2 : 1);
        expect(ev.events().filter((e) => /HANGUP|DESTROY|UNBRIDGE/.test(e['Event-Name'] ?? ''))).toEqual([]);
      });
    });
  }
});

describe('socket loss before the answer', () => {
  // verto-20: the trunk rings (15661230020 never answers); the capture's client sent verto.bye, here the socket drops instead
  it.each(RECOVER_VARIANTS.slice(0, 3))('%s: the ringing leg is hung up DESTINATION_OUT_OF_ORDER, the trunk leg cancelled', async (_name, edit) => {
    const { s, r, ev } = await start();
    const callId = '1729f516-de1f-4a4e-aeac-b5aad2d10f70';
    const steps = editInvite(loadReal('verto-20-client-bye-while-trunk-rings.json'), edit);
    const byeAt = steps.findIndex((st) => st.kind === 'send' && st.text.includes('"method":"verto.bye"'));
    await r.run(steps.slice(0, byeAt));
    // the capture waited 3 s here: the trunk leg rings
    const sipLeg = await ev.waitFor((e) => e['Event-Name'] === 'CHANNEL_PROGRESS' && (e['Channel-Name'] ?? '').startsWith('sofia/'), 'the trunk leg ringing');
    (await r.client('ws')).drop();
    const complete = await ev.waitFor(isEvent('CHANNEL_HANGUP_COMPLETE', callId), 'CHANNEL_HANGUP_COMPLETE of the Verto leg');
    expect([complete['Hangup-Cause'], complete['variable_hangup_cause_q850'], complete['variable_verto_hangup_disposition']]).toEqual(['DESTINATION_OUT_OF_ORDER', '27', undefined]);
    const sip = await ev.waitFor(isEvent('CHANNEL_HANGUP_COMPLETE', sipLeg['Unique-ID']), 'CHANNEL_HANGUP_COMPLETE of the trunk leg');
    expect(sip['Hangup-Cause']).toBe('ORIGINATOR_CANCEL');
    await ev.client.waitFor(() => s.model.channels().length === 0, 3000, 'no channel left');
  });
});

describe('socket loss during a call FreeSWITCH offered the client (verto_outgoing_channel)', () => {
  // verto-10: bgapi originate to verto.rtc/u:<sessid> &echo(); the client answers
  const callId = '5124e4db-ec83-4377-8974-253bbab56d31';
  const originate = (s: ModelSim, results: Array<Promise<OriginateResult>>) => (text: string): void => {
    const m = /"bgapi originate (.+)"$/.exec(text);
    if (m?.[1] !== undefined) results.push(s.model.originate(m[1]));
  };

  it('answered: detached (never CF_NO_RECOVER), kept up', async () => {
    const { s, r, ev } = await start();
    const results: Array<Promise<OriginateResult>> = [];
    const steps = loadReal('verto-10-inbound-call-answer-server-bye.json');
    const killAt = steps.findIndex((st) => st.kind === 'step' && st.text.includes('uuid_kill'));
    await r.run([...steps.slice(0, killAt), { kind: 'drop', socket: 'ws' }], { step: originate(s, results) });
    await ev.waitFor(isDisconnect, 'verto::client_disconnect');
    const leg = s.model.channels().find((c) => c.kind === 'verto');
    expect(leg?.uuid).toBe(r.state.aliases.get(callId));
    expect({ up: leg !== undefined && !leg.hungUp, answered: leg?.answered, detached: leg?.detached, noRecover: leg?.noRecover })
      .toEqual({ up: true, answered: true, detached: true, noRecover: false });
    expect(ev.events().filter((e) => /HANGUP/.test(e['Event-Name'] ?? ''))).toEqual([]);
    expect((await results[0])?.ok).toBe(true);
  });

  it('still ringing: hung up DESTINATION_OUT_OF_ORDER, the originate fails with it', async () => {
    const { s, r, ev } = await start();
    const results: Array<Promise<OriginateResult>> = [];
    const steps = loadReal('verto-10-inbound-call-answer-server-bye.json');
    const answerAt = steps.findIndex((st) => st.kind === 'send' && st.text.includes('"method":"verto.answer"'));
    await r.run([...steps.slice(0, answerAt), { kind: 'drop', socket: 'ws' }], { step: originate(s, results) });
    const leg = r.state.aliases.get(callId) ?? '';
    const complete = await ev.waitFor(isEvent('CHANNEL_HANGUP_COMPLETE', leg), 'CHANNEL_HANGUP_COMPLETE of the Verto leg');
    expect([complete['Hangup-Cause'], complete['variable_verto_hangup_disposition']]).toEqual(['DESTINATION_OUT_OF_ORDER', undefined]);
    expect(await results[0]).toEqual({ ok: false, cause: 'DESTINATION_OUT_OF_ORDER' });
    await ev.client.waitFor(() => s.model.channels().length === 0, 3000, 'no channel left');
  });
});

describe('a second socket logs in with the sessid of an open one (verto-09) while it has calls', () => {
  it('punts the first; the new socket gets verto.attach for the recoverable call and verto.bye for the recoverCall-false one', async () => {
    const { s, r, ev } = await start();
    // verto-07's login and echo call (9196), twice: one call recoverable, one with recoverCall false
    const steps = loadReal('verto-07-ws-drop-reconnect-attach.json');
    const login = steps.find((st) => st.kind === 'send' && st.socket === 'ws' && st.text.includes('"method":"login"'));
    const invite = steps.find((st) => st.kind === 'send' && st.text.includes('"method":"verto.invite"'));
    if (login?.kind !== 'send' || invite?.kind !== 'send') throw new Error('verto-07 has no login or invite');
    const kept = '5a0cc53b-3cbd-4862-8145-a7e8195a4970';
    const ended = '5a0cc53b-3cbd-4862-8145-a7e8195a4971';
    const inviteFor = (callID: string, recoverCall: boolean | undefined, id: number): string => {
      const msg = JSON.parse(invite.text) as { id: number; params: { dialogParams: Record<string, unknown> } };
      msg.id = id;
      msg.params.dialogParams['callID'] = callID;
      if (recoverCall !== undefined) msg.params.dialogParams['recoverCall'] = recoverCall;
      return JSON.stringify(msg);
    };
    const ws1 = await r.client('ws1');
    ws1.send(login.text);
    expect(await ws1.next(2000)).toContain('"logged in"');
    expect(await ws1.next(2000)).toContain('"verto.clientReady"');
    ws1.send(inviteFor(kept, undefined, 2));
    ws1.send(inviteFor(ended, false, 3));
    const first: string[] = [];
    while (first.filter((t) => t.includes('"method":"verto.answer"')).length < 2) first.push(await ws1.next(2000));
    expect(s.model.channel(kept)?.answered && s.model.channel(ended)?.answered).toBe(true);

    const ws2 = await r.client('ws2');
    ws2.send(login.text);
    expect(await ws1.next(2000)).toMatch(/^\{"jsonrpc":"2.0","id":\d+,"method":"verto.punt","params":\{\}\}$/);
    expect(await ws1.closed(2000)).toBe(1000);
    expect(await ws2.next(2000)).toContain('"logged in"');
    // attach_calls' verto.attach and verto.clientReady, and verto_on_hangup's verto.bye (their order is FreeSWITCH's threads')
    const got = [await ws2.next(2000), await ws2.next(2000), await ws2.next(2000)];
    const method = (t: string): string => String((JSON.parse(t) as { method?: unknown }).method);
    expect(got.map(method).sort()).toEqual(['verto.attach', 'verto.bye', 'verto.clientReady']);
    const params = (m: string): Record<string, unknown> => (JSON.parse(got.find((t) => method(t) === m) ?? '{}') as { params: Record<string, unknown> }).params;
    expect(params('verto.attach')['callID']).toBe(kept);
    expect(params('verto.clientReady')).toEqual({ reattached_sessions: [kept] });
    expect(params('verto.bye')).toEqual({ callID: ended, causeCode: 16, cause: 'NORMAL_CLEARING' });
    expect(got.indexOf(got.find((t) => method(t) === 'verto.attach') ?? '')).toBeLessThan(got.indexOf(got.find((t) => method(t) === 'verto.clientReady') ?? ''));

    // the sessid belonged to the new socket when the ended leg reached verto_on_hangup: send_bye
    const complete = await ev.waitFor(isEvent('CHANNEL_HANGUP_COMPLETE', ended), 'CHANNEL_HANGUP_COMPLETE of the recoverCall-false leg');
    expect([complete['Hangup-Cause'], complete['variable_verto_hangup_disposition']]).toEqual(['NORMAL_CLEARING', 'send_bye']);
    const ch = s.model.channel(kept);
    expect({ up: ch !== undefined && !ch.hungUp, detached: ch?.detached }).toEqual({ up: true, detached: false });
    expect(ev.events().filter(isDisconnect)).toHaveLength(1);
  });
});
