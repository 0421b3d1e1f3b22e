// The Verto server over the real channel model (FreeSwitchModel) configured
// like the capture instance (traces/real/README.md): vanilla default context
// plus the 1555/1556/1557 and 1560..1566 extensions, the capture's gateways
// and SIPp behaviours, with shortened timers. An ESL server runs on the same
// model (as mod_event_socket beside mod_verto), for the ESL companions.
import { EslServer } from '../support/freeswitch/esl-server.ts';
import { VertoServer } from '../support/freeswitch/verto-server.ts';
import { VertoDirectory } from '../support/freeswitch/verto-directory.ts';
import { CAPTURE_USERS } from '../support/freeswitch/capture-config/verto-users.ts';
import { CAPTURE_GATEWAYS, loadCaptureDialplan } from '../support/freeswitch/capture-config/index.ts';
import { FreeSwitchModel } from '../support/freeswitch/channel-model.ts';
import type { FarEndBehaviour, FsEvent } from '../support/freeswitch/contract.ts';

export interface ModelSim {
  readonly model: FreeSwitchModel;
  readonly server: VertoServer;
  /** mod_event_socket on the same model (password ClueCon), on `eslPort` of 127.0.0.1. */
  readonly esl: EslServer;
  readonly eslPort: number;
  stop(): Promise<void>;
}

export interface ModelSimTimers {
  /** Server keep-alive (30 s in FreeSWITCH). */
  readonly pingIntervalMs?: number;
  /** Originate timeout (60 s default in FreeSWITCH). */
  readonly originateTimeoutMs?: number;
  /** detach-timeout-sec of the capture: 30 s. */
  readonly detachTimeoutMs?: number;
  /** Factor on dialplan `sleep` (extension 1557 sleeps 2 s). */
  readonly sleepScale?: number;
}

/** Model options on top of the capture rig's (ctl-* replays: far-end timing, vertoDtlsDelayMs). */
export interface ModelSimOverrides {
  readonly farEndByGateway?: Readonly<Record<string, FarEndBehaviour>>;
  readonly vertoDtlsDelayMs?: number | 'manual';
}

export async function startModelSim(timers: ModelSimTimers = {}, overrides: ModelSimOverrides = {}): Promise<ModelSim> {
  let model: FreeSwitchModel | undefined;
  const dialplan = loadCaptureDialplan({ apis: { verto_contact: (user) => model?.vertoContact(user) } });
  model = new FreeSwitchModel({
    dialplan,
    domain: '127.0.0.1',
    vertoProfile: 'default-v4',
    gateways: Object.fromEntries(CAPTURE_GATEWAYS.map((g) => [g, { profile: 'external' }])),
    originateTimeoutMs: timers.originateTimeoutMs ?? 60_000,
    detachTimeoutMs: timers.detachTimeoutMs ?? 30_000,
    sleepScale: timers.sleepScale ?? 1,
    farEnd: {
      byGateway: {
        // sipp -sn uas: 180 + 200 at once, never hangs up.
        sipp: { kind: 'answer', ringMs: 0 },
        // custom UAS on 5092: rings 1 s, answers, BYE 6 s after the ACK (shortened).
        sipp_bye: { kind: 'answer', ringMs: 50, hangupAfterMs: 150 },
        t486: { kind: 'reject', sipStatus: 486 },
        t480: { kind: 'reject', sipStatus: 480, ringMs: 50 },
        t404: { kind: 'reject', sipStatus: 404 },
        t503: { kind: 'reject', sipStatus: 503 },
        t603: { kind: 'reject', sipStatus: 603, ringMs: 50 },
        tring: { kind: 'no-answer' },
        tring2: { kind: 'no-answer' },
        sipp_busy: { kind: 'reject', sipStatus: 486 },
        ...overrides.farEndByGateway,
      },
    },
    ...(overrides.vertoDtlsDelayMs === undefined ? {} : { vertoDtlsDelayMs: overrides.vertoDtlsDelayMs }),
  });
  const server = await VertoServer.start({
    backend: model,
    directory: new VertoDirectory(CAPTURE_USERS),
    pingIntervalMs: timers.pingIntervalMs ?? 30_000,
    eventFlushMs: 5,
  });
  const esl = new EslServer(model);
  const eslPort = await esl.listen(0, '127.0.0.1');
  const m = model;
  return {
    model: m,
    server,
    esl,
    eslPort,
    stop: async () => {
      await server.close();
      await esl.close();
      m.stop();
    },
  };
}

/** Resolve with the first model event matching `pred`, or fail after `deadlineMs`. */
export function waitForEvent(model: FreeSwitchModel, pred: (e: FsEvent) => boolean, deadlineMs: number): Promise<FsEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching event within ${deadlineMs} ms`));
    }, deadlineMs);
    const off = model.onEvent((e) => {
      if (pred(e)) {
        clearTimeout(timer);
        off();
        resolve(e);
      }
    });
  });
}

export function header(e: FsEvent, name: string): string | undefined {
  return e.headers.find(([k]) => k === name)?.[1];
}

/** Every model event from now on, and waits on them (past ones included) with a deadline. */
export interface EventRecorder {
  readonly events: readonly FsEvent[];
  /** The first recorded event (past or future) matching `pred`, or fail after `deadlineMs`. */
  waitFor(pred: (e: FsEvent) => boolean, deadlineMs: number, what: string): Promise<FsEvent>;
  stop(): void;
}

export function recordEvents(model: FreeSwitchModel): EventRecorder {
  const events: FsEvent[] = [];
  const waiters = new Set<() => void>();
  const off = model.onEvent((e) => {
    events.push(e);
    for (const w of [...waiters]) w();
  });
  return {
    events,
    waitFor: (pred, deadlineMs, what) => new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = events.find(pred);
        if (hit === undefined) return false;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} within ${deadlineMs} ms`));
      }, deadlineMs);
      if (!check()) waiters.add(check);
    }),
    stop: off,
  };
}

/** CHANNEL_* event `name` of channel `uuid`. */
export function channelEvent(name: string, uuid: string): (e: FsEvent) => boolean {
  return (e) => header(e, 'Event-Name') === name && header(e, 'Unique-ID') === uuid;
}

/** The CUSTOM verto::client_disconnect event. */
export function isClientDisconnect(e: FsEvent): boolean {
  return header(e, 'Event-Name') === 'CUSTOM' && header(e, 'Event-Subclass') === 'verto::client_disconnect';
}
