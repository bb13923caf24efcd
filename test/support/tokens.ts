import { SignJWT } from 'jose';
import { secretKey } from '../../proxy/links/link-token.ts';

/** Signs an HS256 token for tests and benches: `{ chat }` for one chat, `{ sub }` for a user's chats. */
export async function signToken(
  secret: string,
  claims: { chat?: string; sub?: string },
  options: { expiresIn?: string | number } = {},
): Promise<string> {
  const jwt = new SignJWT(claims.chat ? { chat: claims.chat } : {}).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (claims.sub) jwt.setSubject(claims.sub);
  jwt.setExpirationTime(options.expiresIn ?? '1h');
  return jwt.sign(secretKey(secret));
}
