import type { IncomingHttpHeaders } from 'node:http';

/**
 * Jupyter refuses requests whose Origin differs from their Host. A browser that talks to the
 * sidecar sends the sidecar's origin; when that is the host it asked (same-origin to the
 * sidecar), it becomes the gateway's own origin, so the gateway sees a same-origin request.
 * A cross-origin Origin is left as it is, and the gateway's allow_origin decides.
 */
export function sameOriginAsGateway(headers: IncomingHttpHeaders, gateway: URL): { origin?: string; referer?: string } {
  const out: { origin?: string; referer?: string } = {};
  const host = headers.host;
  const origin = headers.origin;
  if (origin && host && hostOf(origin) === host) out.origin = gateway.origin;
  const referer = headers.referer;
  if (referer && host && hostOf(referer) === host) {
    const url = new URL(referer);
    out.referer = `${gateway.origin}${url.pathname}${url.search}`;
  }
  return out;
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

/** Prefix a Location and cookie paths with `/chats/{id}` for clients that use that prefix as their base URL. */
export function prefixResponseHeaders(headers: IncomingHttpHeaders, prefix: string): void {
  const location = headers.location;
  if (location?.startsWith('/') && !location.startsWith('//')) headers.location = prefix + location;
  const cookies = headers['set-cookie'];
  if (cookies) {
    headers['set-cookie'] = cookies.map((cookie) =>
      cookie.replace(/;\s*Path=(\/[^;]*)/i, (_m, p: string) => `; Path=${prefix}${p}`),
    );
  }
}
