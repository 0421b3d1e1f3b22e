// Replays of the real FreeSWITCH 1.11.1 call captures (traces/real/verto-03
// .. -08, -10 .. -21) against the Verto server over the channel model and the
// capture's dialplan. What the capture did outside the WebSocket (ESL
// originate / uuid_kill / uuid_send_dtmf, the SIPp caller) is done on the
// model at the matching STEP line. Timers are shortened.
import { afterEach, describe, expect, it } from 'vitest';
import { Replayer, type ReplayHooks } from './verto-replayer.ts';
import { loadReal, type Step } from './verto-trace.ts';
import { header, startModelSim, waitForEvent, type ModelSim, type ModelSimTimers } from './verto-model-sim.ts';
import type { InboundCallHandle } from '../support/freeswitch/channel-model.ts';

interface Case {
  readonly timers?: ModelSimTimers;
  readonly hooks?: (sim: ModelSim, r: Replayer, steps: readonly Step[]) => ReplayHooks;
}

/** Index of the first expected server request with this method. */
function expectIndex(steps: readonly Step[], method: string): number {
  return steps.findIndex((s) => s.kind === 'expect' && s.text.includes(`"method":"${method}"`));
}

function sipLeg(sim: ModelSim): string {
  const leg = sim.model.channels().find((c) => c.kind === 'sofia');
  if (leg === undefined) throw new Error('no SIP leg');
  return leg.uuid;
}

const esl = (sim: ModelSim, r: Replayer) => (text: string): void => {
  const originate = /"bgapi (originate [^"]+)"/.exec(text);
  if (originate?.[1] !== undefined) void sim.model.originate(originate[1].slice('originate '.length));
  const kill = /"api uuid_kill ([0-9a-f-]{36})"/.exec(text);
  if (kill?.[1] !== undefined) sim.model.kill(r.state.aliases.get(kill[1]) ?? kill[1], 'NORMAL_CLEARING');
};

const CASES: Readonly<Record<string, Case>> = {
  'verto-03-call-echo-9196-dtmf-bye.json': {},
  'verto-04-call-sip-trunk-dtmf-client-bye.json': {},
  'verto-05-call-sip-trunk-remote-bye.json': {},
  // extension 1557 sleeps 2 s between pre_answer and answer
  'verto-06-early-media-1557.json': { timers: { sleepScale: 0.05 } },
  'verto-07-ws-drop-reconnect-attach.json': {},
  'verto-08-ws-drop-detach-timeout.json': {
    timers: { detachTimeoutMs: 200 },
    hooks: (sim) => ({
      step: async (text) => {
        if (text.includes('wait up to 50 s for CHANNEL_HANGUP_COMPLETE')) {
          const e = await waitForEvent(sim.model, (ev) => header(ev, 'Event-Name') === 'CHANNEL_HANGUP_COMPLETE' && header(ev, 'Unique-ID') === '4779c991-5dda-4bcd-8feb-ee7f3901005a', 3000);
          expect(header(e, 'Hangup-Cause')).toBe('RECOVERY_ON_TIMER_EXPIRE');
        }
      },
    }),
  },
  'verto-10-inbound-call-answer-server-bye.json': { hooks: (sim, r) => ({ step: esl(sim, r) }) },
  'verto-11-inbound-call-rejected.json': { hooks: (sim, r) => ({ step: esl(sim, r) }) },
  'verto-12-modify-hold-unhold.json': {},
  'verto-13-sip-trunk-to-verto-user.json': {
    hooks: (sim, _r, steps) => {
      let caller: InboundCallHandle | undefined;
      const byeAt = expectIndex(steps, 'verto.bye');
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
  'verto-14-trunk-486-busy.json': {},
  'verto-15-trunk-180-then-480.json': {},
  'verto-16-trunk-404-not-found.json': {},
  'verto-17-trunk-503-service-unavailable.json': {},
  'verto-18-trunk-180-then-603-decline.json': {},
  'verto-19-trunk-rings-no-answer-timeout.json': { timers: { pingIntervalMs: 250, originateTimeoutMs: 400 } },
  'verto-20-client-bye-while-trunk-rings.json': {},
  'verto-21-bridged-uuid-send-dtmf-uuid-kill.json': {
    hooks: (sim) => ({
      step: (text) => {
        if (text.includes('"api uuid_send_dtmf <SIP-leg uuid> 123"')) expect(sim.model.sendDtmf(sipLeg(sim), '123')).toBe('ok');
        if (text.includes('"api uuid_send_dtmf <verto-leg uuid> 45"')) expect(sim.model.sendDtmf('e31391c4-6234-499b-a5c4-555b28fc601a', '45')).toBe('ok');
        if (text.includes('"api uuid_kill <SIP-leg uuid>"')) expect(sim.model.kill(sipLeg(sim), 'NORMAL_CLEARING')).toBe(true);
      },
    }),
  },
};

describe('real Verto call captures over the channel model', () => {
  let sim: ModelSim | undefined;
  let r: Replayer | undefined;

  afterEach(async () => {
    r?.closeAll();
    await sim?.stop();
    sim = undefined;
  });

  const replay = async (name: string): Promise<void> => {
    const c = CASES[name] ?? {};
    sim = await startModelSim(c.timers);
    r = new Replayer(sim.server.url, 4000);
    const steps = loadReal(name);
    await r.run(steps, c.hooks?.(sim, r, steps) ?? {});
    expect(r.unexpected()).toEqual([]);
  };

  it.each(Object.keys(CASES))('%s', replay);
});
