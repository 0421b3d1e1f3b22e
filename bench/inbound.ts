// The inbound phase of a bench mode: trunk calls to a DID the edge routes to
// a room, answered there by a Matrix device, held, and hung up by the trunk
// caller. Measured the same way as the outbound calls, from the simulators'
// own timestamps (performance.now(), one clock):
//   ring:   FreeSWITCH writes verto.invite to the edge -> the edge's
//           m.call.invite is stored by the homeserver;
//   answer: the answer is complete at the homeserver (the m.call.answer with
//           end-of-candidates in it, or matrix-js-sdk's candidates batch
//           500 ms after it) -> verto.answer reaches FreeSWITCH.
// Calls are matched across the two sides by FreeSWITCH's offer (its m=audio
// port is unique per call and reaches Matrix unchanged).
import type { FreeSwitchModel, InboundCallHandle } from '../test/support/freeswitch/channel-model.ts';
import type { HomeserverSimulator } from '../test/support/homeserver/index.ts';
import type { JsonObject } from '../test/support/homeserver/types.ts';
import { vertoInvitesSent } from '../test/support/freeswitch/verto-backend.ts';
import { benchOffer } from './offer.ts';
import { spread, type Spread } from './timeline.ts';

/** The DID the bench routes to its inbound room (it matches the dialplan override in setup.ts). */
export const INBOUND_DID = '+49301234561';
/** matrix-js-sdk sends an answer's later candidates in one batch this long after it (observed.md). */
const ANSWER_BATCH_MS = 500;

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const portOf = (sdp: string | undefined): string | undefined => (sdp === undefined ? undefined : /^m=audio (\d+) /m.exec(sdp)?.[1]);

interface InboundTimes {
  n: number;
  vertoInviteSent?: number;
  inviteStored?: number;
  answerComplete?: number;
  vertoAnswerReceived?: number;
  handle?: InboundCallHandle;
}

export interface InboundResult {
  readonly placed: number;
  readonly answered: number;
  readonly candidates: 'complete' | 'jssdk';
  readonly ring: Spread;
  readonly answer: Spread;
}

/** Places inbound calls, answers them as `callee` in `roomId`, and times both hops. */
export class InboundDriver {
  readonly #model: FreeSwitchModel;
  readonly #hs: HomeserverSimulator;
  readonly #isEdgeUser: (userId: string) => boolean;
  readonly #callee: string;
  readonly #holdMs: number;
  readonly #candidates: 'complete' | 'jssdk';
  readonly #byTrunk = new Map<string, InboundTimes>();
  readonly #byPort = new Map<string, InboundTimes>();
  readonly #byVertoId = new Map<string, InboundTimes>();
  readonly #calls: InboundTimes[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  ended = 0;

  constructor(model: FreeSwitchModel, hs: HomeserverSimulator, isEdgeUser: (userId: string) => boolean, callee: string, holdMs: number, candidates: 'complete' | 'jssdk') {
    this.#model = model;
    this.#hs = hs;
    this.#isEdgeUser = isEdgeUser;
    this.#callee = callee;
    this.#holdMs = holdMs;
    this.#candidates = candidates;
  }

  get placed(): number {
    return this.#calls.length;
  }

  /** A trunk call to the DID (one caller number: in appservice mode one ghost rings them all). */
  place(): void {
    const t: InboundTimes = { n: this.#calls.length };
    this.#calls.push(t);
    t.handle = this.#model.placeInboundCall({ did: INBOUND_DID.replace('+', ''), callerNumber: '+4917012345678', callerName: 'Bench', context: 'matrix-sip-edge-public' });
    this.#byTrunk.set(t.handle.uuid, t);
    void t.handle.ended.then(() => {
      this.ended++;
    });
  }

  /** Verto server hook. */
  onVertoFrame(direction: 'received' | 'sent', text: string): void {
    const at = performance.now();
    if (direction === 'sent' && text.includes('"verto.invite"')) {
      const params = obj(obj(JSON.parse(text) as unknown)['params']);
      const port = portOf(str(params['sdp']));
      const callId = str(obj(params['dialogParams'])['callID']) ?? str(params['callID']);
      // the trunk leg this Verto leg was offered for (FreeSWITCH's own record of its invites)
      const trunk = callId === undefined ? undefined : vertoInvitesSent(this.#model).find((i) => i.callId === callId)?.originator;
      const t = trunk === undefined ? undefined : this.#byTrunk.get(trunk);
      if (t === undefined || port === undefined || callId === undefined || t.vertoInviteSent !== undefined) return;
      t.vertoInviteSent = at;
      this.#byPort.set(port, t);
      this.#byVertoId.set(callId, t);
    } else if (direction === 'received' && text.includes('"verto.answer"')) {
      const callId = str(obj(obj(obj(JSON.parse(text) as unknown)['params'])['dialogParams'])['callID']);
      const t = callId === undefined ? undefined : this.#byVertoId.get(callId);
      if (t === undefined || t.vertoAnswerReceived !== undefined) return;
      t.vertoAnswerReceived = at;
      this.#later(this.#holdMs, () => t.handle?.hangup());
    }
  }

  /** Homeserver hook: runs synchronously as each event is stored. */
  onEventStored(event: JsonObject): void {
    const at = performance.now();
    if (event['type'] !== 'm.call.invite' || !this.#isEdgeUser(str(event['sender']) ?? '')) return;
    const content = obj(event['content']);
    const t = this.#byPort.get(portOf(str(obj(content['offer'])['sdp'])) ?? '');
    const callId = str(content['call_id']);
    const roomId = str(event['room_id']);
    if (t === undefined || t.inviteStored !== undefined || callId === undefined || roomId === undefined) return;
    t.inviteStored = at;
    // answered at once, outside the homeserver's store call
    this.#later(0, () => this.#answer(t, callId, roomId));
  }

  #answer(t: InboundTimes, callId: string, roomId: string): void {
    const sdp = benchOffer(1_000_000 + t.n).replace('a=setup:actpass', 'a=setup:active');
    const common = { call_id: callId, party_id: 'BENCHIN', version: '1' };
    if (this.#candidates === 'complete') {
      this.#hs.sendEvent(this.#callee, roomId, 'm.call.answer', { ...common, answer: { type: 'answer', sdp } });
      t.answerComplete = performance.now();
      return;
    }
    // matrix-js-sdk: the answer carries what was gathered (here nothing), the rest and end-of-candidates come in one batch 500 ms later
    const candidate = /^a=(candidate:[^\r\n]*)/m.exec(sdp)?.[1] ?? '';
    this.#hs.sendEvent(this.#callee, roomId, 'm.call.answer', { ...common, answer: { type: 'answer', sdp: sdp.replace(/a=candidate:[^\r\n]*\r\n/, '').replace('a=end-of-candidates\r\n', '') } });
    this.#later(ANSWER_BATCH_MS, () => {
      this.#hs.sendEvent(this.#callee, roomId, 'm.call.candidates', { ...common, candidates: [{ candidate, sdpMid: '0', sdpMLineIndex: 0 }, { candidate: '' }] });
      t.answerComplete = performance.now();
    });
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  result(): InboundResult {
    const ring = this.#calls.flatMap((t) => (t.vertoInviteSent !== undefined && t.inviteStored !== undefined ? [t.inviteStored - t.vertoInviteSent] : []));
    const answer = this.#calls.flatMap((t) => (t.answerComplete !== undefined && t.vertoAnswerReceived !== undefined ? [t.vertoAnswerReceived - t.answerComplete] : []));
    return { placed: this.#calls.length, answered: answer.length, candidates: this.#candidates, ring: spread(ring), answer: spread(answer) };
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
