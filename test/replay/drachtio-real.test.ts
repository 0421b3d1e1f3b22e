import { afterEach, describe, expect, it } from 'vitest';
import { listTraces } from '../support/traces.ts';
import { DrachtioSimulator } from '../support/drachtio/server.ts';
import { loadCapture } from '../support/drachtio/replay-capture.ts';
import { replayCapture } from '../support/drachtio/replay-driver.ts';

// Every real drachtio capture (drachtio-server 0.9.10 + drachtio-srf 5.0.29,
// ../shared/traces/real/drachtio-*.json): the app's bytes, chunked as
// captured, and the trunk's and FreeSWITCH's SIP go to the simulator; what
// it answers on the admin wire and sends on the SIP side must match the
// capture (ids, tags, branches, times may differ, consistently).

const captures = listTraces('real', /^drachtio-.*\.json$/);

let sim: DrachtioSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('drachtio-server simulator replays the real captures', () => {
  it('finds all fifteen captures', () => {
    expect(captures.map((p) => p.split('/').pop()?.slice(0, 11))).toEqual(
      Array.from({ length: 15 }, (_, i) => `drachtio-${String(i + 1).padStart(2, '0')}`),
    );
  });

  for (const path of captures) {
    const name = path.split('/').pop() ?? path;
    it(name, async () => {
      const capture = loadCapture(path);
      sim = new DrachtioSimulator({ secret: 'throwaway-test-secret', sip: { host: '127.0.0.1', port: 5070 } });
      await sim.listen();
      const r = await replayCapture(sim, capture);
      const serverFrames = capture.frames.filter((f) => f.dir === 'server->srf').length;
      const sipOut = capture.sip_side_from_drachtio_server_debug_log.filter((e) => e.dir === 'drachtio->network').length;
      expect(r.framesCompared).toBe(serverFrames);
      expect(r.sipCompared).toBe(sipOut);
    });
  }
});
