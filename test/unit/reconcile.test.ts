import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import type { ApiCommand } from '../../src/esl/commands.ts';
import { reconcile, type KnownCall, type ReconcilePorts } from '../../src/calls/reconcile.ts';

// reconcile() against a scripted ESL port: every api command, and every
// decision (a room told of an orphan, a call ended), lands in one ordered
// log, so the order of the walk is what is asserted. Hooks run when a
// command is sent: that is how the calls going on during the walk (an
// invite arriving, a call set up, a call ending) are staged.

const log = createLogger('silent');
const uuid = (n: number) => `0000000${n}-aaaa-4bbb-8ccc-dddddddddddd`;

interface Row {
  readonly uuid: string;
  readonly name?: string;
  readonly callstate?: string;
}

class Script {
  readonly log: string[] = [];
  readonly vars = new Map<string, Record<string, string>>();
  readonly exists = new Set<string>();
  readonly known = new Set<string>();
  readonly held: Array<{ uuid: string; answered: boolean; live: boolean }> = [];
  readonly hooks = new Map<string, () => void>();
  rows: Row[] = [];

  ports(): ReconcilePorts {
    return {
      esl: async (c: ApiCommand) => this.#esl(c),
      knows: (u) => this.known.has(u),
      calls: () => {
        this.log.push('calls()');
        return this.held.map(
          (h): KnownCall => ({
            uuid: h.uuid,
            answered: () => h.live && h.answered,
            vanished: () => {
              h.live = false;
              this.log.push(`vanished ${h.uuid}`);
            },
          }),
        );
      },
      orphaned: (o) => this.log.push(`orphaned ${o.uuid} ${o.matrixCallId ?? '-'} ${o.roomId ?? '-'} ${o.partyId ?? '-'} ${o.version ?? '-'}`),
    };
  }

  async #esl(c: ApiCommand): Promise<string> {
    const line = `${c.command} ${c.args}`;
    this.log.push(line);
    // replies arrive on a later turn, as over a socket
    await Promise.resolve();
    this.hooks.get(line)?.();
    const [, u = '', name = ''] = line.split(' ');
    switch (c.command) {
      case 'show':
        return this.rows.length === 0
          ? '{"row_count": 0}\n'
          : JSON.stringify({ row_count: this.rows.length, rows: this.rows.map((r) => ({ uuid: r.uuid, name: r.name ?? 'verto.rtc/+4930500001', direction: 'inbound', callstate: r.callstate ?? 'ACTIVE' })) });
      case 'uuid_getvar':
        return this.vars.get(u)?.[name] ?? '_undef_';
      case 'uuid_exists':
        return this.exists.has(u) ? 'true' : 'false';
      case 'uuid_kill':
        return this.rows.some((r) => r.uuid === u) ? '+OK\n' : '-ERR No such channel!\n';
      default:
        throw new Error(`unexpected command ${line}`);
    }
  }
}

const outboundVars = (n: number) => ({
  verto_dvar_mse_matrix_call_id: `call${n}`,
  verto_dvar_mse_room_id: `!room${n}:example.org`,
  verto_dvar_mse_party_id: `party${n}`,
  verto_dvar_mse_version: '1',
});

