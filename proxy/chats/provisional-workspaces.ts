import { errorCode } from '../errors.ts';
import { mkdir, rmdir } from 'node:fs/promises';
import type { Workspaces } from './workspaces.ts';

export interface ProvisionalWorkspace {
  /** The gateway accepted the request: the folder stays. */
  commit(): void;
  /** The gateway refused (or never answered): a folder this request made goes, if still empty. */
  release(): Promise<void>;
}

/**
 * Workspace folders for requests the gateway has not accepted yet. Jupyter starts a kernel in
 * `path` and silently walks up to its root when that folder is missing, so the folder must exist
 * before the request is forwarded; but a request the gateway refuses (bad token) must leave
 * nothing behind, or an unauthenticated flood fills the disk with folders. So: make it, and take
 * it away again when the gateway refuses, no other request for that chat is in flight, and it is
 * still empty (rmdir refuses a folder with anything in it).
 */
export class ProvisionalWorkspaces {
  /** Requests in flight per chat. */
  readonly #holders = new Map<string, number>();
  /** Chats whose folder a request in flight made, and that no accepted request wanted yet. */
  readonly #madeHere = new Set<string>();
  /** Folders being taken away: a new request waits, then makes its folder again. */
  readonly #removing = new Map<string, Promise<void>>();

  readonly #workspaces: Workspaces;

  constructor(workspaces: Workspaces) {
    this.#workspaces = workspaces;
  }

  async open(chatId: string): Promise<ProvisionalWorkspace> {
    const dir = this.#workspaces.pathFor(chatId);
    this.#holders.set(chatId, (this.#holders.get(chatId) ?? 0) + 1);
    let done = false;
    const letGo = () => {
      if (done) return false;
      done = true;
      const left = (this.#holders.get(chatId) ?? 1) - 1;
      if (left === 0) this.#holders.delete(chatId);
      else this.#holders.set(chatId, left);
      return left === 0;
    };
    try {
      await this.#removing.get(chatId);
      await mkdir(this.#workspaces.root, { recursive: true });
      await mkdir(dir);
      this.#madeHere.add(chatId);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') {
        letGo();
        throw error;
      }
    }
    return {
      commit: () => {
        this.#madeHere.delete(chatId);
        letGo();
      },
      release: async () => {
        if (!letGo() || !this.#madeHere.delete(chatId)) return;
        const removal = rmdir(dir).catch(() => {
          // Not empty (the kernel wrote to it after all) or already gone: either way it stays as it is.
        });
        this.#removing.set(chatId, removal);
        await removal;
        if (this.#removing.get(chatId) === removal) this.#removing.delete(chatId);
      },
    };
  }
}
