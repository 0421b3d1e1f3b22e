// A small scriptable VertoBackend for testing the Verto protocol layer
// without the channel model. Calls are plain records; what the "far end"
// does after an invite is up to the test (`onInvite`).
import type { VertoBackend, VertoCallResult, VertoCallSink, VertoInviteRequest } from './contract.ts';
import { answerSdp, reofferSdp } from './verto-sdp.ts';

export interface FakeCall {
  readonly callId: string;
  sessid: string;
  answered: boolean;
  held: boolean;
  bridged: boolean;
  detached: boolean;
  /** The client's verto.invite had dialogParams.recoverCall false (CF_NO_RECOVER). */
  readonly noRecover: boolean;
  readonly inbound: boolean;
  readonly offer: string;
}

export class FakeVertoBackend implements VertoBackend {
  readonly calls = new Map<string, FakeCall>();
  readonly sinks = new Map<string, VertoCallSink>();
  readonly log: string[] = [];
  readonly dtmfs: Array<{ callId: string; digits: string }> = [];
  readonly invites: VertoInviteRequest[] = [];
  /** Called after a successful invite: drive the sink (media/answer/bye…). */
  onInvite: (req: VertoInviteRequest, sink: VertoCallSink, call: FakeCall) => void = () => {};
  /** Caller/callee ids of a re-attach offer (after variables and sdp). */
  attachParams: (call: FakeCall) => Readonly<Record<string, string>> = (c) => ({
    caller_id_name: 'Alice Example',
    caller_id_number: '1000',
    callee_id_name: 'Outbound Call',
    callee_id_number: '9196',
    display_direction: c.inbound ? 'outbound' : 'inbound',
  });

  attachSession(sessid: string, user: string, sink: VertoCallSink): readonly string[] {
    this.log.push(`attach ${sessid} ${user}`);
    this.sinks.set(sessid, sink);
    const back: string[] = [];
    for (const c of this.calls.values()) {
      if (c.sessid === sessid && c.detached) {
        c.detached = false;
        sink.attach(c.callId, { variables: null, sdp: reofferSdp(), ...this.attachParams(c) });
        back.push(c.callId);
      }
    }
    return back;
  }

  /** mod_verto detach_calls: unanswered and recoverCall-false calls end, the other answered ones detach. */
  detachSession(sessid: string): void {
    this.log.push(`detach ${sessid}`);
    this.sinks.delete(sessid);
    for (const c of [...this.calls.values()]) {
      if (c.sessid !== sessid) continue;
      if (c.answered && !c.noRecover) c.detached = true;
      else this.calls.delete(c.callId);
    }
  }

  invite(req: VertoInviteRequest): VertoCallResult {
    if (this.calls.has(req.callId)) return { ok: false, message: 'Cannot create channel', cause: 'INVALID_MSG_UNSPECIFIED', causeCode: 95 };
    this.invites.push(req);
    const call: FakeCall = { callId: req.callId, sessid: req.sessid, answered: false, held: false, bridged: false, detached: false, noRecover: req.noRecover === true, inbound: false, offer: req.sdp };
    this.calls.set(req.callId, call);
    const sink = this.sinks.get(req.sessid);
    if (sink !== undefined) this.onInvite(req, sink, call);
    return { ok: true };
  }

  /** FreeSWITCH calls the client (inbound): server verto.invite. */
  offer(sessid: string, callId: string, params: Readonly<Record<string, unknown>>): void {
    const sdp = typeof params['sdp'] === 'string' ? params['sdp'] : '';
    this.calls.set(callId, { callId, sessid, answered: false, held: false, bridged: false, detached: false, noRecover: false, inbound: true, offer: sdp });
    this.sinks.get(sessid)?.invite(callId, params);
  }

  /** FreeSWITCH hangs the call up (server verto.bye). */
  hangup(callId: string, cause: string, causeCode: number): void {
    const c = this.calls.get(callId);
    if (c === undefined) return;
    this.calls.delete(callId);
    this.sinks.get(c.sessid)?.bye(callId, cause, causeCode);
  }

  /** Answer SDP for a call as FreeSWITCH would write it. */
  answerFor(callId: string): string {
    return answerSdp(this.calls.get(callId)?.offer ?? '');
  }

  answer(sessid: string, callId: string, _sdp: string): VertoCallResult {
    const c = this.calls.get(callId);
    if (c === undefined) return { ok: false, message: 'CALL DOES NOT EXIST' };
    c.answered = true;
    return { ok: true };
  }

  bye(_sessid: string, callId: string, cause: string | undefined, causeCode: number | undefined): VertoCallResult {
    if (!this.calls.delete(callId)) return { ok: false, message: 'CALL DOES NOT EXIST' };
    return { ok: true, fields: { cause, causeCode } };
  }

  dtmf(_sessid: string, callId: string, digits: string): VertoCallResult {
    if (!this.calls.has(callId)) return { ok: true };
    this.dtmfs.push({ callId, digits });
    return { ok: true, fields: { message: 'SENT' } };
  }

  modify(_sessid: string, callId: string, action: string, _params: Readonly<Record<string, unknown>>): VertoCallResult {
    const c = this.calls.get(callId);
    if (c === undefined) return { ok: false, message: 'CALL DOES NOT EXIST' };
    if (action === 'transfer') {
      if (!c.bridged) return { ok: false, message: 'call is not bridged' };
      c.bridged = false;
      return { ok: true, fields: { message: 'CALL TRANSFERRED', holdState: c.held ? 'held' : 'active' } };
    }
    if (action === 'hold') c.held = true;
    else if (action === 'unhold') c.held = false;
    else if (action === 'toggleHold') c.held = !c.held;
    return { ok: true, fields: { holdState: c.held ? 'held' : 'active' } };
  }

  reattach(_sessid: string, callId: string, _sdp: string): VertoCallResult {
    return this.calls.has(callId) ? { ok: true } : { ok: false, message: 'CALL DOES NOT EXIST' };
  }
}
