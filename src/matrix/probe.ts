import { readRegistration } from '../appservice/registration.ts';
import { createClient } from 'matrix-js-sdk';
import type { EdgeConfig } from '../config/load.ts';
import { withDeadline } from '../net/deadline.ts';
import { silenceSdkGlobalLogger } from './sdk-logging.ts';

/** Ask the homeserver who we are (logging in first when only a password is configured). */
export async function probeHomeserver(config: EdgeConfig['matrix']): Promise<string> {
  silenceSdkGlobalLogger();
  // No localTimeoutMs: the sdk's timeout ponyfill leaves a timer per request; withDeadline bounds each call.
  const base = { baseUrl: config.homeserver_url };
  // Appservice mode: the as_token of the registration, acting as the bridge bot.
  let token = config.mode === 'appservice' ? readRegistration(config.appservice.registration_file).asToken.reveal() : config.accessToken?.reveal();
  if (token === undefined) {
    if (config.password === undefined) throw new Error('no matrix.access_token and no matrix.password');
    const anon = createClient(base);
    const res = await withDeadline(
      anon.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: config.user_id }, password: config.password.reveal() }),
      config.request_timeout_ms,
      'login',
    );
    token = res.access_token;
  }
  const client = createClient({ ...base, accessToken: token, userId: config.user_id });
  try {
    const who = await withDeadline(client.whoami(), config.request_timeout_ms, 'whoami');
    if (who.user_id !== config.user_id) throw new Error(`the ${config.mode === 'appservice' ? 'as_token' : 'token'} belongs to ${who.user_id}, not matrix.user_id ${config.user_id}`);
    return who.user_id;
  } finally {
    client.stopClient();
  }
}
