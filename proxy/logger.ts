/**
 * The logger the sidecar writes to. Quiet by default; main.ts passes a structured one
 * (structured-logger.ts), and the console fits too. `debug` is optional: where it is missing,
 * debug lines (one per request) are not written.
 */
export type Logger = Pick<Console, 'info' | 'warn' | 'error'> & { debug?: Console['debug'] };

export const quietLogger: Logger = {
  info() {},
  warn() {},
  error() {},
};

/** Tokens travel in query strings (Open WebUI, EventSource): strip every query before a URL reaches a log. */
export function redactUrl(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}

/** Known network errors get one line without a stack; anything else keeps its stack. */
export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
    return `${error.code}${message ? `: ${message}` : ''}`;
  }
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}
