// `proxy|<txnId>|remainInDialog|fullResponse|followRedirects|serial|<prov>|<final>|<dest>...`
// + a stub whose headers are merged into the real INVITE: drachtio-server
// (makeTags) turns a header sofia knows into its SIPTAG_*_STR, which
// replaces a single header of that name, and any other (X-...) into
// SIPTAG_UNKNOWN_STR, which sofia-sip appends (sip_unknown_class is
// msg_kind_append): a copy the caller sent stays, before the app's. The server sends
// the INVITE on (its Via on top, Record-Route, Max-Forwards - 1), reports
// each FINAL response of a target as `...|OK|network|...|continue` + SIP
// (provisionals are not reported), ACKs a rejection itself, relays the
// final answer to the caller, then says `...|OK|done`. A record-routed
// dialog's ACK and BYE then pass through the server in either direction
// with nothing on the admin wire.
import { CoreContext, popVia } from './core-context.ts';
import { ids, stackTime } from './sip-ids.ts';
import type { SipPeer } from './network.ts';
import {
  callIdOf, cseqOf, getHeader, headerKey, hostPortOf, requestUri, serializeSip, statusOf, tagOf, uriOf,
  withStartLine, withoutHeaders, type SipHeaderLine, type SipMessage,
} from './sip-message.ts';
import { buildMessage, canonicalize, insertHeader, rankOf, UNKNOWN_RANK } from './sofia-order.ts';
import type { AppLink, ProxyDialog, ServerTxn } from './state.ts';

interface ProxyRun {
  readonly ctx: CoreContext;
  readonly app: AppLink;
  readonly msgId: string;
  readonly txn: ServerTxn;
  readonly recordRoute: boolean;
  readonly destinations: readonly string[];
  readonly extra: readonly SipHeaderLine[];
  next: number;
  current: { branch: string; request: SipMessage; peer: SipPeer } | undefined;
}

const running = new WeakMap<ServerTxn, ProxyRun>();

function peerOf(uri: string): SipPeer {
  const hp = hostPortOf(uri);
  return { transport: /;transport=tcp/i.test(uri) ? 'tcp' : 'udp', address: hp.host, port: hp.port };
}

function prependVia(m: SipMessage, value: string): SipMessage {
  const i = m.headers.findIndex((h) => headerKey(h.name) === 'via');
  const headers = [...m.headers];
  headers.splice(i < 0 ? 0 : i, 0, { name: 'Via', value });
  return { ...m, headers };
}

/** Drop a top Route that names this server (loose routing). */
function popOwnRoute(ctx: CoreContext, m: SipMessage): SipMessage {
  const i = m.headers.findIndex((h) => headerKey(h.name) === 'route');
  const h = i < 0 ? undefined : m.headers[i];
  if (h === undefined) return m;
  const hp = hostPortOf(uriOf(h.value));
  if (hp.host !== ctx.self.host || hp.port !== ctx.self.port) return m;
  const headers = [...m.headers];
  headers.splice(i, 1);
  return { ...m, headers };
}

export function onAppProxy(ctx: CoreContext, app: AppLink, msgId: string, tokens: readonly string[], stub: SipMessage | undefined): void {
  // tokens: proxy, txnId, remainInDialog, fullResponse, followRedirects, serial|simultaneous, prov, final, dest...
  const txn = ctx.serverTxns.get(tokens[1] ?? '');
  const destinations = tokens.slice(8).filter((d) => d !== '');
  if (txn === undefined || txn.method !== 'INVITE' || txn.final !== undefined || txn.canceled || destinations.length === 0) {
    ctx.reply(app, msgId, ['NOK', txn === undefined ? 'unknown transaction id' : 'transaction cannot be proxied']);
    return;
  }
  txn.proxied = true;
  const extra = (stub?.headers ?? []).filter((h) => !['content-length', 'via', 'call-id', 'cseq'].includes(headerKey(h.name)));
  const run: ProxyRun = { ctx, app, msgId, txn, recordRoute: tokens[2] === 'remainInDialog', destinations, extra, next: 0, current: undefined };
  running.set(txn, run);
  attempt(run);
}

function attempt(run: ProxyRun): void {
  const { ctx, txn } = run;
  const dest = run.destinations[run.next] ?? '';
  run.next += 1;
  const branch = ids.branchProxy();
  let m = withoutHeaders(popOwnRoute(ctx, canonicalize(txn.request)), 'max-forwards');
  m = withStartLine(m, `INVITE ${dest} SIP/2.0`);
  m = prependVia(m, ctx.ourVia(branch));
  let headers = [...m.headers];
  if (run.recordRoute) headers = insertHeader(headers, { name: 'Record-Route', value: `<sip:${ctx.self.host}:${ctx.self.port};lr>` });
  const maxForwards = Number.parseInt(getHeader(txn.request, 'max-forwards') ?? '70', 10);
  headers = insertHeader(headers, { name: 'Max-Forwards', value: String(Number.isFinite(maxForwards) ? maxForwards - 1 : 69) });
  for (const h of run.extra) {
    const key = headerKey(h.name);
    const at = rankOf(h.name) === UNKNOWN_RANK ? -1 : headers.findIndex((x) => headerKey(x.name) === key);
    if (at >= 0) headers[at] = { name: headers[at]?.name ?? h.name, value: h.value };
    else headers = insertHeader(headers, h);
  }
  headers = headers.map((h) => (headerKey(h.name) === 'content-length' ? { name: 'Content-Length', value: String(Buffer.byteLength(m.body, 'utf8')) } : h));
  const request: SipMessage = { ...m, headers };
  const peer = peerOf(dest);
  run.current = { branch, request, peer };
  ctx.clientTxns.set(`${branch}|INVITE`, { branch, method: 'INVITE', onResponse: (res, raw, from) => onTargetResponse(run, res, raw, from) });
  ctx.sendTo(peer, request);
}

