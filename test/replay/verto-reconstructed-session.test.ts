// Replays of the reconstructed protocol-level traces (traces/verto/):
// login, auth errors, framing errors, punt, ping, echo, invite errors.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Replayer } from './verto-replayer.ts';
import { loadReconstructed } from './verto-trace.ts';
import { startFakeSim, type FakeSim } from './verto-fake-sim.ts';

const SESSID = '6f1c2a9e-3b4d-4c8e-9a7f-1e2d3c4b5a60';
const USER = '1008@fs.example.org';

describe('reconstructed Verto traces, session level', () => {
  let sim: FakeSim;
  let r: Replayer;

  beforeEach(async () => {
    sim = await startFakeSim({ pingIntervalMs: 150 });
    r = new Replayer(sim.server.url);
  });

  afterEach(async () => {
    r.closeAll();
    await sim.server.close();
  });

  it.each(['01-login-ok.json', '02-login-bad-password.json', '03-unauthenticated-method.json'])('%s', async (name) => {
    await r.run(loadReconstructed(name));
    expect(r.unexpected()).toEqual([]);
  });

  it.each(['04-framing-errors.json', '13-invite-errors.json', '62-echo.json'])('%s (after a login outside the trace)', async (name) => {
    await r.login('main', SESSID, USER, '1234');
    await r.run(loadReconstructed(name));
    expect(r.unexpected()).toEqual([]);
  });

  it('51-punt-same-session.json: old socket punted and closed, other user refused and closed', async () => {
    await r.login('old', SESSID, USER, '1234');
    await r.run(loadReconstructed('51-punt-same-session.json'));
    expect(await (await r.client('old')).closed(2000)).toBe(1000);
    expect(await (await r.client('third (user 1009)')).closed(2000)).toBe(1000);
    expect(sim.server.liveSessions()).toEqual([SESSID]);
    expect(r.unexpected()).toEqual([]);
  });

  it('60-ping.json: keep-alive after the idle period, client ping gets PONG', async () => {
    await r.login('main', SESSID, USER, '1234');
    await r.run(loadReconstructed('60-ping.json'));
    expect(r.unexpected()).toEqual([]);
  });
});
