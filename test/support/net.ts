import { createServer } from 'node:net';

/** A TCP port free right now on 127.0.0.1 (for a child process that must be told its port). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** GET a URL; status and text, never throws on a refused connection (status 0). */
export async function httpGet(url: string): Promise<{ status: number; text: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, text: await res.text() };
  } catch {
    return { status: 0, text: '' };
  }
}
