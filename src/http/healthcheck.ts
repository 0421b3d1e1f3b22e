// The container's HEALTHCHECK: GET /healthz of the edge running in the same
// network namespace; exit 0 when it answers 200, 1 otherwise (refused,
// timeout, other status). Slim images have no curl; this needs only node.
// MSE_HEALTH_URL overrides the URL when http.port (or host) is not the default.

const DEFAULT_URL = 'http://127.0.0.1:9464/healthz';
const TIMEOUT_MS = 3_000;

export async function probe(url: string, timeoutMs = TIMEOUT_MS): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

if (import.meta.filename === process.argv[1]) {
  const url = process.env['MSE_HEALTH_URL'] || DEFAULT_URL;
  probe(url).then(
    (ok) => process.exit(ok ? 0 : 1),
    () => process.exit(1),
  );
}
