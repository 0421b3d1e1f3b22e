// VertoSession behaviour the traces do not show: batches, echoParams,
// reply-before-events ordering, socket loss, keep-alive timers, and the
// call-method errors.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { VertoSession, type SessionHost } from '../support/freeswitch/verto-session.ts';
import { VertoDirectory } from '../support/freeswitch/verto-directory.ts';
import { FakeVertoBackend } from '../support/freeswitch/verto-fake-backend.ts';
import { RECONSTRUCTED_USERS } from '../support/freeswitch/capture-config/verto-users.ts';
import { channelDataVariables, DEFAULT_IDENTITY } from '../support/freeswitch/verto-channel-data.ts';

const SESSID = 'sess-1';

function setup(): { host: SessionHost; backend: FakeVertoBackend; sent: string[]; closed: number[]; session: VertoSession } {
  let id = 1;
  const backend = new FakeVertoBackend();
  const host: SessionHost = {
    backend,
    directory: new VertoDirectory(RECONSTRUCTED_USERS),
    sessions: new Map(),
    nextRequestId: () => id++,
    channelData: () => channelDataVariables(DEFAULT_IDENTITY, 1),
    pingIntervalMs: 1000,
    eventFlushMs: 10,
    lastDisplay: new Map(),
  };
  const sent: string[] = [];
  const closed: number[] = [];
  const session = new VertoSession(host, { send: (t) => sent.push(t), close: (c) => closed.push(c) });
  return { host, backend, sent, closed, session };
}

const req = (id: number, method: string, params?: unknown): string => JSON.stringify({ jsonrpc: '2.0', id, method, params });
const login = (id = 1): string => req(id, 'login', { login: '1008@fs.example.org', passwd: '1234', sessid: SESSID, userVariables: { a: 'b', t: true, n: 1 } });

