// Runs the homeserver simulator on its own:
//   node test/support/homeserver/main.ts --port 8008 [--server-name localhost]
//     [--user alice:alice-pass] [--appservice registration.yaml] [--legacy-appservice-api]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startHomeserverSimulator } from './index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8008' },
    host: { type: 'string', default: '127.0.0.1' },
    'server-name': { type: 'string', default: 'localhost' },
    user: { type: 'string', multiple: true, default: [] },
    appservice: { type: 'string', multiple: true, default: [] },
    'legacy-appservice-api': { type: 'boolean', default: false },
    'no-rate-limits': { type: 'boolean', default: false },
  },
});

const users = values.user.map((spec) => {
  const [localpart, password] = spec.split(':');
  if (localpart === undefined || localpart === '') throw new Error(`--user expects localpart:password, got ${spec}`);
  return password === undefined ? { localpart } : { localpart, password };
});

const hs = await startHomeserverSimulator({
  port: Number(values.port),
  host: values.host,
  serverName: values['server-name'],
  users,
  appservices: values.appservice.map((file) => readFileSync(file, 'utf8')),
  appserviceApi: values['legacy-appservice-api'] ? 'legacy' : 'v1',
  ...(values['no-rate-limits'] ? { rateLimits: false as const } : {}),
});
process.stdout.write(`homeserver simulator listening on ${hs.url} (server name ${hs.serverName})\n`);
const shutdown = (): void => {
  void hs.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