function onTargetResponse(run: ProxyRun, res: SipMessage, raw: string, from: SipPeer): void {
  const { ctx, txn, app, msgId } = run;
  const status = statusOf(res);
  const current = run.current;
  if (current === undefined || status === 100) return;
  if (status < 200) {
    ctx.sendTo(txn.from, popVia(res));
    return;
  }
  ctx.clientTxns.delete(`${current.branch}|INVITE`);
  if (status >= 300) {
    // sofia ACKs a rejection hop by hop
    const seq = cseqOf(current.request)?.seq ?? 1;
    const ack = buildMessage(`ACK sip:${current.peer.address}:${current.peer.port} SIP/2.0`, [
      { name: 'Via', value: ctx.ourVia(current.branch) },
      { name: 'From', value: getHeader(current.request, 'from') ?? '' },
      { name: 'To', value: getHeader(res, 'to') ?? '' },
      { name: 'Call-ID', value: callIdOf(current.request) },
      { name: 'CSeq', value: `${seq} ACK` },
    ], '');
    ctx.sendTo(current.peer, ack);
  }
  const more = status >= 300 && status < 600 && !txn.canceled && run.next < run.destinations.length;
  if (!more) {
    const relayed = popVia(res);
    txn.lastResponse = ctx.sendTo(txn.from, relayed);
    txn.final = relayed;
    if (status < 300 && run.recordRoute) {
      const dialog: ProxyDialog = {
        kind: 'proxy', id: CoreContext.dialogId(callIdOf(res), tagOf(getHeader(res, 'from')) ?? ''), callId: callIdOf(res),
        callerTag: tagOf(getHeader(res, 'from')) ?? '', calleeTag: tagOf(getHeader(res, 'to')) ?? '',
        callerPeer: txn.from, calleePeer: current.peer,
      };
      ctx.dialogs.set(dialog.id, dialog);
    }
  }
  if (app.open) {
    ctx.reply(app, msgId, ['OK', 'network', String(Buffer.byteLength(raw, 'utf8')), from.transport, from.address, String(from.port), stackTime(), '', '', 'continue'], raw);
  }
  if (more) {
    attempt(run);
    return;
  }
  running.delete(txn);
  if (app.open) ctx.reply(app, msgId, ['OK', 'done']);
}

/** The caller CANCELed a proxied INVITE: the CANCEL goes on; the 487 comes back through onTargetResponse. */
export function cancelProxied(ctx: CoreContext, txn: ServerTxn): void {
  const run = running.get(txn);
  const current = run?.current;
  if (current === undefined) return;
  const seq = cseqOf(current.request)?.seq ?? 1;
  const cancel = buildMessage(`CANCEL ${requestUri(current.request)} SIP/2.0`, [
    { name: 'Via', value: ctx.ourVia(current.branch) },
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: getHeader(current.request, 'from') ?? '' },
    { name: 'To', value: getHeader(current.request, 'to') ?? '' },
    { name: 'Call-ID', value: callIdOf(current.request) },
    { name: 'CSeq', value: `${seq} CANCEL` },
  ], '');
  ctx.clientTxns.set(`${current.branch}|CANCEL`, { branch: current.branch, method: 'CANCEL', onResponse: () => undefined });
  ctx.sendTo(current.peer, cancel);
}

/** An in-dialog request of a record-routed call: relayed to the other side, its responses back. */
export function relayInDialog(ctx: CoreContext, dialog: ProxyDialog, request: SipMessage, from: SipPeer): void {
  const branch = ids.branchRelay();
  const method = cseqOf(request)?.method ?? '';
  const relayed = prependVia(popOwnRoute(ctx, canonicalize(request)), ctx.ourVia(branch));
  const peer = peerOf(requestUri(request));
  if (method !== 'ACK') {
    ctx.clientTxns.set(`${branch}|${method}`, {
      branch, method,
      onResponse: (res) => {
        const status = statusOf(res);
        if (status >= 200) ctx.clientTxns.delete(`${branch}|${method}`);
        if (method === 'BYE' && status >= 200) ctx.dialogs.delete(dialog.id);
        ctx.sendTo(from, popVia(res));
      },
    });
  }
  ctx.network.send(serializeSip(relayed), peer);
}
