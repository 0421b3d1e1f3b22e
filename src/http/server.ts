import { createServer, type Server } from 'node:http';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from './metrics.ts';

export interface HealthSource {
  /** True when every peer (ESL, Verto, homeserver) is connected. */
  ready(): { ready: boolean; peers: Record<string, string> };
}

/** /healthz, /readyz and /metrics. Nothing else is served. */
export class HttpServer {
  readonly #server: Server;
  readonly #log: Logger;

  constructor(health: HealthSource, metrics: Metrics, log: Logger) {
    this.#log = log.child({ component: 'http' });
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else if (path === '/readyz') {
        const r = health.ready();
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: r.ready ? 'ready' : 'not ready', peers: r.peers }));
      } else if (path === '/metrics') {
        metrics.render().then(
          (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    this.#server.headersTimeout = 5_000;
    this.#server.requestTimeout = 10_000;
    this.#server.keepAliveTimeout = 2_000;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        const address = this.#server.address();
        const actual = typeof address === 'object' && address !== null ? address.port : port;
        this.#log.info({ host, port: actual }, 'http listening');
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
}
