// The demonstration: the built edge between the bundled simulators, one
// outbound call end to end, and what each side saw. Run: npm run demo
import { EdgeProcess, runCli, writeConfig } from '../test/support/edge-process.ts';
import { edgeConfig, startFreeSwitch, startMatrix } from '../test/support/sim-stack.ts';
import { WeriftCallee, WeriftCaller } from '../test/support/matrix-caller.ts';
import { freePort, httpGet } from '../test/support/net.ts';
import { pollUntil, waitUntil } from '../test/support/wait.ts';
import { WireTap } from '../test/support/wire-tap.ts';

type Json = Record<string, unknown>;
const say = (side: string, text: string) => process.stdout.write(`${side.padEnd(10)} ${text}\n`);
const content = (e: Json) => e['content'] as Json;

const fs = await startFreeSwitch({ farEnd: { default: { kind: 'answer', ringMs: 300 } }, dialplanOverrides: { mse_inbound_enabled: 'true' } });
const mx = await startMatrix();
const tap = await WireTap.start({ host: '127.0.0.1', port: fs.eslPort });
const httpPort = await freePort();
const config = edgeConfig(fs, mx, { httpPort }) as Record<string, Json>;
config['esl'] = { ...config['esl'], port: tap.port };
config['log'] = { level: 'info' };
// Calls to +49 30 1234561 ring Alice in her DM with the edge; her caller's touch tones are shown.
config['inbound'] = { routes: [{ did: '+49301234561', user: mx.aliceId, dtmf_notices: true }], ring_timeout_s: 30, dtmf_batch_ms: 500 };
const configPath = writeConfig(config);
say('demo', `FreeSWITCH simulator: ESL 127.0.0.1:${fs.eslPort}, Verto ws://127.0.0.1:${fs.vertoPort}; homeserver ${mx.hs.url}`);

const check = await runCli(['check', '--config', configPath], 'demo-check');
for (const line of check.stdout.trim().split('\n')) say('check', line);

