// The application service API the homeserver calls: transactions, user
// queries, ping and the third-party lookups Element's dial pad uses. Every
// path is served with the /_matrix/app/v1 prefix and without it (Synapse
// 1.67 pushes to the legacy unprefixed paths, traces/real/synapse-02), the
// third-party ones under /_matrix/app/unstable too. Every request carries
// the hs_token (Authorization: Bearer, or the legacy access_token query
// parameter); a wrong one gets 403 M_FORBIDDEN and nothing else happens.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../config/secret.ts';
import { parseTransactionBody } from './pushed-events.ts';
import type { PushedEvent } from './pushed-events.ts';

/** Largest body accepted: 100 events of at most 64 KiB each, and some room. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface AppserviceHandlers {
  /** Handle a pushed transaction; resolves once its events are taken (then 200 is sent). */
  transaction(txnId: string, events: readonly PushedEvent[], skipped: number): Promise<void>;
  /** Whether a user in the edge's namespace exists (registering it first if it should). */
  userExists(userId: string): Promise<boolean>;
  /** A third-party protocol's description, or undefined when the edge does not serve it. */
  protocol(protocol: string): Record<string, unknown> | undefined;
  /** Users for a third-party lookup (`fields` are the query parameters), or undefined for an unknown protocol. */
  thirdpartyUsers(protocol: string, fields: Readonly<Record<string, string>>): Promise<readonly Record<string, unknown>[] | undefined>;
  /** The reverse lookup: the third-party identity of a ghost. */
  thirdpartyUserOf(userId: string): readonly Record<string, unknown>[];
}

type Reply = { readonly status: number; readonly body: unknown };

const error = (status: number, errcode: string, message: string): Reply => ({ status, body: { errcode, error: message } });

class BodyError extends Error {}

export class AppserviceApiServer {
  readonly #server: Server;
  readonly #log: Logger;
  readonly #hsToken: Buffer;
  readonly #handlers: AppserviceHandlers;

  constructor(hsToken: Secret, handlers: AppserviceHandlers, log: Logger) {
    this.#log = log.child({ component: 'appservice-api' });
    this.#hsToken = Buffer.from(hsToken.reveal());
    this.#handlers = handlers;
    this.#server = createServer((req, res) => void this.#serve(req, res));
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 60_000;
    this.#server.keepAliveTimeout = 5_000;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        const address = this.#server.address();
        const actual = typeof address === 'object' && address !== null ? address.port : port;
        this.#log.info({ host, port: actual }, 'appservice API listening');
        resolve(actual);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.#route(req);
    } catch (err) {
      if (err instanceof BodyError) reply = error(400, 'M_NOT_JSON', err.message);
      else {
        this.#log.error({ err: (err as Error).message, method: req.method, path: pathOnly(req.url) }, 'appservice request failed');
        reply = error(500, 'M_UNKNOWN', 'the edge could not handle the request');
      }
    }
    const text = JSON.stringify(reply.body);
    if (!res.headersSent) res.writeHead(reply.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async #route(req: IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'http://appservice');
    const auth = this.#authorise(req, url);
    if (auth !== undefined) {
      req.resume();
      return auth;
    }
    const path = url.pathname.replace(/^\/_matrix\/app\/(v1|unstable)(?=\/)/, '');
    const parts = path.split('/').slice(1).map((p) => decodeURIComponentSafe(p));
    const method = req.method ?? 'GET';
    if (parts[0] === 'transactions' && parts.length === 2 && parts[1] !== undefined && parts[1] !== '') {
      if (method !== 'PUT') return methodNotAllowed(req);
      const body = await readJson(req);
      const parsed = parseTransactionBody(body);
      if (!parsed.ok) return error(400, 'M_BAD_JSON', parsed.reason);
      if (parsed.skipped > 0) this.#log.warn({ txnId: parts[1], skipped: parsed.skipped, reasons: parsed.reasons.slice(0, 5) }, 'a pushed transaction held events the edge could not read; they were skipped');
      await this.#handlers.transaction(parts[1], parsed.events, parsed.skipped);
      return { status: 200, body: {} };
    }
    req.resume();
    if (parts[0] === 'users' && parts.length === 2 && parts[1] !== undefined) {
      if (method !== 'GET') return methodNotAllowed(req);
      return (await this.#handlers.userExists(parts[1])) ? { status: 200, body: {} } : error(404, 'M_NOT_FOUND', 'no such user');
    }
    if (parts[0] === 'rooms' && parts.length === 2) return error(404, 'M_NOT_FOUND', 'the edge has no room aliases');
    if (parts[0] === 'ping' && parts.length === 1) return method === 'POST' ? { status: 200, body: {} } : methodNotAllowed(req);
    if (parts[0] === 'thirdparty') {
      if (method !== 'GET') return methodNotAllowed(req);
      return this.#thirdparty(parts.slice(1), url.searchParams);
    }
    return error(404, 'M_UNRECOGNIZED', 'unknown appservice endpoint');
  }

  async #thirdparty(parts: readonly string[], query: URLSearchParams): Promise<Reply> {
    const [kind, protocol] = parts;
    if (kind === 'protocol' && protocol !== undefined && parts.length === 2) {
      const p = this.#handlers.protocol(protocol);
      return p === undefined ? error(404, 'M_NOT_FOUND', `unknown protocol ${protocol}`) : { status: 200, body: p };
    }
    if (kind === 'user' && protocol !== undefined && parts.length === 2) {
      const fields: Record<string, string> = {};
      for (const [k, v] of query) if (k !== 'access_token') fields[k] = v;
      const users = await this.#handlers.thirdpartyUsers(protocol, fields);
      if (users === undefined) return error(404, 'M_NOT_FOUND', `unknown protocol ${protocol}`);
      return users.length === 0 ? error(404, 'M_NOT_FOUND', 'no user for that number') : { status: 200, body: users };
    }
    if (kind === 'user' && parts.length === 1) {
      const userId = query.get('userid');
      if (userId === null) return error(400, 'M_MISSING_PARAM', 'userid is required');
      const users = this.#handlers.thirdpartyUserOf(userId);
      return users.length === 0 ? error(404, 'M_NOT_FOUND', 'not one of the edge\'s users') : { status: 200, body: users };
    }
    if (kind === 'location') return error(404, 'M_NOT_FOUND', 'the edge has no third-party locations');
    return error(404, 'M_UNRECOGNIZED', 'unknown third-party endpoint');
  }

  /** undefined when the request carries the hs_token; else the answer (401 without a token, 403 with a wrong one). */
  #authorise(req: IncomingMessage, url: URL): Reply | undefined {
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' && /^Bearer /i.test(header) ? header.slice(7).trim() : undefined;
    const token = bearer ?? url.searchParams.get('access_token') ?? undefined;
    if (token === undefined || token === '') return error(401, 'M_UNAUTHORIZED', 'missing the homeserver token');
    const given = Buffer.from(token);
    if (given.length !== this.#hsToken.length || !timingSafeEqual(given, this.#hsToken)) {
      this.#log.warn({ method: req.method, path: pathOnly(req.url), from: req.socket.remoteAddress }, 'refused a request with a wrong homeserver token');
      return error(403, 'M_FORBIDDEN', 'bad token supplied');
    }
    return undefined;
  }
}

function methodNotAllowed(req: IncomingMessage): Reply {
  req.resume();
  return error(405, 'M_UNRECOGNIZED', 'method not allowed');
}

/** The path without its query (which may carry the hs_token): safe to log. */
const pathOnly = (url: string | undefined): string => (url ?? '').split('?')[0] ?? '';

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new BodyError(`the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BodyError('the body is not JSON');
  }
}
