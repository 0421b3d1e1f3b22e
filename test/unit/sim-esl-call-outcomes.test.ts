// The channel model's event order and hangup causes for the call outcomes
// captured from a real FreeSWITCH 1.11.1 (shared/traces/real/verto-04, 14..21):
// the simulator, driven through VertoBackend with the same far end, must fire
// the same channel events in the same order, with the same causes.
import { afterEach, describe, expect, it } from 'vitest';
import path from 'node:path';
import { bytesOf, loadPrefixedTrace, traceDir } from '../support/traces.ts';
import { ServerStreamParser, serializeJson } from '../support/freeswitch/esl-wire.ts';
import { FreeSwitchModel, type FreeSwitchModelOptions } from '../support/freeswitch/channel-model.ts';
import type { FarEndBehaviour, FsEvent, VertoCallSink } from '../support/freeswitch/contract.ts';

const KEY = new Set(['CHANNEL_OUTGOING', 'CHANNEL_CREATE', 'CHANNEL_ORIGINATE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA', 'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_DESTROY', 'CHANNEL_EXECUTE_COMPLETE']);

type Row = Readonly<Record<string, string>>;

function summarise(rows: readonly Row[]): string[] {
  return rows
    .filter((r) => KEY.has(r['Event-Name'] ?? '') && !(r['Event-Name'] === 'CHANNEL_EXECUTE_COMPLETE' && r.Application !== 'bridge'))
    .map((r) => {
      const leg = (r['Channel-Name'] ?? '').startsWith('sofia/') ? 'sip' : 'verto';
      const cause = r['Event-Name'] === 'CHANNEL_HANGUP_COMPLETE' ? ` ${r['Hangup-Cause'] ?? ''}` : '';
      return `${leg}:${r['Event-Name'] ?? ''}${cause}`;
    });
}

function traceRows(file: string): Row[] {
  const parser = new ServerStreamParser();
  return parser.push(bytesOf(loadPrefixedTrace(file), 'server', 'esl'))
    .filter((m) => m.body !== undefined && m.body.startsWith('{'))
    .map((m) => JSON.parse(m.body ?? '{}') as Row);
}

const toRow = (ev: FsEvent): Row => JSON.parse(serializeJson(ev)) as Row;

const silentSink = (byes: string[]): VertoCallSink => ({
  media: () => undefined, answer: () => undefined, display: () => undefined, invite: () => undefined, attach: () => undefined,
  bye: (_id, cause, code) => {
    byes.push(`${cause}/${code}`);
  },
});

let model: FreeSwitchModel | undefined;
afterEach(() => {
  expect(model?.channels()).toEqual([]);
  model?.stop();
  model = undefined;
});

interface Case {
  readonly file: string;
  readonly farEnd: FarEndBehaviour;
  readonly options?: FreeSwitchModelOptions;
  readonly bye?: string;
  /** What happens once the call is set up: 'client-bye', 'kill-sip', or nothing (the far end ends it). */
  readonly then?: 'client-bye' | 'kill-sip';
}

const CASES: readonly Case[] = [
  { file: 'verto-14-trunk-486-busy', farEnd: { kind: 'reject', sipStatus: 486 }, bye: 'USER_BUSY/17' },
  { file: 'verto-15-trunk-180-then-480', farEnd: { kind: 'reject', sipStatus: 480, ringMs: 50 }, bye: 'NORMAL_CLEARING/16' },
  { file: 'verto-16-trunk-404-not-found', farEnd: { kind: 'reject', sipStatus: 404 }, bye: 'UNALLOCATED_NUMBER/1' },
  { file: 'verto-17-trunk-503-service-unavailable', farEnd: { kind: 'reject', sipStatus: 503 }, bye: 'NORMAL_TEMPORARY_FAILURE/41' },
  { file: 'verto-18-trunk-180-then-603-decline', farEnd: { kind: 'reject', sipStatus: 603, ringMs: 50 }, bye: 'CALL_REJECTED/21' },
  { file: 'verto-19-trunk-rings-no-answer-timeout', farEnd: { kind: 'no-answer' }, options: { originateTimeoutMs: 20 }, bye: 'NORMAL_CLEARING/16' },
  { file: 'verto-20-client-bye-while-trunk-rings', farEnd: { kind: 'no-answer' }, then: 'client-bye' },
  { file: 'verto-21-bridged-uuid-send-dtmf-uuid-kill', farEnd: { kind: 'answer' }, then: 'kill-sip', bye: 'NORMAL_CLEARING/16' },
  { file: 'verto-04-call-sip-trunk-dtmf-client-bye', farEnd: { kind: 'answer' }, then: 'client-bye' },
];

