import { loadJose, type VIEW_SCOPE } from './link-token.ts';

/** Who a files-API token lets in: one chat (`chat`), or the chats a user owns (`sub`), or both claims. */
export interface ChatTokenClaims {
  chat?: string;
  sub?: string;
  /** `view`: that chat read-only (the MCP App's token); needs `chat`. */
  scope?: typeof VIEW_SCOPE;
}

/**
 * Signs the HS256 token the files API accepts (auth.ts): a `chat` claim (that chat only; it wins
 * over `sub`) and/or a `sub` claim (the chats that user owns), issued now, expiring after
 * `ttlSeconds`. One signer for the `token` command, the demo page, the MCP App's view tokens and
 * the tests. It signs what it is given (a test signs a token that grants nothing); its callers
 * check the claims.
 */
export async function signChatToken(
  key: Uint8Array,
  claims: ChatTokenClaims,
  ttlSeconds: number,
  nowS: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  const { SignJWT } = await loadJose();
  const jwt = new SignJWT({
    ...(claims.chat !== undefined ? { chat: claims.chat } : {}),
    ...(claims.scope !== undefined ? { scope: claims.scope } : {}),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + ttlSeconds);
  if (claims.sub) jwt.setSubject(claims.sub);
  return jwt.sign(key);
}

/** `90`, `90s`, `30m`, `1h`, `1d` -> seconds; null when it is none of those. */
export function parseTtl(text: string): number | null {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : null;
}
