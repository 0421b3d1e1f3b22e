// node:http server: reads the request, applies injected faults, dispatches to the routes,
// answers Matrix errors in the spec format, records everything. stop() ends long-polls,
// closes every socket and the listener.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { authenticate } from './auth.ts';
import type { HsContext } from './context.ts';
import { errors, MatrixError } from './errors.ts';
import type { Faults } from './faults.ts';
import { readBody, writeJson, type HsRequest, type HsResponse } from './http.ts';
import type { Recorder } from './recorder.ts';
import { dispatch, type Route } from './router.ts';

export interface RunningServer {
  readonly port: number;
  close(): Promise<void>;
}

function parseMaybeJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function whoIs(ctx: HsContext, req: HsRequest): string | undefined {
  try {
    return authenticate(req, ctx.store, ctx.appservices).userId;
  } catch {
    return undefined;
  }
}

async function handle(ctx: HsContext, routes: readonly Route[], faults: Faults, recorder: Recorder, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const receivedAt = Date.now();
  const url = new URL(req.url ?? '/', 'http://simulator');
  let rawBody = '';
  let response: HsResponse;
  const hsReq: HsRequest = {
    method: req.method ?? 'GET',
    rawPath: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    get rawBody() {
      return rawBody;
    },
    remoteAddress: req.socket.remoteAddress ?? '',
    params: [],
  };
  try {
    rawBody = await readBody(req);
    response = faults.match(hsReq) ?? (await dispatch(routes, hsReq));
  } catch (e) {
    response = e instanceof MatrixError ? { status: e.status, body: e.body() } : { status: 500, body: errors.internal().body() };
  }
  writeJson(res, response);
  recorder.add({
    method: hsReq.method,
    path: hsReq.rawPath,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    body: parseMaybeJson(rawBody),
    userId: whoIs(ctx, hsReq),
    status: response.status,
    response: response.body,
    receivedAt,
    answeredAt: Date.now(),
  });
}

export function listen(ctx: HsContext, routes: readonly Route[], faults: Faults, recorder: Recorder, host: string, port: number): Promise<RunningServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void handle(ctx, routes, faults, recorder, req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address() as AddressInfo;
      resolve({
        port: addr.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Let woken long-polls write their answers, then drop every connection.
            setImmediate(() => {
              server.closeAllConnections();
              for (const s of sockets) s.destroy();
            });
          }),
      });
    });
  });
}
