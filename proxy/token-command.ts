import { isValidChatId } from './chats/chat-id.ts';
import { secretKey } from './links/link-token.ts';
import { parseTtl, signChatToken } from './links/chat-token.ts';
import { OptionsError, parseFlags, resolveOptions, type OptionSource } from './options.ts';

const USAGE =
  'Usage: generated-files-sidecar token --chat CHAT_ID [--user USER] [--ttl 1h] (with FILES_API_SECRET or FILES_API_SECRET_FILE set, as for the sidecar)';

/**
 * `generated-files-sidecar token --chat c1 [--user u] [--ttl 1h]`: prints a token the files API
 * accepts, signed with the sidecar's own secret (FILES_API_SECRET or FILES_API_SECRET_FILE, read
 * and checked by the sidecar's options) and within its --token-max-lifetime-s. With `--user`
 * alone, the token opens the chats that user owns. The sidecar's other flags may follow.
 */
export async function tokenCommand(argv: readonly string[], env: OptionSource): Promise<string> {
  const { chat, user, ttl = '1h', ...sidecarFlags } = parseFlags(argv);
  if (chat === undefined && user === undefined) throw new OptionsError('ERR_OPTIONS_TOKEN', USAGE);
  if (chat !== undefined && !isValidChatId(chat))
    throw new OptionsError('ERR_OPTIONS_TOKEN', `--chat ${JSON.stringify(chat)} is not a chat id. ${USAGE}`);
  if (user === 'true' || user === '') throw new OptionsError('ERR_OPTIONS_TOKEN', `--user needs a value. ${USAGE}`);
  // The sidecar's own reading of its options: the same secret, the same checks, the same limit.
  const options = resolveOptions(sidecarFlags, env, new URL('http://127.0.0.1/'));
  if (!options.filesSecret)
    throw new OptionsError(
      'ERR_OPTIONS_TOKEN',
      'FILES_API_SECRET (or FILES_API_SECRET_FILE) is not set: without it the files API needs no token. Set it as for the sidecar.',
    );
  const ttlSeconds = parseTtl(ttl);
  if (ttlSeconds === null)
    throw new OptionsError(
      'ERR_OPTIONS_TOKEN',
      `--ttl ${JSON.stringify(ttl)} is not a duration like 90s, 30m, 1h or 1d.`,
    );
  if (ttlSeconds > options.tokenMaxLifetimeS)
    throw new OptionsError(
      'ERR_OPTIONS_TOKEN',
      `--ttl ${ttl} is longer than the ${options.tokenMaxLifetimeS} s the sidecar accepts (--token-max-lifetime-s).`,
    );
  return signChatToken(secretKey(options.filesSecret), { chat, sub: user }, ttlSeconds);
}
