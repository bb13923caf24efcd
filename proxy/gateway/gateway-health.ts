import { httpCall } from '../http-call.ts';

/** For GET /health: whether the gateway answers `{base}api` with a 2xx within 2 s. */
export function gatewayHealthProbe(gatewayUrl: URL): () => Promise<'up' | 'down'> {
  return async () => {
    try {
      const { status } = await httpCall(new URL('api', gatewayUrl), { timeoutMs: 2000, maxBodyBytes: 0 });
      return status >= 200 && status < 300 ? 'up' : 'down';
    } catch {
      return 'down';
    }
  };
}
