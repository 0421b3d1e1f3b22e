// The edge's Matrix client over real HTTP against the homeserver simulator:
// a room that carries many calls' events does not keep them all in memory,
// and the room state the edge reads (power levels, the destination state
// event) survives the trim.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.ts';
import { createLogger } from '../../src/log/logger.ts';
import { MatrixBot, SYNC_TIMELINE_LIMIT } from '../../src/matrix/client.ts';
import { TIMELINE_KEEP_EVENTS } from '../../src/matrix/timeline-trim.ts';
import { DESTINATION_STATE_TYPE } from '../../src/routing/room-destination.ts';
import { startHomeserverSimulator, type HomeserverSimulator } from '../support/homeserver/index.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

describe('MatrixBot room timelines', () => {
  let hs: HomeserverSimulator | undefined;
  let bot: MatrixBot | undefined;

  afterEach(async () => {
    await bot?.stop();
    await hs?.stop();
    bot = hs = undefined;
  });

  it(`delivers every event but holds at most ${TIMELINE_KEEP_EVENTS} per room once a sync is processed`, async () => {
    const { bot: b, hs: h, alice, roomId, changes, bodies } = await liveBot((hsim, room, aliceId) =>
      hsim.sendStateEvent(aliceId, room, DESTINATION_STATE_TYPE, '', { number: '+4930123456' }),
    );
    bodies.splice(0); // liveBot's own first message

    const total = 4 * TIMELINE_KEEP_EVENTS;
    for (let i = 0; i < total; i++) {
      // one event per sync (a sync carries at most 10 events per room, like Synapse's default filter)
      h.sendEvent(alice.userId, roomId, 'm.room.message', { msgtype: 'm.text', body: `message ${i}` });
      await waitUntil(changes, () => bodies.length === i + 1, `message ${i}`);
    }
    await waitUntil(changes, () => bodies.length === total, `all ${total} messages`);
    // the trim runs once the sync that carried the last message is processed
    await pollUntil(() => b.timelineStats().dropped > 0, 'a trim');

    expect(bodies).toEqual(Array.from({ length: total }, (_, i) => `message ${i}`));
    const { retained, dropped } = b.timelineStats();
    expect(retained).toBeLessThanOrEqual(TIMELINE_KEEP_EVENTS);
    expect(retained + dropped).toBeGreaterThanOrEqual(total);

    // state survives: the destination link and alice's power level (room creator: 100)
    const facts = await b.roomFacts(roomId, alice.userId);
    expect(facts.destination).toBe('+4930123456');
    expect(facts.powerLevel).toBe(100);
    // the edge's own trims are not gaps
    expect(b.timelineStats().gaps).toBe(0);
  });

  it('reports a sync that skipped events (more than a sync carries arrived at once), pages back over it, and no gap for the history before a join', async () => {
    const { bot: b, hs: h, alice, roomId, changes, bodies } = await liveBot();
    expect(b.timelineStats().gaps).toBe(0);
    // 25 at once: more than Synapse's default 10 per sync, but within the edge's filter: every one seen, no gap
    for (let i = 0; i < 25; i++) h.sendEvent(alice.userId, roomId, 'm.room.message', { msgtype: 'm.text', body: `small ${i}` });
    await waitUntil(changes, () => bodies.includes('small 24'), 'the end of the small burst');
    expect(bodies.filter((x) => x.startsWith('small ')).length).toBe(25);
    expect(b.timelineStats().gaps).toBe(0);
    const burst = SYNC_TIMELINE_LIMIT + 10;
    for (let i = 0; i < burst; i++) h.sendEvent(alice.userId, roomId, 'm.room.message', { msgtype: 'm.text', body: `burst ${i}` });
    await waitUntil(changes, () => bodies.includes(`burst ${burst - 1}`), 'the end of the burst');
    await pollUntil(() => b.timelineStats().gaps >= 1, 'a gap counted');
    // the gap was paged back over (GET /messages): every message of the burst, once, in order
    await pollUntil(() => b.timelineStats().gapsFilled === b.timelineStats().gaps, 'the gap filled');
    expect(bodies.filter((x) => x.startsWith('burst '))).toEqual(Array.from({ length: burst }, (_, i) => `burst ${i}`));
    expect(b.timelineStats()).toMatchObject({ gapsUnfilled: 0, backfilledEvents: 10 });
    expect(h.requests().filter((q) => q.path.endsWith('/messages')).map((q) => q.query['dir'])).toEqual(['b']);
  });

  it('tells an encrypted room once that it cannot read it, and counts every encrypted event', async () => {
    const { bot: b, hs: h, alice, edgeUserId, roomId } = await liveBot();
    const encrypted = { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgAEnAC', sender_key: 'k', session_id: 's', device_id: 'D' };
    h.sendEvent(alice.userId, roomId, 'm.room.encrypted', encrypted);
    h.sendEvent(alice.userId, roomId, 'm.room.encrypted', encrypted);
    await pollUntil(() => b.timelineStats().encrypted === 2, 'both encrypted events seen');
    const fromEdge = () => h.events({ roomId, sender: edgeUserId, type: 'm.room.message' });
    await pollUntil(() => fromEdge().length === 1, 'the notice');
    h.sendEvent(alice.userId, roomId, 'm.room.encrypted', encrypted);
    await pollUntil(() => b.timelineStats().encrypted === 3, 'the third encrypted event seen');
    const notices = fromEdge().map((e) => (e['content'] as Record<string, unknown>)['body']);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/end-to-end encrypted/);
  });

  /** A bot joined to a DM with alice, reading it live (`beforeStart` runs once the room exists, before the bot syncs). */
  async function liveBot(beforeStart?: (h: HomeserverSimulator, roomId: string, aliceId: string) => void) {
    hs = await startHomeserverSimulator({ users: [{ localpart: 'edge' }, { localpart: 'alice' }] });
    const h = hs;
    const edge = h.registerUser('edge');
    const alice = h.registerUser('alice');
    const roomId = h.createRoom(alice.userId, { preset: 'trusted_private_chat', invite: [edge.userId] });
    beforeStart?.(h, roomId, alice.userId);
    const b = new MatrixBot({
      homeserverUrl: h.url,
      userId: edge.userId,
      accessToken: new Secret(edge.accessToken),
      password: undefined,
      deviceId: edge.deviceId,
      requestTimeoutMs: 5_000,
      syncTimeoutMs: 1_000,
      logger: createLogger('silent'),
    });
    bot = b;
    const changes = new EventEmitter();
    const bodies: string[] = [];
    b.onRoomMessage((m) => {
      bodies.push(m.body);
      changes.emit('change');
    });
    b.onState(() => changes.emit('change'));
    await b.start();
    await waitUntil(changes, () => b.state === 'connected', 'the bot to sync');
    await b.joinRoom(roomId);
    h.sendEvent(alice.userId, roomId, 'm.room.message', { msgtype: 'm.text', body: 'hello' });
    await waitUntil(changes, () => bodies.includes('hello'), 'the first live message');
    return { bot: b, hs: h, alice, edgeUserId: edge.userId, roomId, changes, bodies };
  }
});
