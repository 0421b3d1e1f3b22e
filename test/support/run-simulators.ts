// npm run sim [-- --appservice <registration.yaml>]
//
// The bundled simulators for a manual session: the FreeSWITCH simulator
// (ESL and mod_verto, the shipped dialplan, a trunk that answers) and the
// homeserver simulator with the edge's account and Alice. Prints their
// addresses and a config for the edge, then runs until Ctrl-C. With
// --appservice, the homeserver loads that registration (written by
// `matrix-sip-edge register`) and pushes transactions to the edge.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { edgeConfig, startFreeSwitch, startMatrix, type MatrixStack } from './sim-stack.ts';
import { startHomeserverSimulator } from './homeserver/index.ts';

const { values } = parseArgs({ options: { appservice: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
if (values.help) {
  process.stdout.write('npm run sim [-- --appservice <registration.yaml>]\n');
  process.exit(0);
}

const fs = await startFreeSwitch({ farEnd: { default: { kind: 'answer', ringMs: 1_000 } }, dialplanOverrides: { mse_inbound_enabled: 'true' } });
let mx: MatrixStack;
if (values.appservice === undefined) {
  mx = await startMatrix();
} else {
  const hs = await startHomeserverSimulator({ rateLimits: false, serverName: 'localhost', appservices: [readFileSync(values.appservice, 'utf8')], appserviceApi: 'legacy' });
  const alice = hs.registerUser('alice', { password: 'alice-pw', displayname: 'Alice Example' });
  mx = { hs, edgeUserId: '', edgeToken: '', aliceId: alice.userId };
}
const alice = mx.hs.login(mx.aliceId);
const config = edgeConfig(fs, mx);
if (values.appservice !== undefined) config['matrix'] = { homeserver_url: mx.hs.url, mode: 'appservice', user_id: '@_sip_bot:localhost' };

process.stdout.write(
  [
    `FreeSWITCH simulator: ESL 127.0.0.1:${fs.eslPort}, Verto ws://127.0.0.1:${fs.vertoPort}`,
    `homeserver simulator: ${mx.hs.url} (server name ${mx.hs.serverName})`,
    values.appservice === undefined ? `  the edge's user ${mx.edgeUserId}` : `  appservice registration ${values.appservice}`,
    `  ${mx.aliceId}, password alice-pw, access token ${alice.accessToken}`,
    '',
    'A config for the edge (these are throwaway simulator credentials):',
    '',
    stringify(config).trimEnd(),
    '',
    'Ctrl-C stops the simulators.',
    '',
  ].join('\n'),
);

const stop = async () => {
  await Promise.allSettled([fs.stop(), mx.hs.stop()]);
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
