import {
  assertSingleLine,
  eslCallerName,
  eslCallerNumber,
  eslDestination,
  eslGateway,
  eslDtmfDigits,
  eslDtmfDuration,
  eslHangupCause,
  eslUuid,
  eslVariableName,
  eslVariableValue,
  type EslToken,
  EslArgumentError,
  eslPlaybackPath,
} from './grammar.ts';

/** An `api` command line (without the leading "api "), built only from checked tokens. */
export interface ApiCommand {
  readonly command: string;
  readonly args: string;
}

function api(command: string, ...args: ReadonlyArray<EslToken<string>>): ApiCommand {
  const built = { command, args: args.join(' ') };
  assertSingleLine(`${built.command} ${built.args}`);
  return built;
}

export const status = (): ApiCommand => api('status');

export const showChannelsJson = (): ApiCommand => ({ command: 'show', args: 'channels as json' });

/** Send DTMF toward the channel's remote party (use the SIP leg to reach the trunk). */
export function uuidSendDtmf(uuid: string, digits: string, durationMs?: number): ApiCommand {
  const d = eslDtmfDigits(digits);
  const token = (durationMs === undefined ? d : `${d}@${eslDtmfDuration(durationMs)}`) as EslToken<'dtmf'>;
  return api('uuid_send_dtmf', eslUuid(uuid), token);
}

export function uuidKill(uuid: string, cause?: string): ApiCommand {
  return cause === undefined ? api('uuid_kill', eslUuid(uuid)) : api('uuid_kill', eslUuid(uuid), eslHangupCause(cause));
}

export const uuidExists = (uuid: string): ApiCommand => api('uuid_exists', eslUuid(uuid));

export const uuidGetvar = (uuid: string, name: string): ApiCommand => api('uuid_getvar', eslUuid(uuid), eslVariableName(name));

export const uuidSetvar = (uuid: string, name: string, value: string): ApiCommand =>
  api('uuid_setvar', eslUuid(uuid), eslVariableName(name), eslVariableValue(value));

/** `uuid_setvar_multi <uuid> a=1;b=2`: several variables in one request, set in order under one session lock (mod_commands uuid_setvar_multi_function). */
export function uuidSetvarMulti(uuid: string, variables: ReadonlyArray<readonly [string, string]>): ApiCommand {
  if (variables.length === 0 || variables.length > 64) throw new EslArgumentError('variable list', String(variables.length), 'must hold 1 to 64 variables');
  // each name and value passed the grammar, which admits neither ';' nor a space
  const list = variables.map(([name, value]) => `${eslVariableName(name)}=${eslVariableValue(value)}`).join(';') as EslToken<'variable list'>;
  return api('uuid_setvar_multi', eslUuid(uuid), list);
}

/** `uuid_broadcast <uuid> <path> aleg`: plays on the channel itself (a parked trunk leg); uuid_bridge stops it (switch_channel_stop_broadcast). */
export const uuidBroadcast = (uuid: string, path: string): ApiCommand => api('uuid_broadcast', eslUuid(uuid), eslPlaybackPath(path), 'aleg' as EslToken<'leg'>);

export const uuidBridge = (a: string, b: string): ApiCommand => api('uuid_bridge', eslUuid(a), eslUuid(b));

/** How long a held trunk leg may go without RTP (30 min, as the shipped mse_media_hold_timeout_ms). */
export const MEDIA_HOLD_TIMEOUT_MS = 1_800_000;

export interface TrunkOriginate {
  /** The trunk leg's UUID, chosen by the edge (origination_uuid): known before FreeSWITCH answers. */
  readonly uuid: string;
  readonly gateway: string;
  readonly destination: string;
  readonly callerIdNumber: string;
  readonly callerIdName: string;
  /** Ring timeout, seconds (originate_timeout). */
  readonly timeoutS: number;
  /** No RTP for this long: FreeSWITCH hangs the leg up (MEDIA_TIMEOUT). */
  readonly mediaTimeoutMs: number;
  /** More channel variables (names and values checked by the grammar), e.g. the Matrix call it belongs to. */
  readonly variables: Readonly<Record<string, string>>;
}

/**
 * `originate {vars}sofia/gateway/<gw>/<destination> &park()`: the trunk
 * leg, ESL-owned, parked once answered (the edge bridges it to the Verto
 * leg), parked again if that leg goes (park_after_bridge), so the far end
 * can wait while the Matrix side comes back. Every value passes the
 * pattern the dialplan template admits for it; the caller name, the only
 * one with spaces, is quoted (it holds no quote, comma or brace).
 */
export function originateTrunk(o: TrunkOriginate): ApiCommand {
  if (!Number.isInteger(o.timeoutS) || o.timeoutS < 1 || o.timeoutS > 600) throw new EslArgumentError('originate timeout', String(o.timeoutS), 'must be 1-600 s');
  if (!Number.isInteger(o.mediaTimeoutMs) || o.mediaTimeoutMs < 0 || o.mediaTimeoutMs > 3_600_000) throw new EslArgumentError('media timeout', String(o.mediaTimeoutMs), 'must be 0-3600000 ms');
  const vars: string[] = [
    `origination_uuid=${eslUuid(o.uuid)}`,
    `origination_caller_id_number=${eslCallerNumber(o.callerIdNumber)}`,
    `origination_caller_id_name='${eslCallerName(o.callerIdName)}'`,
    `originate_timeout=${o.timeoutS}`,
    'park_after_bridge=true',
    'hangup_after_bridge=false',
    `media_timeout=${o.mediaTimeoutMs}`,
    // On hold (either side) no RTP is expected: FreeSWITCH then applies media_hold_timeout instead.
    `media_hold_timeout=${MEDIA_HOLD_TIMEOUT_MS}`,
  ];
  for (const [name, value] of Object.entries(o.variables)) vars.push(`${eslVariableName(name)}=${eslVariableValue(value)}`);
  const args = `{${vars.join(',')}}sofia/gateway/${eslGateway(o.gateway)}/${eslDestination(o.destination)} &park()`;
  assertSingleLine(args);
  return { command: 'originate', args };
}

/**
 * `originate {vars}verto.rtc/u:<sessid> &park()`: a new Verto leg toward the
 * edge's own session (mod_verto sends it a verto.invite with FreeSWITCH's
 * offer), to carry a recovered call's media; it hangs up when its bridge ends.
 */
export function originateToEdge(o: { readonly uuid: string; readonly sessid: string; readonly callerIdNumber: string | undefined; readonly timeoutS: number; readonly trunkUuid: string }): ApiCommand {
  if (!Number.isInteger(o.timeoutS) || o.timeoutS < 1 || o.timeoutS > 600) throw new EslArgumentError('originate timeout', String(o.timeoutS), 'must be 1-600 s');
  const vars = [
    `origination_uuid=${eslUuid(o.uuid)}`,
    // an anonymous caller has no number to show: FreeSWITCH's default caller id then
    ...(o.callerIdNumber === undefined ? [] : [`origination_caller_id_number=${eslCallerNumber(o.callerIdNumber)}`, `origination_caller_id_name=${eslCallerNumber(o.callerIdNumber)}`]),
    `originate_timeout=${o.timeoutS}`,
    'hangup_after_bridge=true',
    `mse_recovers=${eslUuid(o.trunkUuid)}`,
  ];
  const args = `{${vars.join(',')}}verto.rtc/u:${eslUuid(o.sessid)} &park()`;
  assertSingleLine(args);
  return { command: 'originate', args };
}
