/**
 * Which Host header values the sidecar answers. The sidecar rewrites Host for the gateway, which
 * switches off Jupyter's own DNS-rebinding guard, so the guard lives here: a page on
 * evil.example whose name was re-pointed at 127.0.0.1 still sends `Host: evil.example`, and that
 * is the one thing such a page cannot change. A name is allowed only because someone configured
 * it (or it is a loopback name, which no outside DNS answer can claim for the browser).
 */
export interface HostAllowList {
  allows(hostHeader: string | undefined): boolean;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

interface HostPattern {
  hostname: string;
  /** null: any port. */
  port: string | null;
}

/**
 * `name`, `name:port`, `[v6]` or `[v6]:port`, lower-cased; null for anything else. The one
 * pattern for Host values: --allowed-hosts is checked with it at start and requests at run time.
 */
export function parseHostHeader(value: string): HostPattern | null {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value.trim().toLowerCase());
  if (!match) return null;
  return { hostname: match[1]!.replace(/\.$/, ''), port: match[2] ?? null };
}

/** The address the sidecar listens on, as a Host clients may use (none for a wildcard address). */
export function listenAddressHosts(host: string): string[] {
  if (['0.0.0.0', '::', ''].includes(host)) return [];
  return [host.includes(':') ? `[${host}]` : host];
}

export function createHostAllowList(options: {
  publicUrl: URL | null;
  allowedHosts: readonly string[];
}): HostAllowList {
  const patterns: HostPattern[] = [];
  for (const name of LOOPBACK_NAMES) patterns.push({ hostname: name, port: null });
  // The public URL's port is often rewritten by a reverse proxy in front; its name is what matters.
  if (options.publicUrl) patterns.push({ hostname: options.publicUrl.hostname.toLowerCase(), port: null });
  for (const entry of options.allowedHosts) {
    const pattern = parseHostHeader(entry);
    if (pattern) patterns.push(pattern);
  }
  return {
    allows(hostHeader) {
      if (!hostHeader) return false;
      const host = parseHostHeader(hostHeader);
      if (!host) return false;
      return patterns.some((p) => p.hostname === host.hostname && (p.port === null || p.port === host.port));
    },
  };
}

export const HOST_NOT_ALLOWED_MESSAGE =
  'This Host is not one the sidecar answers to. Add it with --allowed-hosts or --public-url.';
