// `check`: one connection to drachtio-server's admin port with the
// configured secret, no retry. A refused secret names sip.drachtio.secret.
import type { EdgeConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import { DrachtioLink, SECRET_KEY } from './drachtio-link.ts';

export interface DrachtioProbe {
  readonly ok: boolean;
  readonly detail: string;
}

export async function probeDrachtioServer(config: EdgeConfig, log: Logger): Promise<DrachtioProbe> {
  const d = config.sip.drachtio;
  const where = `${d.host}:${d.port}`;
  if (d.secret === undefined) return { ok: false, detail: `${where}: ${SECRET_KEY} is not set` };
  const link = new DrachtioLink({ host: d.host, port: d.port, secret: d.secret, connectTimeoutMs: d.connect_timeout_ms, backoff: false, log });
  const outcome = new Promise<string | undefined>((resolve) => {
    link.onState((state, reason) => {
      if (state === 'connected') resolve(undefined);
      else if (state === 'stopped') resolve(reason ?? 'stopped');
    });
  });
  link.start();
  const failure = await outcome;
  const version = link.serverVersion;
  await link.stop();
  return failure === undefined
    ? { ok: true, detail: `${where}: authenticated${version === undefined ? '' : `; drachtio-server ${version}`}` }
    : { ok: false, detail: `${where}: ${failure}` };
}