describe('reconcile', () => {
  it('decides on each leg right after its facts are read: the kill, then its room told, before the next leg is read', async () => {
    const s = new Script();
    s.rows = [{ uuid: uuid(1) }, { uuid: uuid(2), name: 'sofia/external/+4930500001' }, { uuid: uuid(3) }, { uuid: uuid(4) }];
    s.vars.set(uuid(1), outboundVars(1));
    s.vars.set(uuid(4), outboundVars(4));
    s.known.add(uuid(3));
    const result = await reconcile(s.ports(), log);
    expect(s.log).toEqual([
      'calls()',
      'show channels as json',
      `uuid_getvar ${uuid(1)} verto_dvar_mse_matrix_call_id`,
      `uuid_getvar ${uuid(1)} verto_dvar_mse_room_id`,
      `uuid_getvar ${uuid(1)} verto_dvar_mse_party_id`,
      `uuid_getvar ${uuid(1)} verto_dvar_mse_version`,
      `uuid_kill ${uuid(1)} NORMAL_TEMPORARY_FAILURE`,
      `orphaned ${uuid(1)} call1 !room1:example.org party1 1`,
      // a SIP leg is the edge's only when it names itself a trunk leg it originated; the held leg is not read
      `uuid_getvar ${uuid(2)} mse_leg`,
      `uuid_getvar ${uuid(4)} verto_dvar_mse_matrix_call_id`,
      `uuid_getvar ${uuid(4)} verto_dvar_mse_room_id`,
      `uuid_getvar ${uuid(4)} verto_dvar_mse_party_id`,
      `uuid_getvar ${uuid(4)} verto_dvar_mse_version`,
      `uuid_kill ${uuid(4)} NORMAL_TEMPORARY_FAILURE`,
      `orphaned ${uuid(4)} call4 !room4:example.org party4 1`,
    ]);
    expect(result.orphans.map((o) => o.uuid)).toEqual([uuid(1), uuid(4)]);
  });

  it('a trunk leg the edge originated is an orphan too; its call\'s room is told once, whatever number of its legs were left', async () => {
    const s = new Script();
    s.rows = [{ uuid: uuid(1) }, { uuid: uuid(2), name: 'sofia/external/+4930500001' }, { uuid: uuid(3), name: 'sofia/external/+4930500002' }];
    s.vars.set(uuid(1), outboundVars(1));
    s.vars.set(uuid(2), { mse_leg: 'trunk', mse_matrix_call_id: 'call1', mse_room_id: '!room1:example.org', mse_party_id: 'party1', mse_version: '1' });
    s.vars.set(uuid(3), { mse_leg: 'trunk', mse_matrix_call_id: 'call3', mse_room_id: '!room3:example.org', mse_party_id: 'party3', mse_version: '1' });
    const result = await reconcile(s.ports(), log);
    expect(s.log.filter((l) => l.startsWith('uuid_kill') || l.startsWith('orphaned'))).toEqual([
      `uuid_kill ${uuid(1)} NORMAL_TEMPORARY_FAILURE`,
      `orphaned ${uuid(1)} call1 !room1:example.org party1 1`,
      `uuid_kill ${uuid(2)} NORMAL_TEMPORARY_FAILURE`,
      `uuid_kill ${uuid(3)} NORMAL_TEMPORARY_FAILURE`,
      `orphaned ${uuid(3)} call3 !room3:example.org party3 1`,
    ]);
    expect(result.orphans.map((o) => o.uuid)).toEqual([uuid(1), uuid(2), uuid(3)]);
  });

  it('leaves a leg alone that a call took up while its variables were read', async () => {
    const s = new Script();
    s.rows = [{ uuid: uuid(1) }, { uuid: uuid(2) }];
    s.vars.set(uuid(1), outboundVars(1));
    s.vars.set(uuid(2), outboundVars(2));
    // the edge takes leg 1 up (e.g. its verto.invite arrived) between the list and the kill
    s.hooks.set(`uuid_getvar ${uuid(1)} verto_dvar_mse_version`, () => s.known.add(uuid(1)));
    const result = await reconcile(s.ports(), log);
    expect(s.log.filter((l) => l.startsWith('uuid_kill') || l.startsWith('orphaned'))).toEqual([
      `uuid_kill ${uuid(2)} NORMAL_TEMPORARY_FAILURE`,
      `orphaned ${uuid(2)} call2 !room2:example.org party2 1`,
    ]);
    expect(result.orphans.map((o) => o.uuid)).toEqual([uuid(2)]);
  });

  it('inbound legs: one that rang is ended in its room; one that never rang is left alone while unanswered, killed without a room once answered', async () => {
    const s = new Script();
    s.rows = [{ uuid: uuid(1), name: 'verto.rtc/u:sess' }, { uuid: uuid(2), name: 'verto.rtc/u:sess', callstate: 'RINGING' }, { uuid: uuid(3), name: 'verto.rtc/u:sess', callstate: 'ACTIVE' }];
    s.vars.set(uuid(1), { verto_h_mse_did: '+49301234561', mse_inbound_call_id: 'in1', mse_inbound_room: 'dm:example.org', mse_inbound_party_id: 'p1' });
    s.vars.set(uuid(2), { verto_h_mse_did: '+49301234561' });
    s.vars.set(uuid(3), { verto_h_mse_did: '+49301234561' });
    await reconcile(s.ports(), log);
    expect(s.log.filter((l) => l.startsWith('uuid_kill') || l.startsWith('orphaned'))).toEqual([
      `uuid_kill ${uuid(1)} NORMAL_TEMPORARY_FAILURE`,
      `orphaned ${uuid(1)} in1 !dm:example.org p1 1`,
      `uuid_kill ${uuid(3)} NORMAL_TEMPORARY_FAILURE`,
      `orphaned ${uuid(3)} - - - -`,
    ]);
  });

  it('ends a held answered call only once uuid_exists says its leg is gone; never a call set up after the list, nor one that ended meanwhile', async () => {
    const s = new Script();
    s.rows = [{ uuid: uuid(1) }];
    s.known.add(uuid(1));
    s.held.push(
      { uuid: uuid(1), answered: true, live: true }, // listed
      { uuid: uuid(2), answered: true, live: true }, // gone
      { uuid: uuid(3), answered: true, live: true }, // not listed, but exists: FreeSWITCH created it around the list
      { uuid: uuid(4), answered: false, live: true }, // not answered: not judged
      { uuid: uuid(5), answered: true, live: true }, // gone, but the call ends while uuid_exists is asked
    );
    s.exists.add(uuid(3));
    const late = { uuid: uuid(6), answered: true, live: true };
    // a call set up (and answered) after the list was taken: its leg is not in the list
    s.hooks.set('show channels as json', () => s.held.push(late));
    s.hooks.set(`uuid_exists ${uuid(5)}`, () => {
      s.held[4]!.live = false;
    });
    const result = await reconcile(s.ports(), log);
    expect(s.log).toEqual([
      'calls()',
      'show channels as json',
      `uuid_exists ${uuid(2)}`,
      `vanished ${uuid(2)}`,
      `uuid_exists ${uuid(3)}`,
      `uuid_exists ${uuid(5)}`,
    ]);
    expect(result.vanished).toEqual([uuid(2)]);
    expect(late.live).toBe(true);
  });

  it('no channel: nothing to do', async () => {
    const s = new Script();
    const result = await reconcile(s.ports(), log);
    expect(s.log).toEqual(['calls()', 'show channels as json']);
    expect(result).toEqual({ orphans: [], vanished: [] });
  });
});
