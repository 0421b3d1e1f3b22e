// Dialplan applications on a simulated channel: set, export, unset,
// bind_meta_app and hash (dialplan-apps-misc.ts), answer, pre_answer,
// ring_ready, sleep, playback, echo, park, hangup, respond, transfer, bridge. Each fires CHANNEL_EXECUTE / CHANNEL_EXECUTE_COMPLETE.
import { randomUUID } from 'node:crypto';
import type { Channel } from './channel.ts';
import { SITES, type Header } from './channel-events.ts';
import { parseCause, sipStatusToCause, dialStatusOf } from './causes.ts';
import { CONTINUE_CAUSES, type FreeSwitchModel, type LegOwner } from './channel-model.ts';
import { parseVarList } from './dial-vars.ts';
import * as verto from './verto-backend.ts';
import { bindMetaApp, hashApp } from './dialplan-apps-misc.ts';

export interface AppHost {
  readonly model: FreeSwitchModel;
}

export interface RunOptions {
  /** Application-UUID of the first app (sendmsg's Event-UUID). */
  readonly appUuid?: string | undefined;
  /** Not a dialplan: running out of actions does not hang up. */
  readonly standalone?: boolean;
}

type Done = () => void;

/** Executes actions in order; when they run out the channel hangs up NORMAL_CLEARING (unless standalone). */
const EXPORTED = new WeakMap<Channel, Map<string, string>>();

/** The variables a channel exported (export app), with their values, for the legs it originates. */
export function exportedValues(ch: Channel): Map<string, string> {
  let m = EXPORTED.get(ch);
  if (m === undefined) {
    m = new Map();
    EXPORTED.set(ch, m);
  }
  return m;
}

export function runDialplan(host: AppHost, ch: Channel, actions: readonly { app: string; data: string }[], opts: RunOptions = {}): void {
  const model = host.model;
  let index = 0;
  // uuid_bridge (CF_REDIRECT + a new state) takes the channel out of this dialplan: no further action runs
  const generation = ch.appGeneration;
  const next = (): void => {
    if (ch.hungUp || model.stopped || ch.appGeneration !== generation) return;
    const action = actions[index];
    const appUuid = index === 0 ? opts.appUuid : undefined;
    index++;
    if (action === undefined) {
      if (opts.standalone !== true) model.hangupChannel(ch, 'NORMAL_CLEARING');
      return;
    }
    // ${var} in a dialplan action expands when the action runs (variables set
    // by earlier actions, e.g. originate_disposition after a bridge, exist only then).
    const template = (action as { template?: unknown }).template;
    const engine = model.dialplan as { expand?: (t: string, v: Readonly<Record<string, string>>) => string } | undefined;
    const data = typeof template === 'string' && engine?.expand ? engine.expand(template, Object.fromEntries(ch.variables)) : action.data;
    runApp(model, ch, action.app, data, appUuid ?? randomUUID(), next);
  };
  next();
}

function appHeaders(app: string, data: string): Header[] {
  return data === '' ? [['Application', app]] : [['Application', app], ['Application-Data', data]];
}

