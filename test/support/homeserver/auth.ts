// Access-token resolution: users' tokens, appservice as_tokens and ?user_id= masquerading
// (traces/real/synapse-05, traces/matrix/13).
import { errors } from './errors.ts';
import type { HsRequest } from './http.ts';
import { matchesAny, type Registration } from './registration.ts';
import type { Store } from './store.ts';
import type { Requester } from './types.ts';

export function accessToken(req: HsRequest): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (m?.[1] !== undefined) return m[1];
  }
  return req.query.get('access_token') ?? undefined;
}

export function authenticate(req: HsRequest, store: Store, appservices: readonly Registration[]): Requester {
  const token = accessToken(req);
  if (token === undefined) throw errors.missingToken();
  const record = store.tokens.get(token);
  if (record === undefined) throw errors.unknownToken();
  if (record.appserviceId === undefined) {
    return {
      userId: record.userId,
      deviceId: record.deviceId,
      txnScope: record.tokenId,
      tokenId: record.tokenId,
      appserviceId: undefined,
      isAppserviceSender: false,
    };
  }
  const as = appservices.find((a) => a.id === record.appserviceId);
  if (as === undefined) throw errors.unknownToken();
  const masquerade = req.query.get('user_id');
  const asRequester = (userId: string, isSender: boolean): Requester => ({
    userId,
    deviceId: undefined,
    // Synapse keys appservice transaction ids per appservice, not per ghost.
    txnScope: `as:${as.id}`,
    tokenId: record.tokenId,
    appserviceId: as.id,
    isAppserviceSender: isSender,
  });
  if (masquerade === null || masquerade === record.userId) return asRequester(record.userId, true);
  if (!matchesAny(as.users, masquerade) || !masquerade.endsWith(`:${store.serverName}`)) {
    throw errors.cannotMasquerade(masquerade);
  }
  if (!store.users.has(masquerade)) throw errors.notRegisteredByAs(masquerade);
  return asRequester(masquerade, false);
}
