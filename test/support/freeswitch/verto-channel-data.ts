// `params.variables` of verto.media / verto.answer / verto.invite /
// verto.attach: on the wire (real/README.md obs. 6) these are the headers of
// a CHANNEL_DATA event built by switch_channel_get_variables_prefix, and
// nothing else when the channel has no verto_svar_* variables.

export interface SwitchIdentity {
  readonly coreUuid: string;
  readonly hostname: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

export const DEFAULT_IDENTITY: SwitchIdentity = {
  coreUuid: '77fff6c7-fdd5-4af4-a5c2-2c6bb846d808',
  hostname: 'vm',
  ipv4: '192.0.2.2',
  ipv6: 'fd00::2',
};

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function localDate(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** The CHANNEL_DATA header set, in FreeSWITCH's order. */
export function channelDataVariables(identity: SwitchIdentity, sequence: number, now: Date = new Date()): Record<string, string> {
  return {
    'Event-Name': 'CHANNEL_DATA',
    'Core-UUID': identity.coreUuid,
    'FreeSWITCH-Hostname': identity.hostname,
    'FreeSWITCH-Switchname': identity.hostname,
    'FreeSWITCH-IPv4': identity.ipv4,
    'FreeSWITCH-IPv6': identity.ipv6,
    'Event-Date-Local': localDate(now),
    'Event-Date-GMT': now.toUTCString(),
    'Event-Date-Timestamp': `${now.getTime()}000`,
    'Event-Calling-File': 'switch_channel.c',
    'Event-Calling-Function': 'switch_channel_get_variables_prefix',
    'Event-Calling-Line-Number': '4466',
    'Event-Sequence': String(sequence),
  };
}
