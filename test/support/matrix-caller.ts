// A Matrix user placing a call the way matrix-js-sdk does, with a real
// WebRTC stack (werift) for the media side: the offer goes out in
// m.call.invite, candidates trickle in m.call.candidates as werift gathers
// them, then end-of-candidates ({"candidate": ""}).
import { RTCPeerConnection } from 'werift';
import type { HomeserverSimulator } from './homeserver/index.ts';

type Json = Record<string, unknown>;

export interface CallerOptions {
  readonly hs: HomeserverSimulator;
  readonly userId: string;
  readonly roomId: string;
  readonly callId: string;
  readonly partyId?: string;
  readonly version?: '1' | 0;
  readonly lifetime?: number;
  /** Send end-of-candidates once gathering completes (default true). */
  readonly endOfCandidates?: boolean;
  /** The v1 invite's `invitee` (the one user the call is for). */
  readonly invitee?: string;
  /** More m-lines after the first audio one (e.g. ['video']), each gathering its own candidates. */
  readonly extraMedia?: ReadonlyArray<'audio' | 'video'>;
  /**
   * matrix-js-sdk's candidate timing: the invite goes with the candidates
   * gathered so far in its offer (here: the first one), the later ones and
   * end-of-candidates follow in one m.call.candidates this long after it.
   */
  readonly jsSdkBatchMs?: number;
}

export class WeriftCaller {
  readonly pc: RTCPeerConnection;
  readonly options: CallerOptions;
  /** Every candidate trickled to Matrix, in order. */
  readonly trickled: Array<{ candidate: string; sdpMid?: string; sdpMLineIndex?: number }> = [];
  offerSdp = '';
  #gatheringDone!: Promise<void>;

  constructor(options: CallerOptions) {
    this.options = options;
    this.pc = new RTCPeerConnection({ iceUseIpv4: true, iceUseIpv6: false });
    this.pc.addTransceiver('audio', { direction: 'sendrecv' });
    for (const kind of options.extraMedia ?? []) this.pc.addTransceiver(kind, { direction: 'sendrecv' });
  }

