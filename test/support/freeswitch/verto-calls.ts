// Call-level methods of mod_verto (verto.invite, verto.answer, verto.bye,
// verto.info, verto.modify, verto.attach): validate the client's params in
// mod_verto's order, call the channel model, and build the reply fields in
// mod_verto's key order.
import type { VertoBackend, VertoCallResult } from './contract.ts';
import { CODE_SESSION_ERROR, type Entries, type Json } from './verto-rpc.ts';
import { asObject, field, objectField, stringField, toJson, variablesOf } from './verto-input.ts';
import { causeByCode, causeByName, NORMAL_CLEARING, type Cause } from './verto-causes.ts';
import type { AuthenticatedUser } from './verto-directory.ts';

export type HandlerResult =
  | { readonly ok: true; readonly fields: Entries }
  | { readonly ok: false; readonly fields: Entries };

export interface CallContext {
  readonly backend: VertoBackend;
  readonly sessid: string;
  readonly user: AuthenticatedUser;
  /** login `userVariables` of this socket. */
  readonly loginVariables: Readonly<Record<string, string>>;
  /** A successful client verto.attach: the server re-sends the call's last display. */
  readonly onReattached: (callId: string) => void;
}

const ok = (fields: Entries): HandlerResult => ({ ok: true, fields });
const fail = (fields: Entries): HandlerResult => ({ ok: false, fields });
const sessionError = (message: string): HandlerResult => fail([['message', message], ['code', CODE_SESSION_ERROR]]);

function extraFields(r: VertoCallResult): Entries {
  return r.ok && r.fields !== undefined ? Object.entries(r.fields).map(([k, v]) => [k, toJson(v)] as const) : [];
}

/** Invite failures: reason, causeCode, cause, a second "message" ("CALL ERROR"), code. */
function inviteError(message: string, cause: Cause): HandlerResult {
  return fail([['message', message], ['causeCode', cause.code], ['cause', cause.name], ['message', 'CALL ERROR'], ['code', CODE_SESSION_ERROR]]);
}

const INVALID_MSG: Cause = { name: 'INVALID_MSG_UNSPECIFIED', code: 95 };

export function invite(ctx: CallContext, params: Json | undefined): HandlerResult {
  if (asObject(params) === undefined) return inviteError('Params data missing', INVALID_MSG);
  const dialog = objectField(params, 'dialogParams');
  if (dialog === undefined) return inviteError('Dialog data missing', INVALID_MSG);
  const callId = stringField(dialog, 'callID');
  if (callId === undefined) return inviteError('CallID missing', INVALID_MSG);
  const sdp = stringField(params, 'sdp');
  if (sdp === undefined) return inviteError('SDP missing', INVALID_MSG);

  const nonEmpty = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);
  const callerIdName = nonEmpty(stringField(dialog, 'caller_id_name')) ?? ctx.user.params['caller-id-name'];
  const callerIdNumber = nonEmpty(stringField(dialog, 'caller_id_number')) ?? ctx.user.params['caller-id-number'];
  const r = ctx.backend.invite({
    callId,
    sessid: ctx.sessid,
    user: ctx.user.uid,
    sdp,
    destinationNumber: stringField(dialog, 'destination_number') ?? 'service',
    ...(callerIdName !== undefined ? { callerIdName } : {}),
    ...(callerIdNumber !== undefined ? { callerIdNumber } : {}),
    dialogVariables: variablesOf(objectField(dialog, 'userVariables')),
    socketVariables: { ...ctx.user.variables, ...ctx.loginVariables },
    // verto__invite_func: `(vobj = cJSON_GetObjectItem(dialog, "recoverCall")) && vobj->type == cJSON_False`
    // sets CF_NO_RECOVER; true, a string "false", 0 or no key leave the call recoverable.
    noRecover: field(dialog, 'recoverCall') === false,
  });
  if (!r.ok) {
    const cause = r.cause !== undefined && r.causeCode !== undefined ? { name: r.cause, code: r.causeCode } : INVALID_MSG;
    return inviteError(r.message, cause);
  }
  return ok([['message', 'CALL CREATED'], ['callID', callId], ...extraFields(r)]);
}

/** The common prefix of answer/bye/attach: params, dialogParams, callID. */
function dialogCallId(params: Json | undefined): string | HandlerResult {
  if (asObject(params) === undefined) return sessionError('Params data missing');
  const dialog = objectField(params, 'dialogParams');
  if (dialog === undefined) return sessionError('Dialog data missing');
  const callId = stringField(dialog, 'callID');
  if (callId === undefined) return sessionError('CallID missing');
  return callId;
}

