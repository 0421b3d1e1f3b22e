// Matrix error answers: {errcode, error}, with the statuses and texts Synapse 1.67 sends
// (traces/real/synapse-04, -05, -06, -01).
import type { JsonObject } from './types.ts';

export class MatrixError extends Error {
  readonly status: number;
  readonly errcode: string;
  readonly extra: JsonObject;
  constructor(status: number, errcode: string, error: string, extra: JsonObject = {}) {
    super(error);
    this.status = status;
    this.errcode = errcode;
    this.extra = extra;
  }
  body(): JsonObject {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const errors = {
  unrecognized: (): MatrixError => new MatrixError(400, 'M_UNRECOGNIZED', 'Unrecognized request'),
  missingToken: (): MatrixError => new MatrixError(401, 'M_MISSING_TOKEN', 'Missing access token'),
  unknownToken: (): MatrixError =>
    new MatrixError(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', { soft_logout: false }),
  badLogin: (): MatrixError => new MatrixError(403, 'M_FORBIDDEN', 'Invalid username or password'),
  notJson: (): MatrixError => new MatrixError(400, 'M_NOT_JSON', 'Content not JSON.'),
  badJson: (message: string): MatrixError => new MatrixError(400, 'M_BAD_JSON', message),
  missingParam: (message: string): MatrixError => new MatrixError(400, 'M_MISSING_PARAM', message),
  forbidden: (message: string): MatrixError => new MatrixError(403, 'M_FORBIDDEN', message),
  unknownRoom: (): MatrixError => new MatrixError(403, 'M_FORBIDDEN', 'Unknown room'),
  notInRoom: (userId: string, roomId: string, membership: string | undefined): MatrixError =>
    new MatrixError(
      403,
      'M_FORBIDDEN',
      `User ${userId} not in room ${roomId} (${membership === undefined ? 'None' : `'${membership}'`})`,
    ),
  invalidParam: (message: string): MatrixError => new MatrixError(400, 'M_INVALID_PARAM', message),
  notFound: (message: string): MatrixError => new MatrixError(404, 'M_NOT_FOUND', message),
  joinUnknownRoom: (): MatrixError =>
    new MatrixError(404, 'M_UNKNOWN', "Can't join remote room because no servers that are in the room have been provided."),
  invalidStreamToken: (): MatrixError => new MatrixError(400, 'M_UNKNOWN', 'Invalid stream token'),
  internal: (): MatrixError => new MatrixError(500, 'M_UNKNOWN', 'Internal server error'),
  limitExceeded: (retryAfterMs: number): MatrixError =>
    new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: retryAfterMs }),
  userInUse: (): MatrixError => new MatrixError(400, 'M_USER_IN_USE', 'User ID already taken.'),
  exclusive: (): MatrixError =>
    new MatrixError(400, 'M_EXCLUSIVE', 'Invalid user localpart for this application service.'),
  invalidUsername: (message: string): MatrixError => new MatrixError(400, 'M_INVALID_USERNAME', message),
  cannotMasquerade: (userId: string): MatrixError =>
    new MatrixError(403, 'M_FORBIDDEN', `Application service cannot masquerade as this user (${userId}).`),
  notRegisteredByAs: (userId: string): MatrixError =>
    new MatrixError(403, 'M_FORBIDDEN', `Application service has not registered this user (${userId})`),
  federationDenied: (server: string): MatrixError =>
    new MatrixError(403, 'M_FORBIDDEN', `Federation denied with ${server}.`),
  profileNotFound: (): MatrixError => new MatrixError(404, 'M_NOT_FOUND', 'Profile was not found'),
  eventNotFound: (): MatrixError => new MatrixError(404, 'M_NOT_FOUND', 'Event not found.'),
  filterNotFound: (): MatrixError => new MatrixError(404, 'M_NOT_FOUND', 'No such filter'),
} as const;
