// Replays of the real FreeSWITCH 1.11.1 captures at session level
// (traces/real/verto-01, -02, -09): two-step login, echo refused for a
// vanilla user, PONG, keep-alive ping (30 s there, shortened here), auth
// errors, punt of the old socket on the same sessid. Each runs over the
// fake backend and over the channel model (the simulator the scenarios use).
import { afterEach, describe, expect, it } from 'vitest';
import { Replayer } from './verto-replayer.ts';
import { loadReal } from './verto-trace.ts';
import { startFakeSim } from './verto-fake-sim.ts';
import { isClientDisconnect, recordEvents, startModelSim } from './verto-model-sim.ts';

const CAPTURES = [
  'verto-01-login-ok-echo-ping.json',
  'verto-02-login-bad-and-unauthenticated.json',
  'verto-09-same-sessid-two-sockets.json',
];

interface Sim {
  readonly url: string;
  stop(): Promise<void>;
}

const BACKENDS: Readonly<Record<string, () => Promise<Sim>>> = {
  'fake backend': async () => {
    const s = await startFakeSim({ pingIntervalMs: 200 });
    return { url: s.server.url, stop: () => s.server.close() };
  },
  'channel model': async () => {
    const s = await startModelSim({ pingIntervalMs: 200 });
    return { url: s.server.url, stop: () => s.stop() };
  },
};

describe.each(Object.keys(BACKENDS))('real Verto captures, session level, over the %s', (backend) => {
  let sim: Sim | undefined;
  let r: Replayer | undefined;

  afterEach(async () => {
    r?.closeAll();
    await sim?.stop();
    sim = undefined;
    r = undefined;
  });

  it.each(CAPTURES)('%s', async (name) => {
    sim = await BACKENDS[backend]!();
    r = new Replayer(sim.url);
    await r.run(loadReal(name));
    expect(r.unexpected()).toEqual([]);
  });
});

describe('verto-09 over the channel model', () => {
  it('punts the older socket: its session is handed to the new one, one verto::client_disconnect', async () => {
    const sim = await startModelSim();
    const events = recordEvents(sim.model);
    const r = new Replayer(sim.server.url);
    try {
      const steps = loadReal('verto-09-same-sessid-two-sockets.json');
      // up to the client's own close of the second socket at the end
      const lastClose = steps.findLastIndex((s) => s.kind === 'close');
      expect(steps[lastClose]).toEqual({ kind: 'close', socket: 'ws2' });
      await r.run(steps.slice(0, lastClose));
      expect(r.unexpected()).toEqual([]);
      const sessid = '82e9e8e7-67d4-4de4-8be7-9b6eacac2eeb';
      // the punted socket's client_thread ends: client_disconnect for its login
      const e = await events.waitFor(isClientDisconnect, 2000, 'verto::client_disconnect');
      expect(e.headers.find(([k]) => k === 'verto_login')?.[1]).toBe('1000@127.0.0.1');
      expect(sim.server.liveSessions()).toEqual([sessid]);
      expect(sim.model.sessions.get(sessid)?.sink).toBeDefined();
      expect(events.events.filter(isClientDisconnect)).toHaveLength(1);
    } finally {
      events.stop();
      r.closeAll();
      await sim.stop();
    }
  });
});
