// Replays traces/real/synapse-04: error answers, login variants, empty long-poll, txn ids, logout.
import { afterEach, expect, it } from 'vitest';
import { startHomeserverSimulator, type HomeserverSimulator } from '../support/homeserver/index.ts';
import { captureRegistration, loadTrace } from '../support/homeserver/replay-traces.ts';
import { Replayer, type CapturedCall } from '../support/homeserver/replay-steps.ts';

type LabelledCall = CapturedCall & { label: string };
const trace = loadTrace<{ calls: LabelledCall[] }>('real/synapse-04-client-errors-and-empty-sync.json');
let hs: HomeserverSimulator | undefined;

function onlyRoom(call: LabelledCall, roomId: string): LabelledCall {
  const body = structuredClone(call.response_body) as { rooms: { join: Record<string, unknown> } };
  body.rooms.join = { [roomId]: body.rooms.join[roomId] };
  return { ...call, response_body: body };
}
afterEach(async () => hs?.stop());

it('answers every call of synapse-04 like Synapse 1.67', async () => {
  hs = await startHomeserverSimulator({
    users: [{ localpart: 'edge', password: 'edge-pass-1234' }, { localpart: 'alice', password: 'alice-pass-1234' }],
    appservices: [captureRegistration('http://127.0.0.1:9', 'as-token-04', 'hs-token-04')],
    rateLimits: false, // "Rate limits were raised in this server's config"
  });
  // The captured account already had a room with a message in it.
  const room = hs.createRoom('@edge:localhost', { preset: 'private_chat' });
  hs.sendEvent('@edge:localhost', room, 'm.room.message', { msgtype: 'm.text', body: 'hi' });
  const r = new Replayer(hs.url);
  const diffs: string[] = [];
  // Of the three rooms the captured account had, the simulator has the one made like ours.
  r.ids.set('!FKnlqJiiKtAHGvEFee:localhost', room);
  for (const captured of trace.calls) {
    const call = captured.label.startsWith('sync initial') ? onlyRoom(captured, '!FKnlqJiiKtAHGvEFee:localhost') : captured;
    // The empty long-poll waited 3 s in the capture; 300 ms shows the same behaviour.
    const override = call.label.startsWith('sync long-poll') ? { timeout: '300' } : undefined;
    const started = Date.now();
    const answer = await r.send(call, override);
    if (override !== undefined) expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const initialSync = call.label.startsWith('sync initial');
    diffs.push(...r.diff(call, answer, initialSync ? { arrays: 'loose', ignoreKeys: new Set(['account_data', 'presence']) } : {}));
  }
  expect(diffs).toEqual([]);
});
