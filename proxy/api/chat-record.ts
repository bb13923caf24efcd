import { isValidOpaqueId } from '../chats/chat-id.ts';
import type { FileRecord } from '../storage/file-record.ts';
import type { RecordStore } from '../storage/record-store.ts';
import { ApiError } from './http-errors.ts';

/**
 * One recorded version of an authorized chat, for every route that names one (content, link,
 * preview, diff, restore): a malformed id is ERR_INVALID_FILE_ID, a missing one ERR_FILE_NOT_FOUND.
 * No `hasChat` first: the store answers an unknown chat with nothing and caches nothing for it.
 */
export async function recordOf(store: RecordStore, chatId: string, fileId: string | undefined): Promise<FileRecord> {
  if (!fileId || !isValidOpaqueId(fileId)) {
    throw new ApiError('ERR_INVALID_FILE_ID', 'Invalid file id: use 1-64 letters, digits, "_" or "-".');
  }
  const record = await store.get(chatId, fileId);
  if (!record) throw new ApiError('ERR_FILE_NOT_FOUND', 'No such file in this chat.');
  return record;
}
