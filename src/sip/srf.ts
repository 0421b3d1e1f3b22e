// drachtio-srf behind a typed boundary. Its bundled types are thin and in
// places wrong, so the module is loaded untyped and every value that comes
// out of it is checked here before the edge uses it.
//
// One hardening is applied to drachtio-srf itself: in client mode its
// WireProtocol rethrows any error met while cutting or handling a frame
// (a bad length specifier, an unknown message type) from inside the
// socket's 'data' handler, which would crash the process. The data handler
// is wrapped so such an error closes that connection instead; the link
// then reconnects with its own backoff and logs why.
//
// And one guard: drachtio-srf writes every admin frame it sends through the
// `debug` package (namespaces drachtio:*), `authenticate|<secret>` among
// them, whenever DEBUG enables those namespaces. disableDrachtioDebug()
// takes them out of the `debug` instance drachtio-srf resolves, before
// drachtio-srf is first loaded (createSrf() applies it too).
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

const require = createRequire(import.meta.url);

/** The namespaces drachtio-srf 5 logs under, and a stand-in for any later one. */
const DRACHTIO_NAMESPACES = ['drachtio', 'drachtio:srf', 'drachtio:agent', 'drachtio:socket', 'drachtio:request', 'drachtio:response', 'drachtio:x'];
export const DRACHTIO_DEBUG_SKIP = '-drachtio*';

interface DebugModule {
  enable(namespaces: string): void;
  disable(): string;
  enabled(name: string): boolean;
  readonly names: readonly unknown[];
  readonly skips: readonly unknown[];
}

function debugOfDrachtioSrf(): DebugModule {
  // `debug` as drachtio-srf's own files resolve it (the same instance they use)
  const fromSrf = createRequire(require.resolve('drachtio-srf'));
  const d: unknown = fromSrf('debug');
  if (typeof d !== 'function') throw new Error('debug did not export a function');
  const m = d as unknown as Record<string, unknown>;
  for (const f of ['enable', 'disable', 'enabled']) if (typeof m[f] !== 'function') throw new Error(`debug has no ${f}()`);
  if (!Array.isArray(m['names']) || !Array.isArray(m['skips'])) throw new Error('debug has no names/skips');
  return d as unknown as DebugModule;
}

/**
 * Keep drachtio-srf's debug output (which carries the secret) off, whatever
 * DEBUG says: `-drachtio*` is added to the enabled namespaces (also in
 * process.env.DEBUG, for anything that reads it later). True when DEBUG had
 * enabled a drachtio namespace, i.e. when output was really suppressed.
 */
export function disableDrachtioDebug(): boolean {
  const debug = debugOfDrachtioSrf();
  const wasEnabled = DRACHTIO_NAMESPACES.some((n) => debug.enabled(n));
  if (debug.names.length === 0 || debug.skips.includes(DRACHTIO_DEBUG_SKIP.slice(1))) return wasEnabled;
  const current = debug.disable();
  debug.enable([current, DRACHTIO_DEBUG_SKIP].filter((x) => x !== '').join(','));
  if (DRACHTIO_NAMESPACES.some((n) => debug.enabled(n))) throw new Error('could not disable the drachtio debug namespaces');
  return wasEnabled;
}

export interface SrfConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: string;
}

/** What the edge uses of an Srf instance (one per connection attempt). */
export interface SrfInstance {
  connect(options: SrfConnectOptions & { readonly reconnect: { readonly maxAttempts: number } }): void;
  disconnect(): void;
  invite(handler: (req: unknown, res: unknown) => void): void;
  options(handler: (req: unknown, res: unknown) => void): void;
  on(event: 'connect', fn: (err: unknown, hostport: unknown, version: unknown) => void): void;
  on(event: 'close' | 'error' | 'reconnecting', fn: (...args: unknown[]) => void): void;
  removeAllListeners(): void;
}

type Ctor = new () => SrfInstance;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

let wireErrorReporter: ((err: Error) => void) | undefined;

/** Where errors caught inside drachtio-srf's frame handling are reported (the link's logger). */
export function onWireProtocolError(fn: ((err: Error) => void) | undefined): void {
  wireErrorReporter = fn;
}

function hardenWireProtocol(): void {
  const wp: unknown = require('drachtio-srf/lib/wire-protocol');
  if (typeof wp !== 'function' || !isObject(wp.prototype)) throw new Error('drachtio-srf: unexpected wire-protocol module');
  const proto = wp.prototype;
  const original = proto['_onData'];
  if (typeof original !== 'function') throw new Error('drachtio-srf: WireProtocol has no _onData');
  if (proto['__mseHardened'] === true) return;
  proto['_onData'] = function guarded(this: unknown, socket: Socket, chunk: Buffer): unknown {
    try {
      return (original as (s: Socket, c: Buffer) => unknown).call(this, socket, chunk);
    } catch (err) {
      wireErrorReporter?.(err instanceof Error ? err : new Error(String(err)));
      socket.destroy();
      return undefined;
    }
  };
  proto['__mseHardened'] = true;
}

let ctor: Ctor | undefined;

/** A fresh drachtio-srf instance. */
export function createSrf(): SrfInstance {
  if (ctor === undefined) {
    disableDrachtioDebug();
    const mod: unknown = require('drachtio-srf');
    if (typeof mod !== 'function') throw new Error('drachtio-srf did not export a constructor');
    const proto: unknown = mod.prototype;
    for (const m of ['connect', 'disconnect', 'invite', 'options', 'on', 'proxyRequest', 'removeAllListeners']) {
      if (!isObject(proto) || typeof proto[m] !== 'function') throw new Error(`drachtio-srf: Srf has no ${m}()`);
    }
    hardenWireProtocol();
    ctor = mod as unknown as Ctor;
  }
  return new ctor();
}
