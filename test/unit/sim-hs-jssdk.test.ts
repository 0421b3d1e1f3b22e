// A real matrix-js-sdk 43 client against the homeserver simulator: login, startClient,
// initial sync, join a DM, receive an m.call.invite sent by a second user, send an answer.
import { afterEach, describe, expect, it } from 'vitest';
import { ClientEvent, createClient, EventType, RoomEvent, SyncState, type MatrixClient, type MatrixEvent } from 'matrix-js-sdk';
import { startHomeserverSimulator, type HomeserverSimulator } from '../support/homeserver/index.ts';

/** js-sdk logs every request at debug level; keep test output readable. */
const quiet = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  getChild: () => quiet,
};

function waitUntil<T>(register: (done: (v: T) => void) => () => void, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unregister();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    const unregister = register((v) => {
      clearTimeout(timer);
      unregister();
      resolve(v);
    });
  });
}

describe('homeserver simulator with a real matrix-js-sdk 43 client', () => {
  let hs: HomeserverSimulator | undefined;
  let client: MatrixClient | undefined;

  afterEach(async () => {
    client?.stopClient();
    await hs?.stop();
  });

  it('logs in, syncs and receives an m.call.invite from a second user', async () => {
    hs = await startHomeserverSimulator({
      users: [
        { localpart: 'edge', password: 'edge-pass-1234' },
        { localpart: 'alice', password: 'alice-pass-1234' },
      ],
    });
    const loginClient = createClient({ baseUrl: hs.url, logger: quiet });
    const login = await loginClient.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: 'edge' },
      password: 'edge-pass-1234',
      initial_device_display_name: 'matrix-sip-edge',
    });
    expect(login.user_id).toBe('@edge:localhost');
    const c = createClient({ baseUrl: hs.url, accessToken: login.access_token, userId: login.user_id, deviceId: login.device_id, logger: quiet });
    client = c;
    const prepared = waitUntil<void>((done) => {
      const on = (state: SyncState): void => {
        if (state === SyncState.Prepared) done();
      };
      c.on(ClientEvent.Sync, on);
      return () => c.off(ClientEvent.Sync, on);
    }, 10_000, 'PREPARED');
    await c.startClient({ initialSyncLimit: 10 });
    await prepared;

    const alice = '@alice:localhost';
    const roomId = hs.createRoom(alice, { is_direct: true, invite: ['@edge:localhost'], preset: 'trusted_private_chat' });
    const invited = waitUntil<void>((done) => {
      const on = (): void => {
        if (c.getRoom(roomId)?.getMyMembership() === 'invite') done();
      };
      c.on(ClientEvent.Sync, on);
      return () => c.off(ClientEvent.Sync, on);
    }, 10_000, 'the invite');
    await invited;
    await c.joinRoom(roomId);

    const gotInvite = waitUntil<MatrixEvent>((done) => {
      const on = (ev: MatrixEvent): void => {
        if (ev.getType() === 'm.call.invite') done(ev);
      };
      c.on(RoomEvent.Timeline, on);
      return () => c.off(RoomEvent.Timeline, on);
    }, 10_000, 'm.call.invite');
    const content = { call_id: 'c1', party_id: 'ALICEDEV', version: '1', lifetime: 60000, offer: { type: 'offer', sdp: 'v=0\r\n' } };
    const inviteId = hs.sendEvent(alice, roomId, 'm.call.invite', content);
    const ev = await gotInvite;
    expect(ev.getId()).toBe(inviteId);
    expect(ev.getSender()).toBe(alice);
    expect(ev.getContent()).toEqual(content);
    expect(ev.getRoomId()).toBe(roomId);

    // The edge answers with a raw event; the simulator records it.
    const sent = await c.sendEvent(roomId, EventType.CallAnswer, { call_id: 'c1', party_id: 'EDGE', version: '1', answer: { type: 'answer', sdp: 'v=0\r\n' } } as never);
    const answers = hs.events({ roomId, type: 'm.call.answer' });
    expect(answers.map((a) => a['event_id'])).toEqual([sent.event_id]);
    expect(answers[0]?.['sender']).toBe('@edge:localhost');

    const paths = hs.requests().map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain('GET /_matrix/client/versions');
    expect(paths).toContain('POST /_matrix/client/v3/user/%40edge%3Alocalhost/filter');
    expect(hs.requests().some((r) => r.path === '/_matrix/client/v3/sync' && r.query['timeout'] === '0')).toBe(true);
  });
});
