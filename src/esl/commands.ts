import {
  assertSingleLine,
  eslDtmfDigits,
  eslDtmfDuration,
  eslHangupCause,
  eslUuid,
  eslVariableName,
  eslVariableValue,
  type EslToken,
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