  #common(): Json {
    const o = this.options;
    return o.version === 0 ? { call_id: o.callId, version: 0 } : { call_id: o.callId, party_id: o.partyId ?? 'ALICEDEVICE', version: '1' };
  }

  send(type: string, content: Json): string {
    return this.options.hs.sendEvent(this.options.userId, this.options.roomId, type, { ...this.#common(), ...content } as never);
  }

  /** Create the offer, send the invite, trickle candidates as they come. Resolves when all were sent. */
  async invite(): Promise<void> {
    if (this.options.jsSdkBatchMs !== undefined) return this.#inviteLikeJsSdk(this.options.jsSdkBatchMs);
    const queue: Array<Json | undefined> = [];
    let invited = false;
    let resolveDone!: () => void;
    this.#gatheringDone = new Promise<void>((r) => (resolveDone = r));
    const flush = () => {
      while (invited && queue.length > 0) {
        const c = queue.shift();
        if (c === undefined) {
          if (this.options.endOfCandidates !== false) this.send('m.call.candidates', { candidates: [{ candidate: '' }] });
          resolveDone();
        } else {
          this.trickled.push(c as never);
          this.send('m.call.candidates', { candidates: [c] });
        }
      }
    };
    this.pc.onIceCandidate.subscribe((c) => {
      queue.push(c ? (c.toJSON() as unknown as Json) : undefined);
      flush();
    });
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.offerSdp = offer.sdp;
    this.send('m.call.invite', { offer: { type: 'offer', sdp: offer.sdp }, lifetime: this.options.lifetime ?? 60_000, ...(this.options.invitee === undefined ? {} : { invitee: this.options.invitee }) });
    invited = true;
    flush();
    await this.#gatheringDone;
  }

  /** When the batch of later candidates went (matrix-js-sdk timing), Date.now(). */
  batchSentAt = 0;

  async #inviteLikeJsSdk(batchMs: number): Promise<void> {
    const gathered: Json[] = [];
    let complete!: () => void;
    const done = new Promise<void>((r) => (complete = r));
    this.pc.onIceCandidate.subscribe((c) => {
      if (c) gathered.push(c.toJSON() as unknown as Json);
      else complete();
    });
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await done;
    const [first, ...later] = gathered;
    if (first === undefined) throw new Error('werift gathered no candidate');
    // the offer as matrix-js-sdk sends it: what was gathered so far inline, no end-of-candidates
    const sdp = offer.sdp.replace(/(a=mid:0\r\n)/, `$1a=${String(first['candidate']).replace(/^a=/, '')}\r\n`);
    this.offerSdp = sdp;
    this.trickled.push(first as never);
    this.send('m.call.invite', { offer: { type: 'offer', sdp }, lifetime: this.options.lifetime ?? 60_000 });
    await new Promise<void>((r) => setTimeout(r, batchMs));
    this.trickled.push(...(later as never[]));
    this.batchSentAt = Date.now();
    this.send('m.call.candidates', { candidates: [...later, { candidate: '' }] });
  }

  /** Apply the edge's answer to werift (which checks mids, BUNDLE, DTLS, ICE). */
  async applyAnswer(content: Json): Promise<void> {
    const answer = content['answer'] as { sdp: string };
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  }

  hangup(reason = 'user_hangup'): void {
    this.send('m.call.hangup', { reason });
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}

/**
 * A Matrix device answering a call the way matrix-js-sdk does: applies the
 * invite's offer to werift (which checks it), answers with its own SDP,
 * then trickles its candidates and end-of-candidates.
 */
export class WeriftCallee {
  readonly pc = new RTCPeerConnection({ iceUseIpv4: true, iceUseIpv6: false });
  readonly trickled: Json[] = [];
  readonly hs: HomeserverSimulator;
  readonly userId: string;
  readonly roomId: string;
  readonly partyId: string;

  constructor(hs: HomeserverSimulator, userId: string, roomId: string, partyId: string) {
    this.hs = hs;
    this.userId = userId;
    this.roomId = roomId;
    this.partyId = partyId;
  }

  send(callId: string, type: string, content: Json): string {
    return this.hs.sendEvent(this.userId, this.roomId, type, { call_id: callId, party_id: this.partyId, version: '1', ...content } as never);
  }

  /**
   * Answer the invite; resolves once the answer and every candidate were
   * sent. With `jsSdkBatchMs`, as matrix-js-sdk does (queueCandidate): the
   * candidates gathered after the answer go in one m.call.candidates that
   * long after it, end-of-candidates in the same batch when gathering is
   * done by then (else in a batch of its own).
   */
  async answer(invite: Json, opts: { endOfCandidates?: boolean; jsSdkBatchMs?: number } = {}): Promise<void> {
    if (opts.jsSdkBatchMs !== undefined) return this.#answerBatched(invite, opts.jsSdkBatchMs);
    const content = invite['content'] as Json;
    const callId = content['call_id'] as string;
    await this.pc.setRemoteDescription({ type: 'offer', sdp: (content['offer'] as { sdp: string }).sdp });
    const queue: Array<Json | undefined> = [];
    let answered = false;
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const flush = () => {
      while (answered && queue.length > 0) {
        const c = queue.shift();
        if (c === undefined) {
          if (opts.endOfCandidates !== false) this.send(callId, 'm.call.candidates', { candidates: [{ candidate: '' }] });
          done();
        } else {
          this.trickled.push(c);
          this.send(callId, 'm.call.candidates', { candidates: [c] });
        }
      }
    };
    this.pc.onIceCandidate.subscribe((c) => {
      queue.push(c ? (c.toJSON() as unknown as Json) : undefined);
      flush();
    });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.send(callId, 'm.call.answer', { answer: { type: 'answer', sdp: answer.sdp } });
    answered = true;
    flush();
    await finished;
  }

  async #answerBatched(invite: Json, batchMs: number): Promise<void> {
    const content = invite['content'] as Json;
    const callId = content['call_id'] as string;
    await this.pc.setRemoteDescription({ type: 'offer', sdp: (content['offer'] as { sdp: string }).sdp });
    const batch: Json[] = [];
    let gatheringDone = false;
    let onDone: (() => void) | undefined;
    this.pc.onIceCandidate.subscribe((c) => {
      if (c !== undefined) batch.push(c.toJSON() as unknown as Json);
      else {
        gatheringDone = true;
        onDone?.();
      }
    });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.send(callId, 'm.call.answer', { answer: { type: 'answer', sdp: answer.sdp } });
    await new Promise<void>((r) => setTimeout(r, batchMs));
    const first = batch.splice(0);
    this.trickled.push(...first);
    if (gatheringDone) {
      this.send(callId, 'm.call.candidates', { candidates: [...first, { candidate: '' }] });
      return;
    }
    if (first.length > 0) this.send(callId, 'm.call.candidates', { candidates: first });
    await new Promise<void>((r) => {
      onDone = r;
      if (gatheringDone) r();
    });
    const rest = batch.splice(0);
    this.trickled.push(...rest);
    this.send(callId, 'm.call.candidates', { candidates: [...rest, { candidate: '' }] });
  }

  async close(): Promise<void> {
    await this.pc.close();
  }
}