function runApp(model: FreeSwitchModel, ch: Channel, app: string, data: string, appUuid: string, done: Done): void {
  ch.application = app;
  ch.applicationData = data;
  ch.setVar('current_application_data', data);
  ch.setVar('current_application', app);
  model.fire('CHANNEL_EXECUTE', ch, SITES.execute, { extra: [...appHeaders(app, data), ['Application-UUID', appUuid]] });
  let completed = false;
  const complete = (response = '_none_'): void => {
    if (completed) return;
    completed = true;
    ch.onHangupDuringApp = undefined;
    model.fire('CHANNEL_EXECUTE_COMPLETE', ch, SITES.executeComplete, {
      extra: [...appHeaders(app, data), ['Application-Response', response], ['Application-UUID', appUuid]],
    });
  };
  const finish = (response?: string): void => {
    complete(response);
    done();
  };
  ch.onHangupDuringApp = () => complete();

  switch (app) {
    case 'export': {
      // switch_channel_export_variable: the name joins export_vars (copied to
      // legs this channel originates), and the value is set here unless nolocal:.
      const nolocal = data.startsWith('nolocal:');
      const body = nolocal ? data.slice('nolocal:'.length) : data;
      const eq = body.indexOf('=');
      if (eq > 0) {
        const name = body.slice(0, eq);
        const value = body.slice(eq + 1);
        exportedValues(ch).set(name, value);
        const list = (ch.getVar('export_vars') ?? '').split(',').filter((n) => n !== '' && n !== name);
        ch.setVar('export_vars', [...list, name].join(','));
        if (!nolocal) ch.setVar(name, value);
      }
      finish();
      return;
    }
    case 'set':
    case 'set_profile_var': {
      const eq = data.indexOf('=');
      if (eq > 0) ch.setVar(data.slice(0, eq), data.slice(eq + 1));
      finish();
      return;
    }
    case 'bind_meta_app':
      bindMetaApp(ch, data);
      finish();
      return;
    case 'hash':
      hashApp(model, data);
      finish();
      return;
    case 'unset':
      ch.setVar(data, undefined);
      finish();
      return;
    case 'answer':
      // a Verto leg's answer returns once its DTLS is up (vertoDtlsDelayMs)
      model.markAnswered(ch, () => finish());
      return;
    case 'pre_answer':
      model.markPreAnswer(ch);
      finish();
      return;
    case 'ring_ready':
      model.markRing(ch);
      finish();
      return;
    case 'sleep':
    case 'playback':
    case 'log':
    case 'info': {
      const ms = app === 'sleep' ? (Number.parseInt(data, 10) || 0) * (model.options.sleepScale ?? 1) : 0;
      if (app === 'log' || app === 'info') {
        finish();
        return;
      }
      model.schedule(ms, () => finish(app === 'playback' ? 'FILE PLAYED' : undefined), ch);
      return;
    }
    case 'echo':
      return; // runs until hangup; onHangupDuringApp completes it
    case 'park':
      model.fire('CHANNEL_PARK', ch, SITES.park);
      ch.onHangupDuringApp = () => {
        model.fire('CHANNEL_UNPARK', ch, SITES.unpark);
        complete();
      };
      return;
    case 'hangup':
      model.hangupChannel(ch, parseCause(data.trim()));
      return;
    case 'respond': {
      const status = Number.parseInt(data, 10);
      if (status === 180) model.markRing(ch);
      else if (status === 183) model.markPreAnswer(ch);
      else if (status >= 300) {
        model.hangupChannel(ch, sipStatusToCause(status));
        return;
      }
      finish();
      return;
    }
    case 'transfer': {
      const [dest = '', dialplan = 'XML', context] = data.trim().split(/\s+/);
      // the new profile shows in the application's own EXECUTE_COMPLETE (real verto-13)
      ch.profile.rdnis = ch.profile.destinationNumber;
      ch.profile.transferSource = `${Math.floor(model.nowUs() / 1e6)}:${randomUUID()}:bl_xfer:${dest}/${context ?? ch.profile.context}/${dialplan}`;
      ch.profile.destinationNumber = dest;
      if (context !== undefined) ch.profile.context = context;
      complete();
      verto.routeChannel(model, ch);
      return;
    }
    case 'bridge':
      bridge(model, ch, data, finish, complete);
      return;
    default:
      // switch_core_session_execute_application: "Invalid Application"
      complete();
      model.hangupChannel(ch, 'DESTINATION_OUT_OF_ORDER');
  }
}

/** One target of a bridge dial string: `[{vars}]endpoint`. */
function splitTarget(text: string): { vars: Record<string, string>; dial: string } {
  const m = /^\s*(?:[{[]([^}\]]*)[}\]])?(.*)$/.exec(text);
  return { vars: parseVarList(m?.[1] ?? ''), dial: (m?.[2] ?? '').trim() };
}

