// Requests an app makes: `sip||` + a full request (a new call or
// out-of-dialog request: the server adds Via, Max-Forwards, a From-tag,
// Call-ID and CSeq, and rewrites srf's `@localhost`), or
// `sip||<dialogId>` + a stub (`BYE sip:placeholder`, `ACK <uri>`): the
// server fills it from the dialog. The echo has no dialogId slot and
// names the server's own address; responses come back as
// `sip|network|...|<txnId>|<dialogId>|` (11 tokens), 100 Trying excepted.
import { CoreContext, topBranch } from './core-context.ts';
import { ids, stackTime } from './sip-ids.ts';
import type { SipPeer } from './network.ts';
import {
  callIdOf, cseqOf, getHeader, getHeaders, headerKey, hostPortOf, methodOf, requestUri, statusOf, tagOf, uriOf,
  type SipHeaderLine, type SipMessage,
} from './sip-message.ts';
import { buildMessage } from './sofia-order.ts';
import type { AppLink, UacDialog } from './state.ts';

const FILLED = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-length']);

function peerOf(uri: string): SipPeer {
  const hp = hostPortOf(uri);
  return { transport: 'udp', address: hp.host, port: hp.port };
}

function extraHeaders(stub: SipMessage, skip: ReadonlySet<string>): SipHeaderLine[] {
  return stub.headers.filter((h) => !skip.has(headerKey(h.name)));
}

function echo(ctx: CoreContext, app: AppLink, msgId: string, raw: string, txnId: string): void {
  ctx.reply(app, msgId, ['OK', 'application', String(Buffer.byteLength(raw, 'utf8')), 'udp', ctx.self.host, String(ctx.self.port), stackTime(), txnId, 'Msg sent:', ''], raw);
}

/** A request inside one of the app's dialogs. */
export function onAppDialogRequest(ctx: CoreContext, app: AppLink, msgId: string, dialogId: string, stub: SipMessage): void {
  const dialog = ctx.dialogs.get(dialogId);
  if (dialog === undefined || dialog.kind === 'proxy') {
    ctx.reply(app, msgId, ['NOK', `unable to find dialog for ${dialogId}`]);
    return;
  }
  const method = methodOf(stub);
  const seq = method === 'ACK' && dialog.kind === 'uac' ? dialog.inviteCseq : (dialog.localCseq += 1);
  const branch = ids.branchUac();
  const from = dialog.kind === 'uas' ? `${dialog.local};tag=${dialog.localTag}` : dialog.local;
  const request = buildMessage(`${method} ${dialog.remoteTarget} SIP/2.0`, [
    { name: 'Via', value: ctx.ourVia(branch) },
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: from },
    { name: 'To', value: dialog.remote },
    { name: 'Call-ID', value: dialog.callId },
    { name: 'CSeq', value: `${seq} ${method}` },
    ...extraHeaders(stub, FILLED),
  ], stub.body);
  const txnId = ids.uuid();
  const peer = dialog.kind === 'uas' ? dialog.peer : peerOf(dialog.remoteTarget);
  if (method !== 'ACK') {
    ctx.clientTxns.set(`${branch}|${method}`, {
      branch, method,
      onResponse: (res, raw, src) => {
        if (statusOf(res) === 100) return;
        if (statusOf(res) >= 200) ctx.clientTxns.delete(`${branch}|${method}`);
        if (app.open) ctx.deliver(app, { rawLength: Buffer.byteLength(raw, 'utf8'), transport: src.transport, from: src, txnId, dialogId: dialog.id, receivedOn: false, sip: raw });
      },
    });
  }
  if (method === 'BYE') ctx.dialogs.delete(dialog.id);
  const raw = ctx.sendTo(peer, request);
  echo(ctx, app, msgId, raw, txnId);
}

/** A new request from the app (no dialog, no transaction). */
export function onAppNewRequest(ctx: CoreContext, app: AppLink, msgId: string, stub: SipMessage): void {
  const method = methodOf(stub);
  const uri = requestUri(stub);
  const local = `${ctx.self.host}:${ctx.self.port}`;
  const localize = (v: string) => v.replace(/@localhost(?=[;>]|$)/g, `@${local}`);
  const tag = ids.tag();
  const fromIn = getHeader(stub, 'from');
  const from = `${localize(fromIn ?? `<sip:${local}>`)};tag=${tag}`;
  const to = getHeader(stub, 'to') ?? `<${uri}>`;
  const callId = getHeader(stub, 'call-id') ?? ids.uuid();
  const cseq = cseqOf(stub)?.seq ?? ids.cseq();
  const contacts = getHeaders(stub, 'contact');
  const branch = ids.branchUac();
  const headers: SipHeaderLine[] = [
    { name: 'Via', value: ctx.ourVia(branch) },
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: from },
    { name: 'To', value: to },
    { name: 'Call-ID', value: callId },
    { name: 'CSeq', value: `${cseq} ${method}` },
    ...contacts.map((c) => ({ name: 'Contact', value: localize(c) })),
    ...extraHeaders(stub, new Set([...FILLED, 'contact'])),
  ];
  if (contacts.length === 0 && method === 'INVITE') headers.push({ name: 'Contact', value: `<sip:${local}>` });
  if (stub.body !== '' && getHeader(stub, 'content-type') === undefined) headers.push({ name: 'Content-Type', value: 'application/sdp' });
  const request = buildMessage(`${method} ${uri} SIP/2.0`, headers, stub.body);
  const txnId = ids.uuid();
  const peer = peerOf(uri);
  const dialogId = method === 'INVITE' ? CoreContext.dialogId(callId, tag) : '';
  ctx.clientTxns.set(`${branch}|${method}`, {
    branch, method,
    onResponse: (res, raw, src) => {
      const status = statusOf(res);
      if (status === 100) return;
      if (status >= 200) ctx.clientTxns.delete(`${branch}|${method}`);
      if (method === 'INVITE' && status >= 200 && status < 300) {
        const dialog: UacDialog = {
          kind: 'uac', id: dialogId, callId, app, localTag: tag, remoteTag: tagOf(getHeader(res, 'to')) ?? '',
          local: from, remote: getHeader(res, 'to') ?? to, remoteTarget: uriOf(getHeaders(res, 'contact')[0] ?? uri),
          peer: src, inviteCseq: cseq, localCseq: cseq,
        };
        ctx.dialogs.set(dialog.id, dialog);
      } else if (method === 'INVITE' && status >= 300) {
        ctx.sendTo(src, buildMessage(`ACK ${uri} SIP/2.0`, [
          { name: 'Via', value: ctx.ourVia(topBranch(request)) },
          { name: 'Max-Forwards', value: '70' },
          { name: 'From', value: from },
          { name: 'To', value: getHeader(res, 'to') ?? to },
          { name: 'Call-ID', value: callId },
          { name: 'CSeq', value: `${cseq} ACK` },
        ], ''));
      }
      if (app.open) ctx.deliver(app, { rawLength: Buffer.byteLength(raw, 'utf8'), transport: src.transport, from: src, txnId, dialogId, receivedOn: false, sip: raw });
    },
  });
  const raw = ctx.sendTo(peer, request);
  echo(ctx, app, msgId, raw, txnId);
}
