// A SIP trunk in front of the simulated drachtio-server: it sends INVITE,
// OPTIONS, CANCEL, ACK and BYE from its own address (a test picks the
// source address, User-Agent and dialled number) and records every
// response. It ACKs final responses the way a UA does (a rejection on the
// INVITE's branch, a 2xx as a new request along the Record-Route) and
// answers requests sent to it (a BYE from FreeSWITCH) with 200.
import { EventEmitter } from 'node:events';
import type { DrachtioSimulator } from './server.ts';
import type { SipPeer } from './network.ts';
import { responseTo, rand, routeSet, SDP_OFFER } from './sip-build.ts';
import { buildMessage } from './sofia-order.ts';
import {
  callIdOf, cseqOf, getHeader, getHeaders, isRequest, methodOf, parseSipMessage, serializeSip, statusOf, uriOf,
  type SipHeaderLine, type SipMessage,
} from './sip-message.ts';

export interface TrunkInvite {
  readonly did: string;
  readonly callerNumber?: string;
  readonly callerName?: string;
  readonly userAgent?: string;
  readonly sdp?: string;
  /** More headers, in this order, after Max-Forwards / User-Agent (e.g. a forged X-MSE-Route). */
  readonly extraHeaders?: readonly SipHeaderLine[];
}

export class TrunkCall extends EventEmitter {
  readonly callId: string;
  readonly invite: SipMessage;
  readonly responses: SipMessage[] = [];
  /** Requests the far side sent into this call (a BYE from FreeSWITCH). */
  readonly requests: SipMessage[] = [];
  readonly #trunk: Trunk;

  constructor(trunk: Trunk, invite: SipMessage) {
    super();
    this.#trunk = trunk;
    this.invite = invite;
    this.callId = callIdOf(invite);
  }

  /** The final response to the INVITE, once there is one. */
  get final(): SipMessage | undefined {
    return this.responses.find((r) => cseqOf(r)?.method === 'INVITE' && statusOf(r) >= 200);
  }

  get statuses(): number[] {
    return this.responses.filter((r) => cseqOf(r)?.method === 'INVITE').map(statusOf);
  }

  /** CANCEL (same branch as the INVITE). */
  cancel(): void {
    const m = buildMessage(`CANCEL ${this.invite.startLine.split(' ')[1] ?? ''} SIP/2.0`, [
      { name: 'Via', value: getHeader(this.invite, 'via') ?? '' },
      { name: 'From', value: getHeader(this.invite, 'from') ?? '' },
      { name: 'To', value: getHeader(this.invite, 'to') ?? '' },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${cseqOf(this.invite)?.seq ?? 1} CANCEL` },
      { name: 'Max-Forwards', value: '70' },
    ], '');
    this.#trunk.send(m);
  }

  /** BYE along the dialog the 2xx set up. */
  bye(): void {
    const ok = this.final;
    if (ok === undefined || statusOf(ok) >= 300) throw new Error('no established call to hang up');
    this.#trunk.send(this.#inDialog('BYE', ok, 2));
  }

  #inDialog(method: string, ok: SipMessage, seq: number): SipMessage {
    return buildMessage(`${method} ${uriOf(getHeaders(ok, 'contact')[0] ?? '')} SIP/2.0`, [
      { name: 'Via', value: this.#trunk.via() },
      { name: 'From', value: getHeader(this.invite, 'from') ?? '' },
      { name: 'To', value: getHeader(ok, 'to') ?? '' },
      ...routeSet(ok),
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${seq} ${method}` },
      { name: 'Max-Forwards', value: '70' },
    ], '');
  }

  /** @internal */
  onMessage(m: SipMessage): void {
    if (isRequest(m)) {
      this.requests.push(m);
      if (methodOf(m) !== 'ACK') this.#trunk.send(responseTo(m, 200, 'OK', undefined));
      this.emit('change');
      this.#trunk.notify();
      return;
    }
    this.responses.push(m);
    const status = statusOf(m);
    if (cseqOf(m)?.method === 'INVITE' && status >= 200) {
      if (status >= 300) {
        this.#trunk.send(buildMessage(`ACK ${this.invite.startLine.split(' ')[1] ?? ''} SIP/2.0`, [
          { name: 'Via', value: getHeader(this.invite, 'via') ?? '' },
          { name: 'From', value: getHeader(this.invite, 'from') ?? '' },
          { name: 'To', value: getHeader(m, 'to') ?? '' },
          { name: 'Call-ID', value: this.callId },
          { name: 'CSeq', value: `${cseqOf(this.invite)?.seq ?? 1} ACK` },
          { name: 'Max-Forwards', value: '70' },
        ], ''));
      } else if (this.responses.filter((r) => cseqOf(r)?.method === 'INVITE' && statusOf(r) >= 200).length === 1) {
        this.#trunk.send(this.#inDialog('ACK', m, cseqOf(this.invite)?.seq ?? 1));
      }
    }
    this.emit('change');
    this.#trunk.notify();
  }
}

