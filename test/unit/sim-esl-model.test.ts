// Channel model flows not covered by the captures' replay: inbound SIP ->
// Verto user, detach / re-attach, unknown gateway, timers cleared on stop.
import { afterEach, describe, expect, it } from 'vitest';
import { FreeSwitchModel } from '../support/freeswitch/channel-model.ts';
import type { DialplanEngine, VertoCallSink } from '../support/freeswitch/contract.ts';

type Call = readonly [string, ...unknown[]];

function sink(calls: Call[]): VertoCallSink {
  return {
    media: (id) => calls.push(['media', id]),
    answer: (id, sdp) => calls.push(['answer', id, sdp === undefined ? 'no-sdp' : 'sdp']),
    display: (id) => calls.push(['display', id]),
    bye: (id, cause, code) => calls.push(['bye', id, cause, code]),
    invite: (id) => calls.push(['invite', id]),
    attach: (id) => calls.push(['attach', id]),
  } as VertoCallSink;
}

function until(cond: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > 2000) reject(new Error(`timed out waiting for ${what}`));
      else setImmediate(tick);
    };
    tick();
  });
}

const dialplan: DialplanEngine = {
  route: (context, v) => (context === 'public'
    ? [{ app: 'bridge', data: 'user/1000@127.0.0.1' }]
    : [{ app: 'bridge', data: `sofia/gateway/${v.verto_dvar_gw ?? 'trunk'}/${v.destination_number ?? ''}` }]),
};

let model: FreeSwitchModel | undefined;
afterEach(() => {
  model?.stop();
  model = undefined;
});

const invite = (m: FreeSwitchModel, callId: string, gw = 'trunk'): void => {
  expect(m.invite({ callId, sessid: 's1', user: '1000@127.0.0.1', sdp: 'v=0\r\n', destinationNumber: '15551230002', dialogVariables: { gw }, socketVariables: {} }).ok).toBe(true);
};

describe('channel model', () => {
  it('rings a Verto user for a trunk call, bridges on verto.answer, ends both legs on the caller hangup', async () => {
    const m = (model = new FreeSwitchModel({ dialplan }));
    const calls: Call[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(calls));
    const inbound = m.placeInboundCall({ did: '5551212', callerNumber: '+4930123456', callerName: 'Bob' });
    await until(() => calls.some((c) => c[0] === 'invite'), 'verto.invite');
    const callId = String(calls.find((c) => c[0] === 'invite')?.[1]);
    expect(m.answer('s1', callId, 'v=0\r\n').ok).toBe(true);
    await until(() => m.channel(inbound.uuid)?.answered === true && m.channel(callId)?.bridgedTo === inbound.uuid, 'bridge');
    inbound.hangup();
    expect(await inbound.ended).toBe('NORMAL_CLEARING');
    await until(() => m.channels().length === 0, 'all channels gone');
    expect(calls.filter((c) => c[0] === 'bye')).toEqual([['bye', callId, 'NORMAL_CLEARING', 16]]);
  });

  it('hangs the verto leg up with INVALID_GATEWAY when the gateway does not exist', async () => {
    const m = (model = new FreeSwitchModel({ dialplan, gateways: { trunk: {} } }));
    const calls: Call[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(calls));
    invite(m, 'c1', 'nope');
    await until(() => calls.some((c) => c[0] === 'bye'), 'verto.bye');
    expect(calls).toEqual([['bye', 'c1', 'INVALID_GATEWAY', 808]]);
    await until(() => m.channels().length === 0, 'all channels gone');
  });

  it('keeps an answered call when the socket drops, re-attaches it, and ends it after the detach timeout', async () => {
    const m = (model = new FreeSwitchModel({ dialplan, detachTimeoutMs: 30 }));
    const calls: Call[] = [];
    m.attachSession('s1', '1000@127.0.0.1', sink(calls));
    invite(m, 'c1');
    await until(() => calls.some((c) => c[0] === 'answer'), 'verto.answer');
    expect(calls.slice(0, 2)).toEqual([['answer', 'c1', 'sdp'], ['display', 'c1']]);
    m.detachSession('s1');
    expect(m.channel('c1')?.hungUp).toBe(false);
    expect(m.attachSession('s1', '1000@127.0.0.1', sink(calls))).toEqual(['c1']);
    expect(calls.at(-1)).toEqual(['attach', 'c1']);
    m.detachSession('s1');
    await until(() => m.channels().length === 0, 'detach timeout');
    expect(m.channels()).toEqual([]);
  });

  it('drops an unanswered call when the socket drops; stop() leaves no channel and no timer', async () => {
    const m = (model = new FreeSwitchModel({ dialplan, farEnd: { default: { kind: 'no-answer' } } }));
    m.attachSession('s1', '1000@127.0.0.1', sink([]));
    invite(m, 'c1');
    await until(() => m.channels().length === 2, 'both legs');
    m.detachSession('s1');
    await until(() => m.channels().length === 0, 'hangup');
    invite(m, 'c2');
    m.stop();
    expect(m.channels()).toEqual([]);
  });
});
