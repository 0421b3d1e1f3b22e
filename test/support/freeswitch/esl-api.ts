// `api` / `bgapi` commands of the simulated FreeSWITCH (mod_commands), run
// against the channel model. Output texts are the exact bodies from
// shared/protocols/esl.md §3.1/§5 and the real captures.
import type { FreeSwitchModel } from './channel-model.ts';
import type { Channel } from './channel.ts';
import { parseCause } from './causes.ts';
import { localStamp, SITES } from './channel-events.ts';
import { serializeJson, serializePlain } from './esl-wire.ts';

type ApiFn = (model: FreeSwitchModel, args: string) => string | Promise<string>;

function uptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const us = (ms % 1000) * 1000;
  return `0 years, ${Math.floor(s / 86400)} days, ${Math.floor(s / 3600) % 24} hours, ${Math.floor(s / 60) % 60} minutes, ${s % 60} seconds, ${ms % 1000} milliseconds, ${us % 1000} microseconds`;
}

function status(model: FreeSwitchModel): string {
  const live = model.channels().length;
  const version = model.version.replace(/^FreeSWITCH Version /, '').replace(/~64bit \( 64bit\)$/, '  64bit');
  return [
    `UP ${uptime(Date.now() - model.startedAtMs)}`,
    `FreeSWITCH (Version ${version}) is ready`,
    `${model.sessionsSinceStartup} session(s) since startup`,
    `${live} session(s) - peak ${model.peakSessions}, last 5min ${model.peakSessions} `,
    '0 session(s) per Sec out of max 30, peak 0, last 5min 0 ',
    '1000 session(s) max',
    'min idle cpu 0.00/97.77',
    'Current Stack Size/Max 240K/8192K',
    '',
  ].join('\n');
}

const CHANNEL_COLUMNS = ['uuid', 'direction', 'created', 'created_epoch', 'name', 'state', 'cid_name', 'cid_num', 'ip_addr', 'dest',
  'application', 'application_data', 'dialplan', 'context', 'read_codec', 'read_rate', 'read_bit_rate', 'write_codec', 'write_rate',
  'write_bit_rate', 'secure', 'hostname', 'presence_id', 'presence_data', 'accountcode', 'callstate', 'callee_name', 'callee_num',
  'callee_direction', 'call_uuid', 'sent_callee_name', 'sent_callee_num', 'initial_cid_name', 'initial_cid_num', 'initial_ip_addr',
  'initial_dest', 'initial_dialplan', 'initial_context'] as const;

function channelRow(model: FreeSwitchModel, ch: Channel): Record<string, string> {
  const codec = ch.codec;
  const row: Record<(typeof CHANNEL_COLUMNS)[number], string> = {
    uuid: ch.uuid, direction: ch.direction, created: localStamp(Math.floor(ch.times.created / 1000)),
    created_epoch: String(Math.floor(ch.times.created / 1e6)), name: ch.name, state: ch.state,
    cid_name: ch.profile.callerIdName, cid_num: ch.profile.callerIdNumber, ip_addr: ch.profile.networkAddr,
    dest: ch.profile.destinationNumber, application: ch.application ?? '', application_data: ch.applicationData ?? '',
    dialplan: ch.profile.dialplan, context: ch.profile.context, read_codec: codec?.name ?? '', read_rate: codec === undefined ? '' : String(codec.rate),
    read_bit_rate: codec === undefined ? '' : String(codec.bitRate), write_codec: codec?.name ?? '', write_rate: codec === undefined ? '' : String(codec.rate),
    write_bit_rate: codec === undefined ? '' : String(codec.bitRate), secure: ch.kind === 'verto' ? 'srtp:dtls:AES_CM_128_HMAC_SHA1_80' : '',
    hostname: model.identity.hostname, presence_id: ch.presenceId ?? '', presence_data: '', accountcode: ch.getVar('accountcode') ?? '',
    callstate: ch.callState, callee_name: ch.profile.calleeIdName, callee_num: ch.profile.calleeIdNumber,
    callee_direction: ch.direction === 'outbound' ? 'SEND' : '', call_uuid: ch.getVar('call_uuid') ?? '', sent_callee_name: '', sent_callee_num: '',
    initial_cid_name: ch.profile.origCallerIdName, initial_cid_num: ch.profile.origCallerIdNumber, initial_ip_addr: ch.profile.networkAddr,
    initial_dest: ch.profile.destinationNumber, initial_dialplan: ch.profile.dialplan, initial_context: ch.profile.context,
  };
  return row;
}