export class Trunk {
  readonly peer: SipPeer;
  readonly #sim: DrachtioSimulator;
  readonly #calls = new Map<string, TrunkCall>();
  readonly #detach: () => void;
  /** OPTIONS responses, in order. */
  readonly optionsResponses: SipMessage[] = [];

  constructor(sim: DrachtioSimulator, address: string, port = 5060) {
    this.#sim = sim;
    this.peer = { transport: 'udp', address, port };
    this.#detach = sim.network.attach(this.peer, (raw) => this.#receive(raw));
  }

  via(): string {
    return `SIP/2.0/UDP ${this.peer.address}:${this.peer.port};branch=z9hG4bK-${rand()}`;
  }

  send(m: SipMessage): void {
    this.#sim.network.inject(serializeSip(m), this.peer);
  }

  invite(options: TrunkInvite): TrunkCall {
    const { host, port } = this.#sim.sip;
    const caller = options.callerNumber ?? '+4940123456';
    const sdp = options.sdp ?? SDP_OFFER;
    const headers: SipHeaderLine[] = [
      { name: 'Via', value: this.via() },
      { name: 'From', value: `"${options.callerName ?? caller}" <sip:${caller}@${this.peer.address}:${this.peer.port}>;tag=${rand(4)}` },
      { name: 'To', value: `<sip:${options.did}@${host}:${port}>` },
      { name: 'Call-ID', value: `${rand()}@${this.peer.address}` },
      { name: 'CSeq', value: '1 INVITE' },
      { name: 'Contact', value: `<sip:${caller}@${this.peer.address}:${this.peer.port}>` },
      { name: 'Max-Forwards', value: '70' },
      ...(options.userAgent === undefined ? [] : [{ name: 'User-Agent', value: options.userAgent }]),
      { name: 'Content-Type', value: 'application/sdp' },
      ...(options.extraHeaders ?? []),
    ];
    const invite = buildMessage(`INVITE sip:${options.did}@${host}:${port} SIP/2.0`, headers, sdp);
    const call = new TrunkCall(this, invite);
    this.#calls.set(call.callId, call);
    this.send(invite);
    return call;
  }

  /** An OPTIONS ping; its response lands in optionsResponses. */
  options(userAgent?: string): string {
    const { host, port } = this.#sim.sip;
    const callId = `${rand()}@${this.peer.address}`;
    this.send(buildMessage(`OPTIONS sip:${host}:${port} SIP/2.0`, [
      { name: 'Via', value: this.via() },
      { name: 'From', value: `<sip:trunk@${this.peer.address}:${this.peer.port}>;tag=${rand(4)}` },
      { name: 'To', value: `<sip:${host}:${port}>` },
      { name: 'Call-ID', value: callId },
      { name: 'CSeq', value: '1 OPTIONS' },
      { name: 'Max-Forwards', value: '70' },
      ...(userAgent === undefined ? [] : [{ name: 'User-Agent', value: userAgent }]),
    ], ''));
    return callId;
  }

  close(): void {
    this.#detach();
  }

  #receive(raw: string): void {
    const m = parseSipMessage(raw);
    if (m === undefined) return;
    const call = this.#calls.get(callIdOf(m));
    if (call !== undefined) {
      call.onMessage(m);
      return;
    }
    if (!isRequest(m) && cseqOf(m)?.method === 'OPTIONS') {
      this.optionsResponses.push(m);
      this.#sim.emit('change');
    }
  }

  /** A call's state changed: waiters on the simulator see it too. */
  notify(): void {
    this.#sim.emit('change');
  }
}
