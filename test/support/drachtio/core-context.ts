// Shared state and helpers of the simulated drachtio-server's SIP core:
// the stores, the admin-wire shapes of a delivered request and of a reply,
// and the Via handling sofia does on receipt (rport filled in).
import { ids, stackTime } from './sip-ids.ts';
import type { Network, SipPeer } from './network.ts';
import { headerKey, serializeSip, splitList, type SipMessage } from './sip-message.ts';
import type { AppLink, ClientTxn, Dialog, ServerTxn, SipIdentity } from './state.ts';

const CRLF = '\r\n';

export class CoreContext {
  readonly network: Network;
  readonly self: SipIdentity;
  readonly serverTxns = new Map<string, ServerTxn>();
  readonly serverTxnsByBranch = new Map<string, ServerTxn>();
  readonly clientTxns = new Map<string, ClientTxn>();
  readonly dialogs = new Map<string, Dialog>();
  readonly #apps: () => readonly AppLink[];
  #roundRobin = 0;

  constructor(network: Network, self: SipIdentity, apps: () => readonly AppLink[]) {
    this.network = network;
    this.self = self;
    this.#apps = apps;
  }

  get selfPeer(): SipPeer {
    return { transport: 'udp', address: this.self.host, port: this.self.port };
  }

  /** An open connection that asked for this verb (round robin, as drachtio-server does). */
  appFor(method: string): AppLink | undefined {
    const verb = method.toLowerCase();
    const candidates = this.#apps().filter((a) => a.open && a.routes.has(verb));
    if (candidates.length === 0) return undefined;
    this.#roundRobin = (this.#roundRobin + 1) % candidates.length;
    return candidates[this.#roundRobin];
  }

  /** `sip|network|...` with the SIP as the server passes it on. */
  deliver(app: AppLink, d: { rawLength: number; transport: string; from: SipPeer; txnId: string; dialogId: string; receivedOn: boolean; sip: string }): void {
    const tokens = ['sip', 'network', String(d.rawLength), d.transport, d.from.address, String(d.from.port), stackTime(), d.txnId, d.dialogId];
    const tail = d.receivedOn ? `|${this.self.host}|${this.self.port}|` : '|';
    app.send(`${ids.uuid()}|${tokens.join('|')}${tail}${CRLF}${d.sip}`);
  }

  /** `<uuid>|response|<msgId>|<tokens...>` (+ CRLF + SIP). */
  reply(app: AppLink, msgId: string, tokens: readonly string[], sip?: string): void {
    app.send(`${ids.uuid()}|response|${msgId}|${tokens.join('|')}${sip === undefined ? '' : CRLF + sip}`);
  }

  sendTo(peer: SipPeer, m: SipMessage): string {
    const raw = serializeSip(m);
    this.network.send(raw, peer);
    return raw;
  }

  ourVia(branch: string): string {
    return `SIP/2.0/UDP ${this.self.host}:${this.self.port};rport;branch=${branch}`;
  }

  /** callid;from-tag=<tag of the INVITE's From> */
  static dialogId(callId: string, fromTag: string): string {
    return `${callId};from-tag=${fromTag}`;
  }
}

/** sofia on receipt: the top Via gets rport=<source port> (and received= when the host differs). */
export function fillRport(raw: string, from: SipPeer): string {
  const lines = raw.split(CRLF);
  const i = lines.findIndex((l, n) => n > 0 && /^(via|v)\s*:/i.test(l));
  if (i < 0) return raw;
  const line = lines[i] ?? '';
  const colon = line.indexOf(':');
  const values = splitList(line.slice(colon + 1));
  const top = values[0] ?? '';
  let updated = top;
  if (/;\s*rport(?=;|$)/i.test(top)) updated = top.replace(/;\s*rport(?=;|$)/i, `;rport=${from.port}`);
  else if (!/;\s*rport=/i.test(top)) updated = `${top};rport=${from.port}`;
  const sentBy = /^SIP\/2\.0\/[A-Za-z]+\s+([^;:\s]+)/.exec(top)?.[1];
  if (sentBy !== undefined && sentBy !== from.address && !/;\s*received=/i.test(updated)) updated = `${updated};received=${from.address}`;
  if (updated === top) return raw;
  const rest = line.slice(colon + 1);
  const at = rest.indexOf(top);
  lines[i] = `${line.slice(0, colon + 1)}${rest.slice(0, at)}${updated}${rest.slice(at + top.length)}`;
  return lines.join(CRLF);
}

/** The branch of the top Via. */
export function topBranch(m: SipMessage): string {
  const via = m.headers.find((h) => headerKey(h.name) === 'via');
  const top = via === undefined ? '' : (splitList(via.value)[0] ?? '');
  return /;\s*branch=([^;,\s]+)/i.exec(top)?.[1] ?? '';
}

/** Remove the top Via value (the rest of that line stays, as sofia prints the remaining list). */
export function popVia(m: SipMessage): SipMessage {
  const i = m.headers.findIndex((h) => headerKey(h.name) === 'via');
  if (i < 0) return m;
  const h = m.headers[i];
  if (h === undefined) return m;
  const rest = splitList(h.value).slice(1);
  const headers = [...m.headers];
  if (rest.length === 0) headers.splice(i, 1);
  else headers[i] = { name: 'Via', value: rest.join(', ') };
  return { ...m, headers };
}
