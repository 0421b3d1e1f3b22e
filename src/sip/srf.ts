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
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

const require = createRequire(import.meta.url);

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
