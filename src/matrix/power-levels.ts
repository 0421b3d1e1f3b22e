/** A user's power level from m.room.power_levels content (spec defaults when absent). */
export function powerLevelOf(content: unknown, userId: string): number {
  if (typeof content !== 'object' || content === null) return 0;
  const c = content as { users?: unknown; users_default?: unknown };
  const users = typeof c.users === 'object' && c.users !== null ? (c.users as Record<string, unknown>) : {};
  const own = users[userId];
  if (typeof own === 'number' && Number.isInteger(own)) return own;
  return typeof c.users_default === 'number' && Number.isInteger(c.users_default) ? c.users_default : 0;
}
