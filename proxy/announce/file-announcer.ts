import type { EndedExecution } from '../executions/execution-tracker.ts';
import type { EncodedFrame, KernelFrame, WireCodec } from '../wire/kernel-frame.ts';
import type { FileLinks } from '../links/file-links.ts';
import { fileCardData, type AnnounceMode } from './file-card.ts';
import { fileCardMessage } from './file-card-message.ts';

export interface FileAnnouncerOptions {
  mode: AnnounceMode;
  links: FileLinks;
  /** The sidecar as this connection's user reaches it (public URL or the client's Host). */
  linkBase: URL;
  codec: WireCodec;
  /** Files the card names one by one (--card-max-files); past it, one zip link. */
  maxFiles?: number;
}

/** Turns an ended execution into the file card to show in its output, for one kernel connection. */
export class FileAnnouncer {
  constructor(private readonly options: FileAnnouncerOptions) {}

  /**
   * The card for `ended`, encoded for this connection, or undefined when the execution recorded
   * and skipped nothing (and its recording was not deferred: then the card says so). `kernelFrame` is the execution's own message the card goes out before.
   */
  async cardFor(ended: EndedExecution, kernelFrame: KernelFrame): Promise<EncodedFrame | undefined> {
    const { mode, links, linkBase, codec } = this.options;
    const files = ended.files;
    if (mode === 'off' || !files) return undefined;
    if (!files.deferred && files.recorded.length === 0 && files.skipped.length === 0) return undefined;
    const maxFiles = this.options.maxFiles ?? Infinity;
    const cardFiles = await Promise.all(
      files.recorded.slice(0, maxFiles).map(async (record) => ({ record, url: await links.urlFor(record, linkBase) })),
    );
    // Past the budget the rest are only counted: their records without links, and one zip link.
    for (const record of files.recorded.slice(maxFiles)) cardFiles.push({ record, url: '' });
    const over = files.recorded.length > maxFiles ? files.recorded[0] : undefined;
    const budget = over ? { maxFiles, archiveUrl: await links.archiveUrlFor(over.chatId, linkBase) } : { maxFiles };
    const data = fileCardData(cardFiles, files.skipped, mode, files.deferred, budget);
    if (!data) return undefined;
    return codec.encodeMessage(fileCardMessage(ended.requestHeader, kernelFrame.header(), data));
  }
}
