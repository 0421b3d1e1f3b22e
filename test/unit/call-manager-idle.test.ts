// CallManager.callsEnded (the drain's wait): each waiter settles once and
// removes only itself, and stop() settles those still waiting, so a drain
// cut short (the second SIGTERM wins the race) leaves no timer armed.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfigText } from '../../src/config/load.ts';
import { createLogger } from '../../src/log/logger.ts';
import { CallManager } from '../../src/calls/call-manager.ts';
import { MatrixOutbox } from '../../src/matrix/outbox.ts';
import { SqliteStateStore } from '../../src/store/sqlite-store.ts';
import { deferred, type Deferred } from '../../src/net/deferred.ts';
import type { ServerRequest } from '../../src/verto/messages.ts';

const CONFIG = `
esl: { host: 127.0.0.1, port: 8021, password: test-esl-pw }
verto: { url: "ws://127.0.0.1:8081", login: "edge@example.org", password: test-verto-pw }
matrix: { homeserver_url: "http://127.0.0.1:8008", user_id: "@edge:example.org", access_token: test-token }
routing: { default_country: DE, default_gateway: example_trunk }
inbound: { routes: [{ did: "+49301234561", user: "@alice:example.org" }] }
`;

const noop = () => () => undefined;
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

function manager() {
  const store = SqliteStateStore.open(':memory:');
  const log = createLogger('silent');
  const outbox = new MatrixOutbox({ put: () => new Promise(() => undefined), store, logger: log });
  let onRequest: ((r: ServerRequest) => void) | undefined;
  const rooms: Array<Deferred<string>> = [];
  const matrix = {
    state: 'connected',
    onCallEvent: noop, onRejectedCallEvent: noop, onRoomMessage: noop, onInvite: noop, onDisplayNameChange: noop, onState: noop,
    ringingRoom: async () => {
      const d = deferred<string>();
      rooms.push(d);
      return { roomId: await d.promise, speaker: undefined, noticeFrom: undefined };
    },
  };
  const verto = {
    onRequest: (fn: (r: ServerRequest) => void) => {
      onRequest = fn;
      return () => undefined;
    },
    onState: noop,
    request: async () => ({}),
  };
  const esl = { state: 'idle', onEvent: noop, onState: noop, api: async () => '+OK\n' };
  const calls = new CallManager(parseConfigText(CONFIG, {}), { matrix, verto, esl, store, outbox } as never, log);
  calls.start();
  /** FreeSWITCH offers a call: it stays pending while the DM is being found. */
  const offer = (callID: string) => onRequest?.({ id: 1, method: 'verto.invite', params: { callID, sdp: SDP, verto_h_mse_did: '49301234561', caller_id_number: '+4917012345678' } } as never);
  return { calls, offer, rooms, store };
}

describe('CallManager.callsEnded', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a waiter that timed out does not take the other waiters with it', async () => {
    const m = manager();
    m.offer('11111111-2222-3333-4444-555555555555');
    await vi.advanceTimersByTimeAsync(0);
    expect(m.calls.liveCalls).toBe(1);
    const short = m.calls.callsEnded(100);
    const long = m.calls.callsEnded(10_000);
    await vi.advanceTimersByTimeAsync(100);
    expect(await short).toBe(false);
    // the call goes (no room could be found for it): the remaining waiter hears it at once
    m.rooms[0]!.reject(new Error('no room'));
    await vi.advanceTimersByTimeAsync(0);
    expect(m.calls.liveCalls).toBe(0);
    let settled: boolean | undefined;
    void long.then((v) => (settled = v));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await m.calls.stop(0);
    m.store.close();
  });

  it('stop() settles a waiter whose drain was cut short, and disarms its timer', async () => {
    const m = manager();
    m.offer('11111111-2222-3333-4444-555555555556');
    await vi.advanceTimersByTimeAsync(0);
    const drain = m.calls.callsEnded(600_000);
    const cut = Promise.resolve().then(() => false);
    expect(await Promise.race([drain, cut])).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
    const stopped = m.calls.stop(0);
    await vi.advanceTimersByTimeAsync(0);
    await stopped;
    expect(await drain).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    m.store.close();
  });
});
