// The drachtio link against a misbehaving server: malformed frames and an
// unknown message type close the connection (drachtio-srf alone would throw
// from its socket handler and crash the process) and the link reconnects
// with backoff; a server that never answers the authenticate times out.
import { createServer, type Server, type Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.ts';
import { createLogger } from '../../src/log/logger.ts';
import { DrachtioLink } from '../../src/sip/drachtio-link.ts';
import { encodeFrame, FrameDecoder } from '../support/drachtio/framing.ts';
import { waitUntil } from '../support/wait.ts';

const events = new EventEmitter();
let server: Server | undefined;
let link: DrachtioLink | undefined;
const sockets = new Set<Socket>();

async function fakeServer(onAuth: (socket: Socket, msgId: string, attempt: number) => void): Promise<number> {
  let attempt = 0;
  server = createServer((socket) => {
    sockets.add(socket);
    const n = ++attempt;
    const d = new FrameDecoder();
    socket.on('data', (b: Buffer) => {
      for (const p of d.push(b)) if (p.split('|')[1] === 'authenticate') onAuth(socket, p.split('|')[0] ?? '', n);
    });
    socket.on('error', () => undefined);
    events.emit('change');
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const a = server.address();
  return typeof a === 'object' && a !== null ? a.port : 0;
}

function newLink(port: number, connectTimeoutMs = 2_000): DrachtioLink {
  link = new DrachtioLink({ host: '127.0.0.1', port, secret: new Secret('s'), connectTimeoutMs, backoff: { initialDelayMs: 20, maxDelayMs: 100 }, log: createLogger(process.env['DBG'] ? 'debug' : 'silent') });
  link.onState(() => events.emit('change'));
  return link;
}

afterEach(async () => {
  await link?.stop();
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise<void>((r) => (server === undefined ? r() : server.close(() => r())));
  server = undefined;
});

describe('drachtio link', () => {
  it('survives an unknown message type and a broken length specifier, and reconnects', async () => {
    const states: string[] = [];
    const port = await fakeServer((socket, msgId, attempt) => {
      socket.write(encodeFrame(`a1|response|${msgId}|OK|tcp/127.0.0.1:5070|v0.9.10|tcp/127.0.0.1:5070`));
      if (attempt === 1) socket.write(encodeFrame('a2|bogus-type|x'));
      if (attempt === 2) socket.write('abc#garbage');
    });
    const l = newLink(port);
    l.onState((s) => states.push(s));
    l.start();
    await waitUntil(events, () => states.filter((s) => s === 'connected').length >= 3, 'three connections', 5_000);
    expect(states.filter((s) => s === 'reconnecting').length).toBeGreaterThanOrEqual(2);
  });

  it('gives up an attempt whose authenticate gets no answer, and tries again', async () => {
    let attempts = 0;
    const port = await fakeServer(() => {
      attempts += 1;
    });
    const l = newLink(port, 150);
    l.start();
    await waitUntil(events, () => attempts >= 2 && l.state === 'reconnecting', 'a second attempt after a timeout', 5_000);
  });
});
