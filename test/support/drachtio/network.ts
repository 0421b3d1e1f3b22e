// The SIP side of the simulated drachtio-server: every datagram it
// receives or sends, in order (what drachtio-server's debug log shows),
// and the endpoints a test attaches at an address (a trunk, FreeSWITCH).
// Nothing goes over a real UDP socket: a test injects what a peer sends
// and sees what the server sent it.
import { EventEmitter } from 'node:events';
import { parseSipMessage, type SipMessage } from './sip-message.ts';

export interface SipPeer {
  readonly transport: 'udp' | 'tcp';
  readonly address: string;
  readonly port: number;
}

export interface NetworkEntry {
  readonly dir: 'in' | 'out';
  readonly peer: SipPeer;
  readonly raw: string;
  /** undefined when the server could not parse it (then it was dropped). */
  readonly message: SipMessage | undefined;
  readonly atMs: number;
}

export type Endpoint = (raw: string, from: SipPeer) => void;

export function peerKey(p: { address: string; port: number }): string {
  return `${p.address}:${p.port}`;
}

export class Network extends EventEmitter {
  readonly record: NetworkEntry[] = [];
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #pending = new Set<NodeJS.Immediate>();
  #handler: ((raw: string, message: SipMessage | undefined, from: SipPeer) => void) | undefined;
  /** The server's own SIP address (what endpoints see as the sender). */
  readonly self: SipPeer;

  constructor(self: SipPeer) {
    super();
    this.self = self;
  }

  /** The server's own handler of what arrives. */
  onReceive(handler: (raw: string, message: SipMessage | undefined, from: SipPeer) => void): void {
    this.#handler = handler;
  }

  /** A peer at this address receives what the server sends there. */
  attach(peer: { address: string; port: number }, endpoint: Endpoint): () => void {
    const key = peerKey(peer);
    this.#endpoints.set(key, endpoint);
    return () => {
      if (this.#endpoints.get(key) === endpoint) this.#endpoints.delete(key);
    };
  }

  /** A datagram from `from` reaches the server's SIP port. */
  inject(raw: string, from: SipPeer): void {
    const message = parseSipMessage(raw);
    this.record.push({ dir: 'in', peer: from, raw, message, atMs: Date.now() });
    this.emit('change');
    this.#handler?.(raw, message, from);
  }

  /** The server sends a datagram; an attached endpoint gets it on the next turn. */
  send(raw: string, to: SipPeer): void {
    this.record.push({ dir: 'out', peer: to, raw, message: parseSipMessage(raw), atMs: Date.now() });
    this.emit('change');
    const endpoint = this.#endpoints.get(peerKey(to));
    if (endpoint === undefined) return;
    const im = setImmediate(() => {
      this.#pending.delete(im);
      endpoint(raw, this.self);
    });
    this.#pending.add(im);
  }

  /** Sent messages to a peer, parsed. */
  sentTo(peer: { address: string; port: number }): SipMessage[] {
    const key = peerKey(peer);
    return this.record.filter((e) => e.dir === 'out' && peerKey(e.peer) === key && e.message !== undefined).map((e) => e.message as SipMessage);
  }

  close(): void {
    for (const im of this.#pending) clearImmediate(im);
    this.#pending.clear();
  }
}
