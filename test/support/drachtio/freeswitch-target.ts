// FreeSWITCH's SIP profile for trunk calls, as the target of drachtio's
// proxy, modelled just enough: it records each INVITE, answers 100 Trying,
// and starts the call in the FreeSWITCH simulator's channel model in the
// given context (the shipped public context), with the variables mod_sofia
// would set from the INVITE (sip_network_ip, sip_call_id, sip_h_X-* for
// every X- header: as mod_sofia 1.10 does, the first of a name is
// sip_h_<name>, later ones sip_h_<name>-1, -2...). The channel's fate becomes the SIP answer: 200 with
// SDP when it is answered, else the status for its hangup cause. A BYE
// through drachtio hangs the channel up; a channel that ends after the
// answer sends BYE back along the Record-Route.
import { EventEmitter } from 'node:events';
import type { FreeSwitchModel, InboundCallHandle } from '../freeswitch/channel-model.ts';
import type { DrachtioSimulator } from './server.ts';
import type { SipPeer } from './network.ts';
import { rand, responseTo } from './sip-build.ts';
import { buildMessage } from './sofia-order.ts';
import {
  callIdOf, cseqOf, getHeader, getHeaders, isRequest, methodOf, parseSipMessage, requestUri, serializeSip, uriOf, userOf,
  type SipMessage,
} from './sip-message.ts';

const STATUS_FOR_CAUSE: Readonly<Record<string, readonly [number, string]>> = {
  UNALLOCATED_NUMBER: [404, 'Not Found'],
  NO_ROUTE_DESTINATION: [404, 'Not Found'],
  USER_BUSY: [486, 'Busy Here'],
  CALL_REJECTED: [603, 'Decline'],
  NORMAL_TEMPORARY_FAILURE: [503, 'Service Unavailable'],
  ORIGINATOR_CANCEL: [487, 'Request Terminated'],
};

interface TargetCall {
  readonly invite: SipMessage;
  readonly from: SipPeer;
  readonly handle: InboundCallHandle;
  readonly toTag: string;
  answered: boolean;
  ended: boolean;
}

export class FreeSwitchSipTarget extends EventEmitter {
  /** Every INVITE that reached FreeSWITCH, in order. */
  readonly invites: SipMessage[] = [];
  readonly peer: SipPeer;
  readonly #sim: DrachtioSimulator;
  readonly #model: FreeSwitchModel;
  readonly #context: string;
  readonly #calls = new Map<string, TargetCall>();
  readonly #detach: () => void;
  readonly #offEvents: () => void;

