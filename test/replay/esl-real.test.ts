// Replays every real ESL capture (shared/traces/real/esl-*.json) against the
// simulator: same messages, same order, same header names and texts.
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { listTraces, loadFrameCapture } from '../support/traces.ts';
import { startFreeSwitchSimulator, type FreeSwitchSimulator } from '../support/freeswitch/index.ts';
import { replay, stepsFromFrames } from '../support/freeswitch/esl-replay.ts';

let sim: FreeSwitchSimulator | undefined;
afterEach(async () => {
  if (sim !== undefined) {
    expect(sim.model.channels()).toEqual([]);
    await sim.stop();
  }
  sim = undefined;
});

describe('real ESL captures replay against the simulator', () => {
  const files = listTraces('real', /^esl-.*\.json$/);
  it('finds the captures', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });
  for (const file of files) {
    it(path.basename(file), async () => {
      // esl-04: gateway sipp is `sipp -sn uas` (180, 200 PCMU, never hangs up)
      sim = await startFreeSwitchSimulator({ gateways: { sipp: { profile: 'external', host: '127.0.0.1:5090' } }, farEnd: { byGateway: { sipp: { kind: 'answer', ringMs: 0 } } } });
      const capture = loadFrameCapture(file);
      const diffs = await replay(sim, stepsFromFrames(capture.frames));
      expect(diffs).toEqual([]);
    });
  }
});
