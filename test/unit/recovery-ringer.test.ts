// RecoveryRinger (src/calls/recovery.ts) against fake ports: when the
// waiting trunk leg gets its hold music, which trunk legs it ends, and that
// it leaves no timer behind.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecoveryRinger, type RecoveryPorts } from '../../src/calls/recovery.ts';
import type { ApiCommand } from '../../src/esl/commands.ts';
import { createLogger } from '../../src/log/logger.ts';

const TRUNK = '11111111-2222-4333-8444-555555555555';
const MEDIA = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const SESSID = 'bbbbbbbb-cccc-4ddd-8eee-ffffffffffff';
const log = createLogger('silent');

function ringer(holdMusic: string | null = 'local_stream://moh'): { r: RecoveryRinger; sent: string[]; settled: string[]; gone: string[] } {
  const sent: string[] = [];
  const settled: string[] = [];
  const gone: string[] = [];
  const line = (c: ApiCommand) => `${c.command} ${c.args}`;
  const ports: RecoveryPorts = {
    esl: async (c) => {
      sent.push(line(c));
      return '+OK\n';
    },
    // the originate toward the edge never returns here: the user is still being rung
    bgapi: (c) => {
      sent.push(line(c));
      return new Promise<string>(() => undefined);
    },
    endTrunk: async (uuid, cause) => {
      sent.push(`uuid_kill ${uuid} ${cause}`);
    },
    farEndGone: (leg) => gone.push(leg),
    settled: (r) => settled.push(r.storedCallId),
    vertoState: () => 'connected',
    onVertoState: () => () => undefined,
    vertoSessionId: () => SESSID,
    ringS: 30,
    holdMusic: holdMusic ?? undefined,
    failRing: () => undefined,
    idle: () => undefined,
  };
  return { r: new RecoveryRinger(ports), sent, settled, gone };
}

const waiting = (mediaLeg: string | undefined) => ({ trunk: TRUNK, roomId: '!r:example.org', userId: '@a:example.org', number: '+4917012345678', as: { speaker: undefined, noticeFrom: undefined }, mediaLeg, storedCallId: 'mse-stored' });
const broadcasts = (sent: readonly string[]) => sent.filter((s) => s.startsWith('uuid_broadcast '));

afterEach(() => {
  vi.useRealTimers();
});

describe('hold music for the waiting trunk leg', () => {
  it('starts at once when the lost media leg is gone already (the trunk leg is parked)', async () => {
    const { r, sent } = ringer();
    r.start(waiting(undefined), log);
    await vi.waitFor(() => expect(broadcasts(sent)).toEqual([`uuid_broadcast ${TRUNK} local_stream://moh aleg`]));
    expect(r.holds(TRUNK)).toBe(true);
    await r.stop(log);
  });

  it('waits for the media leg\'s CHANNEL_HANGUP_COMPLETE (its end parks the trunk leg), once', async () => {
    const { r, sent } = ringer();
    r.start(waiting(MEDIA), log);
    await Promise.resolve();
    expect(broadcasts(sent)).toEqual([]);
    r.legGone(MEDIA);
    r.legGone(MEDIA);
    await vi.waitFor(() => expect(broadcasts(sent)).toHaveLength(1));
    await r.stop(log);
  });

  it('starts after 2 s without that cue, and leaves no timer at stop()', async () => {
    vi.useFakeTimers();
    const { r, sent } = ringer();
    r.start(waiting(MEDIA), log);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(broadcasts(sent)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(broadcasts(sent)).toHaveLength(1);
    const r2 = ringer();
    r2.r.start(waiting(MEDIA), log);
    await r2.r.stop(log);
    await r.stop(log);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('none with recovery_hold_music ""', async () => {
    const { r, sent } = ringer(null);
    r.start(waiting(undefined), log);
    await vi.waitFor(() => expect(sent.some((s) => s.startsWith('originate '))).toBe(true));
    expect(broadcasts(sent)).toEqual([]);
    await r.stop(log);
  });

  it('stop() ends the waiting trunk leg (SYSTEM_SHUTDOWN)', async () => {
    const { r, sent } = ringer();
    r.start(waiting(MEDIA), log);
    await r.stop(log);
    expect(sent).toContain(`uuid_kill ${TRUNK} SYSTEM_SHUTDOWN`);
    expect(r.holds(TRUNK)).toBe(false);
  });
});

describe('the waiting far end hangs up', () => {
  it('before the ring again: the recovery ends (its stored call settled), the new leg is called off, and its verto.invite, if it still comes, is ended', async () => {
    const { r, sent, settled } = ringer();
    r.start(waiting(undefined), log);
    await vi.waitFor(() => expect(sent.some((s) => s.startsWith('originate '))).toBe(true));
    const leg = /origination_uuid=([0-9a-f-]{36})/.exec(sent.find((s) => s.startsWith('originate '))!)![1]!;
    r.legGone(TRUNK);
    expect(settled).toEqual(['mse-stored']);
    expect(r.holds(TRUNK)).toBe(false);
    await vi.waitFor(() => expect(sent).toContain(`uuid_kill ${leg} ORIGINATOR_CANCEL`));
    expect(r.take(leg)).toBe('dropped');
    expect(r.take(leg)).toBeUndefined();
    await r.stop(log);
    // no trunk kill at stop: it was not waiting any more
    expect(sent.filter((s) => s.startsWith(`uuid_kill ${TRUNK}`))).toEqual([]);
  });

  it('while the user is rung again: that ring is ended (farEndGone); once the ring ends the trunk leg is ended and the recovery settled', async () => {
    const { r, sent, settled, gone } = ringer();
    r.start(waiting(undefined), log);
    await vi.waitFor(() => expect(sent.some((s) => s.startsWith('originate '))).toBe(true));
    const leg = /origination_uuid=([0-9a-f-]{36})/.exec(sent.find((s) => s.startsWith('originate '))!)![1]!;
    const taken = r.take(leg);
    expect(taken).toMatchObject({ trunk: TRUNK, leg });
    r.legGone(TRUNK);
    expect(gone).toEqual([leg]);
    r.ended(leg, 'ended', log);
    expect(sent).toContain(`uuid_kill ${TRUNK} NORMAL_CLEARING`);
    expect(settled).toEqual(['mse-stored']);
    await r.stop(log);
  });
});