const edge = new EdgeProcess(configPath, 'demo');
let exitCode = 1;
try {
  await pollUntil(async () => (await httpGet(`http://127.0.0.1:${httpPort}/readyz`)).status === 200, 'edge ready', 15_000);
  say('edge', `connected to ESL, Verto and the homeserver (/readyz ${(await httpGet(`http://127.0.0.1:${httpPort}/readyz`)).text})`);

  const roomId = mx.hs.createRoom(mx.aliceId, { is_direct: true, invite: [mx.edgeUserId], preset: 'trusted_private_chat' } as never);
  await mx.hs.waitForEvent((e) => e['room_id'] === roomId && e['type'] === 'm.room.member' && e['state_key'] === mx.edgeUserId && content(e)['membership'] === 'join', 10_000);
  say('matrix', `${mx.aliceId} opened a DM; the edge joined ${roomId}`);

  const notices = () => mx.hs.events({ roomId, sender: mx.edgeUserId, type: 'm.room.message' }).map((e) => content(e)['body'] as string);
  const send = async (body: string) => {
    const n = notices().length;
    mx.hs.sendEvent(mx.aliceId, roomId, 'm.room.message', { msgtype: 'm.text', body });
    say('matrix', `alice: ${body}`);
    await mx.hs.waitForEvent(() => notices().length > n, 8_000);
    say('matrix', `edge:  ${notices()[n]}`);
  };
  await send('!dial 030 1234567');

  const caller = new WeriftCaller({ hs: mx.hs, userId: mx.aliceId, roomId, callId: `demo${Date.now()}` });
  const vertoBefore = fs.vertoRecord.length;
  await caller.invite();
  say('matrix', `alice: m.call.invite (werift offer), then ${caller.trickled.length} trickled candidate(s) and end-of-candidates`);
  await pollUntil(() => fs.vertoRecord.slice(vertoBefore).some((r) => r.method === 'invite'), 'verto.invite', 8_000);
  const invite = fs.vertoRecord.slice(vertoBefore).find((r) => r.method === 'invite')!.invite!;
  const inSdp = invite.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).length;
  say('verto', `verto.invite callID ${invite.callId}: ${inSdp} candidate(s) coalesced into the offer, end-of-candidates ${invite.sdp.includes('a=end-of-candidates') ? 'set' : 'missing'}`);
  say('verto', `  userVariables ${JSON.stringify(invite.dialogVariables)}`);

  const answer = await mx.hs.waitForEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.answer', 10_000);
  await caller.applyAnswer(content(answer));
  say('matrix', `edge:  m.call.answer (FreeSWITCH's SDP with mid, BUNDLE and msid; werift accepted it)`);
  const sipLeg = fs.model.channels().find((c) => c.name.startsWith('sofia/'));
  say('freeswitch', `channels: ${fs.model.channels().map((c) => c.name).join(', ')}`);

  const eslMark = tap.text().length;
  await send('!dtmf *5');
  await waitUntil(tap, () => tap.text().slice(eslMark).includes('uuid_send_dtmf'), 'uuid_send_dtmf', 5_000);
  say('esl', `edge wrote: ${JSON.stringify(tap.text().slice(eslMark))}`);

  fs.model.kill(sipLeg!.uuid, 'NORMAL_CLEARING');
  say('freeswitch', 'the far end hangs up (BYE)');
  const hangup = await mx.hs.waitForEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.hangup', 10_000);
  say('matrix', `edge:  m.call.hangup reason ${String(content(hangup)['reason'])}`);
  await pollUntil(() => fs.model.channels().length === 0, 'channels gone', 5_000);
  say('freeswitch', 'no channel left');
  await caller.close();

  say('demo', '--- inbound: the trunk calls +49 30 1234561 ---');
  const trunk = fs.model.placeInboundCall({ did: '49301234561', callerNumber: '+4917012345678', callerName: 'Erika Mustermann', context: 'matrix-sip-edge-public' });
  say('freeswitch', 'INVITE from the trunk; the public context bridges it to the edge\'s Verto user');
  const ring = await mx.hs.waitForEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.invite' && e['sender'] === mx.edgeUserId, 10_000);
  say('matrix', `edge:  m.call.invite to ${String(content(ring)['invitee'])}, lifetime ${String(content(ring)['lifetime'])} ms`);
  await pollUntil(() => notices().some((n) => n.startsWith('Incoming call')), 'caller notice', 5_000);
  say('matrix', `edge:  ${notices().find((n) => n.startsWith('Incoming call')) ?? ''}`);
  const device = new WeriftCallee(mx.hs, mx.aliceId, roomId, 'ALICEPHONE');
  const answerMark = fs.vertoRecord.length;
  await device.answer(ring);
  say('matrix', `alice: m.call.answer from her werift device, ${device.trickled.length} trickled candidate(s), end-of-candidates`);
  await pollUntil(() => fs.vertoRecord.slice(answerMark).some((r) => r.method === 'answer'), 'verto.answer', 5_000);
  say('verto', 'verto.answer (the device\'s SDP with its candidates coalesced)');
  const select = await mx.hs.waitForEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.select_answer', 5_000);
  say('matrix', `edge:  m.call.select_answer ${String(content(select)['selected_party_id'])}`);
  await pollUntil(() => fs.model.channel(trunk.uuid)?.answered === true, 'trunk answered', 5_000);
  say('freeswitch', 'the trunk leg is answered and bridged');
  trunk.sendDtmf('42#');
  await pollUntil(() => notices().some((n) => n.startsWith('The caller pressed')), 'DTMF notice', 5_000);
  say('matrix', `edge:  ${notices().find((n) => n.startsWith('The caller pressed')) ?? ''}`);
  trunk.hangup();
  const inHangup = await mx.hs.waitForEvent((e) => e['room_id'] === roomId && e['type'] === 'm.call.hangup' && content(e)['call_id'] === content(ring)['call_id'], 5_000);
  say('matrix', `edge:  m.call.hangup reason ${String(content(inHangup)['reason'])} (the caller hung up)`);
  await device.close();
  await pollUntil(() => fs.model.channels().length === 0, 'channels gone', 5_000);
  say('freeswitch', 'no channel left');
  exitCode = 0;
} catch (err) {
  say('demo', `FAILED: ${(err as Error).message}`);
} finally {
  const code = await edge.stop();
  say('edge', `stopped with SIGTERM, exit code ${String(code)}`);
  await tap.close();
  await fs.stop();
  await mx.hs.stop();
}
process.exit(exitCode);
