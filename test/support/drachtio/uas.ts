// Requests from the network, as drachtio-server handles them: 100 Trying
// for an INVITE at once, the request handed to an app that routed its verb
// (or 503 when none did), CANCEL answered 200 + 487 by the server itself
// and only then passed on, the ACK of a non-2xx absorbed, in-dialog ACK
// and BYE delivered to the app that owns the dialog, and the app's bare
// response turned into the real one and echoed ("Msg sent:").
import { CoreContext, fillRport, topBranch } from './core-context.ts';
import { ids, stackTime } from './sip-ids.ts';
import type { SipPeer } from './network.ts';
import {
  callIdOf, cseqOf, getHeader, getHeaders, headerKey, isRequest, methodOf, parseSipMessage, statusOf, tagOf, uriOf, viaValues,
  type SipHeaderLine, type SipMessage,
} from './sip-message.ts';
import { buildMessage } from './sofia-order.ts';
import type { AppLink, Dialog, ServerTxn, UasDialog } from './state.ts';
import { cancelProxied, relayInDialog } from './proxy.ts';

const PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found',
  408: 'Request Timeout', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 486: 'Busy Here',
  487: 'Request Terminated', 488: 'Not Acceptable Here', 500: 'Internal Server Error', 503: 'Service Unavailable', 603: 'Decline',
};

export function phrase(status: number): string {
  return PHRASES[status] ?? 'Unknown';
}

/** A response the server makes itself to a request (100, 200 to CANCEL, 487, 481, 503). */
export function ownResponse(ctx: CoreContext, request: SipMessage, status: number, toTag: string | undefined): SipMessage {
  const to = getHeader(request, 'to') ?? '';
  const headers: SipHeaderLine[] = [
    ...viaValues(request).map((v) => ({ name: 'Via', value: v })),
    { name: 'From', value: getHeader(request, 'from') ?? '' },
    { name: 'To', value: toTag === undefined || tagOf(to) !== undefined ? to : `${to};tag=${toTag}` },
    { name: 'Call-ID', value: callIdOf(request) },
    { name: 'CSeq', value: getHeader(request, 'cseq') ?? '' },
  ];
  void ctx;
  return buildMessage(`SIP/2.0 ${status} ${phrase(status)}`, headers, '');
}

function findDialog(ctx: CoreContext, m: SipMessage): Dialog | undefined {
  const callId = callIdOf(m);
  const fromTag = tagOf(getHeader(m, 'from'));
  const toTag = tagOf(getHeader(m, 'to'));
  for (const d of ctx.dialogs.values()) {
    if (d.callId !== callId) continue;
    if (d.kind === 'proxy') {
      if ((fromTag === d.callerTag && toTag === d.calleeTag) || (fromTag === d.calleeTag && toTag === d.callerTag)) return d;
    } else if (fromTag === d.remoteTag && toTag === d.localTag) return d;
  }
  return undefined;
}

/** A request arrived from the network. */
export function onNetworkRequest(ctx: CoreContext, raw: string, parsed: SipMessage, from: SipPeer): void {
  const delivered = fillRport(raw, from);
  const request = parseSipMessage(delivered) ?? parsed;
  const method = methodOf(request);
  const branch = topBranch(request);
  const rawLength = Buffer.byteLength(raw, 'utf8');

  if (method === 'CANCEL') return onCancel(ctx, request, branch, from, rawLength, delivered);

  if (method === 'ACK') {
    const txn = ctx.serverTxnsByBranch.get(`${branch}|INVITE`);
    if (txn !== undefined && txn.final !== undefined && statusOf(txn.final) >= 300) return; // absorbed: the ACK of a rejection
  }

  // a retransmission: answer with the last response again
  const known = ctx.serverTxnsByBranch.get(`${branch}|${method}`);
  if (known !== undefined) {
    if (known.lastResponse !== undefined) ctx.network.send(known.lastResponse, known.from);
    return;
  }

  if (tagOf(getHeader(request, 'to')) !== undefined) return onInDialog(ctx, request, delivered, rawLength, from, method, branch);

  const txn: ServerTxn = {
    txnId: ids.uuid(), method, branch, request, from, app: undefined,
    toTag: undefined, lastResponse: undefined, final: undefined, canceled: false, proxied: false,
  };
  ctx.serverTxns.set(txn.txnId, txn);
  ctx.serverTxnsByBranch.set(`${branch}|${method}`, txn);
  if (method === 'INVITE') respondOwn(ctx, txn, 100);
  const app = ctx.appFor(method);
  if (app === undefined) {
    respondOwn(ctx, txn, 503);
    return;
  }
  txn.app = app;
  ctx.deliver(app, { rawLength, transport: from.transport, from, txnId: txn.txnId, dialogId: '', receivedOn: true, sip: delivered });
}

function respondOwn(ctx: CoreContext, txn: ServerTxn, status: number): void {
  if (status > 100 && txn.toTag === undefined) txn.toTag = ids.tag();
  const response = ownResponse(ctx, txn.request, status, status > 100 ? txn.toTag : undefined);
  txn.lastResponse = ctx.sendTo(txn.from, response);
  if (status >= 200) txn.final = response;
}

