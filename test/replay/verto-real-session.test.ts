// Replays of the real FreeSWITCH 1.11.1 captures at session level
// (traces/real/verto-01, -02, -09): two-step login, echo refused for a
// vanilla user, PONG, keep-alive ping (30 s there, shortened here), auth
// errors, punt of the old socket on the same sessid.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Replayer } from './verto-replayer.ts';
import { loadReal } from './verto-trace.ts';
import { startFakeSim, type FakeSim } from './verto-fake-sim.ts';

describe('real Verto captures, session level', () => {
  let sim: FakeSim;
  let r: Replayer;

  beforeEach(async () => {
    sim = await startFakeSim({ pingIntervalMs: 200 });
    r = new Replayer(sim.server.url);
  });

  afterEach(async () => {
    r.closeAll();
    await sim.server.close();
  });

  it.each([
    'verto-01-login-ok-echo-ping.json',
    'verto-02-login-bad-and-unauthenticated.json',
    'verto-09-same-sessid-two-sockets.json',
  ])('%s', async (name) => {
    await r.run(loadReal(name));
    expect(r.unexpected()).toEqual([]);
  });
});
