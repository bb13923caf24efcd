/** For GET /health: whether the gateway answers `{base}api` with a 2xx within 2 s. */
export function gatewayHealthProbe(gatewayUrl: URL): () => Promise<'up' | 'down'> {
  return async () => {
    try {
      const res = await fetch(new URL('api', gatewayUrl), { signal: AbortSignal.timeout(2000) });
      return res.ok ? 'up' : 'down';
    } catch {
      return 'down';
    }
  };
}