const CALL_ONLY = ['uuid', 'direction', 'created', 'created_epoch', 'name', 'state', 'cid_name', 'cid_num', 'ip_addr', 'dest',
  'presence_id', 'presence_data', 'accountcode', 'callstate', 'callee_name', 'callee_num', 'callee_direction', 'call_uuid', 'hostname',
  'sent_callee_name', 'sent_callee_num'] as const;
const B_COLUMNS = ['uuid', 'direction', 'created', 'created_epoch', 'name', 'state', 'cid_name', 'cid_num', 'ip_addr', 'dest',
  'presence_id', 'presence_data', 'accountcode', 'callstate', 'callee_name', 'callee_num', 'callee_direction', 'sent_callee_name', 'sent_callee_num'] as const;

function callRow(model: FreeSwitchModel, ch: Channel): Record<string, string> {
  const a = channelRow(model, ch);
  const peer = ch.bridgedTo === undefined ? undefined : model.channel(ch.bridgedTo);
  const b = peer === undefined ? undefined : channelRow(model, peer);
  const row: Record<string, string> = {};
  for (const k of CALL_ONLY) row[k] = a[k] ?? '';
  for (const k of B_COLUMNS) row[`b_${k}`] = b?.[k] ?? '';
  row.call_created_epoch = b === undefined ? '' : a.created_epoch ?? '';
  return row;
}

function show(model: FreeSwitchModel, args: string): string {
  const words = args.trim().split(/\s+/);
  const what = words[0] ?? '';
  const asJson = words.includes('as') && words[words.indexOf('as') + 1] === 'json';
  const count = words[1] === 'count';
  if (what !== 'channels' && what !== 'calls') return '-USAGE: show <codec|endpoint|application|api|channels|calls|...>\n';
  const chans = model.channels().filter((c) => !c.destroyed).sort((x, y) => x.times.created - y.times.created);
  // `show calls` lists one row per call: the bridged B-legs are folded into their A-leg
  const listed = what === 'calls' ? chans.filter((c) => !(c.direction === 'outbound' && c.bridgedTo !== undefined && c.other?.type === 'originator')) : chans;
  const rows = listed.map((c) => (what === 'calls' ? callRow(model, c) : channelRow(model, c)));
  if (asJson) {
    if (count) return JSON.stringify({ row_count: rows.length, rows: [] });
    if (rows.length === 0) return '{"row_count": 0}\n';
    return JSON.stringify({ row_count: rows.length, rows });
  }
  if (rows.length === 0) return `\n0 total.\n`;
  const cols = Object.keys(rows[0] ?? {});
  return `${cols.join(',')}\n${rows.map((r) => cols.map((c) => r[c] ?? '').join(',')).join('\n')}\n\n${rows.length} total.\n`;
}

function twoArgs(args: string): [string, string | undefined] {
  const t = args.trim();
  const sp = t.indexOf(' ');
  return sp < 0 ? [t, undefined] : [t.slice(0, sp), t.slice(sp + 1)];
}