function bridge(model: FreeSwitchModel, a: Channel, data: string, finish: (r?: string) => void, complete: (r?: string) => void): void {
  const global = /^\s*\{([^}]*)\}(.*)$/.exec(data);
  const globalVars = parseVarList(global?.[1] ?? '');
  const targets = (global?.[2] ?? data).split('|').map((t) => t.trim()).filter((t) => t !== '');
  let attempt = 0;
  let viaUser = false;

  const fail = (cause: string, sipStatus: number | undefined): void => {
    a.bLeg = undefined;
    a.setVar('originate_disposition', cause);
    a.setVar('originate_failed_cause', cause);
    a.setVar('DIALSTATUS', dialStatusOf(cause));
    a.setVar('last_bridge_hangup_cause', cause);
    if (sipStatus !== undefined) {
      a.setVar('last_bridge_proto_specific_hangup_cause', `sip:${sipStatus}`);
      a.setVar('sip_invite_failure_status', String(sipStatus));
    }
    if (a.hungUp) return;
    if (attempt < targets.length) {
      tryNext();
      return;
    }
    if (CONTINUE_CAUSES.has(cause) || a.getVar('continue_on_fail') === 'true') {
      finish(cause);
      return;
    }
    model.hangupStart(a, cause);
    complete(cause);
    model.finishLater(a);
  };

  // switch_ivr_originate: the caller's disposition until the originate returns (real verto-04 .. -21, observation 17)
  a.setVar('originate_disposition', 'failure');
  a.setVar('DIALSTATUS', 'INVALIDARGS');
  // with `ringback` set (vanilla Local_Extension) the caller hears generated ringback: pre-answer, no ring (real verto-13)
  const ringback = (): void => {
    if (a.hungUp) return;
    if (a.getVar('ringback') !== undefined) model.markPreAnswer(a);
    else model.markRing(a);
  };
  const owner: LegOwner = {
    progress: () => {
      // the bridge thread notices the ring on its next poll: a 200 right after the 180 wins (real verto-21)
      model.later(2, ringback);
    },
    earlyMedia: () => {
      if (!a.hungUp) model.markPreAnswer(a);
    },
    answered: (b) => {
      if (a.hungUp) return;
      if (b.times.progress !== 0) ringback();
      // the caller's profile takes the answering leg's callee id if it has none (real verto-13)
      if (a.profile.calleeIdName === '' && a.profile.calleeIdNumber === '') {
        a.profile.calleeIdName = b.profile.calleeIdName;
        a.profile.calleeIdNumber = b.profile.calleeIdNumber;
      }
      model.markAnswered(a, () => bridged(b));
    },
    failed: (_b, cause, sipStatus) => fail(cause, sipStatus),
    ended: (b, cause) => ended(b, cause),
  };

  // the answering leg is bridged once the caller is answered (a Verto caller: once its DTLS is up)
  const bridged = (b: Channel): void => {
    {
      a.setVar('originate_disposition', 'SUCCESS');
      a.setVar('DIALSTATUS', 'SUCCESS');
      a.setVar('originate_causes', `${b.uuid};NONE`);
      a.setVar('signal_bond', b.uuid);
      if (a.kind === 'verto') verto.notifyDisplay(model, a, b);
      if (b.kind === 'verto') verto.notifyDisplay(model, b, a);
      // mod_dptools' user/ endpoint announces its leg once its inner originate returns (real verto-13)
      if (viaUser) model.fire('CHANNEL_OUTGOING', b, SITES.outgoing);
      const now = model.nowUs();
      a.times.bridged = now;
      b.times.bridged = now;
      a.other = { type: 'originatee', channel: b };
      a.bridgedTo = b.uuid;
      b.bridgedTo = a.uuid;
      a.setVar('bridge_channel', b.name);
      a.setVar('bridge_uuid', b.uuid);
      a.setVar('last_bridge_to', b.uuid);
      b.setVar('bridge_channel', a.name);
      b.setVar('bridge_uuid', a.uuid);
      model.fire('CHANNEL_BRIDGE', a, SITES.bridge, { lead: [['Bridge-A-Unique-ID', a.uuid], ['Bridge-B-Unique-ID', b.uuid]] });
      model.setRunning(b, 'CS_EXCHANGE_MEDIA');
      a.onHangupDuringApp = () => {
        model.fire('CHANNEL_UNBRIDGE', a, SITES.unbridge, { lead: [['Bridge-A-Unique-ID', a.uuid], ['Bridge-B-Unique-ID', b.uuid]] });
        complete();
      };
    }
  };
  const ended = (b: Channel, cause: string): void => {
    {
      a.bLeg = undefined;
      a.bridgedTo = undefined;
      a.setVar('bridge_hangup_cause', cause);
      a.setVar('last_bridge_hangup_cause', cause);
      // the partner's SIP status, when it has one (real verto-05: sip:200 after the trunk's BYE)
      a.setVar('last_bridge_proto_specific_hangup_cause', b.getVar('proto_specific_hangup_cause'));
      a.setVar('last_bridge_role', 'originator');
      if (a.hungUp) return;
      model.fire('CHANNEL_UNBRIDGE', a, SITES.unbridge, { lead: [['Bridge-A-Unique-ID', a.uuid], ['Bridge-B-Unique-ID', b.uuid]] });
      // switch_ivr_multi_threaded_bridge's end (switch_ivr_bridge.c, 1.11.1): an answered partner gone and
      // park_after_bridge on the caller (read then, so a uuid_setvar during the bridge counts) parks it;
      // it takes precedence over hangup_after_bridge, and the rest of the dialplan does not run
      if (b.answered && a.getVar('park_after_bridge') === 'true') {
        complete();
        model.parkChannel(a);
        return;
      }
      if (a.getVar('hangup_after_bridge') === 'true') {
        complete();
        model.hangupChannel(a, cause);
        return;
      }
      finish();
    }
  };

  const tryNext = (): void => {
    const target = targets[attempt++];
    if (target === undefined) {
      fail('NO_ROUTE_DESTINATION', undefined);
      return;
    }
    const { vars, dial } = splitTarget(target);
    const allVars = { ...globalVars, ...vars };
    const gw = /^sofia\/gateway\/([^/]+)\/(.+)$/.exec(dial);
    if (gw !== null) {
      const gateway = gw[1] ?? '';
      if (!model.gatewayExists(gateway)) {
        fail('INVALID_GATEWAY', undefined);
        return;
      }
      a.bLeg = model.createSipLeg({ gateway, number: gw[2] ?? '', vars: allVars, aLeg: a, owner });
      a.setVar('originated_legs', `${a.bLeg.uuid};Outbound Call;${gw[2] ?? ''}`);
      return;
    }
    const session = verto.resolveDialTarget(model, dial);
    viaUser = dial.startsWith('user/');
    if (session !== undefined) {
      a.bLeg = verto.originateToSession(model, session, allVars, a, owner, dial);
      return;
    }
    fail(dial.startsWith('user/') || dial.startsWith('verto.rtc/') || dial.includes('verto_contact') ? 'USER_NOT_REGISTERED' : 'CHAN_NOT_IMPLEMENTED', undefined);
  };
  tryNext();
}
