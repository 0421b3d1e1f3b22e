// Replays every reconstructed ESL trace (shared/traces/esl/*.txt) against the
// simulator. Each trace assumes some state (authenticated socket, a live
// channel 0b5a7d1e-..., a subscription): the table below sets it up, the
// trace itself is then driven byte for byte and compared message by message.
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { listTraces, loadPrefixedTrace } from '../support/traces.ts';
import { startFreeSwitchSimulator, type FreeSwitchSimulator, type FreeSwitchSimulatorOptions } from '../support/freeswitch/index.ts';
import { replay, type ReplayStep } from '../support/freeswitch/esl-replay.ts';
import type { DialplanEngine, VertoCallSink } from '../support/freeswitch/contract.ts';
import type { FreeSwitchModel } from '../support/freeswitch/channel-model.ts';

const LIVE = '0b5a7d1e-3f2c-4e8a-9d61-7c4b2a1e9f03';
const B_LEG = '3c9e8f7a-1b2d-4f6e-8a0c-5d4e3f2a1b09';

/** Dialplan for the traces: 155... bridges to provider1 with the B-leg uuid the traces show; 1000 parks. */
const dialplan: DialplanEngine = {
  route: (_context, vars) => (vars.destination_number === 'park'
    ? [{ app: 'park', data: '' }]
    : [{ app: 'bridge', data: `{origination_uuid=${B_LEG}}sofia/gateway/provider1/${vars.destination_number ?? ''}` }]),
};

function recordingSink(): VertoCallSink & { readonly answered: Promise<void> } {
  let resolve: () => void = () => undefined;
  const answered = new Promise<void>((r) => {
    resolve = r;
  });
  return { answered, media: () => undefined, answer: () => resolve(), display: () => undefined, bye: () => undefined, invite: () => undefined, attach: () => undefined };
}

function vertoCall(model: FreeSwitchModel, callId: string, destination: string, sink: VertoCallSink): void {
  model.attachSession('sess-1', '1000@example.org', sink);
  const r = model.invite({
    callId, sessid: 'sess-1', user: '1000@example.org', sdp: 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 opus/48000/2\r\n',
    destinationNumber: destination, callerIdName: 'Alice', callerIdNumber: '1000', dialogVariables: {}, socketVariables: { user_context: 'default' },
  });
  expect(r.ok).toBe(true);
}

/** A live answered channel with uuid LIVE: originate to the answering trunk, parked. */
async function liveChannel(model: FreeSwitchModel): Promise<void> {
  const r = await model.originate(`{origination_uuid=${LIVE}}sofia/gateway/provider1/15550000000 &park()`);
  expect(r).toEqual({ ok: true, uuid: LIVE });
}

interface Setup {
  readonly options?: FreeSwitchSimulatorOptions;
  readonly preAuth?: boolean;
  readonly prelude?: readonly string[];
  readonly before?: (model: FreeSwitchModel) => Promise<void>;
  /** Hooks run before the n-th client chunk of the trace (after the earlier replies arrived). */
  readonly hooks?: Readonly<Record<number, (model: FreeSwitchModel) => Promise<void>>>;
  /**
   * Differences where the reconstructed trace disagrees with the real
   * FreeSWITCH 1.11.1 captures, which win (shared/traces/real/README.md).
   * Every other difference fails the test.
   */
  readonly realCaptureWins?: readonly string[];
  /** Runs after the prelude, for traces that show only server events. */
  readonly trigger?: (model: FreeSwitchModel) => Promise<void>;
}

const answering = { farEnd: { default: { kind: 'answer', ringMs: 0 } } } as const;

