import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { endStoredCalls, matrixEnding, RESTART_NOTICE, type MatrixEnding } from '../../src/calls/stored-calls.ts';
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

  it('tells Matrix first, then hangs up every leg still up; a leg already gone is fine', async () => {
    const order: string[] = [];
    const endings: Array<MatrixEnding | undefined> = [];
    const result = await endStoredCalls(
      {
        esl: async (c: ApiCommand) => {
          order.push(`${c.command} ${c.args}`);
          return c.args.startsWith(VERTO) ? '-ERR No such channel!\n' : '+OK\n';
        },
        left: [stored({ farLeg: FAR, answered: true })],
        endingKept: () => false,
        endInMatrix: (_call, ending, notice) => {
          order.push(`matrix ${ending?.type ?? '-'} ${notice}`);
          endings.push(ending);
        },
      },
      log,
    );
    expect(order).toEqual([`matrix m.call.hangup ${RESTART_NOTICE}`, `uuid_kill ${VERTO} NORMAL_TEMPORARY_FAILURE`, `uuid_kill ${FAR} NORMAL_TEMPORARY_FAILURE`]);
    expect(result.legs).toEqual(new Set([VERTO, FAR]));
    expect(result.ended).toEqual(['c1']);
  });

  it('sends no second ending when the previous run had kept one already', async () => {
    const endings: Array<MatrixEnding | undefined> = [];
    await endStoredCalls({ esl: async () => '+OK\n', left: [stored({})], endingKept: () => true, endInMatrix: (_c, e) => void endings.push(e) }, log);
    expect(endings).toEqual([undefined]);
  });

  it('goes on when a stored leg is not a UUID or ESL fails', async () => {
    const ended: string[] = [];
    const result = await endStoredCalls(
      {
        esl: async () => {
          throw new Error('ESL is down');
        },
        left: [stored({ vertoLeg: 'not a uuid\nhupall' }), stored({ matrixCallId: 'c2' })],
        endingKept: () => false,
        endInMatrix: (c) => void ended.push(c.matrixCallId),
      },
      log,
    );
    expect(ended).toEqual(['c1', 'c2']);
    expect(result.ended).toEqual(['c1', 'c2']);
  });
});
