import type { Readable } from 'node:stream';
import { assertChatId } from '../chats/chat-id.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { BlobStoreError, type BlobStore, type PutResult } from '../storage/blob-store.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { latestByPath, type RecordStore } from '../storage/record-store.ts';
import { UPLOAD_TEMP_PREFIX, type TrackingPolicy } from '../workspace/tracking-policy.ts';
import { ArtifactError } from './artifact-errors.ts';
import type { ChatStates } from './chat-states.ts';
import type { KeyedMutex } from './keyed-mutex.ts';
import { draftRecord } from './record-drafts.ts';
import type { RecordCommit } from './record-commit.ts';
import type { ScanGate } from './scan-gate.ts';
import { lookAlikeOf, normalizeUploadPath } from './upload-target.ts';
import { writeUpload } from './upload-writer.ts';

export interface UploadOptions {
  maxBytes: number;
  createOnly?: boolean;
  source?: 'upload' | 'restore';
}

/** What uploads share with the recorder's scans: the gate, the chat locks and states, the commit. */
export interface UploadParts {
  store: RecordStore;
  blobs: BlobStore;
  workspaces: Workspaces;
  policy: TrackingPolicy;
  gate: ScanGate;
  locks: KeyedMutex;
  states: ChatStates;
  commit: RecordCommit;
  realRoot: () => Promise<string>;
  now: () => Date;
}

/** An upload: the chat, the path asked for, the bytes, who sent them, and the limits. */
export type UploadRequest = [
  chatId: string,
  relPath: string,
  stream: Readable,
  owner: string | null,
  options: UploadOptions,
];

/**
 * Stores an uploaded file: streams it into the blob store (at most `maxBytes`), then, holding the
 * chat, writes it into the workspace at `relPath` and records it with source 'upload' (or
 * 'restore', when an older version is put back).
 */
export async function recordUpload(
  parts: UploadParts,
  ...[chatId, relPath, stream, owner, options]: UploadRequest
): Promise<FileRecord> {
  assertChatId(chatId);
  const requested = normalizeUploadPath(relPath);
  const { policy } = parts;
  if (policy.isHiddenOrPartial(requested) || requested.split('/').pop()!.startsWith(UPLOAD_TEMP_PREFIX)) {
    throw new ArtifactError(
      'ERR_INVALID_PATH',
      `Invalid upload path: hidden and partial names (${requested}) are never recorded.`,
    );
  }
  const maxBytes = Math.min(options.maxBytes, policy.maxFileBytes);
  return parts.gate.busy(async () => {
    const put = await storeBytes(parts.blobs, stream, maxBytes);
    return parts.locks.run(chatId, () => writeAndRecord(parts, chatId, requested, put, owner, options));
  });
}

async function storeBytes(blobs: BlobStore, stream: Readable, maxBytes: number): Promise<PutResult> {
  try {
    return await blobs.putStream(stream, { maxBytes });
  } catch (error) {
    if (error instanceof BlobStoreError && error.code === 'ERR_BLOB_TOO_LARGE') {
      throw new ArtifactError('ERR_UPLOAD_TOO_LARGE', `Uploads are limited to ${maxBytes} bytes.`);
    }
    throw error;
  }
}

/** Holding the chat: the quota, the workspace file, the record. */
async function writeAndRecord(
  parts: UploadParts,
  chatId: string,
  asked: string,
  put: PutResult,
  owner: string | null,
  options: UploadOptions,
): Promise<FileRecord> {
  // A name that only differs from a file of the chat by case or normalization is that file on
  // Windows and macOS, where it is downloaded and unzipped: the upload is its new version.
  const requested = lookAlikeOf(asked, latestByPath(await parts.store.listChat(chatId)).keys());
  const state = await parts.states.get(chatId);
  await state.usage.sync(parts.store, chatId);
  if (state.usage.exceeds(put.size)) throw state.usage.overQuotaError(chatId);
  await parts.workspaces.ensure(chatId);
  const entry = await writeUpload({
    chatId,
    workspaceDir: parts.workspaces.pathFor(chatId),
    realRoot: await parts.realRoot(),
    relPath: requested,
    createOnly: options.createOnly ?? false,
    bytes: () => parts.blobs.open(put.sha256),
  });
  state.sidecarInodes.add(entry.ino);
  const attribution = { source: options.source ?? 'upload', execution: null, owner: owner ?? state.owner } as const;
  const draft = draftRecord(chatId, requested, entry, put, attribution, parts.now());
  const { appended, overQuota } = await parts.commit.commit(chatId, state, [{ draft, entry }]);
  // Another sidecar filled the chat since the check above. The file stays in the workspace;
  // the next scan lists it as skipped (over the quota).
  if (overQuota.length > 0) throw state.usage.overQuotaError(chatId);
  // The same bytes as the path's latest version: the store appends nothing; that version is the answer.
  const stored = appended[0] ?? latestByPath(await parts.store.listChat(chatId)).get(requested);
  if (!stored) throw new Error(`The upload of ${requested} in chat ${chatId} was neither appended nor found.`);
  return stored;
}
