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

/**
 * For state that has no event to wait on (another process's view over
 * HTTP, a server without listeners): re-check on a short interval until it
 * holds or the deadline passes. Not a fixed sleep: it ends as soon as the
 * condition holds.
 */
export async function pollUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, intervalMs);
      t.unref();
    });
  }
}
