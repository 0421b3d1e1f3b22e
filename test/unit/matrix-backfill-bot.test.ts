// MatrixBot over real HTTP against the homeserver simulator, its /sync held
// while call events pile up and its timeline limit clamped to 10 (as some
// homeservers do): the limited timeline is paged back over with /messages,
// through failures, and every call event reaches the call layer once, in order.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.ts';
import { createLogger } from '../../src/log/logger.ts';
import { MatrixBot } from '../../src/matrix/client.ts';
import type { CallEvent } from '../../src/matrix/call-events.ts';
import { startHomeserverSimulator, type HomeserverSimulator, type RequestRecord } from '../support/homeserver/index.ts';
import { pollUntil, waitUntil } from '../support/wait.ts';

const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:u1\r\na=ice-pwd:p1p1p1p1p1p1p1p1p1p1p1\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n';
const invite = (callId: string) => ({ call_id: callId, party_id: 'ALICE', version: '1', lifetime: 60_000, offer: { type: 'offer', sdp: SDP } });
const isMessages = (q: RequestRecord): boolean => q.path.endsWith('/messages');

describe('MatrixBot back-fills a limited timeline', () => {
  let hs: HomeserverSimulator | undefined;
  let bot: MatrixBot | undefined;

  afterEach(async () => {
    await bot?.stop();
    await hs?.stop();
    bot = hs = undefined;
  });

  /** A bot reading a DM with alice; `joinedBefore`: it joined before it started (as after a restart) and has seen nothing live there yet. */
  async function liveBot(opts: { joinedBefore?: boolean } = {}) {
    hs = await startHomeserverSimulator({ users: [{ localpart: 'edge' }, { localpart: 'alice' }], rateLimits: false, timelineLimitCap: 10 });
    const h = hs;
    const edge = h.registerUser('edge');
    const alice = h.registerUser('alice');
    const roomId = h.createRoom(alice.userId, { preset: 'trusted_private_chat', invite: [edge.userId] });
    if (opts.joinedBefore === true) {
      h.join(edge.userId, roomId);
      // history older than the process: never delivered, not even from a gap
      const id = h.sendEvent(alice.userId, roomId, 'm.call.invite', invite('before-start'));
      // the process starts after it: not within the same millisecond (origin_server_ts has ms resolution)
      const ts = h.events({ roomId }).find((e) => e['event_id'] === id)!['origin_server_ts'] as number;
      await pollUntil(() => Date.now() > ts, 'the clock past the event', 1_000, 1);
    }
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
    const seen: string[] = [];
    b.onCallEvent((e: CallEvent) => {
      seen.push(`${e.type} ${e.content.call_id}`);
      changes.emit('change');
    });
    b.onRoomMessage((m) => {
      seen.push(`text ${m.body}`);
      changes.emit('change');
    });
    b.onState(() => changes.emit('change'));
    await b.start();
    await waitUntil(changes, () => b.state === 'connected', 'the bot to sync');
    if (opts.joinedBefore === true) return { b, h, alice: alice.userId, edge: edge.userId, roomId, changes, seen };
    await b.joinRoom(roomId);
    h.sendEvent(alice.userId, roomId, 'm.room.message', { msgtype: 'm.text', body: 'hello' });
    await waitUntil(changes, () => seen.includes('text hello'), 'the first live message');
    return { b, h, alice: alice.userId, edge: edge.userId, roomId, changes, seen };
  }

  /** Hold the bot's /sync, send `n` invites (and a hangup of the first), wait until a sync is parked, release. */
  async function burst(t: Awaited<ReturnType<typeof liveBot>>, n: number): Promise<string[]> {
    t.h.holdSync(t.edge);
    const want: string[] = [];
    for (let i = 0; i < n; i++) {
      t.h.sendEvent(t.alice, t.roomId, 'm.call.invite', invite(`call${i}`));
      want.push(`m.call.invite call${i}`);
    }
    t.h.sendEvent(t.alice, t.roomId, 'm.call.hangup', { call_id: 'call0', party_id: 'ALICE', version: '1', reason: 'user_hangup' });
    want.push('m.call.hangup call0');
    await t.h.waitForHeldSync(t.edge, 5_000);
    t.h.releaseSync(t.edge);
    return want;
  }

  it('30 invites held back behind a sync clamped to 10: all delivered once, oldest first, gap before live', async () => {
    const t = await liveBot();
    const want = await burst(t, 30);
    await waitUntil(t.changes, () => t.seen.length >= want.length + 1, 'every call event', 10_000);
    await pollUntil(() => t.b.timelineStats().gapsFilled === 1, 'the gap filled');
    expect(t.seen.slice(1)).toEqual(want);
    // the released sync was limited (10 of 31), and one page of /messages (dir=b, from its prev_batch) filled it
    const limited = t.h.requests().filter((q) => q.path.endsWith('/sync') && JSON.stringify(q.response).includes('"limited":true') && JSON.stringify(q.response).includes('m.call.invite'));
    expect(limited).toHaveLength(1);
    const prevBatch = ((limited[0]?.response as { rooms: { join: Record<string, { timeline: { prev_batch: string } }> } }).rooms.join[t.roomId])?.timeline.prev_batch;
    const pages = t.h.requests().filter(isMessages);
    expect(pages.map((q) => [q.query['dir'], q.query['from']])).toEqual([['b', prevBatch]]);
    expect(t.b.timelineStats()).toMatchObject({ gaps: 1, gapsFilled: 1, gapsUnfilled: 0, backfilledEvents: 21 });
  });

  it('a room joined before the bot started (nothing live seen there yet): the gap is filled back to the process start, not before', async () => {
    const t = await liveBot({ joinedBefore: true });
    const want = await burst(t, 20);
    await waitUntil(t.changes, () => t.seen.length >= want.length, 'every call event', 10_000);
    await pollUntil(() => t.b.timelineStats().gapsFilled === 1, 'the gap filled');
    expect(t.seen).toEqual(want);
    expect(t.b.timelineStats()).toMatchObject({ gaps: 1, gapsFilled: 1, backfilledEvents: 11 });
  });

  it('a /messages that fails (502 twice, then 429 with retry_after_ms) is retried until it answers', async () => {
    const t = await liveBot();
    t.h.injectFault({ method: 'GET', path: '/messages', status: 502, body: { errcode: 'M_UNKNOWN', error: 'Bad gateway' }, times: 2 });
    t.h.injectFault({ method: 'GET', path: '/messages', status: 429, body: { errcode: 'M_LIMIT_EXCEEDED', error: 'slow down', retry_after_ms: 50 }, times: 1 });
    const want = await burst(t, 15);
    await waitUntil(t.changes, () => t.seen.length >= want.length + 1, 'every call event', 15_000);
    expect(t.seen.slice(1)).toEqual(want);
    expect(t.h.requests().filter(isMessages).map((q) => q.status)).toEqual([502, 502, 429, 200]);
    expect(t.b.timelineStats()).toMatchObject({ gapsFilled: 1, gapsUnfilled: 0 });
  });

  it('a gap that cannot be filled (403) is counted as such; the live events of the sync still arrive', async () => {
    const t = await liveBot();
    t.h.injectFault({ method: 'GET', path: '/messages', status: 403, body: { errcode: 'M_FORBIDDEN', error: 'no' }, times: Infinity });
    const want = await burst(t, 15);
    // only the sync's own 10 events: the newest 9 invites and the hangup
    await waitUntil(t.changes, () => t.seen.includes('m.call.hangup call0'), 'the live events', 10_000);
    await pollUntil(() => t.b.timelineStats().gapsUnfilled === 1, 'the gap counted as not filled');
    expect(t.seen.slice(1)).toEqual(want.slice(-10));
    expect(t.b.timelineStats()).toMatchObject({ gaps: 1, gapsFilled: 0, gapsUnfilled: 1, backfilledEvents: 0 });
  });
});