const APIS: Readonly<Record<string, ApiFn>> = {
  status: (m) => status(m),
  version: (m) => `${m.version}\n`,
  uptime: (m) => `${Math.floor((Date.now() - m.startedAtMs) / 1000)}\n`,
  reloadxml: (m) => {
    m.reloadXml();
    return '+OK [Success]\n';
  },
  show: (m, a) => show(m, a),
  uuid_exists: (m, a) => (m.channel(a.trim()) !== undefined ? 'true' : 'false'),
  uuid_kill: (m, a) => {
    const [uuid, cause] = twoArgs(a);
    if (uuid === '') return '-USAGE: <uuid> [cause]\n';
    return m.kill(uuid, parseCause(cause?.trim())) ? '+OK\n' : '-ERR No such channel!\n';
  },
  uuid_send_dtmf: (m, a) => {
    const [uuid, digits] = twoArgs(a);
    if (uuid === '' || digits === undefined || digits === '') return '-USAGE: <uuid> <dtmf_data>\n';
    const r = m.sendDtmf(uuid, digits);
    if (r === 'no-session') return '-ERR Cannot locate session!\n';
    if (r === 'failed') return '-ERR Operation failed\n';
    return `+OK ${uuid} sent DTMF ${digits}.\n`;
  },
  uuid_recv_dtmf: (m, a) => {
    const [uuid, digits] = twoArgs(a);
    if (uuid === '' || digits === undefined || digits === '') return '-USAGE: <uuid> <dtmf_data>\n';
    return m.recvDtmf(uuid, digits) ? `+OK ${uuid} received DTMF ${digits}.\n` : '-ERR Cannot locate session!\n';
  },
  uuid_getvar: (m, a) => {
    const parts = a.trim().split(/\s+/);
    if (parts.length < 2 || parts[0] === '') return '-USAGE: <uuid> <var>\n';
    const v = m.getVariable(parts[0] ?? '', parts[1] ?? '');
    if (v === null) return '-ERR No such channel!\n';
    return v ?? '_undef_';
  },
  uuid_setvar: (m, a) => {
    const t = a.trim();
    const first = t.indexOf(' ');
    if (t === '' || first < 0) return '-USAGE: <uuid> <var> [value]\n';
    const uuid = t.slice(0, first);
    const rest = t.slice(first + 1);
    const second = rest.indexOf(' ');
    const name = second < 0 ? rest : rest.slice(0, second);
    const value = second < 0 ? undefined : rest.slice(second + 1);
    return m.setVariable(uuid, name, value) ? '+OK\n' : '-ERR No such channel!\n';
  },
  // mod_commands uuid_broadcast_function: `<uuid> <path> [aleg|bleg|both]` (switch_ivr_broadcast)
  uuid_broadcast: (m, a) => {
    const parts = a.trim().split(/\s+/);
    if (parts.length < 2 || parts[0] === '') return '-USAGE: <uuid> <path> [aleg|bleg|both]\n';
    return m.broadcast(parts[0] ?? '', parts[1] ?? '', parts[2]) ? '+OK Message sent\n' : '-ERR invalid uuid\n';
  },
  // mod_commands uuid_setvar_multi_function: `<uuid> a=1;b=2`, set in order; +OK once one was set
  uuid_setvar_multi: (m, a) => {
    const t = a.trim();
    const space = t.indexOf(' ');
    if (space < 0) return '-USAGE: <uuid> <var>=<value>;<var>=<value>...\n';
    const uuid = t.slice(0, space);
    if (m.channel(uuid) === undefined) return '-ERR No such channel!\n-USAGE: <uuid> <var>=<value>;<var>=<value>...\n';
    let set = 0;
    for (const item of t.slice(space + 1).split(';')) {
      const eq = item.indexOf('=');
      const name = eq < 0 ? item : item.slice(0, eq);
      if (name === '') continue;
      m.setVariable(uuid, name, eq < 0 ? undefined : item.slice(eq + 1));
      set += 1;
    }
    return set > 0 ? '+OK\n' : '-USAGE: <uuid> <var>=<value>;<var>=<value>...\n';
  },
  // mod_commands uuid_bridge_function: `+OK <second uuid>`, or `-ERR Invalid uuid` when switch_ivr_uuid_bridge refuses
  uuid_bridge: (m, a) => {
    const parts = a.trim().split(/\s+/);
    if (parts.length < 2 || parts[0] === '') return '-USAGE: <uuid> <other_uuid>\n';
    return m.uuidBridge(parts[0] ?? '', parts[1] ?? '');
  },
  uuid_answer: (m, a) => (m.answerChannel(a.trim()) ? '+OK\n' : '-ERR no such channel\n'),
  uuid_dump: (m, a) => {
    const [uuid, format] = twoArgs(a);
    const ch = m.channel(uuid);
    if (ch === undefined) return '-ERR No such channel!\n';
    const ev = { headers: [['Event-Name', 'CHANNEL_DATA'], ['Unique-ID', ch.uuid], ['Channel-Name', ch.name], ['Channel-State', ch.state],
      ['Channel-Call-State', ch.callState], ['Answer-State', ch.answerState], ...[...ch.variables].map(([k, v]) => [`variable_${k}`, v] as const)] as const };
    return format?.trim() === 'json' ? serializeJson(ev) : serializePlain(ev);
  },
  hupall: (m, a) => {
    m.hupall(parseCause(a.trim().split(/\s+/)[0]));
    return '+OK hangup all channels with cause ' + parseCause(a.trim().split(/\s+/)[0]) + '\n';
  },
  originate: async (m, a) => {
    if (a.trim() === '') return '-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n';
    const r = await m.originate(a);
    return r.ok ? `+OK ${r.uuid}\n` : `-ERR ${r.cause}\n`;
  },
  verto_contact: (m, a) => m.vertoContact(a.trim()) ?? 'error/user_not_registered',
  hostname: (m) => m.identity.hostname,
};

/** Runs one API command; fires the API event first, as switch_api_execute does. */
export async function executeApi(model: FreeSwitchModel, command: string, args: string): Promise<string> {
  const rest: [string, string][] = [['API-Command', command]];
  if (args !== '') rest.push(['API-Command-Argument', args]);
  model.fireEvent('API', SITES.api, rest);
  const fn = APIS[command];
  if (fn === undefined) return `-ERR ${command} Command not found!\n`;
  const out = await fn(model, args);
  return out === '' ? '-ERR no reply\n' : out;
}
