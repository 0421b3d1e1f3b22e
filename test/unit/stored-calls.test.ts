import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { endStoredLegs, matrixEnding, RESTART_NOTICE, tellMatrixOfStoredCalls, TOLD_STATE, type MatrixEnding } from '../../src/calls/stored-calls.ts';
import type { CallRecord } from '../../src/store/state-store.ts';
import type { ApiCommand } from '../../src/esl/commands.ts';

const log = createLogger('silent');
const VERTO = '11111111-2222-3333-4444-555555555555';
const FAR = '66666666-2222-3333-4444-555555555555';

const stored = (extra: Partial<CallRecord>): CallRecord => ({
  matrixCallId: 'c1',
  direction: 'outbound',
  roomId: '!room:hs',
  partyId: 'edgeparty',
  peerPartyId: 'ALICEDEV',
  version: '1',
  vertoLeg: VERTO,
  farLeg: undefined,
  state: 'dialling',
  answered: false,
  createdAt: 0,
  ...extra,
});

describe('ending the calls a previous run left', () => {
  it('answers as the same party: reject while an outbound call was unanswered in Matrix, hangup otherwise', () => {
    expect(matrixEnding(stored({}))).toEqual({ type: 'm.call.reject', content: { call_id: 'c1', party_id: 'edgeparty', version: '1' } });
    expect(matrixEnding(stored({ answered: true, state: 'answered' }))).toEqual({ type: 'm.call.hangup', content: { call_id: 'c1', party_id: 'edgeparty', version: '1', reason: 'unknown_error' } });
    expect(matrixEnding(stored({ direction: 'inbound', state: 'ringing' }))).toEqual({ type: 'm.call.hangup', content: { call_id: 'c1', party_id: 'edgeparty', version: '1', reason: 'unknown_error' } });
    expect(matrixEnding(stored({ version: '0' }))).toEqual({ type: 'm.call.hangup', content: { call_id: 'c1', version: 0, reason: 'unknown_error' } });
  });

  it('tells each room once: a call marked told, or whose ending the outbox still holds, is skipped', () => {
    const told: Array<[string, MatrixEnding, string]> = [];
    const now = tellMatrixOfStoredCalls(
      [stored({}), stored({ matrixCallId: 'c2', state: TOLD_STATE }), stored({ matrixCallId: 'c3' }), stored({ matrixCallId: 'c4', direction: 'inbound', answered: true })],
      { endingKept: (id) => id === 'c3', tell: (call, ending, notice) => void told.push([call.matrixCallId, ending, notice]) },
      log,
    );
    expect(now).toEqual(['c1', 'c4']);
    expect(told.map(([id, e, n]) => [id, e.type, n])).toEqual([
      ['c1', 'm.call.reject', RESTART_NOTICE],
      ['c4', 'm.call.hangup', RESTART_NOTICE],
    ]);
  });

  it('hangs up every stored leg, then forgets the call; a leg already gone is fine', async () => {
    const order: string[] = [];
    const result = await endStoredLegs(
      [stored({ farLeg: FAR, answered: true })],
      {
        esl: async (c: ApiCommand) => {
          order.push(`${c.command} ${c.args}`);
          return c.args.startsWith(VERTO) ? '-ERR No such channel!\n' : '+OK\n';
        },
        forget: (id) => void order.push(`forget ${id}`),
      },
      log,
    );
    expect(order).toEqual([`uuid_kill ${VERTO} NORMAL_TEMPORARY_FAILURE`, `uuid_kill ${FAR} NORMAL_TEMPORARY_FAILURE`, 'forget c1']);
    expect(result.gone).toEqual(new Set([VERTO, FAR]));
    expect(result.unfinished).toEqual([]);
  });

  it('a call whose kill got no reply (ESL dropped, timeout) is kept and returned, its leg not counted gone; a leg that is not a UUID never reaches ESL', async () => {
    const forgotten: string[] = [];
    const sent: string[] = [];
    const dropped = stored({ matrixCallId: 'c2', farLeg: FAR });
    const result = await endStoredLegs(
      [stored({ vertoLeg: 'not a uuid\nhupall' }), dropped],
      {
        esl: async (c) => {
          sent.push(c.args);
          if (c.args.startsWith(VERTO)) throw new Error('ESL connection lost: connection closed by FreeSWITCH');
          return '+OK\n';
        },
        forget: (id) => void forgotten.push(id),
      },
      log,
    );
    expect(sent).toEqual([`${VERTO} NORMAL_TEMPORARY_FAILURE`, `${FAR} NORMAL_TEMPORARY_FAILURE`]);
    expect(forgotten).toEqual(['c1']);
    expect(result.unfinished).toEqual([dropped]);
    // the far leg answered; the Verto leg is not known gone, so nothing hides it
    expect(result.gone).toEqual(new Set(['not a uuid\nhupall', FAR]));

    // the next ESL connection: tried again, and forgotten once answered
    const again = await endStoredLegs(result.unfinished, { esl: async () => '-ERR No such channel!\n', forget: (id) => void forgotten.push(id) }, log);
    expect(forgotten).toEqual(['c1', 'c2']);
    expect(again).toEqual({ gone: new Set([VERTO, FAR]), unfinished: [] });
  });
});
