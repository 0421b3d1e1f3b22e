// MatrixBot.put(), the outbox's one PUT /send, over real HTTP: a tiny proxy
// in front of the homeserver simulator answers the PUTs as a test scripts
// them (a reverse proxy's HTML error pages among them) and passes every
// other request through. Each answer is judged by its HTTP status, whatever
// error class matrix-js-sdk makes of it: 4xx other than 429 is final,
// 5xx/429 and no answer are retried; a malformed Retry-After is ignored.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../src/config/secret.ts';
import { createLogger } from '../../src/log/logger.ts';
import { MatrixBot } from '../../src/matrix/client.ts';
import { judgeSendError } from '../../src/matrix/send-errors.ts';
import type { PendingSend } from '../../src/store/state-store.ts';
import { startHomeserverSimulator, type HomeserverSimulator } from '../support/homeserver/index.ts';

interface Scripted {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const html = (status: number, title: string): Scripted => ({ status, headers: { 'content-type': 'text/html' }, body: `<html><head><title>${status} ${title}</title></head><body><h1>${title}</h1><hr>nginx</body></html>` });
const json = (status: number, body: unknown, headers: Record<string, string> = {}): Scripted => ({ status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

let hs: HomeserverSimulator;
let proxy: Server;
let bot: MatrixBot;
let roomId = '';
/** Answers for the next PUTs /send, in order; none: passed to the homeserver. */
const script: Scripted[] = [];
let seq = 0;

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const scripted = req.method === 'PUT' && req.url?.includes('/send/') ? script.shift() : undefined;
  if (scripted !== undefined) {
    res.writeHead(scripted.status, scripted.headers).end(scripted.body);
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
  const body = chunks.length === 0 ? undefined : Buffer.concat(chunks);
  const up = await fetch(`${hs.url}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(body === undefined || req.method === 'GET' ? {} : { body }) });
  const out: Record<string, string> = {};
  up.headers.forEach((v, k) => {
    if (k !== 'content-length' && k !== 'content-encoding' && k !== 'transfer-encoding') out[k] = v;
  });
  res.writeHead(up.status, out).end(Buffer.from(await up.arrayBuffer()));
}

const send = (): PendingSend => ({ seq: ++seq, txnId: `mse.test.${seq}`, key: 'c1', roomId, type: 'm.call.hangup', content: { call_id: 'c1', version: '1', party_id: 'p', reason: 'user_hangup' }, createdAt: Date.now() });

beforeAll(async () => {
  hs = await startHomeserverSimulator({ users: [{ localpart: 'edge' }, { localpart: 'alice' }] });
  const edge = hs.registerUser('edge');
  const alice = hs.registerUser('alice');
  roomId = hs.createRoom(alice.userId, { preset: 'trusted_private_chat', invite: [edge.userId] });
  proxy = createServer((req, res) => {
    forward(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  bot = new MatrixBot({
    homeserverUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    userId: edge.userId,
    accessToken: new Secret(edge.accessToken),
    password: undefined,
    deviceId: edge.deviceId,
    requestTimeoutMs: 5_000,
    syncTimeoutMs: 1_000,
    logger: createLogger('silent'),
  });
  await bot.start();
  await bot.joinRoom(roomId);
});
afterAll(async () => {
  await bot?.stop();
  proxy?.closeAllConnections();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await hs?.stop();
});

describe('MatrixBot.put judges a failed send by its HTTP status', () => {
  it('a proxy\'s HTML 413, 403 and 404 are final; its HTML 502 and 503 are retried', async () => {
    script.push(html(413, 'Request Entity Too Large'), html(403, 'Forbidden'), html(404, 'Not Found'), html(502, 'Bad Gateway'), html(503, 'Service Unavailable'));
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await bot.put(send()));
    expect(results.map((r) => (r.ok ? 'ok' : r.retry))).toEqual([false, false, false, true, true]);
    // the status, not the page: no answer body reaches the log
    expect(results.map((r) => (r.ok ? '' : r.reason))).toEqual(['413 (not a Matrix error)', '403 (not a Matrix error)', '404 (not a Matrix error)', '502 (not a Matrix error)', '503 (not a Matrix error)']);
  });

  it('Matrix errors: 429 and 5xx retried with the Retry-After given, other 4xx final', async () => {
    script.push(
      json(429, { errcode: 'M_LIMIT_EXCEEDED', error: 'slow down' }, { 'retry-after': '2' }),
      json(500, { errcode: 'M_UNKNOWN', error: 'oops' }),
      json(400, { errcode: 'M_BAD_JSON', error: 'bad' }),
      json(403, { errcode: 'M_FORBIDDEN', error: 'not in room' }),
    );
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await bot.put(send()));
    expect(results).toEqual([
      { ok: false, retry: true, retryAfterMs: 2_000, reason: '429 M_LIMIT_EXCEEDED' },
      { ok: false, retry: true, retryAfterMs: undefined, reason: '500 M_UNKNOWN' },
      { ok: false, retry: false, retryAfterMs: undefined, reason: '400 M_BAD_JSON' },
      { ok: false, retry: false, retryAfterMs: undefined, reason: '403 M_FORBIDDEN' },
    ]);
  });

  it('a malformed Retry-After (matrix-js-sdk\'s getRetryAfterMs throws) is a retry without a delay, not a thrown put()', async () => {
    script.push(json(429, { errcode: 'M_LIMIT_EXCEEDED', error: 'slow down' }, { 'retry-after': 'soon' }), { status: 503, headers: { 'content-type': 'text/html', 'retry-after': 'later' }, body: '<html>busy</html>' });
    expect(await bot.put(send())).toEqual({ ok: false, retry: true, retryAfterMs: undefined, reason: '429 M_LIMIT_EXCEEDED' });
    expect(await bot.put(send())).toEqual({ ok: false, retry: true, retryAfterMs: undefined, reason: '503 (not a Matrix error)' });
  });

  it('passed through, the homeserver stores the event', async () => {
    const r = await bot.put(send());
    expect(r).toMatchObject({ ok: true, eventId: expect.stringMatching(/^\$/) });
  });
});

describe('judgeSendError', () => {
  it('no status: retried, with the message; a status of any error class decides', () => {
    expect(judgeSendError(new Error('socket hang up'))).toEqual({ ok: false, retry: true, retryAfterMs: undefined, reason: 'socket hang up' });
    expect(judgeSendError(Object.assign(new Error('x'), { httpStatus: 410 }))).toMatchObject({ retry: false, reason: '410 (not a Matrix error)' });
    expect(judgeSendError(Object.assign(new Error('x'), { httpStatus: 504 }))).toMatchObject({ retry: true });
    expect(judgeSendError('a string')).toMatchObject({ retry: true });
  });
});
