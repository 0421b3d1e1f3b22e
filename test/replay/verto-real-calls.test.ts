// Replays of the real FreeSWITCH 1.11.1 call captures (traces/real/verto-03
// .. -08, -10 .. -21) against the Verto server over the channel model and the
// capture's dialplan. What the capture did outside the WebSocket (ESL
// originate / uuid_kill / uuid_send_dtmf, the SIPp caller) is done on the
// model at the matching STEP line. Timers are shortened.
import { afterEach, describe, expect, it } from 'vitest';
import { Replayer, type ReplayHooks } from './verto-replayer.ts';
import { loadReal, type Step } from './verto-trace.ts';
import { channelEvent, header, isClientDisconnect, recordEvents, startModelSim, type ModelSim, type ModelSimTimers } from './verto-model-sim.ts';
import type { InboundCallHandle } from '../support/freeswitch/channel-model.ts';

interface Case {
  readonly timers?: ModelSimTimers;
  /** Hooks for the replay; `after` runs once it is done (checks of what the replay saw). */
  readonly hooks?: (sim: ModelSim, r: Replayer, steps: readonly Step[]) => ReplayHooks & { readonly after?: () => void | Promise<void> };
}

/** The SDP of a Verto request frame. */
function sdpOf(text: string): string {
  const sdp = (JSON.parse(text) as { params?: { sdp?: unknown } }).params?.sdp;
  if (typeof sdp !== 'string') throw new Error(`no sdp in ${text.slice(0, 120)}`);
  return sdp;
}

const sdpLine = (sdp: string, re: RegExp): string | undefined => re.exec(sdp)?.[1];

/**
 * verto-07: the client closes the socket (close frame 1000) mid-call and logs
 * in again with the same sessid 8 s later. The call is detached (up, no
 * hangup event, only verto::client_disconnect), the new login gets
 * verto.attach with a fresh FreeSWITCH offer, then the client's verto.attach.
 */
const wsDropReconnectAttach = (sim: ModelSim): ReplayHooks & { after: () => void } => {
  const callId = '5a0cc53b-3cbd-4862-8145-a7e8195a4970';
  const events = recordEvents(sim.model);
  let answerSdp: string | undefined;
  let attachSdp: string | undefined;
  let detachSeen = false;
  return {
    received: (_i, _socket, text) => {
      if (text.includes('"method":"verto.answer"')) answerSdp = sdpOf(text);
      if (text.includes('"method":"verto.attach"')) {
        attachSdp = sdpOf(text);
        // tech_reattach cleared detach_time: no detach timeout any more
        expect(sim.model.channel(callId)?.detached).toBe(false);
      }
    },
    step: async (text) => {
      if (text.includes('"api show channels as json" 2 s after the drop')) {
        await events.waitFor(isClientDisconnect, 2000, 'verto::client_disconnect');
        const ch = sim.model.channel(callId);
        expect({ up: ch !== undefined && !ch.hungUp, detached: ch?.detached }).toEqual({ up: true, detached: true });
        expect(events.events.filter((e) => header(e, 'Unique-ID') === callId && /HANGUP/.test(header(e, 'Event-Name') ?? ''))).toEqual([]);
        detachSeen = true;
      }
    },
    after: () => {
      events.stop();
      expect(detachSeen).toBe(true);
      // a fresh offer from FreeSWITCH: offerer's setup, new ICE credentials and DTLS fingerprint, the call's codec
      const first = answerSdp ?? '';
      const again = attachSdp ?? '';
      expect(sdpLine(again, /^a=setup:(\S+)/m)).toBe('actpass');
      expect(sdpLine(again, /^m=audio \d+ (.+?)\r?$/m)).toBe('UDP/TLS/RTP/SAVPF 96');
      expect(sdpLine(again, /^a=rtpmap:96 (\S+)/m)?.toLowerCase()).toBe('opus/48000/2');
      for (const re of [/^a=ice-ufrag:(\S+)/m, /^a=ice-pwd:(\S+)/m, /^a=fingerprint:sha-256 (\S+)/m]) {
        expect(sdpLine(again, re)).toBeDefined();
        expect(sdpLine(again, re)).not.toBe(sdpLine(first, re));
      }
      expect(again).toContain('a=end-of-candidates');
    },
  };
};

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
  'verto-07-ws-drop-reconnect-attach.json': { hooks: wsDropReconnectAttach },
  // TCP dropped without a close frame, never reconnects: detached, then ended by drop_detached
  'verto-08-ws-drop-detach-timeout.json': {
    timers: { detachTimeoutMs: 200 },
    hooks: (sim) => {
      const vertoLeg = '4779c991-5dda-4bcd-8feb-ee7f3901005a';
      const events = recordEvents(sim.model);
      let checked = false;
      return {
        step: async (text) => {
          if (text.includes('wait up to 50 s for CHANNEL_HANGUP_COMPLETE')) {
            await events.waitFor(isClientDisconnect, 2000, 'verto::client_disconnect');
            // "show channels" right after the drop: both legs up, the Verto leg detached
            expect(sim.model.channel(vertoLeg)?.detached).toBe(true);
            expect(sim.model.channels().filter((c) => !c.hungUp)).toHaveLength(2);
            const e = await events.waitFor(channelEvent('CHANNEL_HANGUP_COMPLETE', vertoLeg), 3000, 'HANGUP_COMPLETE of the Verto leg');
            expect(header(e, 'Hangup-Cause')).toBe('RECOVERY_ON_TIMER_EXPIRE');
            expect(header(e, 'variable_hangup_cause_q850')).toBe('102');
            // no socket held the sessid: no verto.bye, no verto_hangup_disposition
            expect(header(e, 'variable_verto_hangup_disposition')).toBeUndefined();
            const sipLeg = header(e, 'variable_bridge_uuid') ?? '';
            const sip = await events.waitFor(channelEvent('CHANNEL_HANGUP_COMPLETE', sipLeg), 3000, 'HANGUP_COMPLETE of the SIP leg');
            expect([header(sip, 'Hangup-Cause'), header(sip, 'variable_last_bridge_hangup_cause'), header(sip, 'variable_sip_hangup_disposition')])
              .toEqual(['NORMAL_CLEARING', 'RECOVERY_ON_TIMER_EXPIRE', 'send_bye']);
            checked = true;
          }
        },
        after: () => {
          events.stop();
          expect(checked).toBe(true);
        },
      };
    },
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
    const hooks = c.hooks?.(sim, r, steps) ?? {};
    await r.run(steps, hooks);
    expect(r.unexpected()).toEqual([]);
    await hooks.after?.();
  };

  it.each(Object.keys(CASES))('%s', replay);
});