function onCancel(ctx: CoreContext, cancel: SipMessage, branch: string, from: SipPeer, rawLength: number, delivered: string): void {
  const invite = ctx.serverTxnsByBranch.get(`${branch}|INVITE`);
  if (invite === undefined) {
    ctx.sendTo(from, ownResponse(ctx, cancel, 481, ids.tag()));
    return;
  }
  ctx.sendTo(from, ownResponse(ctx, cancel, 200, ids.tag()));
  if (invite.final !== undefined || invite.canceled) return;
  invite.canceled = true;
  if (invite.proxied) {
    cancelProxied(ctx, invite); // the CANCEL goes on; the 487 comes back and is relayed
    return;
  }
  // a fresh To-tag on the 487, as captured (drachtio-13)
  invite.toTag = ids.tag();
  respondOwn(ctx, invite, 487);
  if (invite.app !== undefined && invite.app.open) {
    ctx.deliver(invite.app, { rawLength, transport: from.transport, from, txnId: invite.txnId, dialogId: '', receivedOn: false, sip: delivered });
  }
}

function onInDialog(ctx: CoreContext, request: SipMessage, delivered: string, rawLength: number, from: SipPeer, method: string, branch: string): void {
  const dialog = findDialog(ctx, request);
  if (dialog === undefined) {
    if (method !== 'ACK') ctx.sendTo(from, ownResponse(ctx, request, 481, undefined));
    return;
  }
  if (dialog.kind === 'proxy') {
    relayInDialog(ctx, dialog, request, from);
    return;
  }
  if (method === 'ACK') {
    if (dialog.kind === 'uas' && dialog.app.open) {
      ctx.deliver(dialog.app, { rawLength, transport: '', from, txnId: dialog.inviteTxnId, dialogId: dialog.id, receivedOn: false, sip: delivered });
    }
    return;
  }
  const txn: ServerTxn = {
    txnId: ids.uuid(), method, branch, request, from, app: dialog.app,
    toTag: undefined, lastResponse: undefined, final: undefined, canceled: false, proxied: false,
  };
  ctx.serverTxns.set(txn.txnId, txn);
  ctx.serverTxnsByBranch.set(`${branch}|${method}`, txn);
  if (method === 'BYE') ctx.dialogs.delete(dialog.id);
  ctx.deliver(dialog.app, { rawLength, transport: from.transport, from, txnId: txn.txnId, dialogId: dialog.id, receivedOn: false, sip: delivered });
}

/** The app's `sip|<txnId>|` + bare response. */
export function onAppResponse(ctx: CoreContext, app: AppLink, msgId: string, txnId: string, bare: SipMessage): void {
  const txn = ctx.serverTxns.get(txnId);
  if (txn === undefined || isRequest(bare)) {
    ctx.reply(app, msgId, ['NOK', 'unknown transaction id']);
    return;
  }
  if (txn.final !== undefined) {
    ctx.reply(app, msgId, ['NOK', txn.canceled ? 'transaction was canceled' : 'final response already sent']);
    return;
  }
  const status = statusOf(bare);
  const invite = txn.method === 'INVITE';
  if (status > 100 && txn.toTag === undefined && tagOf(getHeader(txn.request, 'to')) === undefined) txn.toTag = ids.tag();
  const headers: SipHeaderLine[] = viaValues(txn.request).map((v) => ({ name: 'Via', value: v }));
  let hasContact = false;
  let hasType = false;
  for (const h of bare.headers) {
    const key = headerKey(h.name);
    if (key === 'via' || key === 'content-length') continue;
    if (key === 'contact') hasContact = true;
    if (key === 'content-type') hasType = true;
    let value = h.value;
    if (key === 'to' && txn.toTag !== undefined && tagOf(value) === undefined) value = `${value};tag=${txn.toTag}`;
    headers.push({ name: h.name, value });
  }
  if (invite && status > 100 && status < 300 && !hasContact) headers.push({ name: 'Contact', value: `<sip:${ctx.self.host}:${ctx.self.port}>` });
  if (bare.body !== '' && !hasType) headers.push({ name: 'Content-Type', value: 'application/sdp' });
  const response = buildMessage(bare.startLine, headers, bare.body);
  const raw = ctx.sendTo(txn.from, response);
  txn.lastResponse = raw;
  if (status >= 200) txn.final = response;
  const fromTag = tagOf(getHeader(txn.request, 'from')) ?? '';
  const dialogId = invite ? CoreContext.dialogId(callIdOf(txn.request), fromTag) : '';
  if (invite && status >= 200 && status < 300 && txn.toTag !== undefined) {
    const dialog: UasDialog = {
      kind: 'uas', id: dialogId, callId: callIdOf(txn.request), app, inviteTxnId: txn.txnId,
      localTag: txn.toTag, remoteTag: fromTag,
      local: getHeader(txn.request, 'to') ?? '', remote: getHeader(txn.request, 'from') ?? '',
      remoteTarget: uriOf(getHeaders(txn.request, 'contact')[0] ?? getHeader(txn.request, 'from') ?? ''),
      peer: txn.from, localCseq: cseqOf(txn.request)?.seq ?? 1,
    };
    ctx.dialogs.set(dialog.id, dialog);
  }
  const len = String(Buffer.byteLength(raw, 'utf8'));
  ctx.reply(app, msgId, ['OK', 'application', len, invite ? txn.from.transport : '', txn.from.address, String(txn.from.port), stackTime(), txn.txnId, dialogId, '', 'Msg sent:', ''], raw);
}
