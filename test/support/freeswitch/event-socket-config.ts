// mod_event_socket's view of event_socket.conf.xml: the settings it ends up
// with, and whether an `auth <password>` line logs in. Follows
// src/mod/event_handlers/mod_event_socket/mod_event_socket.c at tag
// v1.11.1 (the same code in v1.10.0 and v1.10.12).
import { attr, childrenNamed, type XmlElement } from './xml-lite.ts';

/** The value mod_event_socket falls back to when the password is empty. */
export const DEFAULT_ESL_PASSWORD = 'ClueCon';

/** `MAX_ACL` of mod_event_socket.c. */
const MAX_ACL = 100;

export interface EventSocketPrefs {
  readonly listenIp: string;
  readonly listenPort: number;
  readonly password: string;
  readonly acl: readonly string[];
}

/**
 * config() (mod_event_socket.c:2868-2934): every <param> of <settings> in
 * order, a later one replacing an earlier one (set_pref_ip / set_pref_pass
 * take "" too); apply-inbound-acl adds a list unless its value is empty.
 * Then the fallbacks: an empty listen-ip becomes 127.0.0.1, an empty
 * password ClueCon (`if (zstr(prefs.password)) set_pref_pass("ClueCon")`),
 * no ACL loopback.auto, port 0 (atoi of anything not a number) 8021.
 */
export function eventSocketPrefs(configuration: XmlElement): EventSocketPrefs {
  let ip: string | undefined;
  let password: string | undefined;
  let port = 0;
  const acl: string[] = [];
  for (const settings of childrenNamed(configuration, 'settings').slice(0, 1)) {
    for (const param of childrenNamed(settings, 'param')) {
      const name = attr(param, 'name') ?? '';
      const value = attr(param, 'value') ?? '';
      if (name === 'listen-ip') ip = value;
      else if (name === 'listen-port') port = atoi(value) & 0xffff;
      else if (name === 'password') password = value;
      else if (name.toLowerCase() === 'apply-inbound-acl' && value !== '' && acl.length < MAX_ACL) acl.push(value);
    }
  }
  return {
    listenIp: ip === undefined || ip === '' ? '127.0.0.1' : ip,
    listenPort: port === 0 ? 8021 : port,
    password: password === undefined || password === '' ? DEFAULT_ESL_PASSWORD : password,
    acl: acl.length === 0 ? ['loopback.auto'] : acl,
  };
}

/**
 * parse_command() before authentication (mod_event_socket.c:1739-1751):
 * the command line is cut at its first CR or LF (strip_cr), the password
 * is everything after "auth ", compared with strcmp. `commandLine` is what
 * a client can send as the first line of a command: it never holds a LF
 * (that ends the line) and the CR cut applies to it.
 */
export function acceptsAuth(prefs: EventSocketPrefs, commandLine: string): boolean {
  const cut = commandLine.search(/[\r\n]/);
  const line = cut < 0 ? commandLine : commandLine.slice(0, cut);
  if (line.slice(0, 5).toLowerCase() !== 'auth ') return false;
  const pass = line.slice(5);
  const nul = pass.indexOf('\0');
  return (nul < 0 ? pass : pass.slice(0, nul)) === prefs.password;
}

function atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number.parseInt(m[1] ?? '0', 10) : 0;
}
