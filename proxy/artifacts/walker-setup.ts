import type { Workspaces } from '../chats/workspaces.ts';
import type { Logger } from '../logger.ts';
import { remoteFileSystemAt } from '../workspace/file-system-kind.ts';
import { WorkspaceWalker } from '../workspace/workspace-walker.ts';

/**
 * The walker the recorder scans with (its own threads, or one it is given), and the real
 * workspace root. The first time the root is asked for, a walker of its own is told to walk
 * every workspace on a thread when the root is on a network or FUSE file system.
 */
export class WalkerSetup {
  readonly walker: WorkspaceWalker;
  readonly #owned: boolean;
  readonly #workspaces: Workspaces;
  readonly #logger: Logger;
  #realRoot: Promise<string> | null = null;

  constructor(workspaces: Workspaces, logger: Logger, walker?: WorkspaceWalker) {
    this.#workspaces = workspaces;
    this.#logger = logger;
    this.#owned = !walker;
    this.walker = walker ?? new WorkspaceWalker();
  }

  /** The real workspace root; the first time, also whether small walks may run inline. */
  realRoot(): Promise<string> {
    this.#realRoot ??= this.#workspaces.realRoot().then(
      async (realRoot) => {
        const remote = this.#owned ? await remoteFileSystemAt(realRoot).catch(() => null) : null;
        if (remote) {
          this.walker.inlineEntries = 0;
          this.#logger.info(`[artifacts] workspaces are on ${remote}: every walk runs on a walker thread`);
        }
        return realRoot;
      },
      (error: unknown) => {
        this.#realRoot = null;
        throw error;
      },
    );
    return this.#realRoot;
  }

  /** Stops the walker threads it made. */
  async close(): Promise<void> {
    if (this.#owned) await this.walker.close();
  }
}