export function answer(ctx: CallContext, params: Json | undefined): HandlerResult {
  const callId = dialogCallId(params);
  if (typeof callId !== 'string') return callId;
  const sdp = stringField(params, 'sdp');
  if (sdp === undefined) return sessionError('SDP missing');
  const r = ctx.backend.answer(ctx.sessid, callId, sdp);
  return r.ok ? ok(extraFields(r)) : sessionError(r.message);
}

/** verto.bye cause: a known `cause` name, else a known `causeCode` (number or numeric string), else NORMAL_CLEARING. */
function byeCause(params: Json | undefined): Cause {
  const name = stringField(params, 'cause');
  const byName = name !== undefined ? causeByName(name) : undefined;
  if (byName !== undefined) return byName;
  const code = field(params, 'causeCode');
  const n = typeof code === 'number' ? code : typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : undefined;
  return (n !== undefined ? causeByCode(n) : undefined) ?? NORMAL_CLEARING;
}

export function bye(ctx: CallContext, params: Json | undefined): HandlerResult {
  const callId = dialogCallId(params);
  if (typeof callId !== 'string') return callId;
  const cause = byeCause(params);
  const r = ctx.backend.bye(ctx.sessid, callId, cause.name, cause.code);
  if (!r.ok) return fail([['callID', callId], ['message', r.message], ['code', CODE_SESSION_ERROR]]);
  const echoed = r.fields ?? {};
  const causeCode = typeof echoed['causeCode'] === 'number' ? echoed['causeCode'] : cause.code;
  const causeName = typeof echoed['cause'] === 'string' ? echoed['cause'] : cause.name;
  return ok([['callID', callId], ['message', 'CALL ENDED'], ['causeCode', causeCode], ['cause', causeName]]);
}

export function info(ctx: CallContext, params: Json | undefined): HandlerResult {
  if (asObject(params) === undefined) return sessionError('Params data missing');
  const fields: Array<Entries[number]> = [];
  const callId = stringField(objectField(params, 'dialogParams'), 'callID');
  const dtmf = stringField(params, 'dtmf');
  if (callId !== undefined && dtmf !== undefined) {
    // An unknown call is not an error: the result just has no message.
    fields.push(...extraFields(ctx.backend.dtmf(ctx.sessid, callId, dtmf)));
  }
  const msg = field(params, 'msg');
  if (msg !== undefined) {
    const to = stringField(msg, 'to');
    const body = stringField(msg, 'body');
    if (to === undefined || to === '' || body === undefined || body === '') {
      return fail([['message', 'INVALID MESSAGE to and body params required']]);
    }
    fields.push(['message', 'SENT']);
  }
  return ok(fields);
}

export function modify(ctx: CallContext, params: Json | undefined): HandlerResult {
  if (asObject(params) === undefined) return sessionError('Params data missing');
  const dialog = objectField(params, 'dialogParams');
  if (dialog === undefined) return sessionError('Dialog data missing');
  const callId = stringField(dialog, 'callID');
  if (callId === undefined) return sessionError('CallID missing');
  const action = stringField(params, 'action');
  if (action === undefined) return sessionError('action missing');
  const head: Entries = [['callID', callId], ['action', action]];
  if (action === 'transfer' && stringField(params, 'destination') === undefined) {
    return fail([...head, ['message', 'destination missing'], ['code', CODE_SESSION_ERROR]]);
  }
  const obj = asObject(params) ?? {};
  const r = ctx.backend.modify(ctx.sessid, callId, action, obj);
  if (!r.ok) return fail([...head, ['message', r.message], ['code', CODE_SESSION_ERROR]]);
  return ok([...head, ...extraFields(r).filter(([k]) => k !== 'callID' && k !== 'action')]);
}

export function attach(ctx: CallContext, params: Json | undefined): HandlerResult {
  if (asObject(params) === undefined) return sessionError('Params data missing');
  const dialog = objectField(params, 'dialogParams');
  if (dialog === undefined) return sessionError('Dialog data missing');
  const sdp = stringField(params, 'sdp');
  if (sdp === undefined) return sessionError('SDP missing');
  const callId = stringField(dialog, 'callID');
  if (callId === undefined) return sessionError('CallID missing');
  const r = ctx.backend.reattach(ctx.sessid, callId, sdp);
  if (!r.ok) return sessionError(r.message);
  ctx.onReattached(callId);
  return ok(extraFields(r));
}
