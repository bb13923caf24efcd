import { html, type TemplateResult } from 'lit';
import { FilesApiError } from './files-client.ts';

/**
 * What went wrong, in plain words for the person at the page (`text`), and what a developer
 * needs (`detail`: the browser's or the sidecar's own message), shown behind a disclosure.
 */
export interface Problem {
  text: string;
  detail: string;
}

/** A network-level failure (fetch's TypeError): no HTTP answer reached the page. */
export const isNetworkError = (error: unknown): boolean => !(error instanceof FilesApiError);

/** The `chat` claim of a JWT, read without verifying it (the sidecar verifies); null when it has none. */
export function tokenChat(token: string | null | undefined): string | null {
  try {
    const payload = token?.split('.')[1];
    const claims = payload && JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/')));
    return typeof claims?.chat === 'string' ? claims.chat : null;
  } catch {
    return null;
  }
}

/**
 * Says why a request failed. fetch tells a refused CORS check and a sidecar that is down
 * apart by nothing (both are "Failed to fetch"), so this asks once more with `no-cors`: an
 * opaque answer means the sidecar is up and refused this page's origin.
 */
export async function explain(error: unknown, sidecar: string): Promise<Problem> {
  const detail = error instanceof FilesApiError ? `${error.status} ${error.code}: ${error.message}` : String(error);
  if (error instanceof FilesApiError) {
    if (error.status === 401)
      return { text: 'This page is not signed in: its token is missing, expired or invalid.', detail };
    return { text: `The sidecar refused: ${error.message}`, detail };
  }
  const origin = new URL(sidecar, location.href).origin;
  const reachable = await fetch(origin, { mode: 'no-cors', cache: 'no-store' }).then(
    () => true,
    () => false,
  );
  return reachable && origin !== location.origin
    ? {
        text: `The sidecar at ${origin} refuses this page's origin (CORS). Start it with --cors-origins ${location.origin}`,
        detail,
      }
    : { text: `Cannot reach the sidecar at ${origin}. Retrying on its own.`, detail };
}

/** A failure in plain words, the way out beside it, and the raw detail behind a disclosure. */
export function renderProblem(parts: string, { text, detail }: Problem, action: TemplateResult): TemplateResult {
  return html`<div part=${parts} role="alert">
    <span>${text}</span> ${action}
    <details part="error-details"><summary>Details</summary><code>${detail}</code></details>
  </div>`;
}
