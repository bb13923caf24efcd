import { SidecarError } from '../errors.ts';
/**
 * Chat ids name folders on disk, so they are checked before anything touches a path:
 * letters, digits, `_`, `-` and `.`, starting with a letter or digit, at most 128 characters.
 * That rules out `..`, separators, NUL, percent-encoded and overlong forms in one rule.
 */
const CHAT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function isValidChatId(value: unknown): value is string {
  return typeof value === 'string' && CHAT_ID.test(value);
}

export class InvalidChatIdError extends SidecarError<'ERR_INVALID_CHAT_ID'> {
  constructor(value: unknown) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    super(
      'ERR_INVALID_CHAT_ID',
      `Invalid chat id ${shown}: use 1-128 letters, digits, "_", "-" or ".", starting with a letter or digit.`,
    );
  }
}

export function assertChatId(value: unknown): string {
  if (!isValidChatId(value)) throw new InvalidChatIdError(value);
  return value;
}

/** Record, kernel and file ids that the sidecar hands out and later takes back in URLs. */
const OPAQUE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidOpaqueId(value: unknown): value is string {
  return typeof value === 'string' && OPAQUE_ID.test(value);
}
