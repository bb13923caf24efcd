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

/** The one shape the sidecar sends: `t=` digits, `,v1=`, 64 lowercase hex digits; nothing before, between or after. */
const SIGNATURE_SHAPE = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/;

/**
 * What a receiver does: true when `header` signs `body` and is at most `toleranceSeconds` old.
 * The header is parsed strictly (SIGNATURE_SHAPE): `Number()` and `Buffer.from(…, 'hex')` accept
 * `+`, spaces and trailing junk, and drop an odd last nibble, so a header that is not exactly what
 * the sidecar sent is refused rather than read generously. Deduplicate on the body's `deliveryId`.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  toleranceSeconds = 300,
  nowSeconds = Date.now() / 1000,
): boolean {
  const match = header ? SIGNATURE_SHAPE.exec(header) : null;
  if (!match) return false;
  if (Math.abs(nowSeconds - Number(match[1])) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`).digest();
  return timingSafeEqual(Buffer.from(match[2]!, 'hex'), expected);
}