  constructor(sim: DrachtioSimulator, model: FreeSwitchModel, options: { readonly address?: string; readonly port?: number; readonly context: string }) {
    super();
    this.#sim = sim;
    this.#model = model;
    this.#context = options.context;
    this.peer = { transport: 'udp', address: options.address ?? '127.0.0.1', port: options.port ?? 5080 };
    this.#detach = sim.network.attach(this.peer, (raw, from) => this.#receive(raw, from));
    this.#offEvents = model.onEvent((event) => {
      const name = event.headers.find(([k]) => k === 'Event-Name')?.[1];
      const uuid = event.headers.find(([k]) => k === 'Unique-ID')?.[1];
      if (name !== 'CHANNEL_ANSWER' || uuid === undefined) return;
      for (const call of this.#calls.values()) if (call.handle.uuid === uuid) this.#answer(call);
    });
  }

  /** The channel-model UUID of the call with this SIP Call-ID. */
  channelOf(callId: string): string | undefined {
    return this.#calls.get(callId)?.handle.uuid;
  }

  close(): void {
    this.#detach();
    this.#offEvents();
  }

  /** What FreeSWITCH sends reaches drachtio-server's SIP port from FreeSWITCH's address. */
  #send(m: SipMessage, _to: SipPeer): void {
    this.#sim.network.inject(serializeSip(m), this.peer);
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'change') this.#sim.emit('change');
    return super.emit(event, ...args);
  }

  #receive(raw: string, from: SipPeer): void {
    const m = parseSipMessage(raw);
    if (m === undefined || !isRequest(m)) return;
    const method = methodOf(m);
    const call = this.#calls.get(callIdOf(m));
    if (method === 'INVITE' && call === undefined) this.#onInvite(m, from);
    else if (method === 'BYE' && call !== undefined) {
      this.#send(responseTo(m, 200, 'OK', undefined), from);
      call.ended = true;
      call.handle.hangup();
    } else if (method === 'CANCEL' && call !== undefined) {
      this.#send(responseTo(m, 200, 'OK', call.toTag), from);
      call.handle.hangup();
    }
    this.emit('change');
  }

  #onInvite(invite: SipMessage, from: SipPeer): void {
    this.invites.push(invite);
    this.#send(responseTo(invite, 100, 'Trying', undefined), from);
    const variables: Record<string, string> = {
      sip_network_ip: from.address,
      sip_network_port: String(from.port),
      sip_call_id: callIdOf(invite),
    };
    const taken = (name: string) => Object.keys(variables).some((k) => k.toLowerCase() === name.toLowerCase());
    for (const h of invite.headers) {
      if (!/^x-/i.test(h.name) || h.value === '') continue;
      let name = `sip_h_${h.name}`;
      for (let reps = 1; taken(name); reps += 1) name = `sip_h_${h.name}-${reps}`;
      variables[name] = h.value;
    }
    const fromHeader = getHeader(invite, 'from') ?? '';
    const display = /^\s*"([^"]*)"/.exec(fromHeader)?.[1];
    const handle = this.#model.placeInboundCall({
      did: userOf(requestUri(invite)),
      callerNumber: userOf(uriOf(fromHeader)) || 'anonymous',
      ...(display === undefined ? {} : { callerName: display }),
      context: this.#context,
      variables,
    });
    const call: TargetCall = { invite, from, handle, toTag: rand(6), answered: false, ended: false };
    this.#calls.set(callIdOf(invite), call);
    void handle.ended.then((cause) => this.#onEnded(call, cause));
    this.emit('change');
  }

  #answer(call: TargetCall): void {
    if (call.answered || call.ended) return;
    call.answered = true;
    const sdp = this.#model.answerSdpFor(call.invite.body);
    const did = userOf(requestUri(call.invite));
    this.#send(responseTo(call.invite, 200, 'OK', call.toTag, [
      ...getHeaders(call.invite, 'record-route').map((v) => ({ name: 'Record-Route', value: v })),
      { name: 'Contact', value: `<sip:${did}@${this.peer.address}:${this.peer.port};transport=udp>` },
      { name: 'Content-Type', value: 'application/sdp' },
    ], sdp), call.from);
    this.emit('change');
  }

  #onEnded(call: TargetCall, cause: string): void {
    if (call.ended) return;
    call.ended = true;
    if (!call.answered) {
      const [status, reason] = STATUS_FOR_CAUSE[cause] ?? [480, 'Temporarily Unavailable'];
      this.#send(responseTo(call.invite, status, reason, call.toTag, [{ name: 'Reason', value: `Q.850;cause=16;text="${cause}"` }]), call.from);
    } else {
      // FreeSWITCH hangs up: BYE to the caller along the Record-Route
      const inviteFrom = getHeader(call.invite, 'from') ?? '';
      const to = getHeader(call.invite, 'to') ?? '';
      this.#send(buildMessage(`BYE ${uriOf(getHeaders(call.invite, 'contact')[0] ?? inviteFrom)} SIP/2.0`, [
        { name: 'Via', value: `SIP/2.0/UDP ${this.peer.address}:${this.peer.port};rport;branch=z9hG4bK${rand()}` },
        ...getHeaders(call.invite, 'record-route').map((v) => ({ name: 'Route', value: v })),
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: `${to};tag=${call.toTag}` },
        { name: 'To', value: inviteFrom },
        { name: 'Call-ID', value: callIdOf(call.invite) },
        { name: 'CSeq', value: `${(cseqOf(call.invite)?.seq ?? 1) + 100} BYE` },
        { name: 'Reason', value: `Q.850;cause=16;text="${cause}"` },
      ], ''), call.from);
    }
    this.emit('change');
  }
}

