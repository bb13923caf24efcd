import type * as Jose from 'jose';
import type { JWTPayload } from 'jose';
import { isValidChatId, isValidOpaqueId } from '../chats/chat-id.ts';
import { SidecarError } from '../errors.ts';

/** jose is loaded on the first token signed or checked, not at start: an open API never needs it. */
let jose: Promise<typeof Jose> | null = null;
export const loadJose = (): Promise<typeof Jose> => (jose ??= import('jose'));

/**
 * A capability token that opens one file version and nothing else: what a file card's link and
 * a webhook's download link carry, so the link works with no header, in any browser.
 */
export const FILE_SCOPE = 'file';

/**
 * A read-only token for one chat: what the MCP App (the element inside an MCP host's
 * conversation) carries. It lists, streams, previews and downloads that chat's files; it uploads,
 * restores and revokes nothing, and opens neither the MCP server nor a kernel.
 */
export const VIEW_SCOPE = 'view';

/** The files API's and the links' HS256 key (SIDECAR_TOKEN_SECRET). */
export class AuthConfigError extends SidecarError<'ERR_CONFIG_AUTH_SECRET_TOO_SHORT'> {
  constructor() {
    super(
      'ERR_CONFIG_AUTH_SECRET_TOO_SHORT',
      'The files API token secret must be at least 32 bytes (HS256 needs a 256-bit key), e.g. SIDECAR_TOKEN_SECRET=$(openssl rand -hex 32).',
    );
  }
}

const MIN_SECRET_BYTES = 32;

export function secretKey(secret: string): Uint8Array {
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < MIN_SECRET_BYTES) throw new AuthConfigError();
  return key;
}

export interface FileLinkClaims {
  chatId: string;
  fileId: string;
  /** When it was issued, in ms: a chat's revocation refuses links issued before it. */
  issuedMs: number;
}

/** Signs a link token; `ttlSeconds` null for one that never expires. */
export async function signFileLinkToken(
  key: Uint8Array,
  claims: FileLinkClaims,
  ttlSeconds: number | null,
): Promise<string> {
  const { SignJWT } = await loadJose();
  const jwt = new SignJWT({ chat: claims.chatId, file: claims.fileId, scope: FILE_SCOPE, ims: claims.issuedMs })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(Math.floor(claims.issuedMs / 1000));
  if (ttlSeconds !== null) jwt.setExpirationTime(Math.floor(claims.issuedMs / 1000) + ttlSeconds);
  return jwt.sign(key);
}

/** The claims of a verified payload whose scope is `file`; undefined when it is malformed. */
export function fileLinkClaimsOf(payload: JWTPayload): FileLinkClaims | undefined {
  const { chat, file, ims } = payload;
  if (typeof chat !== 'string' || !isValidChatId(chat)) return undefined;
  if (typeof file !== 'string' || !isValidOpaqueId(file)) return undefined;
  if (typeof ims !== 'number' || !Number.isFinite(ims)) return undefined;
  return { chatId: chat, fileId: file, issuedMs: ims };
}
