// Ghost users: one virtual Matrix user per phone number, in the appservice's
// exclusive namespace (@_sip_+4930123456:example.org by default).

export interface GhostNaming {
  /** Localpart prefix of every ghost, e.g. "_sip_". */
  readonly prefix: string;
  /** The homeserver's server name (the part after ':' in user ids). */
  readonly serverName: string;
}

/** What a ghost may stand for: an E.164 number, or an extension of digits. */
const NUMBER = /^(\+[1-9][0-9]{1,14}|[0-9]{1,15})$/;

export function ghostUserId(naming: GhostNaming, number: string): string {
  if (!NUMBER.test(number)) throw new Error(`not a number a ghost can stand for: ${JSON.stringify(number)}`);
  return `@${naming.prefix}${number}:${naming.serverName}`;
}

/** The number a ghost stands for, or undefined when the user id is not one of the edge's ghosts. */
export function numberOfGhost(naming: GhostNaming, userId: string): string | undefined {
  const head = `@${naming.prefix}`;
  const tail = `:${naming.serverName}`;
  if (!userId.startsWith(head) || !userId.endsWith(tail)) return undefined;
  const number = userId.slice(head.length, userId.length - tail.length);
  return NUMBER.test(number) ? number : undefined;
}

export function localpartOf(userId: string): string {
  return userId.slice(1, userId.indexOf(':'));
}
