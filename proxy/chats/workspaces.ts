import { mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { assertChatId } from './chat-id.ts';

/**
 * Where a chat's workspace lives. The sidecar and the kernel may see the same folder under
 * different paths (a container mounting the volume elsewhere), so both roots are kept.
 */
export class Workspaces {
  /** Absolute path of the workspace root as the sidecar sees it. */
  readonly root: string;
  /** Absolute path of the workspace root as the kernel sees it. */
  readonly kernelRoot: string;

  /** False: each kernel has its own folder at kernelRoot itself (a container with its own `/mnt/data`). */
  readonly kernelFolderPerChat: boolean;

  constructor(root: string, kernelRoot: string = root, options: { kernelFolderPerChat?: boolean } = {}) {
    this.root = path.resolve(root);
    this.kernelRoot = kernelRoot.replace(/\/+$/, '') || '/';
    this.kernelFolderPerChat = options.kernelFolderPerChat ?? true;
  }

  /** The chat's folder as the sidecar sees it. */
  pathFor(chatId: string): string {
    return path.join(this.root, assertChatId(chatId));
  }

  /** The chat's folder as the kernel sees it: what `/mnt/data` becomes in code. */
  kernelPathFor(chatId: string): string {
    assertChatId(chatId);
    if (!this.kernelFolderPerChat) return this.kernelRoot;
    return path.posix.join(this.kernelRoot, chatId);
  }

  /** Create the chat's folder (idempotent) and return its path as the sidecar sees it. */
  async ensure(chatId: string): Promise<string> {
    const dir = this.pathFor(chatId);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Every form of the chat's folder a kernel may print: as the kernel sees it, and its real path when the kernel shares our view. */
  async formsFor(chatId: string): Promise<string[]> {
    const forms = [this.kernelPathFor(chatId)];
    if (this.kernelRoot === this.root) {
      try {
        forms.push(await realpath(this.pathFor(chatId)));
      } catch {
        // not there yet: nothing else to map
      }
    }
    return forms;
  }

  /** The root's real path, once symlinks are resolved (used to spot symlinks that leave it). */
  async realRoot(): Promise<string> {
    await mkdir(this.root, { recursive: true });
    return realpath(this.root);
  }
}