describe('call outcomes match the real captures', () => {
  for (const c of CASES) {
    it(c.file, async () => {
      const file = path.join(traceDir('real'), `${c.file}.esl.txt`);
      const expected = summarise(traceRows(file));
      model = new FreeSwitchModel({
        ...c.options,
        farEnd: { default: c.farEnd },
        dialplan: { route: (_ctx, v) => [{ app: 'set', data: 'open=true' }, { app: 'bridge', data: `sofia/gateway/t/${v.destination_number ?? ''}` }] },
      });
      const m = model;
      const rows: Row[] = [];
      m.onEvent((ev) => rows.push(toRow(ev)));
      const byes: string[] = [];
      m.attachSession('s1', '1000@127.0.0.1', silentSink(byes));
      const callId = '81be4d79-3a63-4e23-a9e6-1e3ca0b6629a';
      expect(m.invite({ callId, sessid: 's1', user: '1000@127.0.0.1', sdp: 'v=0\r\n', destinationNumber: '15551230002', callerIdName: 'Alice', callerIdNumber: '1000', dialogVariables: {}, socketVariables: {} }).ok).toBe(true);
      const until = (cond: () => boolean, what: string): Promise<void> => new Promise((resolve, reject) => {
        const t0 = Date.now();
        const tick = (): void => {
          if (cond()) resolve();
          else if (Date.now() - t0 > 2000) reject(new Error(`timed out waiting for ${what}`));
          else setImmediate(tick);
        };
        tick();
      });
      const has = (name: string, leg: 'sip' | 'verto'): boolean => rows.some((r) => r['Event-Name'] === name && (r['Channel-Name'] ?? '').startsWith(leg === 'sip' ? 'sofia/' : 'verto'));
      if (c.then === 'client-bye') {
        await until(() => has(c.farEnd.kind === 'answer' ? 'CHANNEL_BRIDGE' : 'CHANNEL_PROGRESS', 'verto'), 'call setup');
        expect(m.bye('s1', callId, 'NORMAL_CLEARING', 16)).toEqual({ ok: true, fields: { cause: 'NORMAL_CLEARING', causeCode: 16 } });
      } else if (c.then === 'kill-sip') {
        await until(() => has('CHANNEL_BRIDGE', 'verto'), 'bridge');
        const sip = m.channels().find((ch) => ch.kind === 'sofia');
        expect(m.kill(sip?.uuid ?? '', 'NORMAL_CLEARING')).toBe(true);
      }
      await until(() => m.channels().length === 0, 'all channels destroyed');
      await until(() => c.bye === undefined || byes.length > 0, 'verto.bye');
      // the SIP leg's CHANNEL_DESTROY falls on either side of the verto leg's events in the captures (README
      // observation 18): compare the order without it, and check it comes once, after its HANGUP_COMPLETE
      const ordered = (list: readonly string[]): string[] => list.filter((e) => e !== 'sip:CHANNEL_DESTROY');
      const got = summarise(rows);
      expect(ordered(got)).toEqual(ordered(expected));
      expect(got.filter((e) => e === 'sip:CHANNEL_DESTROY')).toHaveLength(1);
      expect(got.indexOf('sip:CHANNEL_DESTROY')).toBeGreaterThan(got.findIndex((e) => e.startsWith('sip:CHANNEL_HANGUP_COMPLETE')));
      expect(byes).toEqual(c.bye === undefined ? [] : [c.bye]);
    });
  }
});
