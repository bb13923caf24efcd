import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of every delivery. */
export const SIGNATURE_HEADER = 'x-sidecar-signature';
export const DELIVERY_HEADER = 'x-sidecar-delivery';

/**
 * Stripe's scheme: `t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}`. Signing the time
 * with the body lets a receiver refuse replays of an old delivery as well as forgeries.
 */
export function signatureHeader(secret: string, body: string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/** What a receiver does: true when `header` signs `body` and is at most `toleranceSeconds` old. */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  toleranceSeconds = 300,
  nowSeconds = Date.now() / 1000,
): boolean {
  if (!header) return false;
  const fields = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(fields.get('t'));
  const given = fields.get('v1');
  if (!Number.isInteger(t) || !given || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureHeader(secret, body, t).split('v1=')[1]!, 'hex');
  const actual = Buffer.from(given, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
