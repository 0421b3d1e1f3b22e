// The ESL companions of the real Verto captures (traces/real/verto-NN-*.esl.json,
// `event json ALL` recorded on a separate ESL socket during the Verto call):
// the Verto call is replayed against the simulator (Verto and ESL servers on
// one channel model) while ESL clients do what the capture's did, at the same
// STEP notes; then what the simulator's ESL sockets received is compared with
// the capture (esl-companion-compare.ts says what is compared and what not).
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { listTraces, loadFrameCapture, traceDir } from '../support/traces.ts';
import { Replayer, type ReplayHooks } from './verto-replayer.ts';
import { loadReal, type Step } from './verto-trace.ts';
import { startModelSim, type ModelSim, type ModelSimTimers } from './verto-model-sim.ts';
import { loadCompanion } from './esl-companion-trace.ts';
import { CompanionDriver } from './esl-companion-driver.ts';
import { channelRoles, compareCompanion } from './esl-companion-compare.ts';
import type { InboundCallHandle } from '../support/freeswitch/channel-model.ts';

interface Case {
  readonly timers?: ModelSimTimers;
  /** What the capture did outside the WebSocket and ESL (the SIPp caller of verto-13). */
  readonly hooks?: (sim: ModelSim, steps: readonly Step[]) => ReplayHooks;
}

const CASES: Readonly<Record<string, Case>> = {
  // sleep 2000 of extension 1557
  'verto-06-early-media-1557.esl.json': { timers: { sleepScale: 0.05 } },
  // detach-timeout-sec 30; long enough for the `show channels` right after the drop
  'verto-08-ws-drop-detach-timeout.esl.json': { timers: { detachTimeoutMs: 300 } },
  'verto-13-sip-trunk-to-verto-user.esl.json': {
    hooks: (sim, steps) => {
      let caller: InboundCallHandle | undefined;
      const byeAt = steps.findIndex((s) => s.kind === 'expect' && s.text.includes('"method":"verto.bye"'));
      return {
        step: (text) => {
          if (text.startsWith('SIP trunk side: sipp -sn uac')) caller = sim.model.placeInboundCall({ did: '5551212', callerNumber: 'sipp', callerName: 'sipp' });
        },
        before: (i) => {
          if (i === byeAt) caller?.hangup();
        },
      };
    },
  },
  // 60 s originate timeout; the verto.ping (30 s) must still come first
  'verto-19-trunk-rings-no-answer-timeout.esl.json': { timers: { pingIntervalMs: 250, originateTimeoutMs: 400 } },
};

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

describe('ESL companions of the real Verto captures', () => {
  let sim: ModelSim | undefined;
  let r: Replayer | undefined;
  let driver: CompanionDriver | undefined;

  afterEach(async () => {
    driver?.destroy();
    r?.closeAll();
    await sim?.stop();
    sim = undefined;
    r = undefined;
    driver = undefined;
  });

  const files = listTraces('real', /^verto-\d+-.*\.esl\.json$/).map((f) => path.basename(f));

  it('finds the 18 companions (03..08, 10..21)', () => {
    expect(files).toHaveLength(18);
  });

  it.each(files)('%s', async (file) => {
    const c = CASES[file] ?? {};
    const s = await startModelSim(c.timers);
    sim = s;
    const replayer = new Replayer(s.server.url, 4000);
    r = replayer;
    const trace = loadCompanion(file);
    // capture uuids -> simulator uuids: server-made callIDs from the Verto replay, other channels by role
    const traceRoles = channelRoles(trace.server.get('esl') ?? []);
    const rewrite = (text: string): string => text.replace(UUID, (u) => {
      const alias = replayer.state.aliases.get(u);
      if (alias !== undefined) return alias;
      const role = traceRoles.get(u);
      const simUuid = [...channelRoles(d.messages('esl')).entries()].find(([, v]) => v === role)?.[0];
      return role === undefined || simUuid === undefined ? u : simUuid;
    });
    const d: CompanionDriver = new CompanionDriver(s.eslPort, trace, rewrite);
    driver = d;
    await d.prelude();
    const vertoFile = file.replace('.esl.json', '.json');
    const steps = loadReal(vertoFile);
    // capture time of each client frame, in order (the replay's `send` steps are these frames)
    const sendTimes = loadFrameCapture(path.join(traceDir('real'), vertoFile)).frames.filter((f) => f.dir === 'client->server').map((f) => f.t);
    const sendIndex = new Map(steps.flatMap((st, i) => (st.kind === 'send' ? [i] : [])).map((i, k) => [i, k] as const));
    const hooks = c.hooks?.(s, steps) ?? {};
    await replayer.run(steps, {
      step: async (text, rr) => {
        await hooks.step?.(text, rr);
        await d.step(text);
      },
      before: async (i, rr) => {
        await hooks.before?.(i, rr);
        const k = sendIndex.get(i);
        if (k !== undefined) await d.syncTo(sendTimes[k]);
      },
    });
    expect(replayer.unexpected()).toEqual([]);
    expect(d.unplayed()).toEqual([]);
    await d.finish();
    expect(s.model.channels()).toEqual([]);
    const diffs = [...trace.server.keys()].flatMap((socket) => compareCompanion(d.messages(socket), trace.server.get(socket) ?? [], socket));
    expect(diffs).toEqual([]);
  });
});
