import { signChatToken } from '../../proxy/links/chat-token.ts';
import { secretKey } from '../../proxy/links/link-token.ts';

/**
 * Signs a token for tests and benches with the sidecar's own signer (what `generated-files-sidecar
 * token` prints): `{ chat }` for one chat, `{ sub }` for a user's chats, valid for an hour.
 */
export async function signToken(secret: string, claims: { chat?: string; sub?: string }): Promise<string> {
  return signChatToken(secretKey(secret), claims, 3600);
}
