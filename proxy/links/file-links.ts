import { ARCHIVE_LINK_ID, filesApiPaths } from '../../contract/files-api.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { secretKey, signFileLinkToken } from './link-token.ts';

export interface FileLinksOptions {
  /** FILES_API_SECRET; without one the API is open and links are plain. */
  secret: string | null;
  /** Lifetime of a link's token; null: never expires. */
  ttlSeconds: number | null;
  now?: () => number;
}

/** Download links to one file version, each pinned to that version by its record id. */
export class FileLinks {
  readonly #key: Uint8Array | null;
  readonly #ttlSeconds: number | null;
  readonly #now: () => number;

  constructor(options: FileLinksOptions) {
    this.#key = options.secret ? secretKey(options.secret) : null;
    this.#ttlSeconds = options.ttlSeconds;
    this.#now = options.now ?? Date.now;
  }

  /** `base` is the sidecar as the user's browser reaches it, ending in `/`. */
  async urlFor(record: Pick<FileRecord, 'chatId' | 'id'>, base: URL): Promise<string> {
    return this.#signed(
      new URL(filesApiPaths.fileContent(record.chatId, record.id).slice(1), base),
      record.chatId,
      record.id,
    );
  }

  /** The chat's zip (the latest version of every file), with a token that opens only it. */
  archiveUrlFor(chatId: string, base: URL): Promise<string> {
    return this.#signed(new URL(filesApiPaths.archive(chatId).slice(1), base), chatId, ARCHIVE_LINK_ID);
  }

  async #signed(url: URL, chatId: string, fileId: string): Promise<string> {
    if (this.#key) {
      const token = await signFileLinkToken(this.#key, { chatId, fileId, issuedMs: this.#now() }, this.#ttlSeconds);
      url.searchParams.set('token', token);
    }
    return url.href;
  }
}

/**
 * The base URL for links given to a client that connected with this Host header: the public URL
 * when configured, else http://{Host}/. A Host that is not a plain host[:port] is not trusted
 * into a link; `fallback` (the listening address) is used instead.
 */
export function linkBaseFor(publicUrl: URL | null, hostHeader: string | undefined, fallback: URL): URL {
  if (publicUrl) return publicUrl;
  if (hostHeader && /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(hostHeader))
    return new URL(`http://${hostHeader}/`);
  return fallback;
}
