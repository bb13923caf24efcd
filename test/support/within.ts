/**
 * `promise`, or a rejection with `what` when it has not settled within `ms`: a failure timeout for
 * a test that waits for an event, never a wait for time to pass.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer!: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}
