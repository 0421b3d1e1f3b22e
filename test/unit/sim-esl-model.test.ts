// Channel model flows not covered by the captures' replay: inbound SIP ->
// Verto user, detach / re-attach, unknown gateway, timers cleared on stop.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FreeSwitchModel } from '../support/freeswitch/channel-model.ts';
import type { DialplanEngine, FsEvent, VertoCallSink } from '../support/freeswitch/contract.ts';
import { executeApi } from '../support/freeswitch/esl-api.ts';

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

const invite = (m: FreeSwitchModel, callId: string, gw = 'trunk', noRecover?: boolean): void => {
  expect(m.invite({ callId, sessid: 's1', user: '1000@127.0.0.1', sdp: 'v=0\r\n', destinationNumber: '15551230002', dialogVariables: { gw }, socketVariables: {}, ...(noRecover === undefined ? {} : { noRecover }) }).ok).toBe(true);
};

const hdr = (e: FsEvent, name: string): string | undefined => e.headers.find(([k]) => k === name)?.[1];

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

  it('hangs a recoverCall-false call up NORMAL_CLEARING when the socket drops: no verto.bye, no verto_hangup_disposition, the trunk leg follows', async () => {
    const m = (model = new FreeSwitchModel({ dialplan, detachTimeoutMs: 30_000 }));
    const calls: Call[] = [];
    const events: FsEvent[] = [];
    m.onEvent((e) => events.push(e));
    m.attachSession('s1', '1000@127.0.0.1', sink(calls));
    invite(m, 'c1', 'trunk', true);
    invite(m, 'c2', 'trunk', false);
    await until(() => calls.filter((c) => c[0] === 'answer').length === 2, 'both answered');
    const sipOf = (id: string): string => m.channel(id)?.bridgedTo ?? '';
    const [sip1, sip2] = [sipOf('c1'), sipOf('c2')];
    m.detachSession('s1', '127.0.0.1:40000');
    await until(() => m.channel('c1') === undefined && m.channel(sip1) === undefined, 'c1 and its trunk leg gone');
    const complete = (uuid: string): FsEvent | undefined => events.find((e) => hdr(e, 'Event-Name') === 'CHANNEL_HANGUP_COMPLETE' && hdr(e, 'Unique-ID') === uuid);
    expect([hdr(complete('c1')!, 'Hangup-Cause'), hdr(complete('c1')!, 'variable_verto_hangup_disposition')]).toEqual(['NORMAL_CLEARING', undefined]);
    expect([hdr(complete(sip1)!, 'Hangup-Cause'), hdr(complete(sip1)!, 'variable_last_bridge_hangup_cause')]).toEqual(['NORMAL_CLEARING', 'NORMAL_CLEARING']);
    expect(calls.filter((c) => c[0] === 'bye')).toEqual([]);
    // the recoverable call is detached, its trunk leg up
    expect([m.channel('c2')?.detached, m.channel('c2')?.hungUp, m.channel(sip2)?.hungUp]).toEqual([true, false, false]);
    const disconnect = events.find((e) => hdr(e, 'Event-Subclass') === 'verto::client_disconnect');
    expect(disconnect?.headers.slice(-3)).toEqual([['verto_profile_name', 'default-v4'], ['verto_client_address', '127.0.0.1:40000'], ['verto_login', '1000@127.0.0.1']]);
  });

  it('a detach timer ends only its own detach: re-attached and detached again, the call gets the full timeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const m = (model = new FreeSwitchModel({ dialplan, detachTimeoutMs: 1000 }));
      const calls: Call[] = [];
      const causes: string[] = [];
      m.onEvent((e) => {
        if (hdr(e, 'Event-Name') === 'CHANNEL_HANGUP' && hdr(e, 'Unique-ID') === 'c1') causes.push(hdr(e, 'Hangup-Cause') ?? '');
      });
      m.attachSession('s1', '1000@127.0.0.1', sink(calls));
      invite(m, 'c1');
      await vi.advanceTimersByTimeAsync(100);
      expect(calls.some((c) => c[0] === 'answer')).toBe(true);
      m.detachSession('s1');
      await vi.advanceTimersByTimeAsync(600);
      expect(m.attachSession('s1', '1000@127.0.0.1', sink(calls))).toEqual(['c1']);
      m.detachSession('s1');
      // past the first detach's deadline: still up
      await vi.advanceTimersByTimeAsync(600);
      expect([m.channel('c1')?.detached, m.channel('c1')?.hungUp]).toEqual([true, false]);
      // past the second one: RECOVERY_ON_TIMER_EXPIRE
      await vi.advanceTimersByTimeAsync(500);
      expect(m.channel('c1')).toBeUndefined();
      expect(causes).toEqual(['RECOVERY_ON_TIMER_EXPIRE']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a client verto.attach of an unanswered call and hangs it up DESTINATION_OUT_OF_ORDER (verto__attach_func)', async () => {
    const m = (model = new FreeSwitchModel({ dialplan, farEnd: { default: { kind: 'no-answer' } } }));
    m.attachSession('s1', '1000@127.0.0.1', sink([]));
    invite(m, 'c1');
    expect(m.reattach('another-sessid', 'nope', 'v=0\r\n')).toEqual({ ok: false, message: 'CALL DOES NOT EXIST' });
    expect(m.reattach('another-sessid', 'c1', 'v=0\r\n')).toEqual({ ok: false, message: 'Cannot attach to a call that has not been answered.' });
    expect(m.channel('c1')?.hangupCause).toBe('DESTINATION_OUT_OF_ORDER');
    await until(() => m.channels().length === 0, 'both legs gone');
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

describe('park_after_bridge on the caller of a bridge (an inbound trunk leg)', () => {
  const publicPlan: DialplanEngine = {
    route: () => [
      { app: 'set', data: 'hangup_after_bridge=true' },
      { app: 'bridge', data: 'user/1000@127.0.0.1' },
      { app: 'hangup', data: 'NORMAL_CLEARING' },
    ],
  };

  async function bridgedInbound(m: FreeSwitchModel, calls: Call[]): Promise<{ inbound: ReturnType<FreeSwitchModel['placeInboundCall']>; callId: string }> {
    m.attachSession('s1', '1000@127.0.0.1', sink(calls));
    const inbound = m.placeInboundCall({ did: '5551212', callerNumber: '+4930123456', callerName: 'Bob' });
    await until(() => calls.some((c) => c[0] === 'invite'), 'verto.invite');
    const callId = String(calls.find((c) => c[0] === 'invite')?.[1]);
    expect(m.answer('s1', callId, 'v=0\r\n').ok).toBe(true);
    await until(() => m.channel(callId)?.bridgedTo === inbound.uuid, 'bridge');
    return { inbound, callId };
  }

  it('set during the bridge (uuid_setvar_multi), it parks the caller when its answered partner goes, instead of hanging it up', async () => {
    const m = (model = new FreeSwitchModel({ dialplan: publicPlan }));
    const calls: Call[] = [];
    const events: FsEvent[] = [];
    m.onEvent((e) => events.push(e));
    const { inbound, callId } = await bridgedInbound(m, calls);
    expect(await executeApi(m, 'uuid_setvar_multi', `${inbound.uuid} mse_leg=trunk;park_after_bridge=true`)).toBe('+OK\n');
    expect(m.channel(inbound.uuid)?.getVar('mse_leg')).toBe('trunk');
    expect(await executeApi(m, 'uuid_setvar_multi', `00000000-0000-4000-8000-000000000000 a=b`)).toMatch(/^-ERR No such channel!/);
    expect(await executeApi(m, 'uuid_kill', callId)).toBe('+OK\n');
    await until(() => m.channel(callId) === undefined, 'the Verto leg gone');
    await until(() => events.some((e) => hdr(e, 'Event-Name') === 'CHANNEL_PARK' && hdr(e, 'Unique-ID') === inbound.uuid), 'the trunk leg parked');
    expect(m.channel(inbound.uuid)?.hungUp).toBe(false);
    // the dialplan's hangup after the bridge did not run
    expect(events.some((e) => hdr(e, 'Event-Name') === 'CHANNEL_EXECUTE' && hdr(e, 'Unique-ID') === inbound.uuid && hdr(e, 'Application') === 'hangup')).toBe(false);
    inbound.hangup();
    expect(await inbound.ended).toBe('NORMAL_CLEARING');
  });

  it('without it, hangup_after_bridge hangs the caller up with the partner\'s cause', async () => {
    const m = (model = new FreeSwitchModel({ dialplan: publicPlan }));
    const { inbound, callId } = await bridgedInbound(m, []);
    expect(await executeApi(m, 'uuid_kill', `${callId} NETWORK_OUT_OF_ORDER`)).toBe('+OK\n');
    expect(await inbound.ended).toBe('NETWORK_OUT_OF_ORDER');
  });
});