const SETUPS: Readonly<Record<string, Setup>> = {
  '01-auth-ok.txt': {},
  '02-auth-bad.txt': {},
  '03-acl-rejected.txt': { options: { esl: { allowFrom: ['192.0.2.99'] } } },
  '04-command-before-auth-and-exit.txt': {},
  '05-event-filter-commands.txt': { preAuth: true },
  '10-api-uuid-send-dtmf-ok.txt': { preAuth: true, options: answering, before: liveChannel },
  '11-api-no-such-channel.txt': { preAuth: true },
  '12-api-uuid-commands-ok.txt': { preAuth: true, options: answering, before: liveChannel },
  '13-api-reloadxml-status-unknown.txt': { preAuth: true },
  '20-event-plain-channel-create.txt': {
    preAuth: true, prelude: ['event plain CHANNEL_CREATE', `filter Unique-ID ${LIVE}`], options: { ...answering, dialplan },
    trigger: async (m) => vertoCall(m, LIVE, '15551234567', recordingSink()),
    // real verto-04 CHANNEL_CREATE of the verto leg carries Caller-Callee-ID-Name/Number ("Outbound Call", the destination)
    realCaptureWins: ['[] #0 CHANNEL_CREATE: header names differ; missing [] extra [Caller-Callee-ID-Name,Caller-Callee-ID-Number] first difference at #32 (sim Caller-Callee-ID-Name, trace Caller-Network-Addr)'],
  },
  '21-event-json-channel-hangup-complete.txt': {
    preAuth: true, prelude: ['event json CHANNEL_HANGUP_COMPLETE', `filter Unique-ID ${B_LEG}`],
    options: { farEnd: { default: { kind: 'reject', sipStatus: 486, ringMs: 0 } }, dialplan },
    trigger: async (m) => vertoCall(m, LIVE, '15551234567', recordingSink()),
    // real captures (esl-04, verto-14): HANGUP_COMPLETE has Hangup-Cause right after Event-Sequence; Other-Leg-* has no
    // Profile-Index; the verto leg's profile carries Callee-ID-Name/Number
    realCaptureWins: ['[] #0 CHANNEL_HANGUP_COMPLETE: header names differ; missing [Other-Leg-Profile-Index] extra [Other-Leg-Callee-ID-Name,Other-Leg-Callee-ID-Number] first difference at #13 (sim Hangup-Cause, trace Channel-State)'],
  },
  '22-event-json-dtmf.txt': {
    preAuth: true, prelude: ['event json DTMF'], options: { ...answering, dialplan },
    trigger: async (m) => {
      const sink = recordingSink();
      vertoCall(m, LIVE, '15551234567', sink);
      await sink.answered;
      expect(m.dtmf('sess-1', LIVE, '5').ok).toBe(true);
    },
    // real verto-04: the bridged verto leg's DTMF event shows CS_EXECUTE (4), Callee-ID-* present, no Other-Leg-Profile-Index
    realCaptureWins: [
      '[] #0 DTMF: header names differ; missing [Other-Leg-Profile-Index] extra [Caller-Callee-ID-Name,Caller-Callee-ID-Number] first difference at #38 (sim Caller-Callee-ID-Name, trace Caller-Network-Addr)',
      '[] #0 DTMF: Channel-State sim=CS_EXECUTE trace=CS_EXCHANGE_MEDIA',
      '[] #0 DTMF: Channel-State-Number sim=4 trace=5',
    ],
  },
  '30-bgapi-job.txt': {
    preAuth: true, prelude: ['event json BACKGROUND_JOB'],
    options: { farEnd: { byDestination: { '15550000000': { kind: 'answer' } }, default: { kind: 'reject', sipStatus: 486 } } },
    before: liveChannel,
  },
  '40-show-channels-json.txt': {
    preAuth: true, options: { ...answering, dialplan },
    hooks: {
      1: async (m) => {
        vertoCall(m, LIVE, 'park', recordingSink());
        await liveOutbound(m);
      },
    },
  },
  '50-sendmsg-execute.txt': { preAuth: true, options: answering, before: liveChannel },
  '60-newline-injection.txt': { preAuth: true, options: answering, before: liveChannel },
};

async function liveOutbound(m: FreeSwitchModel): Promise<void> {
  const r = await m.originate(`{origination_uuid=${B_LEG}}sofia/gateway/provider1/15551234567 &park()`);
  expect(r.ok).toBe(true);
}

/** Trace items -> replay steps on socket "" (hooks inserted before the n-th client chunk). */
function stepsOf(file: string, setup: Setup, model: FreeSwitchModel): ReplayStep[] {
  const steps: ReplayStep[] = [{ kind: 'connect', socket: '' }];
  let clientIndex = 0;
  for (const item of loadPrefixedTrace(file)) {
    if (item.kind === 'comment') {
      if (item.text.includes('<server closes the socket>')) steps.push({ kind: 'server-closes', socket: '' });
      continue;
    }
    if (item.dir === 'client') {
      const hook = setup.hooks?.[clientIndex];
      if (hook !== undefined) steps.push({ kind: 'hook', run: () => hook(model) });
      clientIndex++;
    }
    steps.push({ kind: item.dir, socket: '', text: item.text });
  }
  if (setup.trigger !== undefined) {
    const trigger = setup.trigger;
    steps.splice(1, 0, { kind: 'hook', run: () => trigger(model) });
  }
  return steps;
}

let sim: FreeSwitchSimulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('reconstructed ESL traces replay against the simulator', () => {
  const files = listTraces('esl', /\.txt$/);
  it('has a setup for every trace', () => {
    expect(files.map((f) => path.basename(f)).sort()).toEqual(Object.keys(SETUPS).sort());
  });
  for (const file of files) {
    const name = path.basename(file);
    it(name, async () => {
      const setup = SETUPS[name] ?? {};
      sim = await startFreeSwitchSimulator({ gateways: { provider1: { profile: 'external', host: 'sip.provider.example' } }, ...setup.options });
      await setup.before?.(sim.model);
      const diffs = await replay(sim, stepsOf(file, setup, sim.model), { preAuth: setup.preAuth === true, prelude: setup.prelude ?? [] });
      const allowed = setup.realCaptureWins ?? [];
      expect(diffs.filter((d) => !allowed.includes(d))).toEqual([]);
      // an allowed difference that no longer happens must be removed from the list
      expect(allowed.filter((d) => !diffs.includes(d))).toEqual([]);
    });
  }
});
