// `matrix-sip-edge register`: writes the registration file (mode 0600) the
// homeserver loads and the edge reads its tokens from, and says what to add
// to the homeserver's configuration.
import { serverNameOf, type EdgeConfig } from '../config/load.ts';
import { localpartOf } from './ghosts.ts';
import { newRegistration, RegistrationError, writeRegistration } from './registration.ts';

/** Exit status: 0 written, 1 not (the reason printed). */
export function register(config: EdgeConfig, force: boolean, out: (line: string) => void, err: (line: string) => void): number {
  if (config.matrix.mode !== 'appservice') {
    err('matrix.mode is "bot": set it to "appservice" first (register writes the registration of an application service)');
    return 1;
  }
  const as = config.matrix.appservice;
  const path = as.registration_file;
  try {
    writeRegistration(path, newRegistration({ id: as.id, url: as.url, senderLocalpart: localpartOf(config.matrix.user_id), ghostPrefix: as.ghost_prefix, serverName: serverNameOf(config.matrix.user_id) }), force);
  } catch (e) {
    err(e instanceof RegistrationError ? e.message : `cannot write ${path}: ${(e as Error).message}`);
    return 1;
  }
  out(`wrote ${path} (mode 0600: it holds the as_token and hs_token)`);
  out('');
  out('Give the homeserver this file. For Synapse, in homeserver.yaml:');
  out('');
  out('  app_service_config_files:');
  out(`    - ${path}`);
  out('');
  out('then restart Synapse. The edge reads its tokens from the same file (matrix.appservice.registration_file);');
  out(`the homeserver must reach the edge at ${as.url}, and the edge listens on ${as.host}:${as.port}.`);
  out(`Ghosts: @${as.ghost_prefix}<number>:${serverNameOf(config.matrix.user_id)}; the bridge bot: ${config.matrix.user_id}.`);
  return 0;
}
