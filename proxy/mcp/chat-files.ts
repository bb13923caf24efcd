import { buffer } from 'node:stream/consumers';
import { filesApiPaths } from '../../contract/files-api.ts';
import { fileCardData, formatBytes } from '../announce/file-card.ts';
import type { FileLinks } from '../links/file-links.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { latestByPath, type RecordStore } from '../storage/record-store.ts';
import { McpToolError } from './tool-error.ts';

/** A resource's bytes travel base64 in one JSON-RPC message: past this, the host is told to download the link. */
export const MAX_RESOURCE_BYTES = 16 * 1024 * 1024;

/** `resource_link` content, as the MCP schema has it. */
export interface ResourceLink {
  type: 'resource_link';
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType: string;
  size: number;
}

/**
 * A chat's files as an MCP server shows them: links (the same capability links as file cards,
 * so a host can download a `resource_link` URI as it is, and `resources/read` takes it too),
 * the card's text within budget, and the bytes of one version.
 */
export class ChatFiles {
  constructor(
    private readonly deps: {
      store: RecordStore;
      blobs: BlobStore;
      links: FileLinks;
      cardMaxFiles: number;
      /** --announce-files is not `off`: the relay sends a card after every execution that recorded files. */
      cardsAnnounced: boolean;
    },
  ) {}

  async latest(chatId: string): Promise<FileRecord[]> {
    if (!(await this.deps.store.hasChat(chatId))) return [];
    const records = [...latestByPath(await this.deps.store.listChat(chatId)).values()];
    return records.sort((a, b) => a.path.localeCompare(b.path));
  }

  /**
   * The versions one execution recorded (the relay records them before the execution ends). With
   * file cards on, the relay sends one exactly when an execution recorded or skipped files, so an
   * execution without a card recorded none and the store is not asked.
   */
  async ofExecution(chatId: string, run: { msgId: string; cardSeen: boolean }): Promise<FileRecord[]> {
    if (this.deps.cardsAnnounced && !run.cardSeen) return [];
    const { msgId } = run;
    if (!(await this.deps.store.hasChat(chatId))) return [];
    return (await this.deps.store.listChat(chatId)).filter((r) => r.execution?.msgId === msgId);
  }

  url(record: FileRecord, base: URL): Promise<string> {
    return this.deps.links.urlFor(record, base);
  }

  async link(record: FileRecord, base: URL): Promise<ResourceLink> {
    return {
      type: 'resource_link',
      uri: await this.url(record, base),
      name: record.name,
      title: `/mnt/data/${record.path}`,
      description: `${record.format}, ${formatBytes(record.size)}, version ${record.version}`,
      mimeType: record.mimeType,
      size: record.size,
    };
  }

  /**
   * The file card's text for these versions, within the card budget (the first files named, the
   * rest as one zip link), and one `resource_link` per version named.
   */
  async card(records: readonly FileRecord[], base: URL): Promise<{ text: string; links: ResourceLink[] }> {
    if (records.length === 0) return { text: '', links: [] };
    const { cardMaxFiles } = this.deps;
    const named = records.slice(0, cardMaxFiles);
    const links = await Promise.all(named.map((r) => this.link(r, base)));
    const files = named.map((record, i) => ({ record, url: links[i]!.uri }));
    for (const record of records.slice(cardMaxFiles)) files.push({ record, url: '' });
    const archiveUrl =
      records.length > cardMaxFiles ? await this.deps.links.archiveUrlFor(records[0]!.chatId, base) : undefined;
    const data = fileCardData(files, [], 'text', false, { maxFiles: cardMaxFiles, archiveUrl });
    return { text: data?.['text/plain'] ?? '', links };
  }

  /** Reads a file version named by its link (any host, with or without its token) for `chatId`'s caller. */
  async read(chatId: string, uri: string): Promise<{ record: FileRecord; bytes: Buffer }> {
    const fileId = fileIdOf(chatId, uri);
    const record =
      fileId && (await this.deps.store.hasChat(chatId)) ? await this.deps.store.get(chatId, fileId) : undefined;
    if (!record) throw new McpToolError('ERR_FILE_NOT_FOUND', 'No such file in this chat.');
    if (record.size > MAX_RESOURCE_BYTES) {
      throw new McpToolError(
        'ERR_MCP_RESOURCE_TOO_LARGE',
        `This file is ${formatBytes(record.size)}, more than an MCP message carries (${formatBytes(MAX_RESOURCE_BYTES)}): download it from its link.`,
      );
    }
    return { record, bytes: await buffer(await this.deps.blobs.open(record.sha256)) };
  }
}

/** The file id of a content URL of this chat, or null: the URL's path decides, not its host or token. */
export function fileIdOf(chatId: string, uri: string): string | null {
  let pathname: string;
  try {
    pathname = new URL(uri).pathname;
  } catch {
    return null;
  }
  const prefix = `${filesApiPaths.files(chatId)}/`;
  const at = pathname.indexOf(prefix);
  if (at === -1 || !pathname.endsWith('/content')) return null;
  const id = pathname.slice(at + prefix.length, -'/content'.length);
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : null;
}
