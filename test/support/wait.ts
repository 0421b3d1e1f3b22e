import { EventEmitter, once } from 'node:events';

/**
 * Wait until `check()` holds, re-checking whenever `source` emits `change`.
 * Fails with a message naming what was awaited when the deadline passes.
 * No fixed sleeps: the wait ends at the event that makes it true.
 */
export async function waitUntil(
  source: EventEmitter,
  check: () => boolean,
  what: string,
  timeoutMs = 5_000,
): Promise<void> {
  if (check()) return;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    while (!check()) {
      await once(source, 'change', { signal: controller.signal });
    }
  } catch (err) {
    if (controller.signal.aborted) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