describe('VertoSession', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes the login reply first, verto.clientReady after the flush delay', () => {
    const { session, sent, backend } = setup();
    session.onFrame(login());
    expect(sent).toEqual([`{"jsonrpc":"2.0","id":1,"result":{"message":"logged in","sessid":"${SESSID}"}}`]);
    vi.advanceTimersByTime(10);
    expect(sent[1]).toBe('{"jsonrpc":"2.0","id":1,"method":"verto.clientReady","params":{"reattached_sessions":[]}}');
    expect(backend.log).toEqual([`attach ${SESSID} 1008@fs.example.org`]);
  });

  it('the invite reply precedes events the model raises synchronously', () => {
    const { session, sent, backend } = setup();
    session.onFrame(login());
    backend.onInvite = (r, sink) => sink.bye(r.callId, 'NO_ROUTE_DESTINATION', 3);
    session.onFrame(req(2, 'verto.invite', { sdp: 'v=0\r\n', dialogParams: { callID: 'c1', destination_number: '1' } }));
    vi.advanceTimersByTime(10);
    expect(sent.slice(1).map((t) => JSON.parse(t) as { method?: string; id: number })).toMatchObject([
      { id: 2 },
      { method: 'verto.clientReady' },
      { method: 'verto.bye' },
    ]);
  });

  it('hands login userVariables (strings, booleans) and directory variables to the model', () => {
    const { session, backend } = setup();
    session.onFrame(login());
    session.onFrame(req(2, 'verto.invite', { sdp: 'v=0\r\n', dialogParams: { callID: 'c1', userVariables: { room: '!r', x: false, y: {} } } }));
    expect(backend.invites[0]).toMatchObject({
      destinationNumber: 'service',
      dialogVariables: { room: '!r', x: 'false' },
      socketVariables: { a: 'b', t: 'true', user_context: 'default' },
    });
  });

  it('marks an invite CF_NO_RECOVER only for dialogParams.recoverCall JSON false (any key case)', () => {
    const { session, backend } = setup();
    session.onFrame(login());
    const cases: ReadonlyArray<readonly [Record<string, unknown>, boolean]> = [
      [{ recoverCall: false }, true], [{ RECOVERCALL: false }, true], [{}, false], [{ recoverCall: true }, false],
      [{ recoverCall: 'false' }, false], [{ recoverCall: 0 }, false], [{ recoverCall: null }, false],
    ];
    cases.forEach(([extra, _], i) => session.onFrame(req(2 + i, 'verto.invite', { sdp: 'v=0\r\n', dialogParams: { callID: `c${i}`, ...extra } })));
    expect(backend.invites.map((r) => r.noRecover)).toEqual(cases.map(([, noRecover]) => noRecover));
  });

  it('on socket loss the fake backend ends unanswered and recoverCall-false calls, detaches the rest', () => {
    const { session, backend } = setup();
    session.onFrame(login());
    session.onFrame(req(2, 'verto.invite', { sdp: 'v=0\r\n', dialogParams: { callID: 'kept' } }));
    session.onFrame(req(3, 'verto.invite', { sdp: 'v=0\r\n', dialogParams: { callID: 'ended', recoverCall: false } }));
    session.onFrame(req(4, 'verto.invite', { sdp: 'v=0\r\n', dialogParams: { callID: 'ringing' } }));
    for (const id of ['kept', 'ended']) backend.calls.get(id)!.answered = true;
    session.onClose();
    expect([...backend.calls.values()].map((c) => [c.callId, c.detached])).toEqual([['kept', true]]);
  });

  it('answers a batch with an array and skips responses', () => {
    const { session, sent } = setup();
    session.onFrame(login());
    session.onFrame(`[${req(2, 'verto.ping', {})},{"jsonrpc":"2.0","id":9,"result":{}},${req(3, 'nosuch')}]`);
    expect(sent[1]).toBe(`[{"jsonrpc":"2.0","id":2,"result":{"message":"PONG","sessid":"${SESSID}"}},{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Invalid Method, Missing Method or Permission Denied"}}]`);
  });

  it('echoParams copies the params into requestParams', () => {
    const { session, sent } = setup();
    session.onFrame(login());
    session.onFrame(req(2, 'verto.ping', { echoParams: true }));
    session.onFrame(req(3, 'verto.ping', { echoParams: { k: 1 } }));
    expect(sent[1]).toBe(`{"jsonrpc":"2.0","id":2,"result":{"message":"PONG","requestParams":{"echoParams":true},"sessid":"${SESSID}"}}`);
    expect(sent[2]).toBe(`{"jsonrpc":"2.0","id":3,"result":{"message":"PONG","requestParams":{"k":1},"sessid":"${SESSID}"}}`);
  });

  it('an error object before login without params: Missing params; a non-object frame: Invalid message', () => {
    const { session, sent } = setup();
    session.onFrame('{"jsonrpc":"2.0","id":4,"error":{"code":1}}');
    session.onFrame('42');
    expect(sent).toEqual([
      '{"jsonrpc":"2.0","id":4,"error":{"code":-32001,"message":"Missing params"}}',
      '{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid message"},"id":null}',
    ]);
  });

  it('a fresh sessid when the first authenticated request has none', () => {
    const { session, sent } = setup();
    session.onFrame(req(1, 'login', { login: '1008@fs.example.org', passwd: '1234' }));
    expect(session.sessid).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[0]).toContain(`"sessid":"${session.sessid ?? ''}"`);
  });

  it('pings only once logged in, after the idle period, and stops after close', () => {
    const { session, sent, backend } = setup();
    vi.advanceTimersByTime(1500);
    expect(sent).toEqual([]);
    session.onFrame(login());
    vi.advanceTimersByTime(999);
    expect(sent.filter((t) => t.includes('verto.ping'))).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(sent.at(-1)).toMatch(/^\{"jsonrpc":"2.0","id":\d+,"method":"verto.ping","params":\{"serno":\d+\}\}$/);
    session.onClose();
    expect(backend.log.at(-1)).toBe(`detach ${SESSID}`);
    const count = sent.length;
    vi.advanceTimersByTime(5000);
    expect(sent.length).toBe(count);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['verto.answer', undefined, '{"message":"Params data missing","code":-32002}'],
    ['verto.answer', {}, '{"message":"Dialog data missing","code":-32002}'],
    ['verto.answer', { dialogParams: {} }, '{"message":"CallID missing","code":-32002}'],
    ['verto.answer', { dialogParams: { callID: 'x' } }, '{"message":"SDP missing","code":-32002}'],
    ['verto.answer', { sdp: 'v=0', dialogParams: { callID: 'x' } }, '{"message":"CALL DOES NOT EXIST","code":-32002}'],
    ['verto.invite', {}, '{"message":"Dialog data missing","causeCode":95,"cause":"INVALID_MSG_UNSPECIFIED","message":"CALL ERROR","code":-32002}'],
    ['verto.modify', { dialogParams: { callID: 'x' } }, '{"message":"action missing","code":-32002}'],
    ['verto.modify', { action: 'hold', dialogParams: { callID: 'x' } }, '{"callID":"x","action":"hold","message":"CALL DOES NOT EXIST","code":-32002}'],
    ['verto.attach', { dialogParams: { callID: 'x' } }, '{"message":"SDP missing","code":-32002}'],
    ['verto.info', undefined, '{"message":"Params data missing","code":-32002}'],
    ['echo', undefined, '{"message":"Params data missing","code":-32002}'],
  ])('%s %j -> error %s', (method, params, error) => {
    const { session, sent } = setup();
    session.onFrame(login());
    session.onFrame(req(2, method, params));
    expect(sent[1]).toBe(`{"jsonrpc":"2.0","id":2,"error":${error}}`);
  });

  it('verto.bye takes a numeric-string causeCode when the cause name is unknown', () => {
    const { session, sent, backend } = setup();
    session.onFrame(login());
    backend.invite({ callId: 'c', sessid: SESSID, user: 'u', sdp: '', destinationNumber: '1', dialogVariables: {}, socketVariables: {} });
    session.onFrame(req(2, 'verto.bye', { cause: 'NOPE', causeCode: '17', dialogParams: { callID: 'c' } }));
    expect(sent[1]).toBe(`{"jsonrpc":"2.0","id":2,"result":{"callID":"c","message":"CALL ENDED","causeCode":17,"cause":"USER_BUSY","sessid":"${SESSID}"}}`);
  });

  it('a second socket with the same sessid punts the first: detach before the new attach', () => {
    const a = setup();
    const sentB: string[] = [];
    const closedB: number[] = [];
    const b = new VertoSession(a.host, { send: (t) => sentB.push(t), close: (c) => closedB.push(c) });
    a.session.onFrame(login());
    b.onFrame(login());
    expect(a.sent.at(-1)).toMatch(/^\{"jsonrpc":"2.0","id":\d+,"method":"verto.punt","params":\{\}\}$/);
    expect(a.closed).toEqual([1000]);
    expect(a.backend.log).toEqual([`attach ${SESSID} 1008@fs.example.org`, `detach ${SESSID}`, `attach ${SESSID} 1008@fs.example.org`]);
    expect(a.host.sessions.get(SESSID)).toBe(b);
    a.session.onClose();
    expect(a.backend.log).toHaveLength(3);
    expect(closedB).toEqual([]);
    b.onClose();
  });

  it('another user with a live sessid gets Session in use and is closed', () => {
    const a = setup();
    const sentB: string[] = [];
    const closedB: number[] = [];
    const b = new VertoSession(a.host, { send: (t) => sentB.push(t), close: (c) => closedB.push(c) });
    a.session.onFrame(login());
    b.onFrame(req(1, 'login', { login: '1009@fs.example.org', passwd: '1234', sessid: SESSID }));
    expect(sentB).toEqual(['{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"Session in use"}}']);
    vi.advanceTimersByTime(1);
    expect(closedB).toEqual([1000]);
    expect(a.host.sessions.get(SESSID)).toBe(a.session);
    a.session.onClose();
  });
});
