// Deadline-bound waiting on a condition re-checked whenever a source signals (no polling).

export function waitFor<T>(
  subscribe: (onChange: () => void) => () => void,
  check: () => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const first = check();
  if (first !== undefined) return Promise.resolve(first);
  return new Promise<T>((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      unsubscribe();
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`homeserver simulator: timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = subscribe(() => {
      const v = check();
      if (v === undefined) return;
      finish();
      resolve(v);
    });
  });
}
