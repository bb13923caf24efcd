import type { IncomingMessage } from 'node:http';

/**
 * Is this request the demo page of this very origin asking for its settings (which hold the
 * gateway token)? What each check stops:
 * - A DNS-rebinding page is same-origin with itself, so it passes every check below; it is
 *   stopped earlier, by the Host allow-list (allowed-hosts.ts), since its Host is its own name.
 *   A per-start nonce in the demo HTML would not help against it either: it can read the HTML.
 * - A page of another site cannot read the JSON (no CORS), but it could still make the browser
 *   load it (script tags, navigations): `Sec-Fetch-Site: same-origin` from a `fetch` refuses
 *   those, and browsers set Sec-Fetch-* themselves, so page script cannot forge them.
 * - The Referer (or Origin) must name this Host and the demo page, so only the demo asks.
 * Nothing here stops a local program that forges the headers: demo mode is for a single-user
 * machine (README, security).
 */
export function isDemoPageRequest(req: IncomingMessage): boolean {
  const host = req.headers.host?.toLowerCase();
  if (!host) return false;
  if (req.headers['sec-fetch-site'] !== 'same-origin') return false;
  const dest = req.headers['sec-fetch-dest'];
  if (dest !== undefined && dest !== 'empty') return false;
  const origin = req.headers.origin;
  if (origin !== undefined && !sameHost(origin, host)) return false;
  const referer = req.headers.referer;
  if (!referer || !sameHost(referer, host)) return false;
  return new URL(referer).pathname.startsWith('/sidecar/demo/');
}

function sameHost(url: string, host: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.host === host;
  } catch {
    return false;
  }
}
